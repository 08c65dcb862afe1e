"""The workspace's SQLite file: opening it, its migrations, and typed reads and writes.

One function opens the database (:func:`open_store`) and it always migrates, so a
file made by an older importune opens in a newer one. Migrations are named,
append-only functions recorded by ``sqlite_utils.Migrations``; never edit one
that has shipped, add the next. Every write runs in ``db.atomic()``: a refused
change leaves the file as it was.

The file holds members' home addresses, so it is created with mode 0600 (SQLite
gives its -wal and -shm files the same mode).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils import Migrations

from importune import records
from importune.errors import Conflict, ImportuneError, InvalidInput, NotFound, WorkspaceError

BUSY_TIMEOUT_MS = 10_000

migrations = Migrations("importune")

# Singular names for messages ("case 'x' not found"), keyed by table.
SINGULAR = {"cases": "case", "officials": "official", "appeals": "appeal", "members": "member"}


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



# The case columns full-text search reads: every spelling of the name and what
# a coordinator remembers of a case (where, what for, the group's reference).
SEARCHED = ("name", "native_name", "reference", "location", "prison", "charges", "summary")


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


SCHEMA_VERSION = len(migrations._migrations)
"""How many migrations this importune knows; PRAGMA user_version is set to it."""


def _create_private(path: Path) -> None:
    """Create an empty file readable by its owner only: it will hold home addresses."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)  # whatever the umask said


def _connect(path: Path) -> sqlite_utils.Database:
    """A connection that checks foreign keys and waits for a busy writer; nothing written."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    db = sqlite_utils.Database(conn, execute_plugins=False)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA foreign_keys = ON")
    return db


def _use_wal(db: sqlite_utils.Database) -> None:
    """WAL journal: readers never wait for the writer. Set once it is known to be ours,
    since switching rewrites the file's header."""
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")


