"""The coordinator's commands: ``case event``, the timeline in ``case show``,
``case release`` and undoing a mistaken release with ``case edit --status detained``.

Through the real CLI on a real workspace; what a command did is read back from the
SQLite file with plain sqlite3 (statuses, dates, events), and every refusal goes
through conftest's ``refused``: status 1, one line, the workspace byte for byte as
it was.

The campaign (tests/printing_helpers.py): Yusuf Dzhumaev (detained 2001-10-23) and
Ales Bialiatski, two members, three letters each, in txt and md. Before each test
that uses it, Hedwig has printed her two letters for Yusuf and Tomasz has posted
his to the ambassador: of Yusuf's four letters, two are printed, one sent and one
generated. Built once per session, copied into each test's folder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from conftest import Run
from printing_helpers import build_workspace, page_text, pdf_pages

Refused = Callable[..., str]
Sql = Callable[..., list[dict]]

TODAY = dt.date.today()
TOMORROW = (TODAY + dt.timedelta(days=1)).isoformat()
YUSUF = "yusuf-dzhumaev"


def as_json(ok: Run, *args: str) -> Any:
    return json.loads(ok(*args, "--json").stdout)


def yusufs_letters(sql: Sql) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Yusuf's letter rows by (member, official, format)."""
    found = sql(
        "SELECT m.slug AS member, o.slug AS official, l.format, l.template, l.status, "
        "l.printed_at, l.sent_at, l.withdrawn_at FROM letters l "
        "JOIN members m ON m.id = l.member_id JOIN officials o ON o.id = l.official_id "
        "JOIN cases c ON c.id = l.case_id WHERE c.slug = ? AND l.template = 'concern'",
        (YUSUF,),
    )
    return {(r["member"], r["official"], r["format"]): r for r in found}


def statuses(sql: Sql) -> dict[tuple[str, str, str], str]:
    return {key: row["status"] for key, row in yusufs_letters(sql).items()}


# Yusuf's letters once the campaign is built: (member, official) → status, in both formats.
BEFORE = {
    ("hedwig-brandauer", "ambassador"): "printed",
    ("hedwig-brandauer", "prosecutor-general"): "printed",
    ("tomasz-wielgosz", "ambassador"): "sent",
    ("tomasz-wielgosz", "prosecutor-general"): "generated",
}


def in_both_formats(by_letter: dict[tuple[str, str], str]) -> dict[tuple[str, str, str], str]:
    return {(*key, fmt): status for key, status in by_letter.items() for fmt in ("txt", "md")}


@pytest.fixture(scope="session")
def _built_campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The campaign, built once through the CLI (one Typst compile for the print)."""
    folder = tmp_path_factory.mktemp("campaign")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setenv("IMPORTUNE_DB", str(folder / "importune.db"))
        patch.setenv("IMPORTUNE_LETTERS", str(folder / "letters"))
        patch.delenv("IMPORTUNE_FONTS", raising=False)
        build_workspace()
        from conftest import invoke, rows

        for args in (
            ("generate-letters",),
            ("generate-letters", "--format", "md"),
            ("print", "--member", "hedwig-brandauer", "--case", YUSUF),
        ):
            assert invoke(*args).exit_code == 0, args
        (letter,) = rows(
            "SELECT l.id FROM letters l JOIN officials o ON o.id = l.official_id "
            "JOIN members m ON m.id = l.member_id JOIN cases c ON c.id = l.case_id "
            "WHERE c.slug = ? AND o.slug = 'ambassador' AND m.slug = 'tomasz-wielgosz' "
            "AND l.format = 'txt'",
            (YUSUF,),
        )
        assert invoke("mark-sent", letter["id"]).exit_code == 0  # posted today
    return folder


@pytest.fixture
def campaign(_built_campaign: Path, tmp_path: Path, sql: Sql) -> Iterator[None]:
    for entry in _built_campaign.iterdir():
        target = tmp_path / entry.name
        if entry.is_dir():
            shutil.copytree(entry, target)
        else:
            shutil.copy2(entry, target)
    assert statuses(sql) == in_both_formats(BEFORE)
    yield


@pytest.fixture
def yusuf(workspace: Path, ok: Run) -> None:
    """A workspace with the seed page's case only: held from 2001-10-23."""
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ", "--detained-on", "2001-10-23")


