"""Upgrades: a workspace made by every earlier importune opens in this one, every record intact.

``tests/fixtures/schema-<migration>.db`` is a database made by the importune whose last
migration is ``<migration>``, kept as it left it (checkpointed, one file):

- ``schema-m001.db``: made at commit 42435e3 (only ``m001_initial``) by its own
  commands: three cases (Cyrillic, Persian and accented names), two officials, two
  members, four appeals, twelve letters in three formats (two sent), one case
  released, two events. It predates full-text search and ``letters.source_sha``.
- ``schema-m002.db``: the same campaign made by the current schema
  (``m002_search_and_sources``), with events recorded by ``case event``.
- ``schema-m003.db`` to ``schema-m007.db``: the previous one
  opened (so migrated) by the importune of the next migration, then checkpointed back
  to one file (``PRAGMA journal_mode = DELETE``).

Each is copied, opened by today's importune (by ``db migrate`` or by any other
command: opening always migrates), and compared row by row with the file as it was.
When a migration is added, make the previous schema's fixture the same way (see
``notes`` in the commit that added this module) and add it to ``FIXTURES``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from conftest import invoke

from importune.migrations import migrations
from importune.store import SCHEMA_VERSION
from importune.workspace import copy_default_letters

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# fixture file → the migrations it holds
SCHEMAS = {
    "schema-m001.db": ["m001_initial"],
    "schema-m002.db": ["m001_initial", "m002_search_and_sources"],
    "schema-m003.db": [
        "m001_initial", "m002_search_and_sources", "m003_search_index_found_by_datasette"
    ],
    "schema-m004.db": [
        "m001_initial", "m002_search_and_sources", "m003_search_index_found_by_datasette",
        "m004_receipts",
    ],
    "schema-m005.db": [
        "m001_initial", "m002_search_and_sources", "m003_search_index_found_by_datasette",
        "m004_receipts", "m005_receipts_voided_only_when_held",
    ],
    "schema-m006.db": [
        "m001_initial", "m002_search_and_sources", "m003_search_index_found_by_datasette",
        "m004_receipts", "m005_receipts_voided_only_when_held",
        "m006_receipts_say_why_letters_were_skipped",
    ],
    "schema-m007.db": [
        "m001_initial", "m002_search_and_sources", "m003_search_index_found_by_datasette",
        "m004_receipts", "m005_receipts_voided_only_when_held",
        "m006_receipts_say_why_letters_were_skipped", "m007_members_who_left",
    ],
}
TABLES = ("settings", "cases", "events", "officials", "appeals", "members", "letters")
Refused = Callable[..., str]


def ok(*args: object) -> Any:
    result = invoke(*args)
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result


def dump(db: Path) -> dict[str, list[dict[str, Any]]]:
    """Every record of every table, read with plain sqlite3 (read only)."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        conn.row_factory = sqlite3.Row
        return {
            table: [dict(row) for row in conn.execute(f"SELECT * FROM [{table}] ORDER BY rowid")]
            for table in TABLES
        }


def applied(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return [name for (name,) in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = 'importune' ORDER BY id"
        )]  # fmt: skip


