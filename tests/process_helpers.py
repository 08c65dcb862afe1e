"""What tests/test_crash.py, test_concurrency.py and test_faults.py share: a campaign big
enough to interrupt, importune as a real process on it, and the checks that the database
and the files still agree after a kill, a race or a fault.

A campaign is built in-process (``init`` and four ``import`` commands through the real
CLI) once per module in a folder of its own, then copied for each test: a copy of a
closed SQLite file is the same workspace. Processes are started as a person starts
them, ``python -m importune ...`` with the workspace as their current folder and
``IMPORTUNE_DB``/``IMPORTUNE_LETTERS`` pointing into it, their output kept in files (a
pipe nobody reads could block a child that is about to be killed).

:func:`agreement` is the promise itself: ``PRAGMA integrity_check`` is ``ok``; every
letter on record exists whole, with its recorded sha256; no letter is recorded twice;
no temporary file is left; and every letter file in ``out/`` has its row (the printed
PDFs in ``out/print/`` are not letters and have no rows).

``TALLY`` counts what the tests did to importune (kills, interrupts, faults, races and
records lost) per module. With ``IMPORTUNE_TALLY=FILE`` in the environment, each module
adds its counts to FILE as one JSON line when it ends: the README's figures come from it.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from importune.cli import app

TEMP_SUFFIX = ".importune-tmp"
DB = "importune.db"
GROUP = "Reliable Importune"

TALLY: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
"""Per module: ``kills`` (SIGKILL to a live process), ``interrupts`` (SIGINT), ``faults``
(an injected error or an unwritable, locked or read-only target), ``races`` (two processes
at once), ``records_lost`` (rows or files that a finished command should have kept)."""


def count(module: str, **counts: int) -> None:
    TALLY[module.rsplit(".", 1)[-1]].update(counts)


def write_tally(module: str) -> None:
    """Add the module's counts to ``$IMPORTUNE_TALLY`` (one JSON line), when it is set."""
    target = os.environ.get("IMPORTUNE_TALLY")
    name = module.rsplit(".", 1)[-1]
    if target and TALLY.get(name):
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps({"module": name, **TALLY[name]}) + "\n")


# -- a campaign -------------------------------------------------------------------------------


