"""Running ``generate-letters`` again: the receipt a run leaves, and when it is trusted.

A run again with nothing changed is answered from the last run's receipt (see
``importune/receipts.py``) without rendering a letter or loading Jinja2 and
sqlite-utils. These tests make each kind of change a group makes between two runs,
then run ``generate-letters`` twice side by side: in the workspace as it is, and in
an exact copy of it whose receipts are removed, which must decide the long way.
Both must say the same and leave the same letters and rows; and the receipt must
answer alone only when nothing changed.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from conftest import Run

from importune import generate as generate_module
from importune.receipts import KEEP
from tests.test_performance import build, files, letter_rows

LETTERS = 8  # 2 cases × 2 officials × 2 members


@pytest.fixture
def campaign(workspace: Path, ok: Run) -> Path:
    """A campaign of 8 letters, written once by a plain run (which leaves a receipt)."""
    build(workspace, cases=2, officials=2, members=2)
    assert "Wrote 8 letters" in ok("generate-letters").stdout
    return workspace


@pytest.fixture
def long_way(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times a run went the long way (through ``generate``), from now on."""
    calls: list[int] = []
    real = generate_module.generate

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(generate_module, "generate", counting)
    return calls


def receipts(folder: Path) -> int:
    with closing(sqlite3.connect(folder / "importune.db")) as conn:
        return conn.execute("SELECT count(*) FROM receipts").fetchone()[0]


