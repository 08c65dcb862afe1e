"""The workspace as a whole: ``init``, ``group``, ``db backup|migrate`` and the file itself.

The database is part of the interface (people open it in Datasette, and it holds
members' home addresses), so these tests read it back with plain sqlite3: its
mode, its exact schema, its pragmas, and what happens when it was made by
another version of importune.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from conftest import GROUP, Run, folder_state

from importune.store import BUSY_TIMEOUT_MS, open_store
from importune.workspace import default_letters


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


# -- init ---------------------------------------------------------------------------------


def test_init_makes_a_private_database_and_copies_the_letters(ok: Run, tmp_path: Path) -> None:
    with umask(0o000):  # even where new files would be world-writable
        result = ok("init", "--group", GROUP)
    assert mode(tmp_path / "importune.db") == 0o600
    shipped = sorted(p.relative_to(default_letters()) for p in default_letters().rglob("*.j2"))
    copied = sorted(p.relative_to(tmp_path / "letters") for p in tmp_path.glob("letters/**/*.j2"))
    assert copied == shipped and Path("concern.en.txt.j2") in copied
    assert (tmp_path / "letters/concern.en.txt.j2").read_bytes() == (
        default_letters() / "concern.en.txt.j2"
    ).read_bytes()
    assert "importune case add" in result.stdout  # the next step
    group = json.loads(ok("group", "show", "--json").stdout)
    assert group == {"name": GROUP, "address": None, "email": None, "paper": None, "english": None}


def test_the_wal_and_shm_files_are_private_too(workspace: Path) -> None:
    """While a command writes, SQLite's -wal and -shm files hold the same addresses."""
    db = workspace / "importune.db"
    with umask(0o000), closing(open_store(db)) as store:
        store.add("members", {"name": "Anna Schmidt", "address": "Hauptstraße 5\n10115 Berlin"})
        for suffix in ("-wal", "-shm"):
            side = db.with_name(db.name + suffix)
            assert side.exists(), suffix
            assert mode(side) == 0o600, suffix
    assert mode(db) == 0o600


def test_init_in_a_folder_puts_everything_there(
    ok: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IMPORTUNE_DB")
    result = ok("init", "campaign")
    assert (tmp_path / "campaign/importune.db").is_file()
    assert (tmp_path / "campaign/letters/concern.en.txt.j2").is_file()
    assert not (tmp_path / "importune.db").exists()
    assert "cd campaign" in result.stdout


def test_init_in_a_folder_wins_over_importune_db(ok: Run, tmp_path: Path) -> None:
    """IMPORTUNE_DB names the workspace to use; a folder given to init names the one to make."""
    ok("init", "campaign")
    assert (tmp_path / "campaign/importune.db").is_file()
    assert not (tmp_path / "importune.db").exists()


def test_init_with_db_puts_the_database_there(ok: Run, tmp_path: Path) -> None:
    ok("--db", "data/campaign.db", "init")
    assert mode(tmp_path / "data/campaign.db") == 0o600
    assert (tmp_path / "letters/concern.en.txt.j2").is_file()


def test_init_twice_is_refused_and_changes_nothing(
    workspace: Path, ok: Run, refused: Callable[..., str]
) -> None:
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ")
    (workspace / "letters/concern.en.txt.j2").write_text("our own words\n", encoding="utf-8")
    line = refused("init", "--group", "Another Group")
    assert "importune.db" in line and "already" in line
    assert ok("group", "show", "--json").stdout.count(GROUP) == 1
    assert len(json.loads(ok("case", "list", "--json").stdout)) == 1


def test_init_keeps_a_letters_folder_that_is_there(ok: Run, tmp_path: Path) -> None:
    (tmp_path / "letters").mkdir()
    (tmp_path / "letters/concern.en.txt.j2").write_text("ours\n", encoding="utf-8")
    result = ok("init")
    assert "Kept your templates" in result.stdout
    assert (tmp_path / "letters/concern.en.txt.j2").read_text(encoding="utf-8") == "ours\n"
    assert not (tmp_path / "letters/concern.ru.txt.j2").exists()


def test_init_with_a_bad_group_name_leaves_no_workspace_behind(
    tmp_path: Path, refused: Callable[..., str]
) -> None:
    line = refused("init", "new", "--group", "Bell\x07 Group")
    assert "control character" in line
    assert list(tmp_path.iterdir()) == []


def test_init_says_which_paper_letters_print_on_and_takes_letter(
    ok: Run, refused: Callable[..., str], tmp_path: Path
) -> None:
    said = ok("init", "a4", "--group", GROUP).stdout
    assert "Letters print on A4, for DL window envelopes (on US Letter after: importune group " \
        "set --paper letter)." in said  # fmt: skip
    said = ok("init", "us", "--paper", "Letter").stdout
    assert "Letters print on US Letter, for #10 window envelopes." in said
    assert json.loads(ok("--db", "us/importune.db", "group", "show", "--json").stdout) == {
        "name": None, "address": None, "email": None, "paper": "letter", "english": None,
    }  # fmt: skip
    assert refused("init", "legal", "--paper", "legal") == (
        "paper 'legal': use a4 or letter (US Letter)"
    )
    assert not (tmp_path / "legal").exists()


# -- group --------------------------------------------------------------------------------


def test_group_set_changes_only_what_is_given(workspace: Path, ok: Run) -> None:
    ok("group", "set", "--address", "PO Box 7\nPortland, OR 97201", "--email", "hi@example.org")
    assert json.loads(ok("group", "show", "--json").stdout) == {
        "name": GROUP,
        "address": "PO Box 7\nPortland, OR 97201",
        "email": "hi@example.org",
        "paper": None,
        "english": None,
    }
    ok("group", "set", "--name", "Importune Portland", "--paper", "US Letter")
    assert json.loads(ok("group", "show", "--json").stdout)["paper"] == "letter"
    shown = ok("group", "show").stdout
    assert "Importune Portland" in shown and "Portland, OR 97201" in shown


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "nothing to set"),
        (["--email", "not an address"], "not an e-mail address"),
        (["--name", "  "], "name is empty"),
        (["--name", "two\nlines"], "one line"),
        (["--paper", "legal"], "paper 'legal': use a4 or letter (US Letter)"),
    ],
)
def test_group_set_refusals(
    workspace: Path, ok: Run, refused: Callable[..., str], args: list[str], says: str
) -> None:
    assert says in refused("group", "set", *args)
    assert json.loads(ok("group", "show", "--json").stdout)["name"] == GROUP