def events(sql: Sql) -> list[tuple[str, str, str | None]]:
    return [(e["date"], e["kind"], e["note"]) for e in sql("SELECT * FROM events ORDER BY id")]


# -- case event and the timeline ----------------------------------------------------------


@pytest.mark.usefixtures("yusuf")
def test_events_make_a_timeline_oldest_first(ok: Run, sql: Sql) -> None:
    said = ok("case", "event", YUSUF, "sentenced", "--on", "2002-05-03", "--note", "15 years")
    assert f"Recorded for case {YUSUF}: 2002-05-03 sentenced." in said.stdout
    ok("case", "event", YUSUF, "Hunger strike", "--on", "2009-06-01")  # as people write it
    ok("case", "event", YUSUF, "arrested", "--on", "2001-10-23", "--note", "at home, at night")
    ok("case", "event", "1", "transferred", "--note", "to Jaslyk")  # today, by id
    ok("case", "event", YUSUF, "note", "--on", "2002-05-03", "--note", "appeal lodged")

    today = TODAY.isoformat()
    timeline = [
        ("2001-10-23", "arrested", "at home, at night"),
        ("2002-05-03", "sentenced", "15 years"),
        ("2002-05-03", "note", "appeal lodged"),  # same day: in the order recorded
        ("2009-06-01", "hunger-strike", None),
        (today, "transferred", "to Jaslyk"),
    ]
    shown = as_json(ok, "case", "show", YUSUF)
    assert [(e["date"], e["kind"], e["note"]) for e in shown["events"]] == timeline
    assert {"id", "slug", "status", "detained_on", "released_on", "appeals"} <= set(shown)
    assert sorted(events(sql)) == sorted(timeline)  # as the file holds them

    text = ok("case", "show", YUSUF).stdout
    assert "Timeline" in text
    cells = [line.strip("│ ").split("│") for line in text.splitlines()]
    printed = [(row[0].strip(), row[1].strip()) for row in cells if row[0][:2] in ("20", "19")]
    assert printed == [(date, kind) for date, kind, _ in timeline]


@pytest.mark.usefixtures("yusuf")
def test_a_case_with_no_events_says_how_to_add_one(ok: Run) -> None:
    assert f"No events yet: importune case event {YUSUF} KIND" in ok("case", "show", YUSUF).stdout
    assert as_json(ok, "case", "show", YUSUF)["events"] == []


@pytest.mark.usefixtures("yusuf")
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["flogged"], "event kind 'flogged' is not one of arrested, charged, sentenced, "
                      "transferred, hunger-strike, note (a release: importune case release)"),
        (["released"], f"a release does more than an event: importune case release {YUSUF}"),
        (["Died in custody"], "a death in custody changes the case, not only its timeline: "
         f"importune case edit {YUSUF} --status deceased (it withdraws the letters not yet "
         f"sent), and its day: importune case event {YUSUF} note --on DATE --note 'Died in "
         "custody'"),
        (["died"], f"importune case edit {YUSUF} --status deceased"),
        (["charged", "--on", "10/11/2001"], "'10/11/2001' is not a date in the form YYYY-MM-DD"),
        (["charged", "--on", "2001-02-30"], "--on '2001-02-30' is not a real day"),
        (["charged", "--on", TOMORROW], f"--on {TOMORROW} is in the future"),
        (["note"], "a note needs its text: --note TEXT"),
        (["note", "--note", "  "], "a note needs its text: --note TEXT"),
        (["note", "--note", "two\nlines"], "--note must be one line"),
        (["transferred", "--on", "2001-10-22"],
         f"a transferred event on 2001-10-22 is before case {YUSUF!r} was detained (2001-10-23)"),
        (["hunger-strike", "--on", "2000-01-01"], "is before case"),
    ],
)  # fmt: skip
def test_event_refusals(refused: Refused, args: list[str], says: str) -> None:
    assert says in refused("case", "event", YUSUF, *args)


