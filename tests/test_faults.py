"""Faults: an output folder that cannot be written, a full disk, a locked or read-only
database. ``generate-letters``, ``print`` and ``import`` each say so in one line, exit 1
with no traceback, and leave nothing half-done: no row, no file, no temporary; the
database's contents and every other file in the workspace as they were.

Most faults are made in this process, through the real CLI (CliRunner), so that they
strike at a chosen moment: ``os.write`` failing with ENOSPC after some letters were
written (a disk that fills during a run), ``os.fsync`` failing with ENOSPC as the
printed PDF is saved, SQLite's page limit reached (the database cannot grow: SQLite's
own "database or disk is full"), another connection holding the write lock (with the
wait for it cut from 10 s to a fraction of a second). Where the machine allows it, the
disk is made full for real (a 1 MB tmpfs mounted over the workspace) and folders and
files read-only for real: ``chmod`` for a normal user, ``chattr +i`` for root, whom
permissions do not stop; each such variant is skipped, with its reason, elsewhere.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from process_helpers import (
    DB,
    agreement,
    campaign_fixtures,
    cli,
    cli_ok,
    count,
    letter_files,
    rows,
    table_counts,
    temporaries,
)

CAMPAIGN = (4, 2, 3)  # 24 letters, 8 for each member
LETTERS = 4 * 2 * 3
MEMBER = "member-1"
NEW_MEMBERS = json.dumps(
    [{"name": f"Newcomer {i}", "address": f"{i} New Road\nLeeds LS1 1AA"} for i in range(300)]
)


_tally, campaign, folder = campaign_fixtures(__name__, "faults", CAMPAIGN)


@pytest.fixture
def generated(folder: Path) -> Path:
    """The campaign with every letter generated, and the import file of two new members."""
    cli_ok(folder, "generate-letters")
    (folder.parent / "members.json").write_text(NEW_MEMBERS, encoding="utf-8")
    return folder


# -- what "nothing half-done" means ---------------------------------------------------------

SIDE_FILES = (f"{DB}-wal", f"{DB}-shm")


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of the workspace with its bytes, and the database as its SQL dump.

    The dump, not the file's bytes: a refused command may leave SQLite's own -wal and
    -shm files (it cannot remove them beside a read-only database), which hold no change.
    """
    state: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name != DB and name not in SIDE_FILES:
            state[name] = path.read_bytes()
    # Read from a copy (the file and its log), so that reading needs no room on the
    # workspace's disk nor leaves a file there.
    with tempfile.TemporaryDirectory() as scratch:
        for name in (DB, f"{DB}-wal"):
            if (folder / name).exists():
                shutil.copyfile(folder / name, Path(scratch) / name)
        with closing(sqlite3.connect(Path(scratch) / DB)) as conn:
            state["(dump)"] = "\n".join(conn.iterdump()).encode()
    return state


def refused_cleanly(folder: Path, *args: object) -> str:
    """Run a command that must fail: status 1, one line on stderr, no traceback, nothing
    on stdout; every file of the workspace and every row as they were. The line."""
    before = snapshot(folder)
    result = cli(folder, *args)
    assert result.exit_code == 1, f"{args}: status {result.exit_code}\n{result.output}"
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("importune: "), result.stderr
    assert temporaries(folder) == []
    after = snapshot(folder)
    assert after.keys() == before.keys(), f"files: {sorted(after.keys() ^ before.keys())[:5]}"
    assert after == before, f"{args} changed the workspace"
    count(__name__, faults=1)
    return lines[0].removeprefix("importune: ")


# -- ways to make a fault -------------------------------------------------------------------


@contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """``path`` (a folder or a file) that this process cannot change.

    A normal user: chmod 0500 (a folder) or 0400 (a file). Root is not stopped by
    permissions; ``chattr +i`` (immutable) stops root too, where the file system has it.
    """
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o500 if path.is_dir() else 0o400)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    done = chattr and subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False)
    if not done or done.returncode != 0:
        pytest.skip("running as root, whom chmod does not stop, and chattr +i is not available")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def enospc(path: str | None = None) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)


