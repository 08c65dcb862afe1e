"""``importune check``, the data doctor: what would spoil a letter or a campaign.

Through the real CLI on a workspace made by ``init``. What the CLI cannot make
(an official whose address is blank, a case marked released behind importune's
back while its letters wait) is written with plain SQL into the real file, as
another program or an old import could leave it. Errors exit 1, warnings 0;
``--json`` gives each finding's severity, kind, record, field and message.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from conftest import Run, folder_state

pytestmark = pytest.mark.usefixtures("workspace")


def write(sql: str, params: tuple[Any, ...] = ()) -> None:
    """Change the file as another program would (Datasette, a script, an old import)."""
    with closing(sqlite3.connect("importune.db")) as conn, conn:
        conn.execute(sql, params)


def findings(run: Run, status: int = 0) -> list[dict[str, Any]]:
    """``check --json``: JSON only on stdout, with the exit status expected."""
    result = run("check", "--json")
    assert result.exit_code == status, result.output
    return json.loads(result.stdout)


def where(finding: dict[str, Any]) -> tuple[str, str, str | None]:
    return finding["kind"], finding["record"], finding["field"]


def kinds(found: list[dict[str, Any]]) -> set[tuple[str, str, str, str | None]]:
    return {(f["severity"], f["kind"], f["record"], f["field"]) for f in found}


@pytest.fixture
def campaign(workspace: Path, ok: Run) -> None:
    """A campaign with nothing wrong: a case, its prosecutor, an appeal, a member."""
    ok("case", "add", "Yusuf Dzhumaev", "--country", "Uzbekistan",
       "--native-name", "Юсуф Джумаев", "--detained-on", "2001-10-23",
       "--charges", "undermining the constitutional order")  # fmt: skip
    ok("official", "add", "Jasur Rakhimov", "--slug", "prosecutor-general", "--country", "UZ",
       "--title", "Prosecutor General",
       "--address", "ul. Gulyamova 66\nTashkent 100047")  # fmt: skip
    ok("appeal", "add", "yusuf-dzhumaev", "prosecutor-general")
    ok("member", "add", "Mark Konrad", "--address", "12 Elm Street\nSpringfield")


def test_an_empty_workspace_has_nothing_to_fix(ok: Run, run: Run) -> None:
    assert ok("check").stdout.strip() == "Nothing to fix."
    assert findings(run) == []


@pytest.mark.usefixtures("campaign")
def test_a_sound_campaign_has_nothing_to_fix(ok: Run, run: Run) -> None:
    assert ok("check").stdout.strip() == "Nothing to fix."
    assert findings(run) == []


@pytest.mark.usefixtures("campaign")
def test_writing_to_another_countrys_official_is_a_warning(ok: Run, run: Run) -> None:
    """The seed page's group wrote to Azerbaijan about a prisoner in Uzbekistan: on purpose."""
    ok("official", "add", "Ilham Aliyev", "--country", "Azerbaijan", "--address", "Baku AZ1066")
    ok("appeal", "add", "yusuf-dzhumaev", "ilham-aliyev")
    out = ok("check").stdout.splitlines()
    assert out[0].startswith("warning appeal yusuf-dzhumaev/ilham-aliyev, country: ")
    assert "Uzbekistan (UZ)" in out[0] and "Azerbaijan (AZ)" in out[0]
    assert "importune appeal remove yusuf-dzhumaev ilham-aliyev" in out[0]
    assert out[-1] == "0 errors, 1 warning. Nothing that stops a letter."
    (finding,) = findings(run)
    assert {"severity", "kind", "record", "field", "message"} <= set(finding)
    assert finding["severity"] == "warning" and finding["kind"] == "other-country"
    assert finding["table"] == "appeals"


@pytest.mark.usefixtures("campaign")
def test_a_country_is_named_once_with_its_code(ok: Run) -> None:
    """CLDR calls MM "Myanmar (Burma)", and the code follows in parentheses too."""
    ok("official", "add", "Embassy of Myanmar", "--country", "Burma", "--address", "Tashkent")
    ok("appeal", "add", "yusuf-dzhumaev", "embassy-of-myanmar")
    (line,) = [line for line in ok("check").stdout.splitlines() if "embassy" in line]
    assert "the official in Myanmar (MM) →" in line