@pytest.mark.usefixtures("yusuf")
def test_an_event_for_no_case_or_twice_is_refused(ok: Run, refused: Refused) -> None:
    assert refused("case", "event", "nobody", "charged") == "no case 'nobody' (give its id or slug)"
    ok("case", "event", YUSUF, "charged", "--on", "2001-11-01", "--note", "Art. 159")
    line = refused("case", "event", YUSUF, "charged", "--on", "2001-11-01", "--note", "Art. 159")
    assert line == f"case {YUSUF!r} already has this charged event on 2001-11-01"
    ok("case", "event", YUSUF, "charged", "--on", "2001-11-01", "--note", "Art. 244")


@pytest.mark.usefixtures("yusuf")
def test_after_the_release_only_notes(ok: Run, refused: Refused, sql: Sql) -> None:
    ok("case", "release", YUSUF, "--on", "2011-12-29")
    line = refused("case", "event", YUSUF, "transferred", "--on", "2012-01-05")
    assert line == (
        f"case {YUSUF!r} was released on 2011-12-29: after that only a note can be recorded"
    )
    ok("case", "event", YUSUF, "note", "--on", "2012-01-05", "--note", "left for Germany")
    ok("case", "event", YUSUF, "sentenced", "--on", "2002-05-03")  # before it: history
    assert events(sql)[-2:] == [
        ("2012-01-05", "note", "left for Germany"),
        ("2002-05-03", "sentenced", None),
    ]


# -- case release ---------------------------------------------------------------------------


@pytest.mark.usefixtures("yusuf")
def test_the_seed_case_held_ten_years_and_released(ok: Run, sql: Sql) -> None:
    ok("case", "event", YUSUF, "arrested", "--on", "2001-10-23")
    said = ok("case", "release", YUSUF, "--on", "2011-12-29", "--note", "presidential pardon")
    assert f"Released case {YUSUF} on 2011-12-29, after 3,719 days in detention." in said.stdout
    assert f"Next: importune case announce {YUSUF}" in said.stdout

    shown = as_json(ok, "case", "show", YUSUF)
    assert (shown["status"], shown["detained_on"], shown["released_on"]) == (
        "released", "2001-10-23", "2011-12-29",
    )  # fmt: skip
    assert [(e["date"], e["kind"], e["note"]) for e in shown["events"]] == [
        ("2001-10-23", "arrested", None),
        ("2011-12-29", "released", "presidential pardon"),
    ]
    (case,) = sql("SELECT status, released_on FROM cases")
    assert case == {"status": "released", "released_on": "2011-12-29"}
    assert "released" in as_json(ok, "case", "list", "--status", "released")[0]["status"]


@pytest.mark.usefixtures("yusuf")
def test_a_release_is_today_by_default(ok: Run, sql: Sql) -> None:
    ok("case", "release", YUSUF)
    today = TODAY.isoformat()
    assert sql("SELECT released_on FROM cases") == [{"released_on": today}]
    assert events(sql) == [(today, "released", None)]


@pytest.mark.usefixtures("campaign")
def test_release_withdraws_every_letter_not_yet_sent(ok: Run, sql: Sql) -> None:
    said = ok("case", "release", YUSUF, "--on", "2024-06-01").stdout
    assert (
        "Withdrew 3 letters not yet sent (1 generated, 2 printed); "
        "1 letter already sent stays sent."
    ) in said
    after = yusufs_letters(sql)
    expected = {**BEFORE, **{k: "withdrawn" for k, v in BEFORE.items() if v != "sent"}}
    assert {k: r["status"] for k, r in after.items()} == in_both_formats(expected)
    for row in after.values():
        assert bool(row["withdrawn_at"]) == (row["status"] == "withdrawn")
    sent = after[("tomasz-wielgosz", "ambassador", "txt")]
    assert (sent["status"], sent["sent_at"]) == ("sent", TODAY.isoformat())
    # Ales Bialiatski's letters are not touched.
    others = sql("SELECT DISTINCT l.status FROM letters l JOIN cases c ON c.id = l.case_id "
                 "WHERE c.slug = 'ales-bialiatski'")  # fmt: skip
    assert others == [{"status": "generated"}]


