"""``importune case announce``: a released case's announcement, as the group publishes it.

The workspace retells the seed page: Yusuf Dzhumaev, a poet from Karakul held from
2001-10-23 to 2011-12-29, written for by the group's members to officials in
Uzbekistan and Azerbaijan since January 2002. Letters are made and marked sent by the
real commands; the release and the letters' first date are set in the file itself
(what a release does to letters is ``case release``'s to test).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from conftest import Run

SUMMARY = "The Uzbek poet was arrested and tortured following the confiscation of his poems."

ANNOUNCEMENT = """\
# Yusuf Dzhumaev of Uzbekistan is free

*Global Importune · December 29, 2011 · Karakul, Uzbekistan*

**Our group's letters of concern helped free Yusuf Dzhumaev (Юсуф Джумаев), held in Karakul, Uzbekistan.**

The Uzbek poet was arrested and tortured following the confiscation of his poems.

Yusuf Dzhumaev was detained on October 23, 2001, and charged with undermining the constitutional order. Yusuf Dzhumaev was released on December 29, 2011, after 10 years in detention (3,719 days).

## What happened

- October 23, 2001: Arrested. At his home, by officers of the National Security Service
- March 1, 2005: Transferred
- December 29, 2011: Released

## Our part

The members of Global Importune began sending letters of concern on behalf of Yusuf Dzhumaev to 2 officials in Azerbaijan and Uzbekistan on January 14, 2002. Over 9 years, they sent 2 letters, asking for Yusuf Dzhumaev's immediate and unconditional release. In all, 1 member signed them. Of the 4 letters written, 2 were posted. Thank you to every member who wrote, signed and posted them.

## Sources

- https://example.org/yusuf-dzhumaev

## Get involved

