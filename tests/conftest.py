"""What every test shares: a private workspace folder and the real command line.

Each test runs in its own ``tmp_path``, with ``IMPORTUNE_DB`` and
``IMPORTUNE_LETTERS`` pointing there, so no test can read or write a real
campaign. Commands run through Typer's ``CliRunner`` against the real app, as a
person would type them; ``refused`` also proves that a refusal changed nothing
(every file in the folder, and the database after a checkpoint, byte for byte).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.testing
from typer.testing import CliRunner, Result

from importune.cli import app

GROUP = "Global Importune"

Run = Callable[..., Result]


@pytest.fixture(autouse=True, scope="session")
def _temporary_files_of_this_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Temporary files, Jinja2's cache of compiled templates among them (a thousand
    entries a run, one per test's letters folder), go under this run's own temporary
    folder, which pytest cleans up, not into the machine's /tmp; importune run as a
    process by a test gets the same folder through TMPDIR."""
    folder = str(tmp_path_factory.mktemp("tmp"))
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = folder
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before
        tempfile.tempdir = None


@pytest.fixture(autouse=True, scope="session")
def _ctrl_c_reaches_the_commands_started() -> Iterator[None]:
    """A test suite started in the background by a shell (``pytest &``, as a CI runner
    may) has SIGINT ignored, and every process it starts inherits that: Ctrl-C sent to
    ``importune`` by a test would do nothing. The default is put back for the run, so
    each process a test starts gets Python's own Ctrl-C, as from a terminal."""
    before = signal.getsignal(signal.SIGINT)
    if before is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if before is signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(autouse=True, scope="session")
def _build_the_commands_once() -> Iterator[None]:
    """Typer turns the app into Click commands at every invoke (about 50 ms here);
    the result depends only on the app, so the tests build it once and share it."""
    build = getattr(typer.testing, "_get_command", None)
    if build is None:  # another Typer: build it every time, as before
        yield
        return
    built: dict[int, tuple[typer.Typer, Any]] = {}  # the app is kept, so its id stays its own

    def cached(typer_app: typer.Typer) -> Any:
        if id(typer_app) not in built:
            built[id(typer_app)] = (typer_app, build(typer_app))
        return built[id(typer_app)][1]

    typer.testing._get_command = cached
    try:
        yield
    finally:
        typer.testing._get_command = build


@pytest.fixture(autouse=True)
def _private_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test works in its own folder; rich tables are wide enough not to wrap."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMPORTUNE_DB", str(tmp_path / "importune.db"))
    monkeypatch.setenv("IMPORTUNE_LETTERS", str(tmp_path / "letters"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("IMPORTUNE_FONTS", raising=False)


@pytest.fixture
def letters_beside_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``IMPORTUNE_LETTERS``: the letters are the workspace's own ``letters/``, beside
    its database, as for a person who never set it."""
    monkeypatch.delenv("IMPORTUNE_LETTERS", raising=False)


def invoke(*args: object, input: str | None = None) -> Result:
    """One command through the real app, as typed (every argument as text)."""
    return CliRunner().invoke(app, [str(arg) for arg in args], input=input)


@pytest.fixture
def forks_made(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The process ids of the copies importune forks from now on (``print``'s composer,
    a run again's file check), counted as they are made."""
    made: list[int] = []
    real = os.fork

    def fork() -> int:
        pid = real()
        if pid:
            made.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return made


@pytest.fixture
def run() -> Run:
    """``run("case", "list")``: the CliRunner result, whatever the status."""
    return invoke


@pytest.fixture
def ok() -> Run:
    """A command that must succeed; its result."""

    def succeed(*args: object, input: str | None = None) -> Result:
        result = invoke(*args, input=input)
        assert result.exit_code == 0, f"{args}: {result.stdout}{result.stderr}"
        return result

    return succeed


def folder_state(root: Path | None = None) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes, the database's read after a checkpoint.

    In WAL mode a write may sit in ``importune.db-wal``; checkpointing it into the
    main file first means that any committed change, wherever SQLite put it,
    shows up as different bytes of ``importune.db``. The dump is added as well
    so that a failure shows which rows differ.
    """
    root = root or Path.cwd()
    state: dict[str, bytes] = {}
    for db in sorted(root.rglob("*")):
        if not db.is_file() or db.read_bytes()[:16] != b"SQLite format 3\x00":
            continue  # not a database: its bytes are compared below
        with closing(sqlite3.connect(db)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            dump = "\n".join(conn.iterdump())
        state[f"{db.relative_to(root)} (dump)"] = dump.encode()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            state[path.relative_to(root).as_posix()] = path.read_bytes()
    return state


def refusal(*args: object, input: str | None = None) -> str:
    """Run a command that must be refused; return its one line on stderr.

    Refused means status 1, a clean exit (no exception escaped, so no
    traceback), nothing on stdout, exactly one line on stderr, and every file
    in the workspace folder, the database included, exactly as it was.
    """
    before = folder_state()
    result = invoke(*args, input=input)
    assert result.exit_code == 1, f"{args}: status {result.exit_code}\n{result.output}"
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("importune: ")
    assert folder_state() == before, f"{args} changed the workspace"
    return lines[0].removeprefix("importune: ")


@pytest.fixture
def refused() -> Callable[..., str]:
    """``refused("case", "add", ...)``: the one line, once the refusal is proved harmless."""
    return refusal


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A new workspace in ``tmp_path``, made by ``importune init --group``."""
    result = invoke("init", "--group", GROUP)
    assert result.exit_code == 0, result.output
    return tmp_path


def rows(sql: str, params: tuple[object, ...] = (), db: Path | None = None) -> list[dict]:
    """Rows as the file holds them, read with plain sqlite3 (as Datasette would)."""
    with closing(sqlite3.connect(db or Path.cwd() / "importune.db")) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql, params)]


@pytest.fixture
def sql() -> Callable[..., list[dict]]:
    """``sql("SELECT ...")``: query the workspace's database directly."""
    return rows