def test_group_show_on_a_new_workspace_says_how_to_set_it(ok: Run) -> None:
    ok("init")
    assert "importune group set" in ok("group", "show").stdout


# -- db backup and migrate ----------------------------------------------------------------


def dump(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return list(conn.iterdump())


def test_backup_is_a_private_copy_that_opens_and_holds_the_data(workspace: Path, ok: Run) -> None:
    ok("case", "add", "Ольга Петрова", "--country", "RU", "--detained-on", "2022-03-01")
    ok("member", "add", "Anna Schmidt", "--address", "Hauptstraße 5\n10115 Berlin")
    ok("db", "backup", "backups/2024-06-01.db")
    copy = workspace / "backups/2024-06-01.db"
    assert mode(copy) == 0o600
    assert dump(copy) == dump(workspace / "importune.db")
    # The copy is a workspace in its own right.
    listed = json.loads(ok("--db", copy, "case", "list", "--json").stdout)
    assert [case["slug"] for case in listed] == ["olga-petrova"]


def test_backup_refuses_to_overwrite(workspace: Path, ok: Run, refused: Callable[..., str]) -> None:
    (workspace / "old.db").write_bytes(b"yesterday's backup")
    assert "old.db already exists" in refused("db", "backup", "old.db")
    assert (workspace / "old.db").read_bytes() == b"yesterday's backup"


def test_migrate_on_an_up_to_date_workspace_does_nothing(workspace: Path, ok: Run) -> None:
    before = folder_state()
    assert "nothing to do" in ok("db", "migrate").stdout
    assert folder_state() == before


def test_a_blank_database_is_migrated_forward(tmp_path: Path, ok: Run) -> None:
    """An empty SQLite file (as an importune before any migration left it) is brought up."""
    db = tmp_path / "importune.db"
    sqlite3.connect(db).close()
    assert "m001_initial" in ok("db", "migrate").stdout
    assert ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ")
    with closing(sqlite3.connect(db)) as conn:
        applied = conn.execute("SELECT migration_set, name FROM _sqlite_migrations").fetchall()
        assert applied == [
            ("importune", "m001_initial"),
            ("importune", "m002_search_and_sources"),
            ("importune", "m003_search_index_found_by_datasette"),
            ("importune", "m004_receipts"),
            ("importune", "m005_receipts_voided_only_when_held"),
            ("importune", "m006_receipts_say_why_letters_were_skipped"),
            ("importune", "m007_members_who_left"),
        ]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(applied)


def test_a_workspace_from_a_newer_importune_is_refused(
    workspace: Path, refused: Callable[..., str]
) -> None:
    with closing(sqlite3.connect(workspace / "importune.db")) as conn, conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('importune', 'm999_from_the_future', '2031-01-01 00:00:00+00:00')"
        )
    for command in (["case", "list"], ["db", "migrate"], ["case", "add", "X", "--country", "UZ"]):
        line = refused(*command)
        assert "newer importune" in line and "m999_from_the_future" in line