@pytest.mark.usefixtures("campaign")
def test_what_deserves_a_look_is_a_warning_naming_record_field_and_next_step(
    ok: Run, run: Run
) -> None:
    ok("case", "add", "Ольга Петрова", "--country", "RU")  # no appeal, no date of arrest
    ok("member", "add", "Anna Schmidt")  # no return address
    ok("case", "add", "Ali Karimov", "--country", "UZ", "--detained-on", "2015-03-01")
    ok("appeal", "add", "ali-karimov", "prosecutor-general", "--until", "2020-01-01")
    ok("case", "add", "Freed Person", "--country", "UZ")
    write("UPDATE cases SET status = 'released' WHERE slug = 'freed-person'")  # no released_on
    found = findings(run)
    assert kinds(found) == {
        ("warning", "no-appeal", "olga-petrova", None),
        ("warning", "no-detained-on", "olga-petrova", "detained_on"),
        ("warning", "no-return-address", "anna-schmidt", "address"),
        ("warning", "appeal-ended", "ali-karimov/prosecutor-general", "until"),
        ("warning", "no-active-appeal", "ali-karimov", None),
        ("warning", "no-released-on", "freed-person", "released_on"),
    }
    fixes = {f["kind"]: f["fix"] for f in found}
    assert fixes["no-appeal"] == "importune appeal add olga-petrova OFFICIAL"
    assert fixes["no-detained-on"] == "importune case edit olga-petrova --detained-on YYYY-MM-DD"
    assert fixes["no-return-address"] == "importune member edit anna-schmidt --address ADDRESS"
    out = ok("check").stdout.splitlines()
    assert len(out) == 7  # one line a finding, then the count
    assert "member anna-schmidt, address: no return address" in "\n".join(out)
    assert out[-1] == "0 errors, 6 warnings. Nothing that stops a letter."


@pytest.mark.usefixtures("campaign")
def test_an_official_with_a_blank_address_is_an_error_while_letters_are_due(run: Run) -> None:
    write("UPDATE officials SET address = ' \n\t ' WHERE slug = 'prosecutor-general'")
    result = run("check")
    assert result.exit_code == 1
    assert result.stdout.startswith("error   official prosecutor-general, address: ")
    assert "no way to reach them" in result.stdout  # no email or fax either
    assert "1 error, 0 warnings." in result.stdout
    (finding,) = findings(run, 1)
    assert (finding["severity"], finding["kind"], finding["field"]) == ("error", "no-address",
                                                                        "address")  # fmt: skip
    # The appeal paused, no letter is due to them: a warning, not an error.
    write("UPDATE appeals SET active = 0")
    assert ("warning", "no-address", "prosecutor-general", "address") in kinds(findings(run))


@pytest.mark.usefixtures("campaign")
def test_letters_pending_for_a_freed_prisoner_are_an_error(ok: Run, run: Run) -> None:
    ok("generate-letters")
    write("UPDATE cases SET status = 'released', released_on = '2011-12-29'")
    result = run("check")
    assert result.exit_code == 1
    line = result.stdout.splitlines()[0]
    assert line.startswith("error   case yusuf-dzhumaev, status: released on 2011-12-29, yet 1 ")
    assert "importune case release yusuf-dzhumaev --on 2011-12-29" in line
    assert ("error", "pending-after-release", "yusuf-dzhumaev", "status") in kinds(findings(run, 1))
    write("UPDATE letters SET status = 'printed'")  # printed, not posted: still to stop
    assert findings(run, 1)[0]["kind"] == "pending-after-release"
    write("UPDATE letters SET status = 'withdrawn'")
    assert findings(run) == []
    write("UPDATE letters SET status = 'sent'")  # posted before the release: history
    assert findings(run) == []


