"""How long ``importune print`` takes for one member's pile of letters.

    python benchmarks/print.py [CASES] [OFFICIALS] [RUNS]   (default 20 × 10 = 200 letters, 3 runs)
    python benchmarks/print.py 100 10 7 --against ../importune-before   (side by side)

Builds a synthetic workspace in a temporary folder (CASES held cases × OFFICIALS
officials, every official written to about every case, one member), then runs the
real command, as a member would, in a fresh process each time:

- ``print`` on a fresh workspace: the letters are generated first, then laid out;
- ``print`` again, RUNS times (the median is shown: the machine may be shared):
  everything is generated already, the letters are laid out again;
- ``print --envelopes``: twice the pages (an envelope after each letter).

Each PDF is ONE Typst compile of ``letters/layout.typ`` over every letter (two when a
letter runs onto a second page: see importune/formats/pdf.py); the figures include
starting Python, opening the workspace, composing the letters (in two processes for a
pile of 200 or more) and writing the PDF. The workspace gets importune's default layout:
a workspace made before a change to ``letters/layout.typ`` keeps its own copy.

``--against DIR`` also runs ``print`` again from another checkout of importune (``git
worktree add ../importune-before <commit>``), in turn with this one, RUNS times each,
and prints both medians and their ratio: on a shared machine, whose speed changes from
one minute to the next, that ratio says more than either time.
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import generate as bench  # benchmarks/generate.py (it byte-compiles importune)

from importune import workspace as ws
from importune.store import open_store

COUNTRIES = ["UZ", "BY", "RU", "IR", "EG", "VN", "TR", "AZ", "CN", "SA"]


def build(folder: Path, cases: int, officials: int) -> Path:
    """A workspace with cases × officials appeals and one member."""
    db = folder / ws.DB_NAME
    with open_store(db, create=True) as store:
        store.set_group(name="Benchmark Letter Group", address="1 Park Row\nBristol BS1 5LJ")
        store.add_many(
            "cases",
            [
                {
                    "name": f"Prisoner Number{i:03d}",
                    "country": COUNTRIES[i % len(COUNTRIES)],
                    "detained_on": f"20{i % 20:02d}-0{1 + i % 9}-1{i % 9}",
                    "location": "Karakul",
                    "charges": "undermining the constitutional order",
                }
                for i in range(cases)
            ],
        )
        store.add_many(
            "officials",
            [
                {
                    "name": f"Official Number{j:03d}",
                    "title": "Prosecutor General",
                    "country": COUNTRIES[j % len(COUNTRIES)],
                    "address": f"{j + 1} Independence Avenue\n100047 Capital City",
                }
                for j in range(officials)
            ],
        )
        case_slugs = [row["slug"] for row in store.list("cases")]
        official_slugs = [row["slug"] for row in store.list("officials")]
        store.add_many(
            "appeals", [{"case": c, "official": o} for c in case_slugs for o in official_slugs]
        )
        store.add("members", {"name": "Hedwig Brandauer", "address": "9 Orchard Close\nYeovil"})
    ws.copy_default_letters(folder / ws.LETTERS_DIR)
    return db


def run(folder: Path, *args: str, checkout: Path | None = None) -> float:
    """Seconds for one ``importune print`` in a fresh process (of ``checkout``'s importune,
    when given)."""
    env = {**os.environ, "IMPORTUNE_DB": str(folder / ws.DB_NAME)}
    env.pop("IMPORTUNE_LETTERS", None)
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
    command = [sys.executable, "-m", "importune", "print", *args]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"importune print failed: {done.stderr.strip()}")
    return elapsed


def pages(path: Path) -> str:
    try:
        import pypdf
    except ImportError:  # pypdf is a test dependency
        return "?"
    return str(len(pypdf.PdfReader(path).pages))


def main() -> None:
    bench.byte_compile()  # as pip leaves an installed importune
    argv = sys.argv[1:]
    against = None
    if "--against" in argv:
        at = argv.index("--against")
        if at + 1 == len(argv):
            raise SystemExit("--against: name a checkout of importune (git worktree add DIR REF)")
        against = Path(argv[at + 1]).resolve()
        del argv[at : at + 2]
        if not (against / "importune" / "__init__.py").is_file():
            # PYTHONPATH would not find it, and the installed importune would run instead.
            raise SystemExit(f"--against {against}: not a checkout of importune (no importune/)")
        compileall.compile_dir(against / "importune", quiet=1, force=True)
    cases = int(argv[0]) if len(argv) > 0 else 20
    officials = int(argv[1]) if len(argv) > 1 else 10
    runs = int(argv[2]) if len(argv) > 2 else 3
    letters = cases * officials
    with tempfile.TemporaryDirectory(prefix="importune-bench-print-") as temp:
        folder = Path(temp)
        build(folder, cases, officials)
        pdf = folder / "out" / "print" / "hedwig-brandauer.pdf"
        print(f"{letters} letters ({cases} cases × {officials} officials), one member")
        first = run(folder)
        print(f"  print, generating them first: {first:6.2f} s  ({pages(pdf)} pages)")
        times = [run(folder) for _ in range(runs)]
        again = statistics.median(times)
        shown = ", ".join(f"{seconds:.2f}" for seconds in times)
        print(f"  print again:                  {again:6.2f} s  ({pages(pdf)} pages; runs {shown})")
        envelopes = run(folder, "--envelopes")
        print(f"  print --envelopes:            {envelopes:6.2f} s  ({pages(pdf)} pages)")
        print(f"  {letters / again:.0f} letters a second (print again, median of {runs})")
        if against is not None:
            ours, theirs = [], []
            for _ in range(runs):
                ours.append(run(folder))
                theirs.append(run(folder, checkout=against))
            mine, before = statistics.median(ours), statistics.median(theirs)
            print(f"  in turn with {against}: {mine:.2f} s against {before:.2f} s "
                  f"(medians of {runs}): {before / mine:.2f}× as fast")  # fmt: skip


if __name__ == "__main__":
    main()
