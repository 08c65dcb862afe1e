"""A member who leaves the group: ``member remove`` of a member whom letters name.

The member stays in the records (the letters keep their history) as one who left:
their letters not yet printed are withdrawn, printed and sent ones stay as they are,
their address and e-mail are erased, and nothing is written or printed in their name
until ``member edit --back``. Everything runs through the real CLI on a workspace made
by ``init``; the database is read back with plain sqlite3.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from conftest import Run

pytestmark = pytest.mark.usefixtures("workspace")

Sql = Callable[..., list[dict]]
TODAY = dt.date.today().isoformat()
ANNA_ADDRESS = "12 Linden Street\nBristol BS1 4DJ"


def statuses(sql: Sql, member: str) -> dict[tuple[str, str], str]:
    """A member's letters: (case, official) → status."""
    return {
        (row["case"], row["official"]): row["status"]
        for row in sql(
            "SELECT c.slug AS 'case', o.slug AS official, l.status FROM letters l "
            "JOIN cases c ON c.id = l.case_id JOIN officials o ON o.id = l.official_id "
            "JOIN members m ON m.id = l.member_id WHERE m.slug = ?",
            (member,),
        )
    }


@pytest.fixture
def campaign(workspace: Path, ok: Run, sql: Sql) -> None:
    """Two cases, two officials, members Anna and Mark. Anna's three letters: one sent,
    one printed (not yet posted), one generated; Mark's three all generated."""
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ", "--detained-on", "2001-10-23")
    ok("case", "add", "Ilham Tohti", "--country", "CN", "--detained-on", "2014-01-15")
    for name in ("Prosecutor General", "Minister of Justice"):
        ok("official", "add", name, "--country", "UZ", "--address", "ul. Gulyamova 66\nTashkent")
    ok("appeal", "add", "yusuf-dzhumaev", "prosecutor-general")
    ok("appeal", "add", "yusuf-dzhumaev", "minister-of-justice")
    ok("appeal", "add", "ilham-tohti", "prosecutor-general")
    ok("member", "add", "Anna Schmidt", "--address", ANNA_ADDRESS, "--email", "anna@example.org")
    ok("member", "add", "Mark Konrad", "--address", "3 High Street\nLeeds")
    ok("generate-letters")
    ok("print", "--member", "anna-schmidt", "--case", "yusuf-dzhumaev")
    (sent,) = sql(
        "SELECT l.id FROM letters l JOIN officials o ON o.id = l.official_id "
        "WHERE l.member_id = 1 AND l.case_id = 1 AND o.slug = 'prosecutor-general'"
    )
    ok("mark-sent", str(sent["id"]))
    assert statuses(sql, "anna-schmidt") == {
        ("yusuf-dzhumaev", "prosecutor-general"): "sent",
        ("yusuf-dzhumaev", "minister-of-justice"): "printed",
        ("ilham-tohti", "prosecutor-general"): "generated",
    }


@pytest.mark.usefixtures("campaign")
def test_a_member_whom_letters_name_leaves_and_keeps_only_their_name(
    ok: Run, sql: Sql
) -> None:
    mark_before = statuses(sql, "mark-konrad")
    said = ok("member", "remove", "anna-schmidt").stdout
    assert f"Member anna-schmidt left the group on {TODAY}" in said
    assert "Withdrew 1 letter not yet printed." in said
    assert "1 printed letter stays printed: if they posted it, importune mark-sent " \
        "--member anna-schmidt" in said  # fmt: skip
    assert "1 letter sent stays in the tally." in said
    assert "If they come back: importune member edit anna-schmidt --back" in said

    (anna,) = sql("SELECT name, address, email, left_on FROM members WHERE slug = 'anna-schmidt'")
    assert anna == {"name": "Anna Schmidt", "address": None, "email": None, "left_on": TODAY}
    assert statuses(sql, "anna-schmidt") == {
        ("yusuf-dzhumaev", "prosecutor-general"): "sent",
        ("yusuf-dzhumaev", "minister-of-justice"): "printed",
        ("ilham-tohti", "prosecutor-general"): "withdrawn",
    }
    assert statuses(sql, "mark-konrad") == mark_before


@pytest.mark.usefixtures("campaign")
def test_nothing_is_written_or_printed_in_the_name_of_a_member_who_left(
    ok: Run, refused: Callable[..., str], sql: Sql
) -> None:
    ok("member", "remove", "anna-schmidt")
    rows_before = sql("SELECT * FROM letters ORDER BY id")

    report = json.loads(ok("generate-letters", "--json", "--force").stdout)
    assert {entry["member"] for entry in report["letters"]} == {"mark-konrad"}
    after = sql("SELECT * FROM letters WHERE member_id = 1 ORDER BY id")
    assert after == [row for row in rows_before if row["member_id"] == 1]

    expected = f"member 'anna-schmidt' left the group on {TODAY}: no letter is written"
    assert expected in refused("generate-letters", "--member", "anna-schmidt")
    assert expected in refused("print", "--member", "anna-schmidt")
    # Mark is now the only member: print needs no --member.
    assert "signed by mark-konrad" in ok("print").stdout
    # Anna's printed letter may be in the post: it can still be marked sent.
    assert "Marked 1 letter sent" in ok("mark-sent", "--member", "anna-schmidt").stdout
    assert "left the group on" in refused("member", "remove", "anna-schmidt")
    ok("member", "remove", "mark-konrad")  # the last one: print has no one to sign for
    assert "this workspace has no members (2 left the group): add one" in refused("print")


