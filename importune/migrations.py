"""The workspace's schema, as named, append-only migrations (``sqlite_utils.Migrations``).

Never edit a migration that has shipped: add the next one, and raise
:data:`importune.store.SCHEMA_VERSION` with it (a test keeps the two equal). This module
is loaded only when a workspace is created or is older than this importune: opening an
up-to-date workspace (nearly every command) needs neither it nor sqlite-utils' import,
a tenth of a second (see :func:`importune.store.open_store`).
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

from importune.errors import WorkspaceError
from importune.store import SCHEMA_VERSION, SEARCHED

migrations = Migrations("importune")


def _run(db: sqlite_utils.Database, statements: str) -> None:
    """Run ``;``-separated DDL one statement at a time.

    ``executescript`` would COMMIT the migration's transaction half way; this
    keeps each migration all-or-nothing. The DDL here holds no ``;`` in literals.
    """
    for statement in statements.split(";"):
        if statement.strip():
            db.execute(statement)


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    _run(
        db,
        """
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT
        );
        CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            slug TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            native_name TEXT,
            reference TEXT,
            country TEXT NOT NULL,
            location TEXT,
            prison TEXT,
            detained_on TEXT,
            charges TEXT,
            summary TEXT,
            sources TEXT,
            language TEXT,
            status TEXT NOT NULL DEFAULT 'detained'
                CHECK (status IN ('detained', 'released', 'deceased', 'unknown')),
            released_on TEXT
        );
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            date TEXT NOT NULL,
            kind TEXT NOT NULL,
            note TEXT
        );
        CREATE INDEX events_case ON events(case_id, date);
        CREATE TABLE officials (
            id INTEGER PRIMARY KEY,
            slug TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            title TEXT,
            organization TEXT,
            country TEXT NOT NULL,
            address TEXT NOT NULL,
            salutation TEXT,
            email TEXT,
            fax TEXT,
            language TEXT
        );
        CREATE TABLE appeals (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            official_id INTEGER NOT NULL REFERENCES officials(id) ON DELETE CASCADE,
            template TEXT NOT NULL DEFAULT 'concern',
            language TEXT,
            until TEXT,
            active INTEGER NOT NULL DEFAULT 1,
            UNIQUE (case_id, official_id)
        );
        CREATE INDEX appeals_official ON appeals(official_id);
        CREATE TABLE members (
            id INTEGER PRIMARY KEY,
            slug TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            address TEXT,
            email TEXT,
            language TEXT
        );
        CREATE TABLE letters (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases(id),
            official_id INTEGER NOT NULL REFERENCES officials(id),
            member_id INTEGER REFERENCES members(id),
            template TEXT NOT NULL,
            language TEXT NOT NULL,
            format TEXT NOT NULL CHECK (format IN ('txt', 'md', 'html', 'pdf', 'eml')),
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            dated TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'generated'
                CHECK (status IN ('generated', 'printed', 'sent', 'withdrawn')),
            generated_at TEXT NOT NULL,
            printed_at TEXT,
            sent_at TEXT,
            withdrawn_at TEXT
        );
        CREATE UNIQUE INDEX letters_key
            ON letters(case_id, official_id, coalesce(member_id, 0), template, language, format);
        CREATE INDEX letters_member ON letters(member_id);
        CREATE INDEX letters_official ON letters(official_id)
        """,
    )





@migrations()
def m002_search_and_sources(db: sqlite_utils.Database) -> None:
    """Full-text search over cases, kept in step by triggers; letters remember their sources.

    ``cases_fts`` is an FTS5 index over ``cases`` (external content, so nothing is
    stored twice); triggers keep it in step with every insert, edit and removal,
    whichever program makes them (Datasette shows the table as searchable).
    ``remove_diacritics 2`` folds accents and case in every script, so
    ``dzhumaev`` finds ``Dzhumaev`` and ``Djumaév`` finds ``Djumaev``.

    ``letters.source_sha`` is the sha256 of everything a letter was rendered
    from (templates, records, date, format): a re-run whose sources are
    unchanged need not render the letter again to know it is unchanged.
    """
    columns = ", ".join(SEARCHED)
    new = ", ".join(f"new.{c}" for c in SEARCHED)
    old = ", ".join(f"old.{c}" for c in SEARCHED)
    forget = f"INSERT INTO cases_fts (cases_fts, rowid, {columns}) VALUES ('delete', old.id, {old})"
    learn = f"INSERT INTO cases_fts (rowid, {columns}) VALUES (new.id, {new})"
    # One statement per execute: a trigger's body holds ";", which _run splits on.
    for statement in (
        f"""CREATE VIRTUAL TABLE cases_fts USING fts5({columns}, content='cases',
            content_rowid='id', tokenize='unicode61 remove_diacritics 2')""",
        f"INSERT INTO cases_fts (rowid, {columns}) SELECT id, {columns} FROM cases",
        f"CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN {learn}; END",
        f"CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases BEGIN {forget}; END",
        f"CREATE TRIGGER cases_fts_update AFTER UPDATE ON cases BEGIN {forget}; {learn}; END",
        "ALTER TABLE letters ADD COLUMN source_sha TEXT",
    ):
        db.execute(statement)


@migrations()
def m003_search_index_found_by_datasette(db: sqlite_utils.Database) -> None:
    """``cases_fts`` made again with its content table named ``content=[cases]``.

    m002 wrote ``content='cases'``; sqlite-utils (``table.detect_fts()``,
    ``table.search()``) and Datasette recognise a table's FTS index only by
    ``content=[cases]`` or ``content="cases"``, so they showed ``cases`` as not
    searchable. The index is rebuilt from ``cases``; m002's triggers name the
    index, not its definition, and keep it in step as before.
    """
    columns = ", ".join(SEARCHED)
    for statement in (
        "DROP TABLE cases_fts",
        f"""CREATE VIRTUAL TABLE cases_fts USING fts5({columns}, content=[cases],
            content_rowid=[id], tokenize='unicode61 remove_diacritics 2')""",
        "INSERT INTO cases_fts (cases_fts) VALUES ('rebuild')",
    ):
        db.execute(statement)


@migrations()
def m004_receipts(db: sqlite_utils.Database) -> None:
    """Receipts of ``generate-letters`` runs, voided by any change to what letters are made of.

    A run leaves a receipt (see ``importune/receipts.py``) so that running it again with
    nothing changed is known without rendering a letter. Triggers empty the table on
    every insert, edit or removal in the tables a letter is made from or recorded in,
    whichever program makes it, so a receipt never outlives what it vouches for.
    """
    db.execute(
        """CREATE TABLE receipts (
            key TEXT PRIMARY KEY,
            inputs TEXT NOT NULL,
            unchanged INTEGER NOT NULL,
            skipped INTEGER NOT NULL,
            made_at TEXT NOT NULL
        )"""
    )
    # Every table a letter is made from or recorded in, as it shipped with m004.
    for table in ("settings", "cases", "events", "officials", "appeals", "members", "letters"):
        for event in ("INSERT", "UPDATE", "DELETE"):
            db.execute(
                f"CREATE TRIGGER {table}_{event.lower()}_voids_receipts AFTER {event} "
                f"ON {table} BEGIN DELETE FROM receipts; END"
            )


@migrations()
def m005_receipts_voided_only_when_held(db: sqlite_utils.Database) -> None:
    """The receipts' triggers delete only when there is a receipt to delete.

    m004's triggers ran ``DELETE FROM receipts`` for every row written, although a run
    empties the table at its first row: a run of ``generate-letters`` writes a row a
    letter, and the empty delete cost a fifth of each row's insert (counted with
    valgrind). The same triggers, by the same names, with
    ``WHEN EXISTS (SELECT 1 FROM receipts)``: a receipt is voided exactly as before.
    """
    for table in ("settings", "cases", "events", "officials", "appeals", "members", "letters"):
        for event in ("INSERT", "UPDATE", "DELETE"):
            name = f"{table}_{event.lower()}_voids_receipts"
            db.execute(f"DROP TRIGGER {name}")
            db.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                "WHEN EXISTS (SELECT 1 FROM receipts) BEGIN DELETE FROM receipts; END"
            )


@migrations()
def m006_receipts_say_why_letters_were_skipped(db: sqlite_utils.Database) -> None:
    """A receipt keeps how many letters its run skipped for each kind of reason.

    A run again known from its receipt says what the run before it said: "20000 skipped:
    15000 case released, 5000 already sent", not a bare count that only ``--json``,
    letter by letter, could explain. Receipts made before have no such counts and no
    longer match (``receipts.FORMAT`` 2): the next run goes the long way once.
    """
    db["receipts"].add_column("skipped_why", str)


@migrations()
def m007_members_who_left(db: sqlite_utils.Database) -> None:
    """``members.left_on``: the day a member left the group (empty while they belong).

    A member whose name letters carry cannot be deleted: the letters would lose their
    history. ``member remove`` keeps such a member as one who left instead: no letter
    is written in their name any more, and their address is erased.
    """
    db["members"].add_column("left_on", str)


def refuse_strangers(db: sqlite_utils.Database) -> list[str]:
    """The migrations already applied; refused when the file is not ours to migrate.

    A database that names a migration this importune does not know was made by a
    newer one. A database that holds tables but no record of importune's
    migrations belongs to another program (a mistyped ``--db``). Either is
    refused before anything is written to it.
    """
    known = {m.name for m in migrations._migrations}
    applied = [m.name for m in migrations.applied(db)]
    newer = [name for name in applied if name not in known]
    if newer:
        raise WorkspaceError(
            f"this workspace was made by a newer importune (migration {newer[0]!r}); "
            "upgrade importune"
        )
    if not applied and any(not name.startswith("sqlite_") for name in db.table_names()):
        raise WorkspaceError("not an importune workspace: it holds another program's tables")
    return applied


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply every pending migration to a database :func:`refuse_strangers` accepted (its
    caller checks first, before switching the file to WAL); return the names applied
    (empty when up to date)."""
    pending = [m.name for m in migrations.pending(db)]
    if pending:
        migrations.apply(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return pending
