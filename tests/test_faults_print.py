# ruff: noqa: F811  (the fixtures are imported from the module these tests will join)
"""Faults met by print (a database busy or read-only: no PDF left) and by the renames that
put a run's letters in place (all of them or none). Same helpers as tests/test_faults.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from process_helpers import DB, TEMP_SUFFIX, agreement, letter_files, table_counts, temporaries
from test_faults import (  # noqa: F401  (fixtures)
    MEMBER,
    _tally,
    campaign,
    disk_full_after,
    folder,
    generated,
    nothing_printed,
    refused_cleanly,
    unwritable,
    write_locked,
)


def test_print_while_another_program_writes_the_database(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PDF must not be left in place when its letters cannot be marked printed."""
    with write_locked(generated, monkeypatch):
        line = refused_cleanly(generated, "print", "--member", MEMBER)
    assert "busy" in line
    nothing_printed(generated)


def test_print_with_a_read_only_database(generated: Path) -> None:
    with unwritable(generated / DB):
        line = refused_cleanly(generated, "print", "--member", MEMBER)
    assert "read" in line
    nothing_printed(generated)


def staged(source: object) -> bool:
    """Only the renames of staged letters fail (not the ones that would undo them)."""
    return str(source).endswith(TEMP_SUFFIX)


@pytest.mark.parametrize(
    ("call", "after", "folders_there"),
    [("rename", 0, False), ("rename", 1, False), ("replace", 0, True), ("replace", 5, True)],
)
def test_generate_when_renaming_fails_keeps_no_letter(
    folder: Path, monkeypatch: pytest.MonkeyPatch, call: str, after: int, folders_there: bool
) -> None:
    """A rename that fails (ENOSPC, EIO, a folder removed) after some letters were put in
    place: those letters must not stay in out/ without their rows. A first run renames
    each new case folder whole (``os.rename``); into case folders already there, each
    letter is renamed beside the others (``os.replace``)."""
    made = []
    if folders_there:
        with sqlite3.connect(folder / DB) as conn:
            made = [slug for (slug,) in conn.execute("SELECT slug FROM cases")]
        for slug in made:
            (folder / "out" / slug).mkdir(parents=True)
    with disk_full_after(monkeypatch, call, after, staged):
        refused_cleanly(folder, "generate-letters")
    assert table_counts(folder)["letters"] == 0
    assert letter_files(folder) == set()
    assert temporaries(folder) == []
    out = folder / "out"
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert left == sorted(made)  # the folders that were there, and no other


def test_generate_again_when_renaming_fails_keeps_the_old_letters(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an edit, a failed rename must leave every old letter with its old words."""
    template = generated / "letters" / "concern.en.txt.j2"
    template.write_text(template.read_text(encoding="utf-8") + "\nP.S.\n", encoding="utf-8")
    with disk_full_after(monkeypatch, "replace", 5, staged):
        refused_cleanly(generated, "generate-letters")
    agreement(generated)
