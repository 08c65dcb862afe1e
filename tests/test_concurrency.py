"""Two importune processes on one workspace at once: nothing doubled, nothing lost.

Two ``generate-letters`` started together (and one started as the other stages its
first letter), an import of members while letters are being generated, and two
imports at once. Each process either finishes, or waits for the other and then
finishes, or is refused in one line with no traceback. Afterwards the rows and the
files are counted: the database is sound, no letter is recorded twice (``letters_key``:
case, official, member, template, language, format), every letter a finished run
recorded is on disk as recorded; one more run leaves the files and rows in exact
agreement (``process_helpers.agreement``) with every letter there, and the run after
that finds every letter unchanged.

Two imports at once both land (one waits for the other); one file imported twice at
once lands once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from process_helpers import (
    Finished,
    agreement,
    any_staged,
    campaign_fixtures,
    copy_campaign,
    count,
    integrity,
    rows,
    run_ok,
    sha256,
    start,
    table_counts,
    wait_until,
)

CAMPAIGN = (6, 3, 6)  # 108 letters
LETTERS = 6 * 3 * 6


_tally, campaign, folder = campaign_fixtures(__name__, "race", CAMPAIGN)


def finished_or_refused(done: Finished) -> bool:
    """True when the process finished; else it was refused cleanly, in one line."""
    if done.code == 0:
        assert "Traceback" not in done.stderr
        return True
    assert done.code == 1, f"status {done.code}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("importune: "), done.stderr
    return False


def recorded_as_on_disk(folder: Path) -> None:
    """Right after a race: a sound database, no letter twice, every row's file as recorded."""
    integrity(folder)
    for letter in rows(folder, "SELECT path, sha256 FROM letters"):
        assert sha256(folder / letter["path"]) == letter["sha256"], letter["path"]


def nothing_doubled_nothing_lost(folder: Path, letters: int) -> None:
    """One more run; then the rows and files agree, every letter is there once, and the
    run after that finds each unchanged."""
    recorded_as_on_disk(folder)
    run_ok(folder, "generate-letters")
    recorded = agreement(folder)
    keys = {(r["case_id"], r["official_id"], r["member"], r["template"], r["language"],
             r["format"]) for r in recorded}  # fmt: skip
    assert len(keys) == len(recorded) == letters
    count(__name__, records_lost=letters - len(recorded))
    report = json.loads(run_ok(folder, "generate-letters", "--json").stdout)
    assert (report["generated"], report["unchanged"]) == (0, letters)


@pytest.mark.parametrize("stagger", [False, True], ids=["together", "second-while-staging"])
def test_two_generate_letters_at_once(folder: Path, stagger: bool) -> None:
    first = start(folder, "generate-letters")
    if stagger:
        wait_until(first, any_staged(folder))
    second = start(folder, "generate-letters")
    for process in (first, second):
        finished_or_refused(process.wait())  # 0, or one clean line (see the pending test)
    count(__name__, races=1)
    nothing_doubled_nothing_lost(folder, LETTERS)


def test_an_import_of_members_while_letters_are_generated(folder: Path, tmp_path: Path) -> None:
    """The new members' letters are made by this run or the next; none is doubled."""
    new = [{"name": f"Newcomer {k}", "address": f"{k} New Road\nLeeds LS1 1AA"}
           for k in range(6)]  # fmt: skip
    source = tmp_path / "members.json"
    source.write_text(json.dumps(new), encoding="utf-8")
    generating = start(folder, "generate-letters")
    wait_until(generating, any_staged(folder))
    importing = start(folder, "import", "members", source)
    generated, imported = generating.wait(), importing.wait()
    count(__name__, races=1)
    finished_or_refused(generated)
    members = table_counts(folder)["members"]
    if finished_or_refused(imported):
        assert members == CAMPAIGN[2] + len(new)
    else:
        assert members == CAMPAIGN[2]
        run_ok(folder, "import", "members", source)
    all_letters = CAMPAIGN[0] * CAMPAIGN[1] * (CAMPAIGN[2] + len(new))
    nothing_doubled_nothing_lost(folder, all_letters)


def test_two_imports_at_once(tmp_path: Path, campaign: Path) -> None:
    """Two files of different cases both land; one new file imported twice at once lands
    once (the other import is refused: its cases are there already)."""
    folder = copy_campaign(campaign, tmp_path / "campaign")
    sources = []
    for name, first in (("a", 100), ("b", 1100), ("c", 2100)):
        cases = [{"name": f"Prisoner {i}", "country": "AZ"} for i in range(first, first + 600)]
        source = tmp_path / f"{name}.json"
        source.write_text(json.dumps(cases), encoding="utf-8")
        sources.append(source)
    before = table_counts(folder)["cases"]

    processes = [start(folder, "import", "cases", s) for s in sources[:2]]
    done = [p.wait() for p in processes]
    count(__name__, races=1)
    landed = [finished_or_refused(d) for d in done]
    cases = table_counts(folder)["cases"]
    assert cases == before + 600 * sum(landed)
    for source, ok in zip(sources[:2], landed, strict=True):
        if not ok:  # refused because the other was writing: it lands when run again
            run_ok(folder, "import", "cases", source)
    assert table_counts(folder)["cases"] == before + 1200

    processes = [start(folder, "import", "cases", sources[2]) for _ in range(2)]
    done = [p.wait() for p in processes]
    count(__name__, races=1)
    assert sorted(finished_or_refused(d) for d in done) == [False, True]
    integrity(folder)
    slugs = [r["slug"] for r in rows(folder, "SELECT slug FROM cases")]
    assert len(slugs) == len(set(slugs)) == before + 1800
    count(__name__, records_lost=before + 1800 - len(slugs))