@contextmanager
def disk_full_after(
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    calls: int,
    only: Callable[[Any], bool] = lambda first: True,
) -> Iterator[None]:
    """``os.<name>`` works ``calls`` times (on files, not the terminal; on those whose
    first argument passes ``only``), then fails as a full disk does."""
    real: Callable[..., Any] = getattr(os, name)
    left = [calls]

    def failing(*args: Any, **kwargs: Any) -> Any:
        if isinstance(args[0], int) and args[0] <= 2:  # stdin, stdout, stderr
            return real(*args, **kwargs)
        if not only(args[0]):
            return real(*args, **kwargs)
        if left[0] <= 0:
            raise enospc(args[0] if isinstance(args[0], str) else None)
        left[0] -= 1
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(os, name, failing)
        yield


@contextmanager
def database_cannot_grow(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every connection importune opens may not add a page to the database: SQLite's own
    "database or disk is full", as when the disk fills under the database."""
    from importune import store

    real = store._connect

    def connect(path: Path) -> Any:
        db = real(path)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")
        return db

    with monkeypatch.context() as patch:
        patch.setattr(store, "_connect", connect)
        yield


@contextmanager
def write_locked(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Another connection holds the workspace's write lock (BEGIN IMMEDIATE) throughout;
    importune waits 0.3 s for it instead of 10."""
    from importune import store

    with monkeypatch.context() as patch:
        patch.setattr(store, "BUSY_TIMEOUT_MS", 300)
        with closing(sqlite3.connect(folder / DB, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                other.execute("ROLLBACK")


@contextmanager
def tiny_disk(folder: Path, size: str = "1m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted over ``folder``, holding a copy of its workspace: a
    disk that really fills. Skipped where mounting is not allowed."""
    stash = folder.with_name(folder.name + "-stash")
    shutil.copytree(folder, stash)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    ) if shutil.which("mount") else None  # fmt: skip
    if mounted is None or mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)")
    try:
        shutil.copytree(stash, folder, dirs_exist_ok=True)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path, leave: int) -> None:
    """Fill the disk under ``folder`` until ``leave`` bytes are free."""
    free = shutil.disk_usage(folder).free
    (folder / "filler").write_bytes(b"\0" * max(free - leave, 0))


# -- generate-letters -------------------------------------------------------------------------


def test_generate_where_out_is_a_file(folder: Path) -> None:
    (folder / "out").write_text("not a folder", encoding="utf-8")
    line = refused_cleanly(folder, "generate-letters")
    assert "out is a file, not a folder" in line


def test_generate_where_a_case_folder_is_a_file(folder: Path) -> None:
    """Refused before any letter is made, naming the file in the way."""
    (folder / "out").mkdir()
    (folder / "out" / "prisoner-2").write_text("not a folder", encoding="utf-8")
    line = refused_cleanly(folder, "generate-letters")
    assert "out/prisoner-2 is a file, not a folder" in line


def test_generate_into_a_folder_that_cannot_be_written(folder: Path) -> None:
    (folder / "out").mkdir()
    with unwritable(folder / "out"):
        line = refused_cleanly(folder, "generate-letters")
    assert "out" in line


def test_generate_over_letters_in_a_case_folder_that_cannot_be_written(generated: Path) -> None:
    """The letters on record stay as they are, and so do their rows."""
    cli_ok(generated, "case", "edit", "prisoner-3", "--prison", "Jaslyk colony")
    with unwritable(generated / "out" / "prisoner-3"):
        line = refused_cleanly(generated, "generate-letters")
    assert "prisoner-3" in line
    agreement(generated)


@pytest.mark.parametrize("after", [0, 10], ids=["first-letter", "eleventh-letter"])
def test_generate_on_a_full_disk(folder: Path, monkeypatch: pytest.MonkeyPatch, after: int) -> None:
    with disk_full_after(monkeypatch, "write", after):
        line = refused_cleanly(folder, "generate-letters")
    assert "No space left on device" in line
    assert re.search(r"out/prisoner-\d+/\S+--\S+\.txt: No space left on device", line), line
    assert table_counts(folder)["letters"] == 0


def test_generate_again_on_a_full_disk_keeps_the_old_letters(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_ok(generated, "case", "edit", "prisoner-0", "--prison", "Jaslyk colony")
    cli_ok(generated, "case", "edit", "prisoner-1", "--prison", "Jaslyk colony")
    with disk_full_after(monkeypatch, "write", 7):
        refused_cleanly(generated, "generate-letters")
    agreement(generated)


def test_generate_on_a_disk_that_really_fills(folder: Path) -> None:
    with tiny_disk(folder) as disk:
        fill(disk, leave=64 * 1024)
        line = refused_cleanly(disk, "generate-letters")
        assert "No space left on device" in line
        assert table_counts(disk)["letters"] == 0


def test_generate_when_the_database_cannot_grow(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database_cannot_grow(monkeypatch):
        line = refused_cleanly(folder, "generate-letters")
    assert "full" in line


def test_generate_while_another_program_writes_the_database(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with write_locked(folder, monkeypatch):
        line = refused_cleanly(folder, "generate-letters")
    assert "busy" in line


def test_generate_with_a_read_only_database(folder: Path) -> None:
    with unwritable(folder / DB):
        line = refused_cleanly(folder, "generate-letters")
    assert "readonly" in line or "read-only" in line


# -- import -------------------------------------------------------------------------------------


def test_import_when_the_database_cannot_grow(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with database_cannot_grow(monkeypatch):
        line = refused_cleanly(generated, "import", "members", generated.parent / "members.json")
    assert "full" in line


def test_import_while_another_program_writes_the_database(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with write_locked(generated, monkeypatch):
        line = refused_cleanly(generated, "import", "members", generated.parent / "members.json")
    assert "busy" in line


def test_import_into_a_read_only_database(generated: Path) -> None:
    with unwritable(generated / DB):
        line = refused_cleanly(generated, "import", "members", generated.parent / "members.json")
    assert "readonly" in line or "read-only" in line


def test_import_on_a_disk_that_really_fills(generated: Path) -> None:
    source = generated.parent / "cases.json"
    many = [{"name": f"Detainee {i}", "country": "BY", "summary": "x" * 200} for i in range(4000)]
    source.write_text(json.dumps(many), encoding="utf-8")
    with tiny_disk(generated) as disk:
        fill(disk, leave=128 * 1024)
        line = refused_cleanly(disk, "import", "cases", source)
        assert "full" in line
        assert table_counts(disk)["cases"] == CAMPAIGN[0]


# -- print ----------------------------------------------------------------------------------------

PRINTED = Path("out") / "print" / f"{MEMBER}.pdf"


def nothing_printed(folder: Path) -> None:
    assert not (folder / PRINTED).exists()
    assert rows(folder, "SELECT id FROM letters WHERE status != 'generated'") == []


def test_print_where_the_print_folder_is_a_file(generated: Path) -> None:
    (generated / "out" / "print").write_text("not a folder", encoding="utf-8")
    line = refused_cleanly(generated, "print", "--member", MEMBER)
    assert "print" in line
    assert rows(generated, "SELECT id FROM letters WHERE status != 'generated'") == []


def test_print_into_a_folder_that_cannot_be_written(generated: Path) -> None:
    (generated / "out" / "print").mkdir()
    with unwritable(generated / "out" / "print"):
        line = refused_cleanly(generated, "print", "--member", MEMBER)
    assert "print" in line
    nothing_printed(generated)


def test_print_on_a_full_disk(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with disk_full_after(monkeypatch, "fsync", 0):
        line = refused_cleanly(generated, "print", "--member", MEMBER)
    assert "No space left on device" in line
    nothing_printed(generated)


def test_print_first_generates_then_fails_whole(folder: Path) -> None:
    """Without its letters generated yet, print makes them (as generate-letters would)
    before it fails to save the PDF: those letters are whole and on record; nothing is
    marked printed and no PDF or temporary is left."""
    (folder / "out").mkdir()
    (folder / "out" / "print").write_text("not a folder", encoding="utf-8")
    result = cli(folder, "print", "--member", MEMBER)
    assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1, result.output
    count(__name__, faults=1)
    letters = agreement(folder)
    assert len(letters) == LETTERS // CAMPAIGN[2]
    assert len(letter_files(folder)) == len(letters)
    assert rows(folder, "SELECT id FROM letters WHERE status != 'generated'") == []