@pytest.mark.usefixtures("campaign")
def test_a_template_that_cannot_render_is_an_error(run: Run) -> None:
    template = Path("letters/concern.en.txt.j2")
    template.write_text("Subject: Hello\n\nDear {{ official.nickname }},\n", encoding="utf-8")
    found = findings(run, 1)
    assert found[0]["severity"] == "error" and found[0]["kind"] == "template"
    assert found[0]["record"] == "concern.en.txt.j2"
    assert "nickname" in found[0]["message"] and "line 3" in found[0]["message"]
    assert all(f["kind"] == "template" for f in found)  # the letters due say it once, not again


@pytest.mark.usefixtures("campaign")
def test_a_field_the_real_record_leaves_empty_is_found_before_generate(
    ok: Run, run: Run, refused: Callable[..., str]
) -> None:
    """The samples have a location; this case has none, and its own letter prints it."""
    own = Path("letters/cases/yusuf-dzhumaev/concern.en.txt.j2")
    own.parent.mkdir(parents=True)
    own.write_text('{% extends "concern.en.txt.j2" %}{% block closing %}'
                   "From {{ case.location }}.{% endblock %}", encoding="utf-8")  # fmt: skip
    (finding,) = findings(run, 1)
    assert finding["kind"] == "letter" and finding["record"] == "yusuf-dzhumaev/prosecutor-general"
    assert "concern.en.txt.j2, line 1: an empty field (None)" in finding["message"]
    assert "line 1: an empty field (None)" in refused("generate-letters")  # what check foretold
    ok("case", "edit", "yusuf-dzhumaev", "--location", "Karakul")
    assert findings(run) == []


@pytest.mark.usefixtures("campaign")
def test_a_language_with_no_template_is_a_warning(ok: Run, run: Run) -> None:
    ok("official", "edit", "prosecutor-general", "--language", "uz")
    (finding,) = findings(run)
    assert (finding["severity"], finding["kind"]) == ("warning", "language")
    assert "concern.uz.txt.j2" in finding["message"] and "concern.en.txt.j2" in finding["message"]


@pytest.mark.usefixtures("campaign")
def test_errors_come_first_and_check_changes_nothing(ok: Run, run: Run) -> None:
    ok("case", "add", "Ольга Петрова", "--country", "RU")
    write("UPDATE officials SET address = ''")
    before = folder_state()
    found = findings(run, 1)
    assert [f["severity"] for f in found] == ["error", "warning", "warning"]
    assert run("check").exit_code == 1
    assert folder_state() == before


def test_a_missing_letters_folder_is_an_error(ok: Run, run: Run, monkeypatch: Any) -> None:
    monkeypatch.setenv("IMPORTUNE_LETTERS", "no-such-folder")
    (finding,) = findings(run, 1)
    assert finding["kind"] == "template" and "no-such-folder" in finding["message"]


@pytest.mark.usefixtures("campaign")
def test_as_a_real_process_piped_one_line_a_finding(tmp_path: Path) -> None:
    """Piped into grep or a file, each finding stays one line however long, and the
    status says whether to stop (a script runs ``importune check && importune print``)."""
    import subprocess
    import sys

    write("UPDATE officials SET address = ''")
    ok_env = {**os.environ, "COLUMNS": "40"}  # narrow: nothing may wrap anyway
    done = subprocess.run([sys.executable, "-m", "importune", "check"], capture_output=True,
                          text=True, env=ok_env, cwd=tmp_path, timeout=60)  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("error   official prosecutor-general, address: no postal address")
    assert lines[0].endswith("importune official edit prosecutor-general --address ADDRESS")
    assert lines[-1].startswith("1 error, 0 warnings.")
    assert len(lines) == 2 and done.stderr == ""


