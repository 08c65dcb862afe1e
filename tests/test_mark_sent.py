"""``importune mark-sent``: what reached the post, every format of each letter, on its day.

Through the real CLI on a real workspace; statuses and dates are read back from the
letters table. Every refusal is checked to leave every table as it was.
"""

from __future__ import annotations

import datetime as dt

import pytest
from printing_helpers import build_workspace, execute, ok, refused, rows, snapshot

TODAY = dt.date.today().isoformat()


pytestmark = pytest.mark.usefixtures("letters_beside_the_database")


@pytest.fixture
def letters() -> None:
    """Both members' letters, in txt and pdf: six letters, twelve rows."""
    build_workspace()
    ok("generate-letters")
    ok("generate-letters", "--format", "pdf")
    assert len(rows()) == 12


def statuses() -> dict[tuple[str, str, str], tuple[str, str | None]]:
    return {
        (r["member_slug"], r["official_slug"], r["format"]): (r["status"], r["sent_at"])
        for r in rows()
    }


def test_mark_sent_by_id_marks_every_format_of_that_letter(letters: None) -> None:
    (txt,) = rows("m.slug = 'hedwig-brandauer' AND o.slug = 'ambassador' AND l.format = 'txt'")
    result = ok("mark-sent", str(txt["id"]))
    assert f"Marked 1 letter sent on {TODAY}." in result.stdout
    after = statuses()
    assert after[("hedwig-brandauer", "ambassador", "txt")] == ("sent", TODAY)
    assert after[("hedwig-brandauer", "ambassador", "pdf")] == ("sent", TODAY)
    others = [v for k, v in after.items() if k[:2] != ("hedwig-brandauer", "ambassador")]
    assert len(others) == 10 and {v for v in others} == {("generated", None)}


def test_mark_sent_of_a_member_after_print(letters: None) -> None:
    ok("print", "--member", "hedwig-brandauer")
    result = ok("mark-sent", "--member", "hedwig-brandauer", "--on", TODAY)
    assert "Marked 3 letters" in result.stdout
    after = statuses()
    for (member, _, _), value in after.items():
        expected = ("sent", TODAY) if member == "hedwig-brandauer" else ("generated", None)
        assert value == expected


def test_mark_sent_of_a_case(letters: None) -> None:
    result = ok("mark-sent", "--case", "yusuf-dzhumaev")
    assert "Marked 4 letters" in result.stdout
    sent = {(r["case_slug"], r["status"]) for r in rows()}
    assert sent == {("yusuf-dzhumaev", "sent"), ("ales-bialiatski", "generated")}


def test_member_and_case_together_narrow(letters: None) -> None:
    ok("mark-sent", "--member", "tomasz-wielgosz", "--case", "ales-bialiatski")
    sent = [(r["member_slug"], r["case_slug"]) for r in rows("l.status = 'sent'")]
    assert sent == [("tomasz-wielgosz", "ales-bialiatski")] * 2


def test_marking_again_says_already_sent_and_keeps_the_first_day(letters: None) -> None:
    ok("mark-sent", "--member", "hedwig-brandauer")
    execute("UPDATE letters SET sent_at = '2024-05-02' WHERE status = 'sent'")
    result = ok("mark-sent", "--member", "hedwig-brandauer")
    assert "Marked 0 letters sent" in result.stdout and "3 already sent" in result.stdout
    assert {r["sent_at"] for r in rows("m.slug = 'hedwig-brandauer'")} == {"2024-05-02"}


def test_withdrawn_letters_are_left_alone_by_member(letters: None) -> None:
    execute("UPDATE letters SET status = 'withdrawn', withdrawn_at = '2024-01-01' "
            "WHERE case_id = (SELECT id FROM cases WHERE slug = 'ales-bialiatski')")  # fmt: skip
    result = ok("mark-sent", "--member", "hedwig-brandauer")
    assert "Marked 2 letters" in result.stdout and "1 withdrawn, left alone" in result.stdout
    left = {r["status"] for r in rows("c.slug = 'ales-bialiatski'")}
    assert left == {"withdrawn"}


def test_a_withdrawn_letter_named_by_id_is_refused(letters: None) -> None:
    (row,) = rows("m.slug = 'hedwig-brandauer' AND o.slug = 'ambassador' AND l.format = 'txt'")
    execute("UPDATE letters SET status = 'withdrawn' WHERE official_id = ?", (row["official_id"],))
    before = snapshot()
    line = refused("mark-sent", str(row["id"]))
    assert line == (
        f"importune: letter {row['id']} was withdrawn (its case is no longer held, its "
        "appeal was removed, or its member left before printing it): it is not marked sent"
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "say which letters were posted"),
        (("999",), "no letter 999"),
        (("abc",), "letter id 'abc' is not a number"),
        (("--member", "nobody"), "no member 'nobody'"),
        (("--case", "nobody"), "no case 'nobody'"),
        (
            ("--member", "hedwig-brandauer", "--on", "02/05/2024"),
            "not a date in the form YYYY-MM-DD",
        ),
        (("--member", "hedwig-brandauer", "--on", "2024-02-30"), "not a real day"),
        (("--member", "hedwig-brandauer", "--on", "2999-01-01"), "is in the future"),
        (("--member", "hedwig-brandauer", "--on", "2001-01-01"), "is before letter"),
        (("1", "--member", "tomasz-wielgosz"), "letter 1 is not signed by 'tomasz-wielgosz'"),
    ],
)
def test_refusals_change_nothing(letters: None, args: tuple[str, ...], message: str) -> None:
    before = snapshot()
    assert message in refused("mark-sent", *args)
    assert snapshot() == before


def test_a_member_with_no_letters_is_refused() -> None:
    build_workspace()
    before = snapshot()
    line = refused("mark-sent", "--member", "hedwig-brandauer")
    assert line == "importune: no letters of member 'hedwig-brandauer' to mark sent"
    assert snapshot() == before


def test_sent_letters_are_never_printed_again(letters: None) -> None:
    ok("mark-sent", "--member", "hedwig-brandauer", "--case", "yusuf-dzhumaev")
    result = ok("print", "--member", "hedwig-brandauer")
    assert "Printed 1 letter" in result.stdout
    sent = rows("c.slug = 'yusuf-dzhumaev' AND m.slug = 'hedwig-brandauer'")
    assert {r["status"] for r in sent} == {"sent"}