@pytest.mark.usefixtures("campaign")
def test_after_release_no_letters_of_concern_but_thanks(ok: Run, sql: Sql) -> None:
    ok("case", "release", YUSUF, "--on", "2024-06-01")
    made = as_json(ok, "generate-letters", "--case", YUSUF)
    assert made["generated"] == 0 and made["unchanged"] == 0
    assert {e["state"] for e in made["letters"]} == {"skipped"}
    assert statuses(sql) == in_both_formats(
        {k: "withdrawn" if v != "sent" else v for k, v in BEFORE.items()}
    )
    thanks = as_json(ok, "generate-letters", "--case", YUSUF, "--template", "thanks")
    assert thanks["generated"] == 4  # two officials, two members
    assert all(e["path"].endswith(".thanks.txt") for e in thanks["letters"])
    rows = sql("SELECT status FROM letters WHERE template = 'thanks'")
    assert [r["status"] for r in rows] == ["generated"] * 4


@pytest.mark.usefixtures("campaign")
def test_print_never_prints_a_withdrawn_letter(ok: Run, refused: Refused, sql: Sql) -> None:
    ok("case", "release", YUSUF, "--on", "2024-06-01")
    line = refused("print", "--member", "hedwig-brandauer", "--case", YUSUF)
    assert line == (
        "member 'hedwig-brandauer' has no letters to print for case 'yusuf-dzhumaev' (2 withdrawn)"
    )
    ok("print", "--member", "hedwig-brandauer", "-o", "hedwig.pdf")
    (page,) = pdf_pages(Path("hedwig.pdf"))  # Ales Bialiatski's letter only
    assert "BELARUS" in page_text(page) and "Dzhumaev" not in page_text(page)
    assert statuses(sql)[("hedwig-brandauer", "ambassador", "txt")] == "withdrawn"


@pytest.mark.usefixtures("campaign")
def test_a_refused_release_changes_nothing(ok: Run, refused: Refused, sql: Sql) -> None:
    ok("case", "event", YUSUF, "arrested", "--on", "2001-11-02")
    line = refused("case", "release", YUSUF, "--on", "2001-11-01")
    assert line == (
        "the release date 2001-11-01 is before the arrested event of 2001-11-02 "
        "in case 'yusuf-dzhumaev''s timeline"
    )
    ok("case", "event", YUSUF, "transferred", "--on", "2005-03-04")
    ok("case", "event", YUSUF, "note", "--on", "2010-01-01", "--note", "letters from abroad")
    for args, says in [
        (["--on", "2001-10-22"], "the release date 2001-10-22 is before case 'yusuf-dzhumaev' "
                                 "was detained (2001-10-23)"),
        # The latest event it contradicts: the earliest day the release can be.
        (["--on", "2001-11-01"], "is before the transferred event of 2005-03-04"),
        (["--on", "2005-03-03"], "is before the transferred event of 2005-03-04"),
        (["--on", TOMORROW], f"the release date {TOMORROW} is in the future"),
        (["--on", "29.12.2011"], "--on '29.12.2011' is not a date in the form YYYY-MM-DD"),
        (["--on", "2011-12-29", "--note", "a\x07bell"], "--note holds a control character"),
    ]:  # fmt: skip
        assert says in refused("case", "release", YUSUF, *args)
    assert refused("case", "release", "nobody") == "no case 'nobody' (give its id or slug)"
    assert statuses(sql) == in_both_formats(BEFORE)
    ok("case", "release", YUSUF, "--on", "2010-01-01")  # a note before it is no obstacle
    line = refused("case", "release", YUSUF, "--on", "2011-12-29")
    assert line == (
        "case 'yusuf-dzhumaev' was already released on 2010-01-01 "
        "(to change the day: importune case edit yusuf-dzhumaev --released-on DATE)"
    )


