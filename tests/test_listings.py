"""Listings as people read them: piped whole and fast, on a terminal no longer than useful.

Piped into a file, ``grep`` or ``less``, a listing is every record, drawn as rich draws
its table on a screen wide enough for every line (:func:`importune.cli._common.boxed`),
a tenth of a second for 20,000 letters where rich took 15 s. On a terminal, rich
fits it to the width, and a listing longer than a screen can use stops after
``TERMINAL_ROWS`` rows, saying how to see them all.
"""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

from conftest import Run
from rich.table import Table

from importune.cli._common import TERMINAL_ROWS, WRAPPING_COLUMNS, _cell, boxed, show

VALUES = [
    None, True, 12345, "", "Anna Schmidt", "Ольга Петрова", "نرگس محمدی", "习近平",
    "Nguyễn Văn Đài", "e\u0301te\u0301", "[bold]not markup[/bold]", "two\nlines", "a\nb\nc",
    "ნინო", "🙂 smile", "  spaced  ", "ｆｕｌｌ", "x" * 300, "x\n\ny", "👩\u200d👩\u200d👧", "[/]",
]  # fmt: skip


def rich_piped(rows: list[dict], columns: list[str]) -> str:
    """What rich itself draws for the table, piped (as listings were drawn before)."""
    grid = Table(title_justify="left")
    for column in columns:
        grid.add_column(column, overflow="fold", no_wrap=column not in WRAPPING_COLUMNS)
    for row in rows:
        grid.add_row(*[_cell(row.get(column)) for column in columns])
    out = io.StringIO()
    with redirect_stdout(out):
        show(grid)
    return out.getvalue()


def on_a_terminal(folder: Path, *args: str) -> str:
    """``importune ARGS`` with its output on a terminal (a pseudo-terminal, read as it goes)."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPORTUNE_")}
    child = subprocess.Popen(
        [sys.executable, "-m", "importune", *args],
        cwd=folder, env={**env, "COLUMNS": "200"}, stdout=follower, stderr=subprocess.PIPE,
    )  # fmt: skip
    os.close(follower)
    screen = b""
    try:
        while chunk := os.read(leader, 1 << 16):
            screen += chunk
    except OSError:  # the terminal's other end closed: everything is read
        pass
    finally:
        os.close(leader)
    assert child.wait(timeout=120) == 0, child.stderr.read() if child.stderr else ""
    return screen.decode().replace("\r\n", "\n")


def test_a_piped_table_is_drawn_as_rich_draws_it() -> None:
    columns = ["id", "name", "slug", "address", "path"]
    for shift in range(len(VALUES)):
        rows = [
            {column: VALUES[(shift + 3 * r + c) % len(VALUES)] for c, column in enumerate(columns)}
            for r in range(5)
        ]
        assert "".join(line + "\n" for line in boxed(rows, columns)) == rich_piped(rows, columns)


def test_a_piped_table_shows_a_backslash_and_a_tab_as_they_are() -> None:
    (line,) = [line for line in boxed([{"path": "C:\\", "note": "a\tb"}], ["path", "note"])
               if "C:" in line]  # fmt: skip
    assert line == "│ C:\\  │ a       b │"


def test_a_long_listing_stops_on_a_terminal_and_says_how_to_see_it_all(
    ok: Run, workspace: Path
) -> None:
    rows = ["name,country"] + [f"Prisoner {n},UZ" for n in range(TERMINAL_ROWS + 1)]
    Path("cases.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    ok("import", "cases", "cases.csv")
    piped = ok("case", "list").stdout
    assert sum(line.startswith("│ ") for line in piped.splitlines()) == TERMINAL_ROWS + 1

    text = on_a_terminal(workspace, "case", "list")
    assert "Prisoner 499" in text and "Prisoner 500" not in text
    assert text.rstrip().endswith(
        f"1 more not shown: all {TERMINAL_ROWS + 1:,} with importune case list | less, or in a "
        "file with importune case list > FILE"
    )
