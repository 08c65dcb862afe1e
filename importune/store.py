"""The workspace's SQLite file: opening it, its migrations, and typed reads and writes.

One function opens the database (:func:`open_store`) and it always migrates, so a
file made by an older importune opens in a newer one. The migrations are named,
append-only functions in :mod:`importune.migrations`; never edit one that has
shipped, add the next. Every write runs in :meth:`Store.atomic`: a refused change
leaves the file as it was.

Reading and plain SQL go through the sqlite3 connection (``Store.conn``); sqlite-utils
(``Store.db``: its table API for inserts, upserts and updates, and the migrations) is
loaded the first time a command needs it. Its import takes a tenth of a second, which
every command paid at its start; ``generate-letters`` and ``print`` in an up-to-date
workspace now never load it.

The file holds members' home addresses, so it is created with mode 0600 (SQLite
gives its -wal and -shm files the same mode).
"""

from __future__ import annotations

import itertools
import os
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importune import records
from importune.errors import Conflict, ImportuneError, InvalidInput, NotFound, WorkspaceError
from importune.wording import agree, count

if TYPE_CHECKING:
    import sqlite_utils

BUSY_TIMEOUT_MS = 10_000
# Singular names for messages ("case 'x' not found"), keyed by table.
SINGULAR = {"cases": "case", "officials": "official", "appeals": "appeal", "members": "member"}

# The case columns full-text search reads: every spelling of the name and what
# a coordinator remembers of a case (where, what for, the group's reference).
SEARCHED = ("name", "native_name", "reference", "location", "prison", "charges", "summary")


SCHEMA_VERSION = 7
"""How many migrations :mod:`importune.migrations` holds; PRAGMA user_version is set to it."""