@pytest.mark.usefixtures("campaign")
def test_a_release_is_one_transaction(refused: Refused, sql: Sql) -> None:
    """When the last step fails (here a trigger refuses to withdraw a letter), the
    status, the release day and the event written before it are rolled back."""
    with closing(sqlite3.connect("importune.db")) as conn, conn:
        conn.execute(
            "CREATE TRIGGER keep_letters BEFORE UPDATE OF status ON letters "
            "WHEN new.status = 'withdrawn' BEGIN SELECT RAISE(ABORT, 'letters are kept'); END"
        )
    line = refused("case", "release", YUSUF, "--on", "2024-06-01")
    assert line == "the database refused the change: letters are kept"
    assert sql("SELECT status, released_on FROM cases WHERE slug = ?", (YUSUF,)) == [
        {"status": "detained", "released_on": None}
    ]
    assert events(sql) == []


# -- case edit: a release, its day, and undoing it -------------------------------------------


@pytest.mark.usefixtures("campaign")
def test_undoing_a_release_brings_the_letters_back(ok: Run, sql: Sql) -> None:
    ok("case", "event", YUSUF, "arrested", "--on", "2001-10-23")
    ok("case", "release", YUSUF, "--on", "2024-06-01")
    said = ok("case", "edit", YUSUF, "--status", "detained").stdout
    assert "Release of 2024-06-01 undone: released_on cleared" in said
    assert "3 letters pending again (1 generated, 2 printed)." in said
    assert "1 letter already sent stays sent." in said

    after = yusufs_letters(sql)
    assert {k: r["status"] for k, r in after.items()} == in_both_formats(BEFORE)
    assert all(row["withdrawn_at"] is None for row in after.values())
    assert all(row["printed_at"] for k, row in after.items() if k[0] == "hedwig-brandauer")
    shown = as_json(ok, "case", "show", YUSUF)
    assert (shown["status"], shown["released_on"]) == ("detained", None)
    assert [e["kind"] for e in shown["events"]] == ["arrested"]  # the release did not happen
    # The letters are as generate-letters left them: nothing to write again.
    again = as_json(ok, "generate-letters", "--case", YUSUF)
    assert again["generated"] == 0 and again["unchanged"] == 4


@pytest.mark.usefixtures("campaign")
def test_a_death_withdraws_every_letter_not_yet_sent_and_a_mistake_is_undone(
    ok: Run, refused: Refused, sql: Sql
) -> None:
    """No official is asked to free a prisoner who has died: marked deceased, the case's
    letters not yet sent are withdrawn (print refuses them); taken back, they return."""
    said = ok("case", "edit", YUSUF, "--status", "deceased").stdout
    assert (
        "Withdrew 3 letters not yet sent, never to be printed (1 generated, 2 printed); "
        "1 letter already sent stays sent."
    ) in said
    assert f"importune case edit {YUSUF} --status detained" in said
    expected = {**BEFORE, **{k: "withdrawn" for k, v in BEFORE.items() if v != "sent"}}
    assert statuses(sql) == in_both_formats(expected)
    line = refused("print", "--member", "hedwig-brandauer", "--case", YUSUF)
    assert "no letters to print" in line and "2 withdrawn" in line
    made = as_json(ok, "generate-letters", "--case", YUSUF)
    assert made["generated"] == 0 and {e["state"] for e in made["letters"]} == {"skipped"}
    others = sql("SELECT DISTINCT l.status FROM letters l JOIN cases c ON c.id = l.case_id "
                 "WHERE c.slug = 'ales-bialiatski'")  # fmt: skip
    assert others == [{"status": "generated"}]

    said = ok("case", "edit", YUSUF, "--status", "detained").stdout
    assert "3 letters pending again (1 generated, 2 printed)." in said
    after = yusufs_letters(sql)
    assert {k: r["status"] for k, r in after.items()} == in_both_formats(BEFORE)
    assert all(row["withdrawn_at"] is None for row in after.values())
    assert as_json(ok, "case", "show", YUSUF)["status"] == "detained"


