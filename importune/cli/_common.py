"""What every command shares: the workspace it opens, refusals as one line, output.

This is the only layer that prints or exits. The core raises
:class:`~importune.errors.ImportuneError`; :class:`RefusingGroup` catches it once,
prints its one line to stderr and exits 1 (Typer 0.26+ would print a traceback
for a ``click.ClickException``).
"""

import json
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from importune.errors import ImportuneError

if TYPE_CHECKING:
    from rich.console import Console

    from importune.store import Store


def refuse(message: str) -> None:
    """Print one line to stderr, no markup, no traceback."""
    sys.stderr.write(f"importune: {message}\n")


class RefusingGroup(TyperGroup):
    """The root command group: turns the core's refusals into exit status 1."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ImportuneError as error:
            refuse(str(error))
            raise typer.Exit(1) from None
        except sqlite3.DatabaseError as error:
            # The core checks before it writes; this is the last guard (another
            # program's write in between, a full disk), still one line, no traceback.
            text = str(error)
            if "locked" in text or "busy" in text:
                text = "the workspace is busy (another importune is writing); try again"
            elif "readonly" in text:
                text = f"{settings(ctx).db_path}: cannot be written (a read-only file or folder)"
            elif "full" in text:
                text = f"{settings(ctx).db_path}: the disk is full; nothing was changed"
            if isinstance(error, sqlite3.IntegrityError):
                text = f"the database refused the change: {text}"
            refuse(text)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            # Ctrl-C: the core's own clean-up (staged files, open transactions) has
            # run on the way up; say so in one line and exit as shells expect.
            refuse("interrupted; nothing half-done was kept")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # stdout piped into a reader that stopped (`importune letters list | head`): not
            # a refusal to report. Click's own handler ends the command quietly, status 1.
            raise
        except OSError as error:
            where = f"{error.filename}: " if error.filename else ""
            refuse(f"{where}{error.strerror or error}")
            raise typer.Exit(1) from None


@dataclass
class Settings:
    """The root options, handed to every command through ``ctx.obj``."""

    db: Path | None = None
    letters: Path | None = None

    @property
    def db_path(self) -> Path:
        from importune.workspace import db_path

        return db_path(self.db)

    @property
    def letters_path(self) -> Path:
        from importune.workspace import letters_path

        return letters_path(self.letters, self.db_path)


def settings(ctx: typer.Context) -> Settings:
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings()
    return root.obj


@contextmanager
def workspace(ctx: typer.Context) -> Iterator["Store"]:
    """Open (and migrate) the workspace's database for one command."""
    from importune.store import open_store

    store = open_store(settings(ctx).db_path)
    try:
        yield store
    finally:
        store.close()


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON only, on stdout.")]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def console(**options: Any) -> "Console":
    """A rich console for stdout: the terminal's width, or unbounded when piped.

    Piped into a file, ``grep`` or a mail, a table keeps one record a line
    rather than folding at rich's default 80 columns.
    """
    from rich.console import Console

    width = None if sys.stdout.isatty() else 10_000
    return Console(highlight=False, width=width, **options)


def show(renderable: Any) -> None:
    """A rich table on stdout: fitted to the terminal, or one record a line when piped,
    then without the spaces rich pads each line with to the table's width (a key-value
    grid like ``case show``'s would end every short line with as many spaces as the
    longest summary has characters)."""
    out = console()
    if sys.stdout.isatty():
        out.print(renderable)
        return
    with out.capture() as captured:
        out.print(renderable)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def say(message: str) -> None:
    """A line for the person at the terminal: what was done, and what to do next.

    Written as it is: no markup (a path or a name may hold "[...]"), no emoji codes
    (":flag:" in a name stays as typed), never wrapped (a long path stays one line
    that can be copied). So it needs no rich console, which would take longer to
    load than most commands take to run.
    """
    sys.stdout.write(f"{message}\n")


WRAPPING_COLUMNS = frozenset(
    {"name", "native_name", "title", "organization", "address", "summary", "charges", "path",
     "location", "prison", "email", "note", "snippet", "message"}
)
"""Columns of free text that may wrap in a table; every other column keeps to one line."""