@pytest.mark.usefixtures("campaign")
def test_the_fix_check_gives_for_pending_letters_works_and_thanks_may_wait(
    ok: Run, run: Run
) -> None:
    """Released behind importune's back: the two commands check names withdraw the letters;
    the thank-you letters a release calls for are no error."""
    if "--on" not in ok("case", "release", "--help").stdout:
        pytest.skip("case release is not built in this tree")
    ok("generate-letters")
    write("UPDATE cases SET status = 'released', released_on = '2011-12-29'")
    (finding,) = findings(run, 1)
    steps = finding["fix"].removeprefix("withdraw them: ").split(", then ")
    ok(*steps[0].split()[1:])
    ok(*steps[1].split()[1:])
    assert findings(run) == []
    assert {row["status"] for row in json.loads(ok("letters", "list", "--json").stdout)} == {
        "withdrawn"
    }
    ok("generate-letters", "--template", "thanks")
    assert findings(run) == []


@pytest.mark.usefixtures("campaign")
def test_letters_pending_for_a_prisoner_who_died_are_an_error(ok: Run, run: Run) -> None:
    ok("generate-letters")
    write("UPDATE cases SET status = 'deceased'")
    (finding,) = findings(run, 1)
    assert (
        finding["kind"] == "pending-after-release"
        and "deceased, yet 1 letter" in finding["message"]
    )
    assert finding["fix"] == (
        "withdraw them: importune case edit yusuf-dzhumaev --status detained, then "
        "importune case edit yusuf-dzhumaev --status deceased"
    )
    ok("case", "edit", "yusuf-dzhumaev", "--status", "detained")
    ok("case", "edit", "yusuf-dzhumaev", "--status", "deceased")
    assert findings(run) == []  # the fix, followed, leaves nothing pending


@pytest.mark.usefixtures("campaign")
def test_letters_pending_for_a_removed_appeal_are_a_warning(ok: Run, run: Run) -> None:
    """An appeal removed before appeal remove withdrew its letters (or by another
    program): mark-sent --member would count its letters posted."""
    ok("generate-letters")
    write("DELETE FROM appeals")
    found = findings(run)
    assert ("warning", "pending-without-appeal", "yusuf-dzhumaev/prosecutor-general", None) in (
        kinds(found)
    )
    (finding,) = [f for f in found if f["kind"] == "pending-without-appeal"]
    assert "yet 1 letter of it is still to be printed or posted" in finding["message"]
    assert finding["fix"] == (
        "withdraw it: importune appeal add yusuf-dzhumaev prosecutor-general, then "
        "importune appeal remove yusuf-dzhumaev prosecutor-general"
    )
    ok("appeal", "add", "yusuf-dzhumaev", "prosecutor-general")
    ok("appeal", "remove", "yusuf-dzhumaev", "prosecutor-general")
    assert not [f for f in findings(run) if f["kind"] == "pending-without-appeal"]


@pytest.mark.usefixtures("campaign")
def test_the_groups_own_name_and_address_when_its_letters_need_them(ok: Run, run: Run) -> None:
    write("DELETE FROM settings WHERE key = 'group.name'")
    (finding,) = findings(run)
    assert where(finding) == ("no-group-name", "group", "name")
    assert ok("check").stdout.startswith("warning group, name: the group has no name")
    ok("group", "set", "--name", "Global Importune")
    ok("member", "remove", "mark-konrad")  # every letter unsigned: the group's address is theirs
    (finding,) = findings(run)
    assert where(finding) == ("no-return-address", "group", "address")
    ok("group", "set", "--address", "PO Box 1\nSpringfield")
    assert findings(run) == []


@pytest.mark.usefixtures("campaign")
def test_an_appeal_naming_a_template_that_does_not_exist_is_an_error(ok: Run, run: Run) -> None:
    ok("case", "add", "Ali Karimov", "--country", "UZ", "--detained-on", "2015-03-01")
    ok("appeal", "add", "ali-karimov", "prosecutor-general", "--template", "urgent")
    (finding,) = findings(run, 1)
    assert where(finding) == ("letter", "ali-karimov/prosecutor-general", "template")
    assert "no template 'urgent'" in finding["message"]