@pytest.mark.usefixtures("campaign")
def test_a_death_after_the_release_brings_back_nothing_the_release_withdrew(
    ok: Run, sql: Sql
) -> None:
    ok("case", "release", YUSUF, "--on", "2024-06-01")
    released = statuses(sql)
    died = ok("case", "edit", YUSUF, "--status", "deceased").stdout
    assert died == f"Updated case {YUSUF}.\n"  # the release withdrew them already
    said = ok("case", "edit", YUSUF, "--status", "detained").stdout
    assert "pending again" not in said
    assert statuses(sql) == released  # still withdrawn: the release was no mistake


@pytest.mark.usefixtures("campaign")
def test_a_refused_death_changes_nothing(refused: Refused, sql: Sql) -> None:
    """Refused with another field (a bad date), the status and the letters stay."""
    line = refused("case", "edit", YUSUF, "--status", "deceased", "--detained-on", "2001-13-01")
    assert "2001-13-01" in line
    assert statuses(sql) == in_both_formats(BEFORE)
    assert sql("SELECT status FROM cases WHERE slug = ?", [YUSUF]) == [{"status": "detained"}]


@pytest.mark.usefixtures("campaign")
def test_undo_withdraws_thanks_and_a_new_release_brings_them_back(ok: Run, sql: Sql) -> None:
    ok("case", "release", YUSUF, "--on", "2024-06-01")
    ok("generate-letters", "--case", YUSUF, "--template", "thanks")

    def thanks() -> set[str]:
        return {r["status"] for r in sql("SELECT status FROM letters WHERE template = 'thanks'")}

    said = ok("case", "edit", YUSUF, "--status", "unknown").stdout
    assert "4 thank-you letters withdrawn." in said
    assert thanks() == {"withdrawn"}
    said = ok("case", "release", YUSUF, "--on", "2024-06-01").stdout
    assert "4 thank-you letters back" in said
    assert thanks() == {"generated"}
    assert set(statuses(sql).values()) == {"withdrawn", "sent"}


# -- an appeal stopped, and written again ----------------------------------------------------


def marked(by_letter: dict[tuple[str, str], str], **changes: str) -> dict[tuple[str, str], str]:
    """BEFORE with some letters' status changed: ``hedwig_ambassador="withdrawn"``."""
    changed = dict(by_letter)
    for key, status in changes.items():
        member, official = key.split("_", 1)
        names = {"hedwig": "hedwig-brandauer", "tomasz": "tomasz-wielgosz"}
        changed[(names[member], official.replace("_", "-"))] = status
    return changed


@pytest.mark.usefixtures("campaign")
def test_removing_an_appeal_withdraws_its_letters_not_yet_sent(
    ok: Run, sql: Sql, tmp_path: Path
) -> None:
    """Stopped, an appeal's letters are neither printed nor counted as posted: before,
    mark-sent --member marked a letter of a removed appeal sent, never printed."""
    said = ok("appeal", "remove", YUSUF, "ambassador").stdout
    assert said.splitlines() == [
        f"Appeal removed: {YUSUF} → ambassador.",
        "Withdrew 1 letter not yet sent (1 printed); 1 letter already sent stays sent.",
        "print and mark-sent leave them out; adding the appeal again brings them back.",
    ]
    assert statuses(sql) == in_both_formats(marked(BEFORE, hedwig_ambassador="withdrawn"))
    after = yusufs_letters(sql)
    assert after[("hedwig-brandauer", "ambassador", "txt")]["withdrawn_at"]
    assert after[("hedwig-brandauer", "ambassador", "txt")]["printed_at"]  # its history

    done = ok("mark-sent", "--member", "hedwig-brandauer", "--case", YUSUF).stdout
    assert done.startswith("Marked 1 letter sent")  # her letter to the prosecutor only
    assert statuses(sql) == in_both_formats(
        marked(BEFORE, hedwig_ambassador="withdrawn", hedwig_prosecutor_general="sent")
    )
    (case,) = [c for c in as_json(ok, "report")["cases"] if c["slug"] == YUSUF]
    assert (case["appeals"], case["letters_sent"], case["letters_withdrawn"]) == (1, 2, 1)
    printed = ok("print", "--member", "tomasz-wielgosz", "--case", YUSUF, "-o",
                 str(tmp_path / "t.pdf")).stdout  # fmt: skip
    assert printed.startswith("Printed 1 letter")  # to the prosecutor: the appeal left


