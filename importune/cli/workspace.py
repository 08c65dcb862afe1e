"""``init``, ``group``, ``import``, ``export`` and ``db``: the workspace as a whole."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from importune.cli._common import JsonFlag, details, print_json, say, settings, workspace
from importune.errors import InvalidInput
from importune.wording import count

group_app = typer.Typer(help="The group that signs off its letters.", no_args_is_help=True)
db_app = typer.Typer(help="The workspace's database file.", no_args_is_help=True)

KIND_HELP = "cases, officials, appeals or members."


def init(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Where to create the workspace.")] = Path("."),
    group: Annotated[
        str | None, typer.Option(help="The group's name, as it signs letters.")
    ] = None,
    paper: Annotated[
        str | None,
        typer.Option(
            metavar="A4|LETTER", help="The paper its members print on: a4 (the default) or letter."
        ),
    ] = None,
) -> None:
    """Create a workspace: importune.db and the group's own letters/ templates."""
    from importune import workspace as ws
    from importune.formats.common import PAPER_NAMES, window_envelope
    from importune.records import check_group
    from importune.store import open_store, remove_database

    db = _new_database(ctx, folder)
    checked = check_group({"name": group or None, "paper": paper})  # refused before any file
    store = open_store(db, create=True)
    try:
        if checked:
            store.set_group(**checked)
        store.close()
        copied = ws.copy_default_letters(folder / ws.LETTERS_DIR)
    except BaseException:
        store.close()
        remove_database(db)
        raise
    say(f"Created {db} (readable by you only: it will hold members' addresses).")
    letters = folder / ws.LETTERS_DIR
    if copied:
        say(f"Copied the default templates to {letters}/: edit them to suit your group.")
    else:
        say(f"Kept your templates in {letters}/.")
    paper = checked.get("paper") or "a4"
    how = " (on US Letter after: importune group set --paper letter)" if paper == "a4" else ""
    say(f"Letters print on {PAPER_NAMES[paper]}, for {window_envelope(paper)} window "
        f"envelopes{how}.")  # fmt: skip
    where = "" if folder == Path(".") else f"cd {folder} && "
    say(f"Next: {where}importune case add NAME --country CC")


def _new_database(ctx: typer.Context, folder: Path) -> Path:
    """Where ``init`` makes the database.

    ``--db`` typed on the command line wins; a folder given to ``init`` comes
    next (``importune init campaign`` makes ``campaign/importune.db`` even when
    ``$IMPORTUNE_DB`` names another workspace); else ``$IMPORTUNE_DB``, else
    ``./importune.db``.
    """
    from importune.workspace import DB_NAME

    root = ctx.find_root()
    given = settings(ctx).db
    db_source = root.get_parameter_source("db")
    folder_source = ctx.get_parameter_source("folder")
    if given is not None and db_source is not None and db_source.name == "COMMANDLINE":
        return given
    if folder_source is not None and folder_source.name == "COMMANDLINE":
        return folder / DB_NAME
    return settings(ctx).db_path if given is not None else folder / DB_NAME


@group_app.command("show")
def group_show(ctx: typer.Context, json_: JsonFlag = False) -> None:
    """Show the group's name, address, e-mail, paper and English."""
    with workspace(ctx) as store:
        group = store.group()
    if json_:
        print_json(group)
    elif any(group.values()):
        details(group, list(group))
    else:
        say("No group details yet: importune group set --name NAME --address TEXT")