@pytest.mark.usefixtures("campaign")
def test_listings_exports_and_checks_know_a_member_who_left(
    ok: Run, sql: Sql, tmp_path: Path
) -> None:
    ok("member", "remove", "anna-schmidt")
    listed = {m["slug"]: m["left_on"] for m in json.loads(ok("member", "list", "--json").stdout)}
    assert listed == {"anna-schmidt": TODAY, "mark-konrad": None}
    table = ok("member", "list").stdout
    assert "left" in table.splitlines()[1] and TODAY in table
    assert f"left_on  {TODAY}" in ok("member", "show", "anna-schmidt").stdout

    said = ok("export", "members", "-o", "members.csv").stdout
    assert said == "Exported 1 member to members.csv (1 who left the group not among them).\n"
    assert "Anna" not in (tmp_path / "members.csv").read_text(encoding="utf-8-sig")
    # Her erased address is not a warning: no letter of hers needs one. Her printed
    # letter is: if she posted it, the tally is short until it is marked sent.
    findings = json.loads(ok("check", "--json").stdout)
    about_her = [(f["kind"], f["message"], f["fix"]) for f in findings
                 if f["record"] == "anna-schmidt"]  # fmt: skip
    assert about_her == [(
        "pending-of-member-who-left",
        f"left the group on {TODAY}, yet 1 letter of theirs is printed and not marked "
        "sent: the tally counts it once it is",
        "if they posted it: importune mark-sent --member anna-schmidt",
    )]  # fmt: skip
    # Another program that marks a member gone leaves their letters pending: said too.
    with closing(sqlite3.connect("importune.db")) as conn, conn:
        conn.execute("UPDATE members SET left_on = '2026-01-01' WHERE slug = 'mark-konrad'")
    findings = json.loads(ok("check", "--json").stdout)
    (about_him,) = [f for f in findings if f["record"] == "mark-konrad"]
    assert about_him["message"].endswith("yet 3 letters of theirs are generated: no one "
                                         "will print them")  # fmt: skip
    assert about_him["fix"] == ("withdraw them: importune member edit mark-konrad --back, "
                                "then importune member remove mark-konrad")  # fmt: skip


@pytest.mark.usefixtures("campaign")
def test_a_member_back_gets_back_their_letters_that_would_be_written_now(
    ok: Run, refused: Callable[..., str], sql: Sql
) -> None:
    ok("member", "remove", "anna-schmidt")
    # While she is away, an appeal removed and added again brings back the others'
    # letters, not hers; a release undone would not either.
    ok("appeal", "remove", "ilham-tohti", "prosecutor-general")
    ok("appeal", "add", "ilham-tohti", "prosecutor-general")
    assert statuses(sql, "mark-konrad")[("ilham-tohti", "prosecutor-general")] == "generated"
    assert statuses(sql, "anna-schmidt")[("ilham-tohti", "prosecutor-general")] == "withdrawn"

    # Added again by name, as an organizer might: the refusal says how to bring her back.
    line = refused("member", "add", "Anna Schmidt", "--address", ANNA_ADDRESS)
    assert line == (
        f"member slug 'anna-schmidt' already exists (a member who left the group on {TODAY}: "
        "if they are back, importune member edit anna-schmidt --back); for another of the "
        "same name, give this one a slug of its own (--slug anna-schmidt-2)"
    )
    # Back and the fields given, or neither: a bad e-mail leaves her gone.
    assert "not an e-mail address" in refused("member", "edit", "anna-schmidt", "--back",
                                              "--email", "anna at home")  # fmt: skip
    said = ok("member", "edit", "anna-schmidt", "--back", "--address", ANNA_ADDRESS).stdout
    assert "Member anna-schmidt belongs to the group again" in said
    assert "Brought back 1 letter of theirs withdrawn when they left (1 generated)." in said
    assert "--address" not in said  # given with --back: no need to ask for it
    (anna,) = sql("SELECT address, left_on FROM members WHERE slug = 'anna-schmidt'")
    assert anna == {"address": ANNA_ADDRESS, "left_on": None}
    assert statuses(sql, "anna-schmidt") == {
        ("yusuf-dzhumaev", "prosecutor-general"): "sent",
        ("yusuf-dzhumaev", "minister-of-justice"): "printed",
        ("ilham-tohti", "prosecutor-general"): "generated",
    }
    assert "Printed 2 letters signed by anna-schmidt" in ok(
        "print", "--member", "anna-schmidt"
    ).stdout
    assert "has not left the group" in refused("member", "edit", "mark-konrad", "--back")


@pytest.mark.usefixtures("campaign")
def test_a_member_back_gets_no_letter_of_concern_for_a_prisoner_freed_meanwhile(
    ok: Run, sql: Sql
) -> None:
    ok("member", "remove", "anna-schmidt")
    ok("case", "release", "ilham-tohti", "--on", TODAY)
    said = ok("member", "edit", "anna-schmidt", "--back").stdout
    assert "Brought back" not in said
    assert "importune member edit anna-schmidt --address ADDRESS" in said  # erased
    assert statuses(sql, "anna-schmidt")[("ilham-tohti", "prosecutor-general")] == "withdrawn"


def test_a_member_no_letter_names_is_removed_outright(ok: Run, sql: Sql) -> None:
    ok("member", "add", "Anna Schmidt", "--address", ANNA_ADDRESS)
    assert ok("member", "remove", "anna-schmidt").stdout == "Removed member anna-schmidt.\n"
    assert sql("SELECT count(*) AS n FROM members") == [{"n": 0}]
