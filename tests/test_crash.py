"""Killed at any moment, then run again: nothing lost, nothing doubled, nothing half-written.

``generate-letters`` (txt and pdf), ``print`` and ``import`` run as real processes on a
real workspace and are killed with SIGKILL at chosen moments: as soon as the first
letter is staged under its temporary name, as soon as the first letter is renamed into
place, while a changed campaign is being renamed over the old one, and after seeded
random delays. Each kill is followed by the same command again, to the end. Then:

- ``PRAGMA integrity_check`` is ok (and the full-text index agrees with the cases);
- every letter on record exists whole with its recorded sha256, no letter is
  recorded twice, no file in out/ lacks its row, and no temporary is left: the
  run after a kill sweeps what the killed one staged (``process_helpers.agreement``);
- every letter of the campaign is on record (none lost);
- an import is all or nothing: after a kill its rows are all there or none are.

Ctrl-C (SIGINT) stops a run with status 130 and one line on stderr, and what it
leaves is as consistent as a kill's.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from process_helpers import (
    TEMP_SUFFIX,
    agreement,
    any_letter,
    any_staged,
    build_campaign,
    cli_ok,
    copy_campaign,
    count,
    integrity,
    letter_files,
    rows,
    run,
    run_ok,
    start,
    table_counts,
    temporaries,
    wait_until,
    walk,
    whole_pdf,
    write_tally,
)

# 10 cases × 3 officials × 10 members: 300 letters, about half a second of work.
TXT = (10, 3, 10)
TXT_LETTERS = 10 * 3 * 10
# 3 × 2 × 4: 24 PDFs (Typst is much slower than text).
PDF = (3, 2, 4)
PDF_LETTERS = 3 * 2 * 4
IMPORT_CASES = 3_000


@pytest.fixture(scope="module", autouse=True)
def _tally() -> Iterator[None]:
    yield
    write_tally(__name__)


@pytest.fixture(scope="module")
def txt_campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_campaign(tmp_path_factory.mktemp("txt") / "campaign", *TXT)


@pytest.fixture(scope="module")
def pdf_campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_campaign(tmp_path_factory.mktemp("pdf") / "campaign", *PDF)


@pytest.fixture
def txt(txt_campaign: Path, tmp_path: Path) -> Path:
    return copy_campaign(txt_campaign, tmp_path / "campaign")


@pytest.fixture
def pdf(pdf_campaign: Path, tmp_path: Path) -> Path:
    return copy_campaign(pdf_campaign, tmp_path / "campaign")


def regenerate(folder: Path, *args: str) -> dict:
    """The run after the kill, to the end: its ``--json`` report."""
    done = run_ok(folder, "generate-letters", "--json", *args)
    return json.loads(done.stdout)


def killed_when(folder: Path, moment, *args: str) -> bool:  # type: ignore[no-untyped-def]
    """Start ``importune ARGS`` and SIGKILL it at ``moment``; True when it was still running."""
    process = start(folder, *args)
    hit = wait_until(process, moment(folder)) and process.kill()
    if not hit:
        process.wait()
    return hit


def after_kill(folder: Path, letters: int, fmt: str = "txt") -> None:
    """What a kill of a first run may leave: a sound database holding no letter or every
    letter (one transaction), and nothing else on record."""
    integrity(folder)
    recorded = table_counts(folder)["letters"]
    assert recorded in (0, letters), f"{recorded} of {letters} letters recorded"


def finish_and_agree(folder: Path, letters: int, fmt: str = "txt") -> list[dict]:
    """Run again to the end; then files and rows agree and every letter is there."""
    report = regenerate(folder, "--format", fmt)
    assert report["generated"] + report["unchanged"] == letters
    recorded = agreement(folder)
    assert len(recorded) == letters
    assert len(letter_files(folder)) == letters
    count(__name__, records_lost=letters - len(recorded))
    return recorded


# -- generate-letters, txt ------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [any_staged, lambda folder: any_letter(folder, ".txt")],
    ids=["first-letter-staged", "first-letter-renamed"],
)
def test_generate_killed_then_run_again(txt: Path, moment) -> None:  # type: ignore[no-untyped-def]
    assert killed_when(txt, moment, "generate-letters"), "the run ended before the moment"
    count(__name__, kills=1)
    after_kill(txt, TXT_LETTERS)
    finish_and_agree(txt, TXT_LETTERS)


def test_generate_killed_at_random_moments_again_and_again(txt: Path) -> None:
    """Kill after seeded random delays, on the same workspace, each kill interrupting the
    run that followed the last one; whatever each kill hit, the next run ends well."""
    chance = random.Random(7)
    for _ in range(3):
        process = start(txt, "generate-letters")
        time.sleep(chance.uniform(0.2, 1.2))
        if process.kill():
            count(__name__, kills=1)
        after_kill(txt, TXT_LETTERS)
    finish_and_agree(txt, TXT_LETTERS)


def staged_then_fewer(folder: Path):  # type: ignore[no-untyped-def]
    """True once temporaries have appeared and some have gone again: renaming has begun."""
    seen = [0]

    def moment() -> bool:
        staged = sum(1 for e in walk(folder / "out") if e.name.endswith(TEMP_SUFFIX))
        if staged < seen[0]:
            return True
        seen[0] = max(seen[0], staged)
        return False

    return moment


def test_changed_letters_killed_while_renamed_over_the_old_ones(txt: Path) -> None:
    """A template edit changes every letter; the run writing them over the old ones is
    killed while it renames. The run after it writes every letter with the new words."""
    run_ok(txt, "generate-letters")
    template = txt / "letters" / "concern.en.txt.j2"
    template.write_text(
        template.read_text(encoding="utf-8").replace(
            "{{ member.name if member else group.name }}",
            "{{ member.name if member else group.name }}\n(written again)",
        ),
        encoding="utf-8",
    )
    before = {r["path"]: r["sha256"] for r in rows(txt, "SELECT path, sha256 FROM letters")}
    if killed_when(txt, staged_then_fewer, "generate-letters"):
        count(__name__, kills=1)
    integrity(txt)
    recorded = {r["path"]: r["sha256"] for r in rows(txt, "SELECT path, sha256 FROM letters")}
    # One transaction: every row is as before the run, or every row is new.
    assert recorded == before or not set(recorded.values()) & set(before.values())

    report = regenerate(txt)
    assert report["generated"] + report["unchanged"] == TXT_LETTERS
    letters = agreement(txt)
    assert len(letters) == TXT_LETTERS
    for letter in letters:
        assert "(written again)" in (txt / letter["path"]).read_text(encoding="utf-8")
    count(__name__, records_lost=TXT_LETTERS - len(letters))


# -- generate-letters, pdf ------------------------------------------------------------------


def test_pdf_generate_killed_twice_then_run_again(pdf: Path) -> None:
    """Killed once its first PDF is staged, then again (the next run) once its first PDF
    is in place; the third run ends with every PDF whole and on record."""
    for moment in (any_staged, lambda folder: any_letter(folder, ".pdf")):
        assert killed_when(pdf, moment, "generate-letters", "--format", "pdf"), "ended first"
        count(__name__, kills=1)
        after_kill(pdf, PDF_LETTERS)
    letters = finish_and_agree(pdf, PDF_LETTERS, "pdf")
    for letter in letters[:3]:
        assert whole_pdf(pdf / letter["path"]) >= 1


# -- print ------------------------------------------------------------------------------------

MEMBER = "member-3"
MEMBER_LETTERS = PDF[0] * PDF[1]  # print lays them out with Typst: the small campaign
PRINTED = Path("out") / "print" / f"{MEMBER}.pdf"


def printed_as_recorded(folder: Path) -> None:
    """The member's letters are all marked printed, no one else's is, the PDF is whole."""
    statuses = rows(
        folder,
        "SELECT m.slug AS member, l.status, count(*) AS n FROM letters l "
        "JOIN members m ON m.id = l.member_id GROUP BY m.slug, l.status",
    )
    mine = {r["status"]: r["n"] for r in statuses if r["member"] == MEMBER}
    assert mine == {"printed": MEMBER_LETTERS}
    assert all(r["status"] == "generated" for r in statuses if r["member"] != MEMBER)
    assert whole_pdf(folder / PRINTED) >= MEMBER_LETTERS


def test_print_killed_twice_then_printed_again(pdf: Path) -> None:
    """``print`` generates the member's letters, lays them out in one PDF, writes it whole
    and marks the letters printed. Killed while it generates, then (the next one) once its
    PDF is staged, printing again ends with one whole PDF and every letter marked once."""
    run_ok(pdf, "generate-letters", "--member", "member-0")  # someone else's letters exist
    staged_pdf = pdf / PRINTED.parent / f".{PRINTED.name}{TEMP_SUFFIX}"
    for moment in (any_staged(pdf), staged_pdf.exists):
        process = start(pdf, "print", "--member", MEMBER)
        if wait_until(process, moment) and process.kill():
            count(__name__, kills=1)
        else:
            process.wait()
        integrity(pdf)
        assert not (pdf / PRINTED).exists() or whole_pdf(pdf / PRINTED)

    done = run_ok(pdf, "print", "--member", MEMBER)
    assert f"Printed {MEMBER_LETTERS} letters" in done.stdout
    printed_as_recorded(pdf)
    letters = agreement(pdf)
    assert len(letters) == MEMBER_LETTERS * 2
    count(__name__, records_lost=MEMBER_LETTERS * 2 - len(letters))


# -- import -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_import(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("import") / "cases.json"
    cases = [
        {"name": f"Detainee {i}", "country": "BY", "detained_on": "2021-06-01",
         "summary": f"Arrested at a protest, file {i}.", "prison": "Okrestina"}
        for i in range(IMPORT_CASES)
    ]  # fmt: skip
    source.write_text(json.dumps(cases), encoding="utf-8")
    return source


def fts_agrees(folder: Path) -> None:
    """The full-text index over cases agrees with the table (FTS5's own check)."""
    from process_helpers import connect

    with connect(folder) as conn:
        conn.execute("INSERT INTO cases_fts (cases_fts) VALUES ('integrity-check')")


def wal_grew(folder: Path):  # type: ignore[no-untyped-def]
    """True once the write-ahead log has grown: the import's transaction is writing."""
    wal = folder / "importune.db-wal"
    start_size = wal.stat().st_size if wal.exists() else 0
    return lambda: wal.exists() and wal.stat().st_size > start_size


@pytest.mark.parametrize("moment", ["writing", "random"])
def test_import_killed_is_all_or_nothing(
    txt_campaign: Path, tmp_path: Path, big_import: Path, moment: str
) -> None:
    folder = tmp_path / "campaign"
    folder.mkdir()
    cli_ok(folder, "init", folder)
    process = start(folder, "import", "cases", big_import)
    if moment == "writing":
        hit = wait_until(process, wal_grew(folder))
    else:
        time.sleep(random.Random(moment).uniform(0.2, 1.5))
        hit = process.alive
    if process.kill() and hit:
        count(__name__, kills=1)
    integrity(folder)
    fts_agrees(folder)
    assert temporaries(folder) == []
    cases = table_counts(folder)["cases"]
    assert cases in (0, IMPORT_CASES), f"{cases} of {IMPORT_CASES} cases imported"

    again = run(folder, "import", "cases", big_import)
    if cases == 0:
        assert again.code == 0, again.stderr
    else:  # all there already: the second import is refused in one line
        assert again.code == 1 and "already exists" in again.stderr, again.stderr
        assert len(again.stderr.splitlines()) == 1
    integrity(folder)
    fts_agrees(folder)
    assert table_counts(folder)["cases"] == IMPORT_CASES
    slugs = {r["slug"] for r in rows(folder, "SELECT slug FROM cases")}
    assert len(slugs) == IMPORT_CASES
    count(__name__, records_lost=IMPORT_CASES - len(slugs))


# -- Ctrl-C -----------------------------------------------------------------------------------


def interrupted(done_stderr: str) -> None:
    lines = done_stderr.splitlines()
    assert len(lines) == 1, done_stderr
    assert lines[0].startswith("importune: ") and "interrupted" in lines[0]
    assert "Traceback" not in done_stderr


def test_ctrl_c_while_staging_stops_cleanly(txt: Path) -> None:
    process = start(txt, "generate-letters")
    assert wait_until(process, any_staged(txt)), "the run ended before the moment"
    process.signal(signal.SIGINT)
    count(__name__, interrupts=1)
    done = process.wait()
    assert done.code == 130, done.stderr
    interrupted(done.stderr)
    # It cleaned up after itself: nothing recorded, nothing staged, no letter file.
    integrity(txt)
    assert table_counts(txt)["letters"] == 0
    assert temporaries(txt) == []
    assert letter_files(txt) == set()
    finish_and_agree(txt, TXT_LETTERS)


def test_ctrl_c_during_an_import_keeps_nothing(tmp_path: Path, big_import: Path) -> None:
    folder = tmp_path / "campaign"
    folder.mkdir()
    cli_ok(folder, "init", folder)
    process = start(folder, "import", "cases", big_import)
    hit = wait_until(process, wal_grew(folder))
    process.signal(signal.SIGINT)
    done = process.wait()
    integrity(folder)
    fts_agrees(folder)
    cases = table_counts(folder)["cases"]
    # All or nothing, whenever the signal came: before the commit (status 130, one line),
    # or after it (the import is whole, whether or not the exit was still to come).
    assert cases in (0, IMPORT_CASES)
    if done.code == 130:
        count(__name__, interrupts=1 if hit else 0)
        interrupted(done.stderr)
    else:
        assert done.code == 0 and cases == IMPORT_CASES, done.stderr


# -- worker processes -------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_workers_die_with_a_killed_run(tmp_path: Path) -> None:
    """``--jobs 2`` workers stop when their run is killed, even by SIGKILL: none goes on
    staging letters beside the next run's. (The workers are paused first, so that a
    worker that would outlive its run is still there to be seen.) The next run ends as
    after any other kill."""
    folder = build_campaign(tmp_path / "campaign", 10, 3, 100)  # 3,000 letters
    letters = 10 * 3 * 100
    process = start(folder, "generate-letters", "--jobs", "2")
    assert wait_until(process, any_staged(folder)), "the run ended before staging"
    workers = children_of(process.popen.pid)
    assert workers, "no worker process"
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    assert process.kill()
    count(__name__, kills=1)
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], "a worker outlived its run"
    after_kill(folder, letters)
    finish_and_agree(folder, letters)