def environment(folder: Path) -> dict[str, str]:
    """The environment of a process working in ``folder``'s workspace and nowhere else."""
    env = dict(os.environ)
    env.update(
        IMPORTUNE_DB=str(folder / DB),
        IMPORTUNE_LETTERS=str(folder / "letters"),
        COLUMNS="200",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("IMPORTUNE_FONTS", None)
    return env


def cli(folder: Path, *args: object) -> Any:
    """One command in this process, on ``folder``'s workspace; the CliRunner result."""
    return CliRunner().invoke(app, [str(a) for a in args], env=environment(folder))


def cli_ok(folder: Path, *args: object) -> Any:
    result = cli(folder, *args)
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result


def records(cases: int, officials: int, members: int) -> dict[str, list[dict[str, Any]]]:
    """Import files' records: every case appealed to every official."""
    return {
        "cases": [
            {"name": f"Prisoner {i}", "country": "UZ", "detained_on": "2020-01-02",
             "prison": f"Colony {i}", "summary": f"Held for the poem number {i}."}
            for i in range(cases)
        ],
        "officials": [
            {"name": f"Official {j}", "title": "Prosecutor", "country": "UZ",
             "address": f"{j} Mustaqillik Square\nTashkent 100000"}
            for j in range(officials)
        ],
        "members": [
            {"name": f"Member {k}", "address": f"{k} Orchard Lane\nYeovil BA20 1QQ"}
            for k in range(members)
        ],
        "appeals": [
            {"case": f"prisoner-{i}", "official": f"official-{j}"}
            for i in range(cases) for j in range(officials)
        ],
    }  # fmt: skip


def build_campaign(folder: Path, cases: int, officials: int, members: int) -> Path:
    """A workspace in ``folder`` with cases × officials × members letters to make."""
    folder.mkdir(parents=True, exist_ok=True)
    cli_ok(folder, "init", folder, "--group", GROUP)
    for kind, rows in records(cases, officials, members).items():
        source = folder.parent / f"{folder.name}-{kind}.json"
        source.write_text(json.dumps(rows), encoding="utf-8")
        cli_ok(folder, "import", kind, source)
    return folder


def copy_campaign(source: Path, target: Path) -> Path:
    """A fresh copy of a closed workspace (its database, templates and letters)."""
    shutil.copytree(source, target, dirs_exist_ok=True)
    return target


# -- importune as a process -------------------------------------------------------------------


@dataclass
class Process:
    """A running ``python -m importune``; its output goes to files beside the workspace."""

    popen: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait(self, timeout: float = 120) -> Finished:
        code = self.popen.wait(timeout)
        return Finished(
            code,
            self.stdout.read_text(encoding="utf-8", errors="replace"),
            self.stderr.read_text(encoding="utf-8", errors="replace"),
        )

    def signal(self, number: int) -> bool:
        """Send ``number``; True when the process was still running to receive it."""
        if not self.alive:
            return False
        self.popen.send_signal(number)
        return True

    def kill(self) -> bool:
        """SIGKILL, and wait for it to be gone; True when it was still running."""
        hit = self.signal(signal.SIGKILL)
        self.popen.wait(60)
        return hit


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str


_started = 0


def start(folder: Path, *args: object, env: dict[str, str] | None = None) -> Process:
    """``python -m importune ARGS`` in ``folder``, as a person would start it there."""
    global _started
    _started += 1
    logs = folder.parent / "logs"
    logs.mkdir(exist_ok=True)
    out, err = logs / f"{_started}.out", logs / f"{_started}.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        popen = subprocess.Popen(
            [sys.executable, "-m", "importune", *map(str, args)],
            cwd=folder,
            env=env or environment(folder),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
    return Process(popen, out, err)


def run(folder: Path, *args: object) -> Finished:
    """``python -m importune ARGS`` in ``folder``, to the end."""
    return start(folder, *args).wait()


def run_ok(folder: Path, *args: object) -> Finished:
    done = run(folder, *args)
    assert done.code == 0, f"{args}: status {done.code}\n{done.stdout}{done.stderr}"
    return done


def wait_until(
    process: Process, condition: Callable[[], bool], timeout: float = 60, pause: float = 0.002
) -> bool:
    """Poll ``condition`` until it holds (True) or the process ends first (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return process.alive
        if not process.alive:
            return condition()
        time.sleep(pause)
    raise AssertionError(f"waited {timeout} s for a moment that never came")


def one_line_refusal(done: Finished) -> str:
    """A refusal as the contract has it: status 1, one line on stderr, no traceback."""
    assert done.code == 1, f"status {done.code}\n{done.stdout}{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("importune: "), done.stderr
    return lines[0].removeprefix("importune: ")


# -- what is on disk ------------------------------------------------------------------------


def walk(root: Path) -> Iterator[os.DirEntry[str]]:
    """Every file under ``root`` (not following symlinks), fast enough to poll."""
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from walk(Path(entry.path))
            else:
                yield entry
        except FileNotFoundError:  # renamed or removed while we looked
            continue


def staged(path: str) -> bool:
    """A letter staged by a run: a temporary name, or in a new case folder's temporary one."""
    return any(part.endswith(TEMP_SUFFIX) for part in Path(path).parts)


def temporaries(folder: Path) -> list[str]:
    """Temporary files under ``folder`` (hidden ones too), relative, sorted."""
    return sorted(
        Path(e.path).relative_to(folder).as_posix()
        for e in walk(folder)
        if staged(e.path) or (e.name.startswith(".") and e.name.endswith(".tmp"))
    )


def letter_files(folder: Path) -> set[str]:
    """The letters in ``out/`` (relative to the workspace), temporaries and print/ aside."""
    out = folder / "out"
    return {
        Path(e.path).relative_to(folder).as_posix()
        for e in walk(out)
        if not staged(e.path) and Path(e.path).relative_to(out).parts[0] != "print"
    }


def any_staged(folder: Path) -> Callable[[], bool]:
    return lambda: any(staged(e.path) for e in walk(folder / "out"))


def any_letter(folder: Path, suffix: str) -> Callable[[], bool]:
    """True once a letter file (not a temporary) with ``suffix`` is in out/."""
    return lambda: any(e.name.endswith(suffix) for e in walk(folder / "out"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def connect(folder: Path) -> closing[sqlite3.Connection]:
    conn = sqlite3.connect(folder / DB, timeout=30)
    conn.row_factory = sqlite3.Row
    return closing(conn)


def rows(folder: Path, sql: str, params: tuple[object, ...] = ()) -> list[dict[str, Any]]:
    with connect(folder) as conn:
        return [dict(row) for row in conn.execute(sql, params)]


def table_counts(folder: Path) -> dict[str, int]:
    names = ("cases", "officials", "appeals", "members", "letters", "events")
    with connect(folder) as conn:
        return {name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in names}


def integrity(folder: Path) -> None:
    with connect(folder) as conn:
        assert [tuple(r) for r in conn.execute("PRAGMA integrity_check")] == [("ok",)]
        assert [tuple(r) for r in conn.execute("PRAGMA foreign_key_check")] == []


def agreement(folder: Path) -> list[dict[str, Any]]:
    """The database and the files agree exactly; the letters on record.

    Integrity and foreign keys hold; no letter (case, official, member, template,
    language, format) and no path is recorded twice; every recorded file is there with
    the recorded sha256; no temporary file is left anywhere in the workspace; and every
    letter file in out/ is on record.
    """
    integrity(folder)
    letters = rows(
        folder,
        "SELECT id, case_id, official_id, coalesce(member_id, 0) AS member, template, "
        "language, format, path, sha256, status FROM letters ORDER BY id",
    )
    keys = [tuple(r[k] for k in ("case_id", "official_id", "member", "template", "language",
                                 "format")) for r in letters]  # fmt: skip
    assert len(set(keys)) == len(keys), "a letter is recorded twice"
    paths = [r["path"] for r in letters]
    assert len(set(paths)) == len(paths), "two rows name one file"
    wrong = [
        r["path"]
        for r in letters
        if not (folder / r["path"]).is_file() or sha256(folder / r["path"]) != r["sha256"]
    ]
    assert not wrong, f"{len(wrong)} letter(s) missing or not as recorded, e.g. {wrong[:3]}"
    assert temporaries(folder) == []
    unrecorded = letter_files(folder) - set(paths)
    assert not unrecorded, f"{len(unrecorded)} file(s) with no row, e.g. {sorted(unrecorded)[:3]}"
    return letters


def whole_pdf(path: Path) -> int:
    """The pages of a PDF that reads back whole (pypdf, strict): a half-written one fails."""
    import pypdf

    reader = pypdf.PdfReader(path, strict=True)
    return len(reader.pages)


def campaign_fixtures(module: str, label: str, sizes: tuple[int, int, int]) -> tuple[Any, ...]:
    """The fixtures a process-level test module shares: its tally written at the end, one
    campaign built per module (``sizes``: cases, officials, members), a fresh copy per test.

    Use: ``_tally, campaign, folder = campaign_fixtures(__name__, "race", CAMPAIGN)``.
    """
    import pytest

    @pytest.fixture(scope="module", autouse=True)
    def tally() -> Iterator[None]:
        yield
        write_tally(module)

    @pytest.fixture(scope="module")
    def campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
        return build_campaign(tmp_path_factory.mktemp(label) / "campaign", *sizes)

    @pytest.fixture
    def folder(campaign: Path, tmp_path: Path) -> Path:
        return copy_campaign(campaign, tmp_path / "campaign")

    return tally, campaign, folder