@pytest.mark.usefixtures("campaign")
def test_an_appeal_added_again_brings_its_letters_back(
    ok: Run, sql: Sql, tmp_path: Path
) -> None:
    ok("appeal", "remove", YUSUF, "ambassador")
    ok("appeal", "remove", YUSUF, "prosecutor-general")
    said = ok("appeal", "add", YUSUF, "ambassador").stdout
    assert "Brought back 1 letter withdrawn by an earlier appeal remove (1 printed)." in said
    assert statuses(sql) == in_both_formats(
        marked(BEFORE, hedwig_prosecutor_general="withdrawn", tomasz_prosecutor_general="withdrawn")
    )
    # An import of appeals does the same.
    appeals = tmp_path / "appeals.csv"
    appeals.write_text(f"case,official\n{YUSUF},prosecutor-general\n")
    said = ok("import", "appeals", str(appeals)).stdout
    assert said.splitlines()[1] == (
        "Brought back 2 letters withdrawn by an earlier appeal remove (1 generated, 1 printed)."
    )
    after = yusufs_letters(sql)
    assert {k: r["status"] for k, r in after.items()} == in_both_formats(BEFORE)
    assert all(row["withdrawn_at"] is None for row in after.values())
    again = as_json(ok, "generate-letters", "--case", YUSUF)
    assert (again["generated"], again["unchanged"]) == (0, 4)


@pytest.mark.usefixtures("campaign")
def test_a_release_undone_leaves_a_removed_appeals_letters_withdrawn(ok: Run, sql: Sql) -> None:
    ok("case", "release", YUSUF, "--on", "2024-06-01")
    ok("generate-letters", "--case", YUSUF, "--template", "thanks")
    said = ok("appeal", "remove", YUSUF, "ambassador").stdout
    # Released, the appeal's letters of concern were withdrawn already; its thank-you
    # letters (one per member) are withdrawn now.
    assert "Withdrew 2 letters not yet sent (2 generated)" in said

    def thanks() -> dict[str, str]:
        rows = sql("SELECT o.slug, l.status FROM letters l JOIN officials o "
                   "ON o.id = l.official_id WHERE l.template = 'thanks' AND l.format = 'txt'")
        return {r["slug"]: r["status"] for r in rows}  # fmt: skip

    assert thanks() == {"ambassador": "withdrawn", "prosecutor-general": "generated"}
    ok("case", "edit", YUSUF, "--status", "detained")  # a mistaken release, undone
    assert statuses(sql) == in_both_formats(marked(BEFORE, hedwig_ambassador="withdrawn"))
    ok("case", "release", YUSUF, "--on", "2024-06-01")
    assert thanks() == {"ambassador": "withdrawn", "prosecutor-general": "generated"}
    # Added again while the case is released: its thank-you letters come back, its
    # letters of concern stay withdrawn.
    said = ok("appeal", "add", YUSUF, "ambassador").stdout
    assert "Brought back 2 thank-you letters withdrawn by an earlier appeal remove." in said
    assert thanks() == {"ambassador": "generated", "prosecutor-general": "generated"}
    assert set(statuses(sql).values()) == {"withdrawn", "sent"}