@group_app.command("set")
def group_set(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="The group's name.")] = None,
    address: Annotated[str | None, typer.Option(help="Its postal address.")] = None,
    email: Annotated[str | None, typer.Option(help="Its e-mail address.")] = None,
    paper: Annotated[
        str | None,
        typer.Option(
            metavar="A4|LETTER",
            help="The paper its members print on: a4 (the default) or letter (US Letter).",
        ),
    ] = None,
    english: Annotated[
        str | None,
        typer.Option(
            metavar="LOCALE",
            help="The English its letters write dates in: en-US (November 29, 2026, the "
            "default) or en-GB (29 November 2026), en-AU, en-IE, en-IN...",
        ),
    ] = None,
) -> None:
    """Set the group's name, address, e-mail, paper or English."""
    given = {"name": name, "address": address, "email": email, "paper": paper,
             "english": english}  # fmt: skip
    if all(value is None for value in given.values()):
        raise InvalidInput(
            "nothing to set: give --name, --address, --email, --paper or --english"
        )
    with workspace(ctx) as store:
        store.set_group(**given)
    say("Group updated.")


def _kind(kind: str) -> str:
    from importune.records import KINDS

    if kind not in KINDS:
        raise typer.BadParameter(f"{kind!r} is not one of {', '.join(KINDS)}")
    return kind


def import_(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help=KIND_HELP, callback=_kind)],
    file: Annotated[Path, typer.Argument(help=".csv, .tsv, .json (array of objects) or .jsonl.")],
) -> None:
    """Import records from a file: all of them, or none if any row is wrong."""
    from importune.store import SINGULAR
    from importune.transfer import read_import

    back = None
    with workspace(ctx) as store:
        data = read_import(file)
        if kind == "appeals":
            from importune.coordinate import add_appeals

            added, back = add_appeals(store, data.rows, where=data.labels)
        else:
            added = store.add_many(kind, data.rows, where=data.labels)
    say(f"Imported {count(len(added), SINGULAR[kind])} from {file}.")
    if back is not None:
        from importune.cli.coordinate import say_letters_back

        say_letters_back(back)


def export(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help=KIND_HELP, callback=_kind)],
    format_: Annotated[
        str | None, typer.Option("--format", help="csv or json (default: from -o, else csv).")
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write.")] = None,
) -> None:
    """Export records as CSV or JSON, in the columns import reads."""
    from importune import transfer
    from importune.store import SINGULAR

    fmt = format_ or (output.suffix.lower().lstrip(".") if output else "csv")
    if fmt not in ("csv", "json"):
        raise typer.BadParameter(f"{fmt!r} is not csv or json", param_hint="--format")
    with workspace(ctx) as store:
        # In the order they were made, so that an export imported elsewhere keeps the ids.
        rows = store.appeals() if kind == "appeals" else store.list(kind)
    rows.sort(key=lambda row: row["id"])
    # Members who left are kept only for their letters' history: imported elsewhere,
    # they would be members again.
    gone = [row for row in rows if row.get("left_on")] if kind == "members" else []
    rows = [row for row in rows if not row.get("left_on")] if gone else rows
    records = transfer.export_rows(kind, rows)
    text = transfer.to_csv(kind, records) if fmt == "csv" else transfer.to_json(records)
    if output is None:
        sys.stdout.write(text)
        return
    # A CSV file gets a byte-order mark so that spreadsheets read it as UTF-8;
    # members' exports hold home addresses and stay readable by their owner only.
    transfer.write_file(output, text, private=kind == "members", bom=fmt == "csv")
    not_them = f" ({len(gone)} who left the group not among them)" if gone else ""
    say(f"Exported {count(len(records), SINGULAR[kind])} to {output}{not_them}.")


@db_app.command("migrate")
def db_migrate(ctx: typer.Context) -> None:
    """Bring the database up to this importune's schema (opening it does this too)."""
    from importune.store import SCHEMA_VERSION

    with workspace(ctx) as store:  # opening the workspace applies what is pending
        applied = store.migrated
    done = f"applied {', '.join(applied)}" if applied else "nothing to do"
    say(f"{store.path}: schema version {SCHEMA_VERSION}, up to date ({done}).")


@db_app.command("backup")
def db_backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The new file to copy the workspace into.")],
) -> None:
    """Copy the database safely while it is in use (SQLite's online backup)."""
    with workspace(ctx) as store:
        store.backup(file)
    say(f"Backed up {store.path} to {file} (readable by you only).")