@pytest.mark.usefixtures("campaign")
def test_what_another_program_left_behind_is_named_not_a_traceback(ok: Run, run: Run) -> None:
    """Datasette or the sqlite3 shell write without importune's checks: a date typed the
    local way, an appeal whose official was deleted without foreign keys."""
    write("UPDATE cases SET detained_on = '23/10/2001'")
    ok("official", "add", "Ilham Aliyev", "--country", "AZ", "--address", "Baku AZ1066")
    ok("case", "add", "Ali Karimov", "--country", "UZ", "--detained-on", "2015-03-01")
    ok("appeal", "add", "ali-karimov", "prosecutor-general")
    write("UPDATE appeals SET until = '2030-02-30' WHERE id = 2")
    ok("appeal", "add", "ali-karimov", "ilham-aliyev")
    with closing(sqlite3.connect("importune.db")) as conn, conn:  # foreign keys off, as default
        conn.execute("DELETE FROM officials WHERE slug = 'ilham-aliyev'")
    result = run("check")
    assert result.exit_code == 1 and "Traceback" not in result.output
    found = findings(run, 1)
    errors = {where(f) for f in found if f["severity"] == "error"}
    assert errors >= {
        ("bad-date", "yusuf-dzhumaev", "detained_on"),
        ("bad-date", "ali-karimov/prosecutor-general", "until"),
        ("missing-record", "id 3", "official_id"),
    }
    fixes = {f["record"]: f["fix"] for f in found if f["kind"] in ("bad-date", "missing-record")}
    assert fixes["yusuf-dzhumaev"] == "importune case edit yusuf-dzhumaev --detained-on YYYY-MM-DD"
    assert fixes["id 3"] == "delete it: sqlite3 importune.db 'DELETE FROM appeals WHERE id = 3'"
    assert "'23/10/2001' is not a date in the form YYYY-MM-DD" in result.stdout


@pytest.mark.usefixtures("campaign")
def test_letters_printed_a_month_ago_and_not_marked_sent_are_a_warning(ok: Run, run: Run) -> None:
    ok("official", "add", "Minister of Justice", "--country", "UZ", "--address", "Tashkent")
    ok("appeal", "add", "yusuf-dzhumaev", "minister-of-justice")
    ok("generate-letters")
    ok("generate-letters", "--format", "md")  # a letter in two formats is one letter
    ok("print", "--member", "mark-konrad")
    assert findings(run) == []  # printed today: not yet a question

    write("UPDATE letters SET printed_at = '2026-01-05T10:00:00+00:00' "
          "WHERE official_id = 1")  # fmt: skip
    write("UPDATE letters SET printed_at = '2026-01-09T10:00:00+00:00' "
          "WHERE official_id = 2")  # fmt: skip
    (finding,) = findings(run)
    assert (finding["severity"], finding["kind"], finding["record"]) == (
        "warning", "printed-not-sent", "mark-konrad"
    )
    assert finding["message"] == (
        "2 letters printed more than 30 days ago (the first on 2026-01-05) are not marked "
        "sent: the tally counts them once they are"
    )
    assert finding["fix"] == (
        "ask them; if they posted them: importune mark-sent --member mark-konrad"
    )

    ok("mark-sent", "--member", "mark-konrad")
    assert findings(run) == []


@pytest.mark.usefixtures("campaign")
def test_one_letter_printed_long_ago_is_asked_about_and_a_member_who_left_is_not_twice(
    ok: Run, run: Run
) -> None:
    ok("generate-letters")
    ok("print", "--member", "mark-konrad")
    write("UPDATE letters SET printed_at = '2026-01-05T10:00:00+00:00'")
    (finding,) = findings(run)
    assert finding["message"] == (
        "1 letter printed more than 30 days ago (the first on 2026-01-05) is not marked sent: "
        "the tally counts it once it is"
    )
    assert finding["fix"] == "ask them; if they posted it: importune mark-sent --member mark-konrad"
    ok("member", "remove", "mark-konrad")  # left: asked about as a member who left, only
    assert [f["kind"] for f in findings(run)] == ["pending-of-member-who-left"]