TERMINAL_ROWS = 500
"""Rows a listing shows on a terminal; the rest are counted, with how to see them all."""


def table(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    empty: str = "nothing yet",
) -> None:
    """A table of records: rich's on a terminal, fitted to its width; piped, the same
    table drawn line by line (:func:`boxed`); ``empty`` when there are none."""
    rows = list(rows)
    if not rows:
        say(empty)  # as typed: it may quote what the listing was filtered by
        return
    if not sys.stdout.isatty():
        sys.stdout.writelines(line + "\n" for line in boxed(rows, columns, title))
        return
    from rich.table import Table

    grid = Table(title=title, title_justify="left")
    for column in columns:
        # Ids, slugs, statuses and dates are what a person copies into the next
        # command: never broken across lines. Free text and paths wrap instead.
        wraps = column in WRAPPING_COLUMNS
        grid.add_column(column, overflow="fold", no_wrap=not wraps)
    for row in rows[:TERMINAL_ROWS]:
        grid.add_row(*[_cell(row.get(column)) for column in columns])
    show(grid)
    if len(rows) > TERMINAL_ROWS:
        import shlex

        command = shlex.join(["importune", *sys.argv[1:]])  # as it was typed
        say(f"{len(rows) - TERMINAL_ROWS:,} more not shown: all {len(rows):,} with {command} | "
            f"less, or in a file with {command} > FILE")  # fmt: skip


def boxed(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None = None
) -> Iterator[str]:
    """The lines of a table as rich draws it on a screen wide enough for every line
    (its heavy-headed box, a cell's lines one under the other), without the spaces after
    each line's end. Rich measures every cell of every row again for each of several
    passes: a listing of 20,000 letters took it 20 s, and this half a second."""
    from rich.cells import cell_len

    def width_of(text: str) -> int:  # columns on a screen: a CJK character takes two
        return len(text) if text.isascii() else cell_len(text)

    cells = [
        [_text(row.get(column)).expandtabs(8).split("\n") for column in columns] for row in rows
    ]
    widths = [
        max([width_of(column), *(width_of(line) for row in cells for line in row[i])])
        for i, column in enumerate(columns)
    ]

    def rule(left: str, fill: str, between: str, right: str) -> str:
        return left + between.join(fill * (width + 2) for width in widths) + right

    def line(bar: str, values: Sequence[str]) -> str:
        padded = (f" {v}{' ' * (w - width_of(v))} " for v, w in zip(values, widths, strict=True))
        return (bar + bar.join(padded) + bar).rstrip()

    if title:
        yield title
    yield rule("┏", "━", "┳", "┓")
    yield line("┃", columns)
    yield rule("┡", "━", "╇", "┩")
    for row in cells:
        for n in range(max(len(cell) for cell in row)):
            yield line("│", [cell[n] if n < len(cell) else "" for cell in row])
    yield rule("└", "─", "┴", "┘")


def none_listed(kind: str, hint: str, **filters: Any) -> str:
    """What an empty listing says: when it was filtered, that nothing matches (there may
    well be others, so no hint to add the first); else ``hint``, how to add one."""
    # An empty filter ('') filters nothing (the listings treat it so): not named either.
    given = [f"{name} {value!r}" for name, value in filters.items() if value not in (None, "")]
    return f"No {kind} with {' and '.join(given)}." if given else hint


def details(record: dict[str, Any], fields: Sequence[str]) -> None:
    """One record, a field a line, as ``case show`` prints it."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for field in fields:
        if record.get(field) not in (None, ""):
            grid.add_row(field, _cell(record[field]))
    show(grid)


def _text(value: Any) -> str:
    """A value as a table shows it: nothing for None, yes or no for a flag."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _cell(value: Any) -> str:
    """:func:`_text` for rich, which would read "[...]" in a name as markup."""
    from rich.markup import escape

    return escape(_text(value))


def options(**values: Any) -> dict[str, Any]:
    """The options a person actually gave, as a record's raw fields."""
    return {key: value for key, value in values.items() if value is not None}
