# ruff: noqa: F811  (the fixtures are imported from the module these tests will join)
"""Crash, Ctrl-C and races while letters are renamed into place: a run is kept whole,
and two runs at once wait for each other or say the workspace is busy."""

from __future__ import annotations

import signal
from pathlib import Path

from process_helpers import (
    agreement,
    any_letter,
    count,
    integrity,
    letter_files,
    rows,
    run_ok,
    start,
    table_counts,
    temporaries,
    wait_until,
)
from test_crash import (  # noqa: F401  (fixtures)
    TXT_LETTERS,
    _tally,
    interrupted,
    killed_when,
    staged_then_fewer,
    txt,
    txt_campaign,
)


def test_ctrl_c_while_renaming_keeps_nothing_half_done(txt: Path) -> None:
    """Ctrl-C once the first letter is in place: "nothing half-done was kept" must be true:
    either every letter is recorded and in place, or none is (no file without its row)."""
    process = start(txt, "generate-letters")
    assert wait_until(process, any_letter(txt, ".txt"), pause=0.0005), "ended first"
    process.signal(signal.SIGINT)
    count(__name__, interrupts=1)
    done = process.wait()
    integrity(txt)
    recorded = table_counts(txt)["letters"]
    if done.code == 130:
        interrupted(done.stderr)
    assert temporaries(txt) == []
    assert len(letter_files(txt)) == recorded
    assert recorded in (0, TXT_LETTERS)
    if recorded:
        agreement(txt)


def test_killed_while_renaming_then_the_edit_is_undone(txt: Path) -> None:
    """An organizer edits the template, the run is killed while it renames, the edit is
    undone, the run is made again: every letter on disk must be the one on record."""
    run_ok(txt, "generate-letters")
    template = txt / "letters" / "concern.en.txt.j2"
    original = template.read_text(encoding="utf-8")
    template.write_text(original + "\nP.S. Written again.\n", encoding="utf-8")
    assert killed_when(txt, staged_then_fewer, "generate-letters"), "ended first"
    count(__name__, kills=1)
    template.write_text(original, encoding="utf-8")
    run_ok(txt, "generate-letters")
    agreement(txt)
    for path in rows(txt, "SELECT path FROM letters"):
        assert "P.S. Written again." not in (txt / path["path"]).read_text(encoding="utf-8")


def test_two_generate_letters_at_once_wait_or_say_busy(txt: Path) -> None:
    """The second run waits for the first, or says the workspace is busy: never an error
    about a temporary file the other run moved or swept away."""
    first = start(txt, "generate-letters")
    second = start(txt, "generate-letters")
    for done in (first.wait(), second.wait()):
        assert done.code == 0 or "busy" in done.stderr, done.stderr
    count(__name__, races=1)
    agreement(txt)
