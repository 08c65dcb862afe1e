"""How many letters a second each format makes, with one Renderer reused as a run does.

    python benchmarks/bench_formats.py [N]

Letters are made up in memory (a few names in Latin, Cyrillic and Arabic letters),
so this measures the formats alone: no database, no templates, no disk.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from importune.compose import Letter
from importune.formats import FORMATS, Renderer
from importune.workspace import default_letters

NAMES = ["Anna Schmidt", "Ольга Петрова", "أحمد منصور", "Nguyễn Văn Đài"]


def letters(count: int) -> list[Letter]:
    base = Letter(
        case={"slug": "yusuf-dzhumaev"},
        official={"slug": "prosecutor", "name": "Prosecutor General", "email": "p@example.uz"},
        member=None,
        appeal={},
        group={"name": "Group", "email": "group@example.org"},
        template="concern",
        language="en",
        template_path="concern.en.txt.j2",
        date=dt.date(2024, 5, 1),
        date_text="1 May 2024",
        subject="Yusuf Dzhumaev, detained in Uzbekistan since 23 October 2001",
        body="",
        recipient_lines=[
            "Prosecutor General",
            "66 Gulyamov Street",
            "Tashkent 100047",
            "UZBEKISTAN",
        ],
        sender_lines=[],
    )
    paragraph = "I am writing to express my deep concern for the poet Yusuf Dzhumaev. " * 5
    made = []
    for i in range(count):
        name = f"{NAMES[i % len(NAMES)]} {i}"
        made.append(
            dataclasses.replace(
                base,
                member={"slug": f"member-{i}", "name": name, "email": f"m{i}@example.org"},
                body=f"Dear Prosecutor General,\n\n{paragraph}\n\n{paragraph}\n\n"
                f"Yours sincerely,\n{name}\n",
                sender_lines=[name, f"{i} Linden Street", "Bristol BS1 4DJ", "UNITED KINGDOM"],
            )
        )
    return made


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    batch = letters(count)
    for fmt in FORMATS:
        start = time.perf_counter()
        renderer = Renderer(default_letters(), fmt)
        ready = time.perf_counter()
        for letter in batch:
            renderer.render(letter)
        done = time.perf_counter()
        line = (
            f"{fmt:4}  set-up {1000 * (ready - start):6.1f} ms  "
            f"{count / (done - ready):8.0f} letters/s one file each"
        )
        if fmt in ("html", "pdf"):
            start = time.perf_counter()
            renderer.render_many(batch)
            line += f"  {count / (time.perf_counter() - start):8.0f} letters/s in one file"
        print(line)


if __name__ == "__main__":
    main()