def _refuse_strangers(db: sqlite_utils.Database) -> list[str]:
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
    """Apply every pending migration; return the names applied (empty when up to date)."""
    _refuse_strangers(db)
    pending = [m.name for m in migrations.pending(db)]
    if pending:
        migrations.apply(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return pending


def open_store(path: Path, *, create: bool = False) -> Store:
    """Open (and migrate) the workspace at ``path``; ``create`` makes a new one instead.

    Opening never creates a file by accident: a mistyped ``--db`` is a refusal,
    not an empty workspace. A refused opening closes its connection (so SQLite
    removes the -wal and -shm files it made) and a refused creation removes the
    file it made: a refusal leaves the folder as it was.
    """
    path = Path(path)
    if create:
        if path.exists():
            raise Conflict(f"{path} already exists: it is a workspace already")
        _create_private(path)
    elif not path.is_file():
        raise WorkspaceError(
            f"no workspace at {path}: run 'importune init' there, or pass --db or set IMPORTUNE_DB"
        )
    db: sqlite_utils.Database | None = None
    try:
        db = _connect(path)
        _refuse_strangers(db)
        _use_wal(db)
        applied = migrate(db)
    except (sqlite3.DatabaseError, WorkspaceError) as error:
        if db is not None:
            db.close()
        if create:
            remove_database(path)
        if isinstance(error, WorkspaceError):
            raise
        raise WorkspaceError(f"{path}: {error}") from None
    store = Store(db, path)
    store.migrated = applied
    return store


def remove_database(path: Path) -> None:
    """Remove a database that was just created, with SQLite's side files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class Store:
    """Typed reads and writes of the workspace's records.

    Records go in and come out as plain dicts keyed by column name; values are
    checked by :func:`importune.records.normalise` before they are written.
    """

    def __init__(self, db: sqlite_utils.Database, path: Path) -> None:
        self.db = db
        self.path = path
        self.migrated: list[str] = []  # the migrations this opening applied

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def atomic(self) -> Iterator[Store]:
        with self.db.atomic():
            yield self

    # -- reading -----------------------------------------------------------------

    def query(self, sql: str, params: Iterable[Any] | Mapping[str, Any] = ()) -> list[dict]:
        return list(self.db.query(sql, params))

    def get(self, kind: str, ref: str | int) -> dict[str, Any]:
        """The record of ``kind`` whose id or slug is ``ref``; NotFound names what was asked."""
        text = str(ref).strip()
        column = "id" if text.isdigit() else "slug"
        rows = self.query(f"SELECT * FROM [{kind}] WHERE [{column}] = ?", [text])
        if not rows:
            raise NotFound(f"no {SINGULAR[kind]} {text!r} (give its id or slug)")
        return rows[0]

    def list(self, kind: str, **equal: Any) -> list[dict[str, Any]]:
        """Every record of ``kind``, filtered by equality on the given columns, by id."""
        filters = {column: value for column, value in equal.items() if value is not None}
        where = " AND ".join(f"[{column}] = ?" for column in filters)
        sql = f"SELECT * FROM [{kind}]" + (f" WHERE {where}" if where else "") + " ORDER BY id"
        return self.query(sql, list(filters.values()))

    def count(self, kind: str) -> int:
        return self.db.execute(f"SELECT count(*) FROM [{kind}]").fetchone()[0]

    # -- cases, officials, members ---------------------------------------------

    def add(self, kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Check and insert one record; a slug already taken is a conflict."""
        return self.add_many(kind, [raw])[0]

    def add_many(
        self, kind: str, rows: Iterable[Mapping[str, Any]], *, where: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Check every row, then insert them all in one transaction, or none.

        ``where`` names each row for messages ("people.csv, row 7"); a refusal
        is prefixed with it and, when a field is to blame, the column.
        """
        rows = list(rows)
        labels = where or [""] * len(rows)
        prepared: list[dict[str, Any]] = []
        for label, raw in zip(labels, rows, strict=True):
            try:
                record = records.normalise(kind, raw)
                if kind == "appeals":
                    record = self._resolve_appeal(record)
            except ImportuneError as error:
                raise _located(error, label) from None
            prepared.append(record)
        self._refuse_duplicates(kind, prepared, labels, rows)
        with self.db.atomic():
            table = self.db.table(kind)
            table.insert_all(prepared, batch_size=1000)
            first = self.db.execute("SELECT last_insert_rowid()").fetchone()[0] - len(prepared) + 1
        return [{"id": first + i, **record} for i, record in enumerate(prepared)]

    def _refuse_duplicates(
        self,
        kind: str,
        prepared: list[dict[str, Any]],
        labels: list[str],
        raws: list[Mapping[str, Any]],
    ) -> None:
        """A slug (or an appeal's case and official) twice in the rows, or already there.

        The column named is the one to change: ``slug`` when the row gave one,
        else ``name``, which the slug was made from.
        """
        if kind == "appeals":
            keys: list[Any] = [(r["case_id"], r["official_id"]) for r in prepared]
            sql = "SELECT case_id, official_id FROM appeals"
            taken = {(row["case_id"], row["official_id"]) for row in self.query(sql)}
            columns = ["official"] * len(keys)
        else:
            keys = [r["slug"] for r in prepared]
            taken = {row["slug"] for row in self.query(f"SELECT slug FROM [{kind}]")}
            columns = ["slug" if raw.get("slug") else "name" for raw in raws]
        seen: dict[Any, str] = {}
        for label, key, column in zip(labels, keys, columns, strict=True):
            if kind == "appeals":
                what = "an appeal to this official for this case"
            else:
                what = f"{SINGULAR[kind]} slug {key!r}"
            where = f"{label}, column {column!r}" if label else ""
            if key in seen:
                also = f" (also {seen[key].rsplit(', ', 1)[-1]})" if seen[key] else ""
                raise Conflict(_prefix(where, f"{what} appears twice{also}"), column)
            if key in taken:
                hint = "" if kind == "appeals" else ": give this one a slug of its own"
                raise Conflict(_prefix(where, f"{what} already exists{hint}"), column)
            seen[key] = label

    def _resolve_appeal(self, record: dict[str, Any]) -> dict[str, Any]:
        """An appeal's case and official, given by id or slug, as the rows' ids."""
        ids = {}
        for column, kind in (("case", "cases"), ("official", "officials")):
            try:
                ids[column] = self.get(kind, record.pop(column))["id"]
            except NotFound as error:
                raise NotFound(str(error), column) from None
        return {
            "case_id": ids["case"],
            "official_id": ids["official"],
            "template": record.get("template") or "concern",
            "language": record.get("language"),
            "until": record.get("until"),
            "active": 1 if record.get("active") in (None, True) else 0,
        }

    def edit(self, kind: str, ref: str | int, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Change the given fields of one record; fields not given keep their values."""
        given = {k: v for k, v in raw.items() if v is not None}
        current = self.get(kind, ref)
        if not given:
            raise InvalidInput(
                f"nothing to change for {SINGULAR[kind]} {current['slug']!r}: "
                "give the fields to change (see --help)"
            )
        changes = records.normalise(kind, given, partial=True)
        if kind == "cases":
            records.check_dates({**current, **changes})
        if "slug" in changes and changes["slug"] != current["slug"]:
            clash = self.query(f"SELECT id FROM [{kind}] WHERE slug = ?", [changes["slug"]])
            if clash:
                raise Conflict(f"{SINGULAR[kind]} slug {changes['slug']!r} already exists")
        if changes:
            with self.db.atomic():
                self.db.table(kind).update(current["id"], changes)
        return {**current, **changes}

    def remove(self, kind: str, ref: str | int) -> dict[str, Any]:
        """Delete one record, with its appeals and events; refused while letters name it."""
        record = self.get(kind, ref)
        column = {"cases": "case_id", "officials": "official_id", "members": "member_id"}[kind]
        letters = self.db.execute(
            f"SELECT count(*) FROM letters WHERE {column} = ?", [record["id"]]
        ).fetchone()[0]
        if letters:
            raise Conflict(
                f"{SINGULAR[kind]} {record['slug']!r} has {letters} letter(s) on record; "
                "they would lose their history"
            )
        with self.db.atomic():
            self.db.execute(f"DELETE FROM [{kind}] WHERE id = ?", [record["id"]])
        return record

    # -- appeals -------------------------------------------------------------------

    def appeals(self, case: str | None = None, official: str | None = None) -> list[dict[str, Any]]:
        """Appeals with their case's and official's slugs, for listings and exports."""
        where, params = [], []
        if case is not None:
            where.append("a.case_id = ?")
            params.append(self.get("cases", case)["id"])
        if official is not None:
            where.append("a.official_id = ?")
            params.append(self.get("officials", official)["id"])
        sql = (
            "SELECT a.id, c.slug AS [case], o.slug AS official, a.template, a.language, "
            "a.until, a.active FROM appeals a JOIN cases c ON c.id = a.case_id "
            "JOIN officials o ON o.id = a.official_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY c.slug, o.slug"
        )
        return self.query(sql, params)

    def remove_appeal(self, case: str, official: str) -> dict[str, Any]:
        case_row = self.get("cases", case)
        official_row = self.get("officials", official)
        rows = self.appeals(case, official)
        if not rows:
            raise NotFound(f"no appeal to {official_row['slug']!r} for case {case_row['slug']!r}")
        with self.db.atomic():
            self.db.execute("DELETE FROM appeals WHERE id = ?", [rows[0]["id"]])
        return rows[0]

    # -- the group's settings ---------------------------------------------------

    GROUP_KEYS = records.GROUP_KEYS

    def group(self) -> dict[str, str | None]:
        """The group that signs off its letters: name, address, email."""
        stored = {
            row["key"].removeprefix("group."): row["value"]
            for row in self.query("SELECT key, value FROM settings WHERE key LIKE 'group.%'")
        }
        return {key: stored.get(key) for key in self.GROUP_KEYS}

    def set_group(self, **values: str | None) -> dict[str, str | None]:
        changes = records.check_group(values)
        with self.db.atomic():
            self.db.table("settings").upsert_all(
                [{"key": f"group.{key}", "value": value} for key, value in changes.items()],
                pk="key",
            )
        return self.group()

    # -- maintenance ---------------------------------------------------------------

    def backup(self, target: Path) -> None:
        """Copy the workspace with SQLite's online backup, into a new private file."""
        target = Path(target)
        if target.exists():
            raise Conflict(f"{target} already exists; choose a new file name")
        _create_private(target)
        try:
            with sqlite3.connect(str(target)) as copy:
                self.db.conn.backup(copy)
            copy.close()
        except BaseException:
            target.unlink(missing_ok=True)
            raise


def _prefix(label: str, message: str) -> str:
    return f"{label}: {message}" if label else message


def _located(error: ImportuneError, label: str) -> ImportuneError:
    """Name the row and column of a refusal: ``cases.csv, row 4, column 'country': ...``."""
    if not label:
        return error
    column = f", column {error.field!r}" if error.field else ""
    return type(error)(f"{label}{column}: {error}", error.field)
