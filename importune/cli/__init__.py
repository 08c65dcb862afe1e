"""The ``importune`` command line: a thin Typer layer over the plain-Python core.

Commands parse their options, call the core and print. Heavy libraries (Jinja2,
Typst, sqlite-utils, babel) are imported inside the commands that need them, so
``importune --version`` and ``--help`` start fast.

The command modules do not use ``from __future__ import annotations``: Typer reads the
annotations of the commands it builds each run (see :func:`lean`), and strings would be
compiled and evaluated one by one: 10 ms of ``print``'s start, 70 ms of ``--help``,
against 3 and 20 ms for annotations Python evaluated once, at import. A name imported
only for type checking is written in quotes.
"""

import gc

# A command is a short process that builds objects faster than it drops them: importing
# Typer, Jinja2 and Typst, reading the records. With the collector's default (a pass
# every 700 new objects) it made 40 to 60 passes over what it had just imported, 10-30 ms
# of every command. Composing and rendering letters leaves no cyclic garbage (none found
# after 1,000 letters), so a pass every 50,000 objects costs no memory, and still
# collects what a long run might leave.
gc.set_threshold(50_000, *gc.get_threshold()[1:])

import copy
from pathlib import Path
from typing import Annotated

import typer

from importune import __version__
from importune.cli import coordinate, demo, doctor, letters, printing, records, report, workspace
from importune.cli._common import RefusingGroup, Settings

app = typer.Typer(
    name="importune",
    cls=RefusingGroup,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Letters of concern for prisoners of conscience, from one SQLite workspace.",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"importune {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option(
            envvar="IMPORTUNE_DB", help="The workspace database (default: ./importune.db)."
        ),
    ] = None,
    letters: Annotated[
        Path | None,
        typer.Option(envvar="IMPORTUNE_LETTERS", help="The templates folder (default: ./letters)."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Letters of concern for prisoners of conscience, from one SQLite workspace."""
    ctx.obj = Settings(db=db, letters=letters)


app.command("init")(workspace.init)
app.command("demo")(demo.demo)
app.command("generate-letters")(letters.generate_letters)
app.command("import")(workspace.import_)
app.command("export")(workspace.export)
app.add_typer(workspace.group_app, name="group")
app.add_typer(records.case_app, name="case")
app.add_typer(records.official_app, name="official")
app.add_typer(records.appeal_app, name="appeal")
app.add_typer(records.member_app, name="member")
app.add_typer(letters.letters_app, name="letters")
app.add_typer(letters.templates_app, name="templates")
app.add_typer(workspace.db_app, name="db")
app.command("print", cls=printing.PrintCommand)(printing.print_letters)
app.add_typer(printing.pack_app, name="pack")
app.command("mark-sent")(printing.mark_sent)
app.command("report")(report.report)
app.command("check")(doctor.check)
app.command("search")(doctor.search)
records.case_app.command("event")(coordinate.event)
records.case_app.command("release")(coordinate.release)
records.case_app.command("announce")(report.announce)


ROOT_OPTIONS_WITH_VALUES = ("--db", "--letters")


def invoked(args: list[str]) -> str | None:
    """The command named on the command line, past the root options (``--db PATH``,
    ``--letters=PATH``); None when there is none (``--help``, ``--version``, nothing)."""
    rest = iter(args)
    for arg in rest:
        if arg in ROOT_OPTIONS_WITH_VALUES:
            next(rest, None)
        elif arg.startswith(tuple(f"{option}=" for option in ROOT_OPTIONS_WITH_VALUES)):
            continue
        elif arg.startswith("-"):
            return None
        else:
            return arg
    return None


def lean(name: str | None) -> typer.Typer:
    """The app with only the command (or group of commands) ``name``, when it is one.

    Typer reads the signature of every command to build the command line (some 70 ms
    for importune's forty); a run needs only its own. Help for the whole app, an
    unknown command and a bare ``importune`` get the whole app, and so every message.
    """
    commands = [info for info in app.registered_commands if info.name == name]
    groups = [info for info in app.registered_groups if info.name == name]
    if name is None or not (commands or groups):
        return app
    only = copy.copy(app)
    only.registered_commands, only.registered_groups = commands, groups
    return only


def main() -> None:
    """The console script's entry point."""
    import sys

    if sys.argv[1:] == ["--version"]:
        # Answered before Typer builds every command (tens of ms), in the same words.
        sys.stdout.write(f"importune {__version__}\n")
        return
    import gc

    try:
        lean(invoked(sys.argv[1:]))(prog_name="importune")
    finally:
        # The process ends here. Its objects go with it: the collector need not walk them
        # all one last time on the way out (0.1 s after printing 1,000 letters). Files and
        # databases are closed by then, each by the `with` that opened it.
        gc.freeze()