@pytest.fixture(params=list(SCHEMAS))
def old(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    """A copy of one fixture as this test's workspace database."""
    target = tmp_path / "importune.db"
    shutil.copyfile(FIXTURES / request.param, target)
    return request.param, target


def test_the_fixtures_are_what_they_say(old: tuple[str, Path]) -> None:
    name, db = old
    assert applied(db) == SCHEMAS[name]
    with closing(sqlite3.connect(db)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert ("cases_fts" in tables) == ("m002_search_and_sources" in SCHEMAS[name])
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    records = dump(db)
    events = 2 if name == "schema-m001.db" else 3  # case release records an event since m002
    assert {table: len(rows) for table, rows in records.items()} == {
        "settings": 3, "cases": 3, "events": events, "officials": 2, "appeals": 4, "members": 2,
        "letters": 12,
    }  # fmt: skip


def test_every_schema_this_importune_knows_has_a_fixture() -> None:
    """A new migration needs a fixture of the schema before it."""
    names = [m.name for m in migrations._migrations]
    assert list(SCHEMAS.values())[-1] == names
    assert len(SCHEMAS) == SCHEMA_VERSION == len(names)  # store's number, the migrations' count


@pytest.mark.parametrize(
    "first", [["db", "migrate"], ["case", "list", "--json"], ["letters", "list", "--json"]],
    ids=["db-migrate", "case-list", "letters-list"],
)  # fmt: skip
def test_an_old_workspace_migrates_with_every_record_intact(
    old: tuple[str, Path], first: list[str]
) -> None:
    name, db = old
    before = dump(db)
    result = ok(*first)
    if first == ["db", "migrate"]:
        pending = [m for m in applied(db) if m not in SCHEMAS[name]]
        done = f"applied {', '.join(pending)}" if pending else "nothing to do"
        assert f"schema version {SCHEMA_VERSION}, up to date ({done})" in result.stdout
    after = dump(db)
    for table in TABLES:
        old_rows = before[table]
        new_rows = [{k: row[k] for k in old_rows[0]} for row in after[table]]
        assert new_rows == old_rows, f"{table} changed"  # nothing lost, nothing altered
    assert applied(db) == [m.name for m in migrations._migrations]
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.execute("INSERT INTO cases_fts (cases_fts) VALUES ('integrity-check')")
    # Opening again changes nothing more.
    assert "nothing to do" in ok("db", "migrate").stdout
    assert dump(db) == after


def test_old_cases_are_found_by_search_after_the_upgrade(old: tuple[str, Path]) -> None:
    _, db = old
    ok("db", "migrate")
    searches = [("dzhumaev", "yusuf-dzhumaev"), ("Джумаев", "yusuf-dzhumaev"),
                ("محمدی", "narges-mohammadi"), ("jose", "jose-marti"),
                ("ÉCRIVAINE", "narges-mohammadi"), ("Jaslyk", "yusuf-dzhumaev")]  # fmt: skip
    for query, slug in searches:
        found = json.loads(ok("search", query, "--json").stdout)
        assert [row["slug"] for row in found] == [slug], query
    with closing(sqlite3.connect(db)) as conn:
        indexed = conn.execute("SELECT count(*) FROM cases_fts").fetchone()[0]
        assert indexed == conn.execute("SELECT count(*) FROM cases").fetchone()[0] == 3
    # The index keeps in step with edits made after the upgrade.
    ok("case", "edit", "jose-marti", "--location", "Santiago de Cuba")
    found = json.loads(ok("search", "santiago", "--json").stdout)
    assert [row["slug"] for row in found] == ["jose-marti"]


def test_an_upgraded_workspace_is_the_same_schema_as_a_new_one(
    old: tuple[str, Path], tmp_path: Path
) -> None:
    ok("db", "migrate")
    ok("--db", tmp_path / "new" / "importune.db", "init", tmp_path / "new")

    def schema(db: Path) -> set[tuple[str, str, str]]:
        with closing(sqlite3.connect(db)) as conn:
            sql = "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"
            return set(conn.execute(sql))

    assert schema(old[1]) == schema(tmp_path / "new" / "importune.db")


def test_an_upgraded_workspace_keeps_working(old: tuple[str, Path]) -> None:
    """Its letters keep their statuses, and new letters are made beside the old ones."""
    _, db = old
    copy_default_letters(db.parent / "letters")
    ok("db", "migrate")
    letters = json.loads(ok("letters", "list", "--json").stdout)
    assert sorted(row["status"] for row in letters).count("sent") == 2
    ok("case", "add", "Ales Bialiatski", "--country", "BY")
    ok("appeal", "add", "ales-bialiatski", "ambassador")
    made = json.loads(ok("generate-letters", "--case", "ales-bialiatski", "--json").stdout)
    assert made["generated"] == 2
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT count(*) FROM letters").fetchone() == (14,)


# -- db backup -------------------------------------------------------------------------------


@pytest.fixture
def busy(workspace: Path) -> tuple[Path, sqlite3.Connection]:
    """A workspace whose latest rows are in the WAL only: a reader holds an older snapshot,
    so no checkpoint can copy them into importune.db."""
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ")
    reader = sqlite3.connect(workspace / "importune.db", isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM cases").fetchone() == (1,)
    ok("case", "add", "Narges Mohammadi", "--country", "IR", "--native-name", "نرگس محمدی")
    ok("member", "add", "Zoë Brontë", "--address", "Hauptstraße 5\n10115 Berlin")
    return workspace, reader


def test_backup_copies_what_is_only_in_the_wal_while_a_reader_holds_a_snapshot(
    busy: tuple[Path, sqlite3.Connection], tmp_path: Path
) -> None:
    workspace, reader = busy
    try:
        # A plain copy of the file would lose the latest rows: they are in the WAL.
        shutil.copyfile(workspace / "importune.db", tmp_path / "naive.db")
        with closing(sqlite3.connect(tmp_path / "naive.db")) as naive:
            assert naive.execute("SELECT count(*) FROM cases").fetchone() == (1,)

        ok("db", "backup", tmp_path / "copies" / "backup.db")
        assert reader.execute("SELECT count(*) FROM cases").fetchone() == (1,)  # still reading
    finally:
        reader.close()

    # The copy is one file: moved alone to another folder, it opens and holds every row.
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.move(tmp_path / "copies" / "backup.db", alone / "importune.db")
    assert not list((tmp_path / "copies").glob("backup.db-*"))
    with closing(sqlite3.connect(alone / "importune.db")) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        names = [n for (n,) in copy.execute("SELECT name FROM cases ORDER BY id")]
        assert names == ["Yusuf Dzhumaev", "Narges Mohammadi"]
        assert copy.execute("SELECT name FROM members").fetchall() == [("Zoë Brontë",)]
    assert stat.S_IMODE((alone / "importune.db").stat().st_mode) == 0o600
    shown = json.loads(ok("--db", alone / "importune.db", "case", "list", "--json").stdout)
    assert [c["slug"] for c in shown] == ["yusuf-dzhumaev", "narges-mohammadi"]
    assert dump(alone / "importune.db") == dump(workspace / "importune.db")


def test_backup_while_another_importune_is_writing_copies_the_last_commit(
    workspace: Path, tmp_path: Path
) -> None:
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ")
    writer = sqlite3.connect(workspace / "importune.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO cases (slug, name, country) VALUES ('half', 'Half', 'UZ')")
        ok("db", "backup", tmp_path / "backup.db")  # a reader: it does not wait for the writer
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    with closing(sqlite3.connect(tmp_path / "backup.db")) as copy:
        assert copy.execute("SELECT slug FROM cases").fetchall() == [("yusuf-dzhumaev",)]


def test_backup_never_overwrites_a_file(workspace: Path, refused: Refused) -> None:
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ")
    Path("old-backup.db").write_bytes(b"last week's backup")
    assert "already exists" in refused("db", "backup", "old-backup.db")
    assert Path("old-backup.db").read_bytes() == b"last week's backup"


def test_an_old_workspace_can_be_backed_up_before_it_is_upgraded(
    tmp_path: Path,
) -> None:
    """``db backup`` of an m001 file: the copy is migrated too (opening migrates), so the
    backup is of the records, in this importune's schema, and the original is migrated."""
    shutil.copyfile(FIXTURES / "schema-m001.db", tmp_path / "importune.db")
    before = dump(tmp_path / "importune.db")
    ok("db", "backup", tmp_path / "backup.db")
    after = dump(tmp_path / "backup.db")
    for table in TABLES:
        assert [{k: r[k] for k in before[table][0]} for r in after[table]] == before[table]