def both_ways(
    folder: Path, ok: Run, monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[str, bool]:
    """``generate-letters ARGS`` here and in a copy of this workspace without its receipts:
    checks they say the same and leave the same files and rows; returns what was said
    here and whether the receipt answered alone."""
    twin = folder.parent / f"{folder.name}-twin"
    shutil.rmtree(twin, ignore_errors=True)
    shutil.copytree(folder, twin)  # copy2: every file keeps its time to the nanosecond
    with closing(sqlite3.connect(twin / "importune.db")) as conn, conn:
        conn.execute("DELETE FROM receipts")

    calls: list[str] = []
    real = generate_module.generate

    def counting(*a: Any, **k: Any) -> Any:
        calls.append(str(a[0].path))  # the store's database
        return real(*a, **k)

    monkeypatch.setattr(generate_module, "generate", counting)
    said = ok("generate-letters", *args).stdout
    for place in (twin, folder):  # the copy's run, then back here
        monkeypatch.chdir(place)
        monkeypatch.setenv("IMPORTUNE_DB", str(place / "importune.db"))
        monkeypatch.setenv("IMPORTUNE_LETTERS", str(place / "letters"))
        if place == twin:
            said_long = ok("generate-letters", *args).stdout

    assert said.replace(str(folder), "WS") == said_long.replace(str(twin), "WS")
    assert files(folder) == files(twin)
    assert letter_rows(folder) == letter_rows(twin)
    assert calls[-1].startswith(str(twin))  # the copy went the long way
    return said, len(calls) == 1


def test_a_run_again_with_nothing_changed_is_answered_by_the_receipt(
    campaign: Path, ok: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = files(campaign), letter_rows(campaign)
    said, alone = both_ways(campaign, ok, monkeypatch)
    assert alone
    assert said.startswith(f"Wrote 0 letters to {campaign / 'out'}/; 8 unchanged, 0 skipped.")
    assert (files(campaign), letter_rows(campaign)) == before


def test_a_run_again_says_why_letters_were_skipped_as_the_run_before_did(
    campaign: Path, ok: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receipt keeps the skipped letters' count for each kind of reason: a run answered
    from it says what the long way says, not a bare count."""
    ok("appeal", "remove", "case-0", "official-1")
    ok("appeal", "add", "case-0", "official-1", "--until", "2020-01-01")
    ok("case", "release", "case-1", "--on", "2024-05-01")
    said = ok("generate-letters").stdout
    assert said.endswith("; 2 unchanged, 6 skipped: 4 case released, 2 appeal ended.\n")

    said, alone = both_ways(campaign, ok, monkeypatch)
    assert alone
    assert said.endswith("; 2 unchanged, 6 skipped: 4 case released, 2 appeal ended.\n")


def test_a_run_again_loads_neither_jinja_nor_sqlite_utils(campaign: Path) -> None:
    """In a new process, as a person runs it: the speed of a run again rests on this."""
    probe = (
        "import sys\n"
        "from importune.cli import main\n"
        "sys.argv = ['importune', 'generate-letters']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('jinja2', 'sqlite_utils', 'babel', 'typst') "
        "if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=campaign, capture_output=True, text=True,
        env={**os.environ, "IMPORTUNE_DB": str(campaign / "importune.db")}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith("8 unchanged, 0 skipped.")
    assert lines[-1] == "[]"


def _sql(statement: str) -> Callable[[Path, Run], None]:
    def change(folder: Path, ok: Run) -> None:
        with closing(sqlite3.connect(folder / "importune.db")) as conn, conn:
            conn.execute(statement)

    return change


def _edit_template(folder: Path, ok: Run) -> None:
    template = folder / "letters" / "concern.en.txt.j2"
    template.write_text(template.read_text(encoding="utf-8") + "\nP.S.\n", encoding="utf-8")


def _case_template(folder: Path, ok: Run) -> None:
    own = folder / "letters" / "cases" / "case-0"
    own.mkdir(parents=True)
    text = '{% extends "concern.en.txt.j2" %}'
    (own / "concern.en.txt.j2").write_text(text, encoding="utf-8")


def _letter(folder: Path) -> Path:
    return folder / "out" / "case-0" / "official-0--member-000.txt"


def _hand_edit(folder: Path, ok: Run) -> None:
    _letter(folder).write_text("Dear Sir, never mind.\n", encoding="utf-8")


def _touch(folder: Path, ok: Run) -> None:
    stat = _letter(folder).stat()
    os.utime(_letter(folder), ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000))


def _delete(folder: Path, ok: Run) -> None:
    _letter(folder).unlink()


def _leftovers(folder: Path, ok: Run) -> None:
    (folder / "out" / "case-1" / "official-1--member-001.txt.importune-tmp").write_text("half")
    (folder / "out" / "case-9.importune-tmp").mkdir()


def _command(*args: str) -> Callable[[Path, Run], None]:
    def change(folder: Path, ok: Run) -> None:
        ok(*args)

    return change


CHANGES: dict[str, tuple[Callable[[Path, Run], None], str]] = {
    "a member edited": (
        _command("member", "edit", "member-000", "--name", "Member Zero"),
        "Wrote 4 letters",
    ),
    "a member edited by another program": (
        _sql("UPDATE members SET name = 'Member Zero' WHERE slug = 'member-000'"),
        "Wrote 4 letters",
    ),
    "an official's address edited by another program": (
        _sql(
            "UPDATE officials SET address = 'ul. Navoi 1' || char(10) || 'Tashkent' "
            "WHERE slug = 'official-1'"
        ),
        "Wrote 4 letters",
    ),
    "the group's name changed": (
        _command("group", "set", "--name", "Letters from Bristol"),
        "8 unchanged",  # rendered again (the group is in every letter's sources): the same
    ),
    "a template edited": (_edit_template, "Wrote 8 letters"),
    "a case's own template added": (_case_template, "8 unchanged"),
    "a letter edited by hand": (_hand_edit, "Wrote 1 letter"),
    "a letter's time changed, not its words": (_touch, "Wrote 0 letters"),
    "a letter deleted": (_delete, "Wrote 1 letter"),
    "a killed run's leftovers": (_leftovers, "Wrote 0 letters"),
    "a letter marked sent": (
        _command("mark-sent", "--member", "member-000", "--case", "case-0"),
        "8 unchanged",
    ),
    "a case released": (_command("case", "release", "case-1"), "4 unchanged, 4 skipped"),
    "an appeal paused by another program": (
        _sql("UPDATE appeals SET active = 0 WHERE id = 1"),
        "6 unchanged, 2 skipped",
    ),
    "a member added": (_command("member", "add", "Member Two"), "Wrote 4 letters"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_after_a_change_the_run_goes_the_long_way_and_says_what_it_would_have(
    campaign: Path, ok: Run, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    make, expected = CHANGES[change]
    make(campaign, ok)
    said, alone = both_ways(campaign, ok, monkeypatch)
    assert not alone
    assert expected in said
    # The long way left a receipt: the run after it is answered alone, the same again.
    again, alone = both_ways(campaign, ok, monkeypatch)
    assert alone
    assert "Wrote 0 letters" in again


def test_a_killed_runs_leftovers_are_swept_by_the_run_after(campaign: Path, ok: Run) -> None:
    _leftovers(campaign, ok)
    ok("generate-letters")
    out = campaign / "out"
    assert not (out / "case-9.importune-tmp").exists()
    assert not any(path.name.endswith(".importune-tmp") for path in out.rglob("*"))


@pytest.mark.parametrize(
    "args",
    [("--case", "case-0"), ("--format", "md"), ("--unsigned",), ("--out", "elsewhere")],
    ids=" ".join,
)
def test_another_question_is_not_answered_by_the_last_runs_receipt(
    campaign: Path, ok: Run, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    first, alone = both_ways(campaign, ok, monkeypatch, *args)
    assert not alone and "Wrote" in first
    again, alone = both_ways(campaign, ok, monkeypatch, *args)
    assert alone and "Wrote 0 letters" in again


def test_json_dry_run_and_force_always_go_the_long_way(
    campaign: Path, ok: Run, long_way: list[int]
) -> None:
    ok("generate-letters", "--json")
    ok("generate-letters", "--dry-run")
    ok("generate-letters", "--force")
    assert len(long_way) == 3
    ok("generate-letters")
    assert len(long_way) == 3  # the forced run left a receipt


def test_a_refused_run_leaves_the_receipt_as_it_was(
    campaign: Path, ok: Run, refused: Callable[..., str], long_way: list[int]
) -> None:
    assert "no-such-case" in refused("generate-letters", "--case", "no-such-case")
    ok("generate-letters")
    assert len(long_way) == 1  # the refused run, not the one after it


def test_a_dry_run_leaves_no_receipt(workspace: Path, ok: Run, long_way: list[int]) -> None:
    build(workspace, cases=1, officials=1, members=1)
    ok("generate-letters", "--dry-run")
    assert receipts(workspace) == 0
    ok("generate-letters")
    assert receipts(workspace) == 1


def test_receipts_are_kept_for_the_latest_questions_only(campaign: Path, ok: Run) -> None:
    for count in range(1, KEEP + 5):  # as many questions, none of which changes a letter
        ok("generate-letters", *["--case", "case-0"] * count)
    assert receipts(campaign) == KEEP


def test_a_database_reached_through_a_link_has_its_letters_checked_where_they_are(
    campaign: Path, ok: Run, monkeypatch: pytest.MonkeyPatch, long_way: list[int]
) -> None:
    """The letters go beside the path given (the link), so that is where a run again looks."""
    elsewhere = campaign.parent / f"{campaign.name}-linked"
    elsewhere.mkdir()
    (elsewhere / "importune.db").symlink_to(campaign / "importune.db")
    monkeypatch.setenv("IMPORTUNE_DB", str(elsewhere / "importune.db"))
    assert "Wrote 8 letters" in ok("generate-letters").stdout  # into elsewhere/out
    assert "Wrote 0 letters" in ok("generate-letters").stdout
    calls = len(long_way)
    (elsewhere / "out" / "case-0" / "official-0--member-000.txt").unlink()
    assert "Wrote 1 letter" in ok("generate-letters").stdout
    assert len(long_way) == calls + 1


# -- many letter files: half are checked by a forked copy of the process ----------------


@pytest.fixture
def two_processes(monkeypatch: pytest.MonkeyPatch, forks_made: list[int]) -> list[int]:
    """A run again checks its letter files in two processes from two files on; the forks."""
    monkeypatch.setattr(generate_module, "STAT_IN_TWO_FROM", 2)
    monkeypatch.setattr(generate_module, "cores", lambda: 2)
    return forks_made


HALVES = {  # the letters on record in the order a run again checks them: first and last
    "first half": "case-0/official-0--member-000.txt",
    "second half": "case-1/official-1--member-001.txt",
}


@pytest.mark.parametrize("half", list(HALVES))
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("edited", "Wrote 1 letter"),
        ("touched", "Wrote 0 letters"),
        ("deleted", "Wrote 1 letter"),
    ],
)
def test_letter_files_checked_in_two_processes_find_every_change(
    campaign: Path, ok: Run, monkeypatch: pytest.MonkeyPatch, two_processes: list[int],
    half: str, change: str, expected: str,
) -> None:  # fmt: skip
    said, alone = both_ways(campaign, ok, monkeypatch)
    assert alone and len(two_processes) == 1  # nothing changed: answered, with one fork

    letter = campaign / "out" / HALVES[half]
    if change == "edited":
        letter.write_text("Dear Sir, never mind.\n", encoding="utf-8")
    elif change == "touched":
        os.utime(letter, ns=(0, letter.stat().st_mtime_ns + 1_000))
    else:
        letter.unlink()
    said, alone = both_ways(campaign, ok, monkeypatch)
    assert not alone and expected in said


def test_a_file_check_that_dies_sends_the_run_the_long_way(
    campaign: Path, ok: Run, monkeypatch: pytest.MonkeyPatch, two_processes: list[int]
) -> None:
    parent = os.getpid()
    real = generate_module._all_stamped

    def dying(files: Any) -> bool:
        if os.getpid() != parent:
            os._exit(3)  # killed: it hands nothing back
        return real(files)

    monkeypatch.setattr(generate_module, "_all_stamped", dying)
    said, alone = both_ways(campaign, ok, monkeypatch)
    assert not alone and len(two_processes) == 1
    assert "Wrote 0 letters" in said and "8 unchanged" in said