def test_another_programs_database_is_not_turned_into_a_workspace(
    tmp_path: Path, refused: Callable[..., str]
) -> None:
    with closing(sqlite3.connect(tmp_path / "places.sqlite")) as conn, conn:
        conn.execute("CREATE TABLE bookmarks (url TEXT)")
    assert "not an importune workspace" in refused("--db", "places.sqlite", "case", "list")


def test_a_file_that_is_not_a_database_is_refused(
    tmp_path: Path, refused: Callable[..., str]
) -> None:
    (tmp_path / "importune.db").write_text("name,country\nYusuf,UZ\n", encoding="utf-8")
    assert "importune.db" in refused("case", "list")


@pytest.mark.parametrize("how", ["--db", "IMPORTUNE_DB"])
def test_a_missing_workspace_is_refused_and_not_created(
    tmp_path: Path, refused: Callable[..., str], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    args: list[str] = ["case", "list"]
    if how == "--db":
        args = ["--db", "typo.db", *args]
    else:
        monkeypatch.setenv("IMPORTUNE_DB", str(tmp_path / "typo.db"))
    line = refused(*args)
    assert "typo.db" in line and "importune init" in line
    assert not (tmp_path / "typo.db").exists()


# -- the exact schema a blank database reaches ---------------------------------------------

SCHEMA = {
    "settings": ["key TEXT pk", "value TEXT"],
    "cases": [
        "id INTEGER pk", "slug TEXT notnull", "name TEXT notnull", "native_name TEXT",
        "reference TEXT", "country TEXT notnull", "location TEXT", "prison TEXT",
        "detained_on TEXT", "charges TEXT", "summary TEXT", "sources TEXT", "language TEXT",
        "status TEXT notnull", "released_on TEXT",
    ],
    "events": [
        "id INTEGER pk", "case_id INTEGER notnull", "date TEXT notnull", "kind TEXT notnull",
        "note TEXT",
    ],
    "officials": [
        "id INTEGER pk", "slug TEXT notnull", "name TEXT notnull", "title TEXT",
        "organization TEXT", "country TEXT notnull", "address TEXT notnull", "salutation TEXT",
        "email TEXT", "fax TEXT", "language TEXT",
    ],
    "appeals": [
        "id INTEGER pk", "case_id INTEGER notnull", "official_id INTEGER notnull",
        "template TEXT notnull", "language TEXT", "until TEXT", "active INTEGER notnull",
    ],
    "members": [
        "id INTEGER pk", "slug TEXT notnull", "name TEXT notnull", "address TEXT",
        "email TEXT", "language TEXT", "left_on TEXT",
    ],
    "letters": [
        "id INTEGER pk", "case_id INTEGER notnull", "official_id INTEGER notnull",
        "member_id INTEGER", "template TEXT notnull", "language TEXT notnull",
        "format TEXT notnull", "path TEXT notnull", "sha256 TEXT notnull", "dated TEXT notnull",
        "status TEXT notnull", "generated_at TEXT notnull", "printed_at TEXT", "sent_at TEXT",
        "withdrawn_at TEXT", "source_sha TEXT",
    ],
    "receipts": [
        "key TEXT pk", "inputs TEXT notnull", "unchanged INTEGER notnull",
        "skipped INTEGER notnull", "made_at TEXT notnull", "skipped_why TEXT",
    ],
    "_sqlite_migrations": ["id INTEGER pk", "migration_set TEXT", "name TEXT", "applied_at TEXT"],
}  # fmt: skip
# Every change to what letters are made from (or to the letters) voids the receipts.
VOIDING = ("settings", "cases", "events", "officials", "appeals", "members", "letters")

FOREIGN_KEYS = {
    ("events", "case_id", "cases", "CASCADE"),
    ("appeals", "case_id", "cases", "CASCADE"),
    ("appeals", "official_id", "officials", "CASCADE"),
    ("letters", "case_id", "cases", "NO ACTION"),
    ("letters", "official_id", "officials", "NO ACTION"),
    ("letters", "member_id", "members", "NO ACTION"),
}

UNIQUE = {
    ("cases", ("slug",)),
    ("officials", ("slug",)),
    ("members", ("slug",)),
    ("appeals", ("case_id", "official_id")),
    ("letters", ("case_id", "official_id", None, "template", "language", "format")),
    ("_sqlite_migrations", ("migration_set", "name")),
}


def test_the_exact_schema_a_blank_database_reaches(workspace: Path) -> None:
    with closing(sqlite3.connect(workspace / "importune.db")) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
            if not name.startswith("cases_fts")  # FTS5's own shadow tables
        ]
        assert sorted(tables) == sorted(SCHEMA)
        triggers = {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        )}
        assert triggers == {"cases_fts_insert", "cases_fts_update", "cases_fts_delete"} | {
            f"{table}_{event}_voids_receipts"
            for table in VOIDING
            for event in ("insert", "update", "delete")
        }
        voiding = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_voids_receipts'"
        ).fetchall()
        assert len(voiding) == 3 * len(VOIDING)
        for (sql,) in voiding:  # only a receipt there is deleted (m005)
            action = sql.partition(" WHEN ")[2]
            assert action == "EXISTS (SELECT 1 FROM receipts) BEGIN DELETE FROM receipts; END"
        for table, expected in SCHEMA.items():
            columns = [
                f"{name} {kind}" + (" notnull" if notnull else "") + (" pk" if pk else "")
                for _, name, kind, notnull, _, pk in conn.execute(f"PRAGMA table_info([{table}])")
            ]
            assert columns == expected, table
        keys = {
            (table, row[3], row[2], row[6])
            for table in SCHEMA
            for row in conn.execute(f"PRAGMA foreign_key_list([{table}])")
        }
        assert keys == FOREIGN_KEYS
        unique = set()
        for table in SCHEMA:
            for _, index, is_unique, origin, _ in conn.execute(f"PRAGMA index_list([{table}])"):
                if is_unique and origin != "pk":
                    cols = tuple(r[2] for r in conn.execute(f"PRAGMA index_info([{index}])"))
                    unique.add((table, cols))
        assert unique == UNIQUE
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 7