def _create_private(path: Path) -> None:
    """Create an empty file readable by its owner only: it will hold home addresses."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)  # whatever the umask said


def _connect(path: Path) -> sqlite3.Connection:
    """A connection that checks foreign keys and waits for a busy writer; nothing written.
    (Transactions are importune's own, begun by :meth:`Store.atomic`, as sqlite-utils
    does: the connection's autocommit handling is left as Python sets it.)"""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA recursive_triggers = ON")  # as sqlite-utils sets it, loaded or not
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """WAL journal: readers never wait for the writer. Set once it is known to be ours,
    since switching rewrites the file's header."""
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")


_APPLIED = "SELECT count(*) FROM _sqlite_migrations WHERE migration_set = 'importune'"
"""How many of importune's migrations sqlite-utils recorded as applied (its own table)."""


def _up_to_date(conn: sqlite3.Connection) -> bool:
    """Whether this workspace is exactly at this importune's schema: ``user_version`` (set by
    every migration run) and the migrations recorded both say so. Anything else (a new,
    older, newer or foreign file, or a record sqlite-utils keeps elsewhere one day) goes
    through :func:`importune.migrations.migrate`, which knows every case."""
    if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
        return False
    try:
        return conn.execute(_APPLIED).fetchone()[0] == SCHEMA_VERSION
    except sqlite3.OperationalError:  # no such table: not a workspace importune migrated
        return False


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
    conn: sqlite3.Connection | None = None
    try:
        conn = _connect(path)
        applied: list[str] = []
        if _up_to_date(conn):
            _use_wal(conn)
        else:
            from importune import migrations

            db = _database(conn)
            migrations.refuse_strangers(db)
            _use_wal(conn)
            applied = migrations.migrate(db)
    except (sqlite3.DatabaseError, WorkspaceError) as error:
        if conn is not None:
            conn.close()
        if create:
            remove_database(path)
        if isinstance(error, WorkspaceError):
            raise
        raise WorkspaceError(f"{path}: {error}") from None
    store = Store(conn, path)
    store.migrated = applied
    return store


def _database(conn: sqlite3.Connection) -> sqlite_utils.Database:
    """sqlite-utils over the same connection (loaded here, when first needed)."""
    import sqlite_utils

    return sqlite_utils.Database(conn, execute_plugins=False)


def remove_database(path: Path) -> None:
    """Remove a database that was just created, with SQLite's side files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class Store:
    """Typed reads and writes of the workspace's records.

    Records go in and come out as plain dicts keyed by column name; values are
    checked by :func:`importune.records.normalise` before they are written.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.migrated: list[str] = []  # the migrations this opening applied

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over this store's connection, for its table API (see the module)."""
        return _database(self.conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def atomic(self) -> Iterator[Store]:
        """A transaction: everything in the block is written, or nothing. Inside another
        one it is a savepoint, undone alone. (sqlite-utils' ``Database.atomic``, which
        the table API's own writes nest in, written here so that a command that only
        reads and runs SQL does not load sqlite-utils.)"""
        conn = self.conn
        if conn.in_transaction:
            savepoint = f"importune_{secrets.token_hex(8)}"
            conn.execute(f"SAVEPOINT {savepoint}")
            try:
                yield self
            except BaseException:
                # An error that ended the whole transaction (RAISE(ROLLBACK), a full
                # disk) took the savepoint with it: the original error is what matters.
                if conn.in_transaction:
                    conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                    conn.execute(f"RELEASE SAVEPOINT {savepoint}")
                raise
            conn.execute(f"RELEASE SAVEPOINT {savepoint}")
            return
        conn.execute("BEGIN")
        try:
            yield self
        except BaseException:
            conn.rollback()
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            conn.rollback()
            raise

    # -- reading -----------------------------------------------------------------

    def query(self, sql: str, params: Iterable[Any] | Mapping[str, Any] = ()) -> list[dict]:
        """Rows as dicts keyed by column name (what sqlite-utils' ``query`` gives)."""
        return list(self.iter_query(sql, params))

    def iter_query(
        self, sql: str, params: Iterable[Any] | Mapping[str, Any] = ()
    ) -> Iterator[dict[str, Any]]:
        """:meth:`query`, a row at a time (a long listing is never held whole)."""
        cursor = self.conn.execute(sql, params if isinstance(params, Mapping) else tuple(params))
        keys = [column[0] for column in cursor.description or ()]
        for row in cursor:
            yield dict(zip(keys, row, strict=True))

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
        return self.conn.execute(f"SELECT count(*) FROM [{kind}]").fetchone()[0]

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
        with self.atomic():
            table = self.db.table(kind)
            table.insert_all(prepared, batch_size=1000)
            last = self.conn.execute("SELECT last_insert_rowid()").fetchone()[0]
        first = last - len(prepared) + 1
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
        departed = {  # members who left: one of them may be back
            row["slug"]: row["left_on"]
            for row in self.query("SELECT slug, left_on FROM members WHERE left_on IS NOT NULL")
        } if kind == "members" else {}  # fmt: skip
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
                free = next(f"{key}-{n}" for n in itertools.count(2) if f"{key}-{n}" not in taken)
                own = " (a slug column)" if label else f" (--slug {free})"
                if kind == "appeals":
                    hint = ""
                elif key in departed:
                    hint = (
                        f" (a member who left the group on {departed[key]}: if they are back, "
                        f"importune member edit {key} --back); for another of the same name, "
                        f"give this one a slug of its own{own}"
                    )
                else:
                    hint = (
                        f" (to change that {SINGULAR[kind]}: importune {SINGULAR[kind]} edit "
                        f"{key}); for another of the same name, give this one a slug of its own"
                        f"{own}"
                    )
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
            with self.atomic():
                self.db.table(kind).update(current["id"], changes)
        return {**current, **changes}

    def remove(self, kind: str, ref: str | int) -> dict[str, Any]:
        """Delete one record, with its appeals and events; refused while letters name it."""
        record = self.get(kind, ref)
        column = {"cases": "case_id", "officials": "official_id", "members": "member_id"}[kind]
        letters = self.conn.execute(  # letters, not rows: a letter has a row per format
            "SELECT count(*) FROM (SELECT DISTINCT case_id, official_id, member_id, template, "
            f"language FROM letters WHERE {column} = ?)",
            [record["id"]],
        ).fetchone()[0]
        if letters:
            raise Conflict(
                f"{SINGULAR[kind]} {record['slug']!r} has {count(letters, 'letter')} on record; "
                f"{agree(letters, 'it', 'they')} would lose {agree(letters, 'its', 'their')} "
                f"history{self._instead(kind, record)}"
            )
        with self.atomic():
            self.conn.execute(f"DELETE FROM [{kind}] WHERE id = ?", [record["id"]])
        return record

    def _instead(self, kind: str, record: Mapping[str, Any]) -> str:
        """What stops the letters of a case or an official that cannot be removed."""
        slug = record["slug"]
        if kind == "cases":
            return (
                f" (a case ends with importune case release {slug}, or case edit {slug} "
                "--status deceased)"
            )
        if kind != "officials":
            return ""
        cases = [
            row["slug"]
            for row in self.query(
                "SELECT c.slug FROM appeals a JOIN cases c ON c.id = a.case_id "
                "WHERE a.official_id = ? ORDER BY c.slug",
                [record["id"]],
            )
        ]
        if not cases:
            return " (no appeal writes to them any more)"
        more = f" and {len(cases) - 1} more (importune appeal list)" if len(cases) > 1 else ""
        return f" (to stop writing to them: importune appeal remove {cases[0]} {slug}{more})"

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

    def _appeal(self, case: str, official: str) -> dict[str, Any]:
        """One appeal, as :meth:`appeals` gives it, with its case's and official's ids."""
        case_row = self.get("cases", case)
        official_row = self.get("officials", official)
        rows = self.query(
            "SELECT id, template, language, until, active FROM appeals "
            "WHERE case_id = ? AND official_id = ?",
            [case_row["id"], official_row["id"]],
        )
        if not rows:
            raise NotFound(f"no appeal to {official_row['slug']!r} for case {case_row['slug']!r}")
        return {"case": case_row["slug"], "official": official_row["slug"], **rows[0],
                "case_id": case_row["id"], "official_id": official_row["id"]}  # fmt: skip

    def edit_appeal(self, case: str, official: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Change the given fields of an appeal (template, language, until, active); its
        row as :meth:`appeals` gives it. Its letters follow at the next run: a paused or
        ended appeal's letters are skipped and left out of ``print``, a new template or
        language makes new ones."""
        appeal = self._appeal(case, official)
        given = {key: value for key, value in raw.items() if value is not None}
        if not given:
            raise InvalidInput(
                f"nothing to change for the appeal to {appeal['official']!r} for case "
                f"{appeal['case']!r}: give --template, --language, --until, --pause or --resume"
            )
        changes = records.normalise("appeals", given, partial=True)
        with self.atomic():
            self.db.table("appeals").update(appeal["id"], changes)
        return {**appeal, **changes}

    def remove_appeal(self, case: str, official: str) -> dict[str, Any]:
        """Delete an appeal; its row as :meth:`appeals` gives it, with its case's and
        official's ids (their letters are the caller's: see ``coordinate.remove_appeal``)."""
        appeal = self._appeal(case, official)
        with self.atomic():
            self.conn.execute("DELETE FROM appeals WHERE id = ?", [appeal["id"]])
        return appeal

    # -- the group's settings ---------------------------------------------------

    GROUP_KEYS = records.GROUP_KEYS

    def group(self) -> dict[str, str | None]:
        """The group that signs off its letters (name, address, email), its paper and English."""
        stored = {
            row["key"].removeprefix("group."): row["value"]
            for row in self.query("SELECT key, value FROM settings WHERE key LIKE 'group.%'")
        }
        return {key: stored.get(key) for key in self.GROUP_KEYS}

    def set_group(self, **values: str | None) -> dict[str, str | None]:
        changes = records.check_group(values)
        with self.atomic():
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
                self.conn.backup(copy)
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