@pytest.mark.usefixtures("campaign")
def test_a_refused_appeal_remove_changes_nothing(refused: Refused, sql: Sql) -> None:
    assert "no appeal" in refused("appeal", "remove", "ales-bialiatski", "ambassador")
    assert statuses(sql) == in_both_formats(BEFORE)


@pytest.mark.usefixtures("campaign")
def test_edit_status_released_is_a_release(ok: Run, sql: Sql) -> None:
    said = ok("case", "edit", YUSUF, "--status", "released", "--prison", "Jaslyk").stdout
    assert f"Updated case {YUSUF}." in said and "Withdrew 3 letters" in said
    today = TODAY.isoformat()
    (case,) = sql("SELECT status, released_on, prison FROM cases WHERE slug = ?", (YUSUF,))
    assert case == {"status": "released", "released_on": today, "prison": "Jaslyk"}
    assert events(sql) == [(today, "released", None)]
    assert "generated" not in statuses(sql).values() and "printed" not in statuses(sql).values()


@pytest.mark.usefixtures("yusuf")
def test_moving_the_release_day_moves_its_event(ok: Run, refused: Refused, sql: Sql) -> None:
    ok("case", "event", YUSUF, "transferred", "--on", "2005-03-04")
    ok("case", "edit", YUSUF, "--status", "released", "--released-on", "2011-12-30")
    ok("case", "edit", YUSUF, "--released-on", "2011-12-29")
    assert events(sql) == [("2005-03-04", "transferred", None), ("2011-12-29", "released", None)]
    assert sql("SELECT released_on FROM cases") == [{"released_on": "2011-12-29"}]
    line = refused("case", "edit", YUSUF, "--released-on", "2005-01-01")
    assert "the release date 2005-01-01 is before the transferred event of 2005-03-04" in line


@pytest.mark.usefixtures("yusuf")
def test_edit_refusals_around_a_release(ok: Run, refused: Refused) -> None:
    line = refused("case", "edit", YUSUF, "--released-on", "2011-12-29")
    assert line == (
        f"case {YUSUF!r} is detained: a release is recorded with "
        f"importune case release {YUSUF} --on 2011-12-29"
    )
    # Refused, the release takes the other fields' edit back with it.
    release = ["--status", "released", "--released-on", TOMORROW, "--prison", "Jaslyk"]
    line = refused("case", "edit", YUSUF, *release)
    assert f"the release date {TOMORROW} is in the future" in line
    ok("case", "release", YUSUF, "--on", "2011-12-29")
    line = refused("case", "edit", YUSUF, "--status", "detained", "--released-on", "2012-01-01")
    assert "a case held has no release date (leave out --released-on)" in line
    # Undone, the release day cannot clash with a corrected detention day.
    ok("case", "edit", YUSUF, "--status", "detained", "--detained-on", "2012-02-01")


def test_subprocess_release_from_a_fresh_process(tmp_path: Path) -> None:
    """The whole flow as a person runs it: a new interpreter for each command."""
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "200"}

    def importune(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "importune", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    assert importune("init", "--group", "G").returncode == 0
    importune("case", "add", "Yusuf Dzhumaev", "--country", "UZ", "--detained-on", "2001-10-23")
    done = importune("case", "release", YUSUF, "--on", "2011-12-29")
    assert done.returncode == 0, done.stderr
    assert "after 3,719 days in detention" in done.stdout
    again = importune("case", "release", YUSUF)
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.startswith("importune: case 'yusuf-dzhumaev' was already released")


def test_a_case_imported_as_released_gets_its_event_with_its_day(
    workspace: Path, ok: Run, sql: Sql
) -> None:
    Path("cases.csv").write_text(
        "name,country,status,detained_on\nYusuf Dzhumaev,UZ,released,2001-10-23\n"
    )
    ok("import", "cases", "cases.csv")
    assert events(sql) == []
    ok("case", "edit", YUSUF, "--released-on", "2011-12-29")
    assert events(sql) == [("2011-12-29", "released", None)]
    assert as_json(ok, "case", "show", YUSUF)["released_on"] == "2011-12-29"