def test_every_connection_checks_foreign_keys_and_waits_when_busy(workspace: Path) -> None:
    with closing(open_store(workspace / "importune.db")) as store:
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS >= 1000
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        with pytest.raises(sqlite3.IntegrityError):
            store.db.execute("INSERT INTO events (case_id, date, kind) VALUES (99, 'x', 'note')")


def test_a_command_that_finds_the_workspace_busy_waits_then_refuses(
    workspace: Path, ok: Run, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another importune writing: reads go on (WAL); a write waits, then gives up in one line."""
    monkeypatch.setattr("importune.store.BUSY_TIMEOUT_MS", 200)
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ")
    with closing(sqlite3.connect(workspace / "importune.db", isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # holds the write lock
        listed = json.loads(ok("case", "list", "--json").stdout)
        assert [case["slug"] for case in listed] == ["yusuf-dzhumaev"]
        result = run("case", "add", "Ольга Петрова", "--country", "RU")
        other.execute("ROLLBACK")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines() == [
        "importune: the workspace is busy (another importune is writing); try again"
    ]
    listed = json.loads(ok("case", "list", "--json").stdout)
    assert [case["slug"] for case in listed] == ["yusuf-dzhumaev"]
    ok("case", "add", "Ольга Петрова", "--country", "RU")


def test_a_status_outside_the_list_cannot_be_stored(workspace: Path) -> None:
    """The CHECK constraints hold even for someone editing the file in Datasette."""
    with (
        closing(sqlite3.connect(workspace / "importune.db")) as conn,
        pytest.raises(sqlite3.IntegrityError),
    ):
        conn.execute("INSERT INTO cases (slug, name, country, status) VALUES ('a', 'A', 'UZ', 'x')")


# -- the command line as a whole -----------------------------------------------------------


def test_usage_errors_keep_typers_status_2(workspace: Path, run: Run) -> None:
    before = folder_state()
    result = run("case", "add", "Yusuf Dzhumaev")  # --country is required
    assert result.exit_code == 2
    assert "--country" in result.stderr
    assert run("import", "prisoners", "cases.csv").exit_code == 2
    assert run("export", "cases", "--format", "xlsx").exit_code == 2
    assert folder_state() == before


def test_version(run: Run) -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("importune ")