Letters work: officials notice when people far away keep asking about a prisoner by name. If you feel this work is important, join us. There is never a fee to become a member of Global Importune.
"""  # noqa: E501


def _execute(*statements: str, params: tuple[object, ...] = ()) -> None:
    with closing(sqlite3.connect(Path.cwd() / "importune.db")) as conn, conn:
        for statement in statements:
            conn.execute(statement, params if "?" in statement else ())


@pytest.fixture
def released(workspace: Path, ok: Run) -> Path:
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ", "--native-name", "Юсуф Джумаев",
       "--location", "Karakul", "--detained-on", "2001-10-23",
       "--charges", "undermining the constitutional order.", "--summary", SUMMARY,
       "--source", "https://example.org/yusuf-dzhumaev")  # fmt: skip
    ok("case", "add", "Still Held", "--country", "UZ", "--detained-on", "2020-01-01")
    ok("official", "add", "Uzbek Prosecutor", "--country", "UZ", "--address", "1 Main St\nTashkent")
    ok("official", "add", "Azeri Minister", "--country", "AZ", "--address", "2 Main St\nBaku")
    ok("member", "add", "Member One", "--address", "1 Elm Street\nSpringfield")
    ok("member", "add", "Member Two", "--address", "2 Elm Street\nSpringfield")
    ok("appeal", "add", "yusuf-dzhumaev", "uzbek-prosecutor")
    ok("appeal", "add", "yusuf-dzhumaev", "azeri-minister")
    ok("generate-letters", "--case", "yusuf-dzhumaev")
    ok("generate-letters", "--case", "yusuf-dzhumaev", "--format", "md")  # still 4 letters
    ok("mark-sent", "--member", "member-two", "--case", "yusuf-dzhumaev")
    _execute(
        "UPDATE letters SET dated = '2002-01-14'",
        "UPDATE cases SET status = 'released', released_on = '2011-12-29' "
        "WHERE slug = 'yusuf-dzhumaev'",
        "INSERT INTO events (case_id, date, kind, note) VALUES "
        "(1, '2011-12-29', 'released', NULL), (1, '2005-03-01', 'transferred', NULL), "
        "(1, '2001-10-23', 'arrested', ?)",
        params=("at his home, by officers of the National Security Service",),
    )
    return workspace


def test_announce_reads_as_the_seed_page(released: Path, ok: Run) -> None:
    result = ok("case", "announce", "yusuf-dzhumaev")
    assert result.stdout == ANNOUNCEMENT
    assert result.stderr == ""
    assert ok("case", "announce", "1").stdout == ANNOUNCEMENT  # by id as well


def test_announce_in_the_groups_english(released: Path, ok: Run) -> None:
    ok("group", "set", "--english", "en-GB")
    british = (
        ANNOUNCEMENT.replace("December 29, 2011", "29 December 2011")
        .replace("October 23, 2001", "23 October 2001")
        .replace("March 1, 2005", "1 March 2005")
        .replace("January 14, 2002", "14 January 2002")
    )
    assert british != ANNOUNCEMENT
    assert ok("case", "announce", "yusuf-dzhumaev").stdout == british


def test_announce_to_a_file(released: Path, ok: Run) -> None:
    result = ok("case", "announce", "yusuf-dzhumaev", "-o", "posts/yusuf.md")
    assert result.stdout == "Wrote the announcement to posts/yusuf.md.\n"
    assert Path("posts/yusuf.md").read_text(encoding="utf-8") == ANNOUNCEMENT
    Path("posts/yusuf.md").write_text("an older draft", encoding="utf-8")
    ok("case", "announce", "yusuf-dzhumaev", "--output", "posts/yusuf.md")
    assert Path("posts/yusuf.md").read_text(encoding="utf-8") == ANNOUNCEMENT
    assert sorted(p.name for p in Path("posts").iterdir()) == ["yusuf.md"]  # no temporary left


def test_announce_uses_the_groups_own_template(released: Path, ok: Run) -> None:
    template = Path("letters/announce.en.md.j2")
    text = template.read_text(encoding="utf-8")
    template.write_text(text.replace("## Get involved", "## Join us"), encoding="utf-8")
    out = ok("case", "announce", "yusuf-dzhumaev").stdout
    assert "## Join us" in out and "## Get involved" not in out


def test_announce_in_the_groups_language(
    released: Path, ok: Run, refused: Callable[..., str]
) -> None:
    """``--language`` picks ``announce.LL.md.j2``: its dates and country names are in that
    language. Without such a template the announcement is the English one, and stderr
    says so (stdout stays the announcement, for a redirect)."""
    result = ok("case", "announce", "yusuf-dzhumaev", "--language", "German")
    assert result.stdout == ANNOUNCEMENT
    assert result.stderr == (
        "No announcement template in 'de': written in English, from announce.en.md.j2 "
        "(add letters/announce.de.md.j2 to write it in 'de').\n"
    )
    english = Path("letters/announce.en.md.j2").read_text(encoding="utf-8")
    german = english.replace("is free", "ist frei")
    Path("letters/announce.de.md.j2").write_text(german, encoding="utf-8")
    result = ok("case", "announce", "yusuf-dzhumaev", "--language", "de")
    assert result.stdout.splitlines()[:3] == [
        "# Yusuf Dzhumaev of Usbekistan ist frei",
        "",
        "*Global Importune · 29. Dezember 2011 · Karakul, Usbekistan*",
    ]
    assert result.stderr == ""
    assert "is not a language" in refused("case", "announce", "yusuf-dzhumaev", "--language", "x")


def test_announce_refuses_a_case_not_released(released: Path, refused: Callable[..., str]) -> None:
    message = refused("case", "announce", "still-held", "-o", "post.md")
    assert message == (
        "case 'still-held' is not released (status detained): "
        "record the release first: importune case release still-held --on DATE"
    )
    assert not Path("post.md").exists()


def test_announce_refuses_a_case_not_there(released: Path, refused: Callable[..., str]) -> None:
    assert refused("case", "announce", "nobody") == "no case 'nobody' (give its id or slug)"


def test_announce_refuses_a_broken_template_and_writes_nothing(
    released: Path, refused: Callable[..., str]
) -> None:
    Path("letters/announce.en.md.j2").write_text(
        "# {{ case.name }}\n\n{{ case.prisn }}\n", encoding="utf-8"
    )
    message = refused("case", "announce", "yusuf-dzhumaev", "-o", "post.md")
    assert message == (
        "letters/announce.en.md.j2, line 3: 'case' has no field 'prisn' (did you mean 'prison'?)"
    )
    assert not Path("post.md").exists()


def test_announce_refuses_without_the_groups_name(
    released: Path, refused: Callable[..., str]
) -> None:
    _execute("DELETE FROM settings WHERE key = 'group.name'")
    assert "group's name, which is not set" in refused("case", "announce", "yusuf-dzhumaev")


def test_announce_of_a_case_with_little_on_record(workspace: Path, ok: Run) -> None:
    ok("case", "add", "Ali Valiyev", "--country", "AZ")
    _execute("UPDATE cases SET status = 'released'")
    out = ok("case", "announce", "ali-valiyev").stdout
    assert out.startswith("# Ali Valiyev of Azerbaijan is free\n")
    assert "**Our group's letters of concern helped free Ali Valiyev, held in Azerbaijan.**" in out
    assert "The members of Global Importune wrote letters of concern on behalf of Ali" in out
    assert "None" not in out and "What happened" not in out and "Sources" not in out


@pytest.fixture
def ali(workspace: Path, ok: Run) -> None:
    """A case in Uzbekistan, its appeal to a minister in Azerbaijan, two members' letters."""
    ok("case", "add", "Ali Valiyev", "--country", "UZ", "--detained-on", "2019-05-01")
    ok("official", "add", "Azeri Minister", "--country", "AZ", "--address", "2 Main St\nBaku")
    ok("member", "add", "Member One", "--address", "1 Elm Street\nSpringfield")
    ok("member", "add", "Member Two", "--address", "2 Elm Street\nSpringfield")
    ok("appeal", "add", "ali-valiyev", "azeri-minister")
    ok("generate-letters")


@pytest.mark.usefixtures("ali")
def test_announce_of_letters_none_of_them_sent(ok: Run) -> None:
    _execute("UPDATE cases SET status = 'released', released_on = '2020-06-01'")
    out = ok("case", "announce", "ali-valiyev").stdout
    # Written after the release (as here) the letters have no "began ... on" of their own.
    assert (
        "The members of Global Importune wrote 2 letters of concern on behalf of Ali Valiyev "
        "to 1 official in Azerbaijan, asking for Ali Valiyev's immediate and unconditional "
        "release. Thank you" in out
    )
    assert "began" not in out and "signed them" not in out
    assert "released on June 1, 2020, after 1 year in detention (397 days)." in out


@pytest.mark.usefixtures("ali")
def test_announce_of_one_letter_printed_and_posted_agrees_with_one(ok: Run) -> None:
    ok("print", "--member", "member-one", "-o", "one.pdf")
    ok("mark-sent", "--member", "member-one")
    ok("case", "release", "ali-valiyev", "--on", "2020-06-01")
    out = ok("case", "announce", "ali-valiyev").stdout
    assert (
        "The members of Global Importune sent 1 letter of concern on behalf of Ali Valiyev to "
        "1 official in Azerbaijan, asking for Ali Valiyev's immediate and unconditional "
        "release. In all, 1 member signed it. Of the 2 letters written, 1 was printed and 1 "
        "was posted. Thank you to every member who wrote, signed and posted it." in out
    )
