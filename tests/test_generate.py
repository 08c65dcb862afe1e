"""``generate-letters`` and ``letters list``, through the real CLI, on a real workspace.

The workspace is built with the commands an organizer types (init, group set,
case add, official add, appeal add, member add); the tests then read the files
the run wrote and the ``letters`` table (with sqlite3, as Datasette would).

The campaign: three cases (one with a Cyrillic native name, one held in Iran with
a Persian one), four officials (Uzbekistan's prosecutor, written to in Russian;
an ambassador in Washington with an e-mail address; China's president, whose
address puts the name below the street; Iran's head of the judiciary, whose
language, Persian, has no template, so English is used), four appeals and three
members: twelve letters.

tests/conftest.py gives each test its own folder (IMPORTUNE_DB and IMPORTUNE_LETTERS
point there) and ``refused``, which also proves a refusal changed no file and no row.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pypdf
import pytest
from conftest import refusal
from typer.testing import CliRunner, Result

from importune.cli import app
from importune.compose import write_date
from importune.generate import TEMP_SUFFIX, Options, generate
from importune.store import open_store

runner = CliRunner()
Refuse = Callable[..., str]  # conftest's ``refused``: the one line, once proved harmless

GROUP_ADDRESS = "PO Box 1\nSpringfield"
CASES = ["ilham-tohti", "narges-mohammadi", "yusuf-dzhumaev"]
MEMBERS = ["anna-schmidt", "mark-konrad", "olga-petrova"]
APPEALS = [
    ("ilham-tohti", "xi-jinping"),
    ("narges-mohammadi", "mohseni-ejei"),
    ("yusuf-dzhumaev", "ambassador"),
    ("yusuf-dzhumaev", "prosecutor-general"),
]

# Yusuf Dzhumaev's own letter in English: it extends the general one and tells his story.
CASE_TEMPLATE = """\
{% extends "concern.en.txt.j2" %}
{% block facts %}
{{ name }}, a poet from Karakul, was arrested at home on {{ case.detained_on | date }}; \
officers confiscated his poems and his daughter's.
{% endblock %}
"""


# -- the workspace --------------------------------------------------------------------------


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args))


def ok(*args: str) -> Result:
    result = cli(*args)
    assert result.exit_code == 0, f"{args}: {result.stdout}{result.stderr}"
    return result


def generate_json(*args: str) -> dict[str, Any]:
    """``generate-letters --json``: stdout must be JSON and nothing else."""
    result = ok("generate-letters", "--json", *args)
    return json.loads(result.stdout)


def letter_rows(sql: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """The letters table as the file holds it, with slugs, in path order."""
    with closing(sqlite3.connect(Path.cwd() / "importune.db")) as conn:
        conn.row_factory = sqlite3.Row
        query = (
            "SELECT l.*, c.slug AS case_slug, o.slug AS official_slug, m.slug AS member_slug "
            "FROM letters l JOIN cases c ON c.id = l.case_id "
            "JOIN officials o ON o.id = l.official_id LEFT JOIN members m ON m.id = l.member_id "
            + (f"WHERE {sql} " if sql else "")
            + "ORDER BY l.path"
        )
        return [dict(row) for row in conn.execute(query, params)]


def set_status(path: str, status: str) -> None:
    """Mark a letter printed or sent, as ``print`` and ``mark-sent`` will."""
    with closing(sqlite3.connect(Path.cwd() / "importune.db")) as conn, conn:
        conn.execute(
            f"UPDATE letters SET status = ?, {status}_at = ? WHERE path = ?",
            [status, "2024-01-01T00:00:00+00:00", path],
        )


def files(root: Path | str = "out") -> dict[str, tuple[int, int, bytes]]:
    """Every file under ``root``: its inode, its mtime and its bytes, by relative path."""
    found = {}
    for path in sorted(Path(root).rglob("*")):
        if path.is_file():
            stat = path.stat()
            found[path.relative_to(root).as_posix()] = (
                stat.st_ino,
                stat.st_mtime_ns,
                path.read_bytes(),
            )
    return found


def everything_under(root: Path | str) -> list[str]:
    """Files and folders, to show that a refused run left nothing behind."""
    return sorted(p.relative_to(root).as_posix() for p in Path(root).rglob("*"))


def build_campaign(members: bool = True) -> None:
    ok("init", "--group", "Global Importune")
    ok("group", "set", "--address", GROUP_ADDRESS, "--email", "letters@example.org")
    ok(
        "case",
        "add",
        "Yusuf Dzhumaev",
        "--country",
        "UZ",
        "--native-name",
        "Юсуф Джумаев",
        "--reference",
        "UA 123/21",
        "--location",
        "Karakul, Bukhara region",
        "--prison",
        "SNB detention facility, Bukhara",
        "--detained-on",
        "2001-10-23",
        "--charges",
        "undermining the constitutional order",
        "--language",
        "uz",
    )
    ok(
        "case",
        "add",
        "Narges Mohammadi",
        "--country",
        "Iran",
        "--native-name",
        "نرگس محمدی",
        "--location",
        "Tehran",
        "--prison",
        "Evin Prison",
        "--detained-on",
        "2021-11-16",
        "--charges",
        "spreading propaganda against the state",
    )
    ok(
        "case",
        "add",
        "Ilham Tohti",
        "--country",
        "CN",
        "--location",
        "Urumqi",
        "--detained-on",
        "2014-01-15",
        "--charges",
        "separatism",
    )
    ok(
        "official",
        "add",
        "Нигматилла Юлдашев",
        "--slug",
        "prosecutor-general",
        "--country",
        "UZ",
        "--title",
        "Генеральный прокурор Республики Узбекистан",
        "--address",
        "ул. Гулямова, 66\nТашкент 100047",
        "--language",
        "ru",
    )
    ok(
        "official",
        "add",
        "Javlon Vakhabov",
        "--slug",
        "ambassador",
        "--country",
        "US",
        "--title",
        "Ambassador of the Republic of Uzbekistan",
        "--address",
        "1746 Massachusetts Avenue NW\nWashington, DC 20036",
        "--salutation",
        "Your Excellency",
        "--email",
        "info@uzbekistan.org",
        "--language",
        "en",
    )
    ok(
        "official",
        "add",
        "Xi Jinping",
        "--country",
        "CN",
        "--title",
        "President of the People's Republic of China",
        "--address",
        "Zhongnanhai\nXichengqu\nBeijing 100017",
    )
    ok(
        "official",
        "add",
        "Gholamhossein Mohseni Ejei",
        "--slug",
        "mohseni-ejei",
        "--country",
        "IR",
        "--title",
        "Head of the Judiciary",
        "--address",
        "Pasteur Street\nTehran 1316814737",
        "--language",
        "fa",
    )
    for case, official in APPEALS:
        ok("appeal", "add", case, official)
    if members:
        ok(
            "member",
            "add",
            "Anna Schmidt",
            "--address",
            "Hauptstraße 5\n10115 Berlin\nGermany",
            "--email",
            "anna@example.de",
        )
        ok("member", "add", "Ольга Петрова", "--address", "ul. Lenina 1\nMoscow 101000\nRussia")
        ok("member", "add", "Mark Konrad", "--address", "12 Elm Street\nSpringfield, IL 62701")
    own = Path("letters/cases/yusuf-dzhumaev")
    own.mkdir(parents=True)
    (own / "concern.en.txt.j2").write_text(CASE_TEMPLATE, encoding="utf-8")


@pytest.fixture(scope="session")
def built_campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The campaign, built once through the CLI; each test gets a fresh copy of it."""
    folder = tmp_path_factory.mktemp("campaign")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setenv("IMPORTUNE_DB", str(folder / "importune.db"))
        patch.setenv("IMPORTUNE_LETTERS", str(folder / "letters"))
        build_campaign()
    return folder


@pytest.fixture
def campaign(built_campaign: Path) -> None:
    shutil.copytree(built_campaign, Path.cwd(), dirs_exist_ok=True)


def expected_paths(ext: str, members: list[str] = MEMBERS) -> set[str]:
    return {
        f"{case}/{official}--{member}.{ext}" for case, official in APPEALS for member in members
    }


def read(path: str) -> str:
    return Path("out", path).read_text(encoding="utf-8")


def blocks(text: str) -> list[str]:
    """A text letter's blocks: sender, recipient, date, subject, salutation, paragraphs...,
    signature."""
    return text.rstrip("\n").split("\n\n")


# -- every format, every letter ---------------------------------------------------------------


@pytest.mark.usefixtures("campaign")
@pytest.mark.parametrize("fmt", ["txt", "md", "html"])
def test_every_letter_is_written_in_the_text_formats_with_its_row(fmt: str) -> None:
    report = generate_json("--format", fmt)

    assert (report["generated"], report["unchanged"], report["skipped"]) == (12, 0, 0)
    assert set(files()) == expected_paths(fmt)
    rows = letter_rows()
    assert len(rows) == 12
    for row in rows:
        content = Path(row["path"]).read_bytes()
        assert row["format"] == fmt and row["status"] == "generated"
        assert row["template"] == "concern"
        assert row["sha256"] == hashlib.sha256(content).hexdigest()
        assert dt.date.fromisoformat(row["dated"]) >= dt.date.today() - dt.timedelta(days=1)
    letter = Path(f"out/ilham-tohti/xi-jinping--mark-konrad.{fmt}").read_text("utf-8")
    assert "Dear President," in letter and "Mark Konrad" in letter
    if fmt == "html":  # autoescaped: the title's apostrophe is text, not markup
        assert "People&#39;s Republic of China" in letter and "People's" not in letter
    languages = {(r["case_slug"], r["official_slug"]): r["language"] for r in rows}
    assert languages[("yusuf-dzhumaev", "prosecutor-general")] == "ru"
    # Persian has no template: the letter is written in English, and recorded so.
    assert languages[("narges-mohammadi", "mohseni-ejei")] == "en"


@pytest.mark.usefixtures("campaign")
def test_a_russian_letter_has_the_russian_date_address_salutation_and_facts() -> None:
    ok("generate-letters")
    path = "yusuf-dzhumaev/prosecutor-general--olga-petrova.txt"
    text = read(path)
    (row,) = letter_rows("l.path = ?", (f"out/{path}",))
    sender, recipient, date, subject, salutation, *paragraphs, signoff, signature = blocks(text)

    assert subject == "Просьба об освобождении узника совести: Юсуф Джумаев (Узбекистан), UA 123/21"
    assert sender.splitlines() == ["Ольга Петрова", "ul. Lenina 1", "Moscow 101000", "Russia"]
    lines = recipient.splitlines()
    assert lines[0] == "Нигматилла Юлдашев"
    assert "ул. Гулямова, 66" in lines and "Ташкент 100047" in lines
    assert lines[-1] == "UZBEKISTAN"
    # The letter is dated in Russian, on the day on record.
    assert date == write_date(dt.date.fromisoformat(row["dated"]), "ru")
    assert date.endswith(" г.")
    assert salutation == "Уважаемый Генеральный прокурор Республики Узбекистан!"
    facts = " ".join(paragraphs)
    assert "Юсуф Джумаев (Yusuf Dzhumaev)" in facts
    assert "с 23 октября 2001 г." in facts
    assert "SNB detention facility, Bukhara, Karakul, Bukhara region, Узбекистан" in facts
    assert "«undermining the constitutional order»" in facts
    assert "немедленно и безоговорочно освободить" in facts
    assert signoff == "С уважением,"
    assert signature == "Ольга Петрова"
    assert row["language"] == "ru"


@pytest.mark.usefixtures("campaign")
def test_a_group_that_writes_british_english_dates_its_english_letters_so() -> None:
    path = "yusuf-dzhumaev/ambassador--anna-schmidt.txt"
    ok("generate-letters")
    assert "arrested at home on October 23, 2001" in read(path)  # babel's English: American
    ok("group", "set", "--english", "en-GB")
    said = ok("generate-letters").stdout
    assert said.startswith("Wrote 9 letters to ") and "; 3 unchanged" in said  # 3 in Russian
    text = read(path)
    (row,) = letter_rows("l.path = ?", (f"out/{path}",))
    assert blocks(text)[2] == write_date(dt.date.fromisoformat(row["dated"]), "en_GB")
    assert blocks(text)[2].split()[0].isdigit()  # "29 November 2026"
    assert "arrested at home on 23 October 2001" in text
    # A Russian letter keeps its Russian dates.
    assert "с 23 октября 2001 г." in read("yusuf-dzhumaev/prosecutor-general--olga-petrova.txt")


@pytest.mark.usefixtures("campaign")
def test_an_english_that_is_not_english_is_refused_and_one_another_program_wrote_ignored() -> None:
    before = json.loads(ok("group", "show", "--json").stdout)
    for value in ("fr-FR", "en", "klingon"):
        assert refusal("group", "set", "--english", value) == (
            f"english {value!r}: use an English locale, such as en-US (November 29, 2026) "
            "or en-GB (29 November 2026)"
        )
    assert json.loads(ok("group", "show", "--json").stdout) == before
    with closing(sqlite3.connect("importune.db")) as conn, conn:
        conn.execute("INSERT INTO settings (key, value) VALUES ('group.english', 'fr_FR')")
    ok("generate-letters")
    assert "on October 23, 2001" in read("yusuf-dzhumaev/ambassador--anna-schmidt.txt")
    # check says so: the letters are written, with American dates.
    found = [f for f in json.loads(ok("check", "--json").stdout) if f["kind"] == "bad-english"]
    assert found == [{
        "severity": "warning", "kind": "bad-english", "table": "settings", "record": "group",
        "field": "english", "message": "the group's english 'fr_FR': use an English locale, "
        "such as en-US (November 29, 2026) or en-GB (29 November 2026)",
        "fix": "importune group set --english en-GB (or another English)",
    }]  # fmt: skip


@pytest.mark.usefixtures("campaign")
def test_an_english_letter_uses_the_cases_own_template_and_the_officials_salutation() -> None:
    ok("generate-letters")
    text = read("yusuf-dzhumaev/ambassador--anna-schmidt.txt")
    (row,) = letter_rows("l.path = ?", ("out/yusuf-dzhumaev/ambassador--anna-schmidt.txt",))
    sender, recipient, date, subject, salutation, *paragraphs, signoff, signature = blocks(text)

    assert subject == (
        "Please release Yusuf Dzhumaev, prisoner of conscience, Uzbekistan (UA 123/21)"
    )
    assert sender.splitlines() == ["Anna Schmidt", "Hauptstraße 5", "10115 Berlin", "Germany"]
    assert recipient.splitlines() == [
        "Javlon Vakhabov",
        "Ambassador of the Republic of Uzbekistan",
        "1746 Massachusetts Avenue NW",
        "Washington, DC 20036",
        "UNITED STATES",
    ]
    assert date == write_date(dt.date.fromisoformat(row["dated"]), "en")  # "November 29, 2026"
    assert salutation == "Your Excellency,"
    body = "\n".join(paragraphs)
    assert "Yusuf Dzhumaev (Юсуф Джумаев)" in body
    # The case's own "facts" block replaced the general one; the rest is the general letter.
    assert (
        "Yusuf Dzhumaev, a poet from Karakul, was arrested at home on October 23, 2001; "
        "officers confiscated his poems and his daughter's." in paragraphs
    )
    assert "has been held in" not in body
    assert "Please release Yusuf Dzhumaev immediately and unconditionally." in body
    assert "access to family, to a lawyer" in body
    assert (signoff, signature) == ("Yours respectfully,", "Anna Schmidt")


@pytest.mark.usefixtures("campaign")
def test_letters_about_iran_and_china_name_the_prisoner_and_follow_each_postal_convention() -> None:
    ok("generate-letters")
    iran = read("narges-mohammadi/mohseni-ejei--mark-konrad.txt")
    sender, recipient, date, subject, salutation, *paragraphs, signoff, signature = blocks(iran)
    assert subject == "Please release Narges Mohammadi, prisoner of conscience, Iran"
    assert date == blocks(read("yusuf-dzhumaev/ambassador--mark-konrad.txt"))[2]  # in English
    assert signoff == "Yours respectfully,"
    assert sender.splitlines() == ["Mark Konrad", "12 Elm Street", "Springfield, IL 62701"]
    assert recipient.splitlines()[0] == "Gholamhossein Mohseni Ejei"
    assert recipient.splitlines()[-1] == "IRAN"
    assert salutation == "Dear Gholamhossein Mohseni Ejei,"
    body = " ".join(paragraphs)
    assert "Narges Mohammadi (نرگس محمدی)" in body
    assert "Evin Prison, Tehran, Iran, since November 16, 2021" in body
    assert "charged with spreading propaganda against the state" in body
    assert signature == "Mark Konrad"

    china = read("ilham-tohti/xi-jinping--mark-konrad.txt")
    recipient = blocks(china)[1].splitlines()
    # China's convention: the street first, the addressee below it, the country last.
    assert recipient == [
        "Zhongnanhai",
        "Xichengqu",
        "Beijing 100017",
        "Xi Jinping",
        "President of the People's Republic of China",
        "CHINA",
    ]
    assert blocks(china)[4] == "Dear President,"


@pytest.mark.usefixtures("campaign")
def test_members_get_different_openings_and_each_keeps_their_own() -> None:
    ok("generate-letters")
    before = files()

    def opening(path: str) -> str:
        return blocks(read(path))[5]

    for case, official in APPEALS:
        openings = {m: opening(f"{case}/{official}--{m}.txt") for m in MEMBERS}
        assert len(set(openings.values())) >= 2, openings
    all_openings = {opening(path) for path in before}
    assert len(all_openings) >= 4

    ok("generate-letters", "--force")
    after = files()
    assert {p: c for p, (_, _, c) in after.items()} == {p: c for p, (_, _, c) in before.items()}


# -- PDF and e-mail -----------------------------------------------------------------------------


def pdf_text(path: str) -> str:
    reader = pypdf.PdfReader(Path("out", path))
    return "\n".join(page.extract_text() for page in reader.pages)


def words(text: str) -> list[str]:
    return text.split()


@pytest.mark.usefixtures("campaign")
def test_pdf_letters_read_back_as_their_text_letters() -> None:
    chosen = (
        "--member",
        "olga-petrova",
        "--official",
        "prosecutor-general",
        "--official",
        "ambassador",
    )
    ok("generate-letters", *chosen)
    report = generate_json("--format", "pdf", *chosen)

    assert report["generated"] == 2
    for name in ("prosecutor-general--olga-petrova", "ambassador--olga-petrova"):
        text = read(f"yusuf-dzhumaev/{name}.txt")
        pdf = f"yusuf-dzhumaev/{name}.pdf"
        assert Path("out", pdf).read_bytes().startswith(b"%PDF-")
        assert len(pypdf.PdfReader(Path("out", pdf)).pages) == 1
        subject = pypdf.PdfReader(Path("out", pdf)).metadata.title
        # The printed page is the text letter, its subject the PDF's title.
        assert blocks(text)[3] == subject
        assert words(pdf_text(pdf)) == words(text)
    assert "Юсуф Джумаев" in pdf_text("yusuf-dzhumaev/prosecutor-general--olga-petrova.pdf")


@pytest.mark.usefixtures("campaign")
def test_a_pdf_letter_prints_a_persian_name() -> None:
    report = generate_json(
        "--format", "pdf", "--case", "narges-mohammadi", "--member", "anna-schmidt"
    )
    assert report["generated"] == 1
    text = pdf_text("narges-mohammadi/mohseni-ejei--anna-schmidt.pdf")
    # Right-to-left words come out of the PDF in visual order: look for each word.
    assert "نرگس" in text and "محمدی" in text
    assert "Dear Gholamhossein Mohseni Ejei," in text
    assert text.rstrip().endswith("Anna Schmidt")


@pytest.mark.usefixtures("campaign")
def test_eml_letters_parse_back_as_messages_to_the_officials_address() -> None:
    report = generate_json("--format", "eml", "--official", "ambassador")
    assert report["generated"] == 3
    for member, sender in (
        ("anna-schmidt", "anna@example.de"),
        ("mark-konrad", None),
        ("olga-petrova", None),
    ):
        raw = Path("out", f"yusuf-dzhumaev/ambassador--{member}.eml").read_bytes()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert message["To"].addresses[0].addr_spec == "info@uzbekistan.org"
        assert message["To"].addresses[0].display_name == "Javlon Vakhabov"
        assert message["Subject"] == (
            "Please release Yusuf Dzhumaev, prisoner of conscience, Uzbekistan (UA 123/21)"
        )
        if sender:
            assert message["From"].addresses[0].addr_spec == sender
        part = message.get_body(("plain",))
        assert part.get_content_charset() == "utf-8"
        body = part.get_content()
        assert body.startswith("Your Excellency,")
        assert "Yusuf Dzhumaev (Юсуф Джумаев)" in body
        assert (
            body.rstrip().splitlines()[-1]
            == {
                "anna-schmidt": "Anna Schmidt",
                "mark-konrad": "Mark Konrad",
                "olga-petrova": "Ольга Петрова",
            }[member]
        )


@pytest.mark.usefixtures("campaign")
def test_eml_skips_the_officials_without_an_address_and_says_so() -> None:
    """A group writes by e-mail to the officials it has an address for, by post to the rest:
    a campaign's e-mails are those of the officials with an address (the ambassador's)."""
    said = ok("generate-letters", "--format", "eml").stdout
    assert said.startswith("Wrote 3 letters to ")
    assert "9 skipped: 9 official without e-mail." in said
    assert "open the .eml files in a mail program" in said
    assert everything_under("out") == ["yusuf-dzhumaev"] + [
        f"yusuf-dzhumaev/ambassador--{member}.eml"
        for member in ("anna-schmidt", "mark-konrad", "olga-petrova")
    ]
    assert {row["official_slug"] for row in letter_rows()} == {"ambassador"}
    skipped = [e for e in generate_json("--format", "eml")["letters"] if e["state"] == "skipped"]
    assert {e["official"] for e in skipped} == {"prosecutor-general", "xi-jinping", "mohseni-ejei"}
    assert {e["reason"] for e in skipped} == {
        "the official has no e-mail address (importune official edit OFFICIAL --email ADDRESS)"
    }


@pytest.mark.usefixtures("campaign")
def test_eml_to_an_official_named_without_an_address_is_refused_and_leaves_nothing(
    refused: Refuse,
) -> None:
    line = refused("generate-letters", "--format", "eml", "--official", "xi-jinping")
    assert line == (
        "official 'xi-jinping' has no email address: add one with 'importune official edit "
        "xi-jinping --email ADDRESS'"
    )
    assert not Path("out").exists() or everything_under("out") == []
    assert letter_rows() == []


# -- paths, unsigned letters, filters ---------------------------------------------------------


@pytest.mark.usefixtures("campaign")
def test_unsigned_letters_are_signed_by_the_group() -> None:
    report = generate_json("--unsigned")

    assert report["generated"] == 4
    assert set(files()) == expected_paths("txt", ["unsigned"])
    assert all(entry["member"] is None for entry in report["letters"])
    sender, *_, signature = blocks(read("ilham-tohti/xi-jinping--unsigned.txt"))
    assert sender.splitlines() == ["Global Importune", *GROUP_ADDRESS.splitlines()]
    assert signature == "Global Importune"
    text = read("yusuf-dzhumaev/ambassador--unsigned.txt")
    assert "We are writing" in text or "Please allow us" in text
    assert all(row["member_id"] is None for row in letter_rows())


def test_with_no_members_every_letter_is_unsigned() -> None:
    build_campaign(members=False)
    report = generate_json()
    assert report["generated"] == 4
    assert set(files()) == expected_paths("txt", ["unsigned"])
    assert {entry["member"] for entry in report["letters"]} == {None}


@pytest.mark.usefixtures("campaign")
def test_filters_choose_the_letters() -> None:
    report = generate_json(
        "--case", "yusuf-dzhumaev", "--member", "mark-konrad", "--member", "anna-schmidt"
    )
    assert set(files()) == {
        "yusuf-dzhumaev/ambassador--anna-schmidt.txt",
        "yusuf-dzhumaev/ambassador--mark-konrad.txt",
        "yusuf-dzhumaev/prosecutor-general--anna-schmidt.txt",
        "yusuf-dzhumaev/prosecutor-general--mark-konrad.txt",
    }
    assert report["generated"] == 4

    report = generate_json("--official", "xi-jinping")
    assert [(e["case"], e["member"]) for e in report["letters"]] == [
        ("ilham-tohti", m) for m in MEMBERS
    ]
    assert len(letter_rows()) == 7


@pytest.mark.usefixtures("campaign")
@pytest.mark.parametrize(
    "option", [("--case", "nobody"), ("--official", "nobody"), ("--member", "nobody")]
)
def test_an_unknown_record_is_refused_and_nothing_is_written(
    option: tuple[str, str], refused: Refuse
) -> None:
    line = refused("generate-letters", *option)
    assert "'nobody'" in line
    assert not Path("out").exists()
    assert letter_rows() == []


# -- idempotency --------------------------------------------------------------------------------


@pytest.mark.usefixtures("campaign")
def test_a_run_says_how_many_of_its_letters_are_in_english_for_want_of_a_template() -> None:
    # Iran's head of the judiciary is written to in Persian, which has no template.
    note = (
        "in English, from concern.en.txt.j2: there is no concern.fa.txt.j2 for 'fa', the "
        "language asked. Add one to write in 'fa'; importune check names the appeals."
    )
    dry = ok("generate-letters", "--dry-run").stdout.splitlines()
    assert dry[0].startswith("Would write 12 letters") and dry[1] == f"3 of them would be {note}"
    assert ok("generate-letters").stdout.splitlines()[1] == f"3 of them are {note}"
    assert {r["language"] for r in letter_rows("o.slug = 'mohseni-ejei'")} == {"en"}
    # Only the letters a run writes are counted: one rewritten, one said; none, nothing.
    Path("out/narges-mohammadi/mohseni-ejei--mark-konrad.txt").unlink()
    one = ok("generate-letters").stdout.splitlines()
    assert one[0].startswith("Wrote 1 letter ") and one[1] == f"It is {note}"
    assert "English" not in ok("generate-letters").stdout
    assert "English" not in ok("generate-letters", "--force", "--official", "xi-jinping").stdout
    # --json prints JSON only.
    assert generate_json("--force")["generated"] == 12


@pytest.mark.usefixtures("campaign")
def test_a_second_run_rewrites_nothing() -> None:
    ok("generate-letters")
    before, rows_before = files(), letter_rows()

    report = generate_json()
    assert (report["generated"], report["unchanged"], report["skipped"]) == (0, 12, 0)
    assert files() == before  # same inodes, same mtimes, same bytes
    assert letter_rows() == rows_before
    result = ok("generate-letters")
    assert "Wrote 0 letters" in result.stdout and "12 unchanged" in result.stdout


@pytest.mark.usefixtures("campaign")
def test_a_letter_file_deleted_by_hand_is_written_again() -> None:
    ok("generate-letters")
    before = files()
    Path("out/narges-mohammadi/mohseni-ejei--olga-petrova.txt").unlink()
    shutil.rmtree("out/ilham-tohti")

    report = generate_json()

    assert (report["generated"], report["unchanged"]) == (4, 8)
    after = files()
    assert {p: c for p, (_, _, c) in after.items()} == {p: c for p, (_, _, c) in before.items()}
    assert len(letter_rows()) == 12


@pytest.mark.usefixtures("campaign")
def test_editing_a_case_rewrites_only_its_letters() -> None:
    ok("generate-letters")
    before = files()

    ok("case", "edit", "narges-mohammadi", "--charges", "spreading propaganda; collusion")
    report = generate_json()

    assert (report["generated"], report["unchanged"]) == (3, 9)
    after = files()
    changed = {path for path in before if after[path] != before[path]}
    assert changed == {f"narges-mohammadi/mohseni-ejei--{m}.txt" for m in MEMBERS}
    assert "charged with spreading propaganda; collusion." in read(
        "narges-mohammadi/mohseni-ejei--anna-schmidt.txt"
    )
    assert len(letter_rows()) == 12


@pytest.mark.usefixtures("campaign")
def test_editing_a_template_rewrites_the_letters_it_makes() -> None:
    ok("generate-letters")
    own = Path("letters/cases/yusuf-dzhumaev/concern.en.txt.j2")
    own.write_text(CASE_TEMPLATE.replace("a poet from Karakul", "the poet of Karakul"), "utf-8")

    report = generate_json()
    written = {(e["official"], e["member"]) for e in report["letters"] if e["state"] == "generated"}
    assert written == {("ambassador", m) for m in MEMBERS}
    assert "the poet of Karakul" in read("yusuf-dzhumaev/ambassador--olga-petrova.txt")


@pytest.mark.usefixtures("campaign")
def test_text_letters_laid_out_before_the_subject_line_are_written_again_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An upgrade from the text layout without a subject line (revision 1): the letters
    it wrote are written again, with the subject; the PDFs, laid out as before, are not."""
    from importune import formats
    from importune.formats import txt

    render = txt.render

    def revision_1(letter: Any) -> bytes:  # the subject line taken out again
        subject = txt.one_line(letter.subject)
        return render(letter).replace(f"\n\n{subject}\n".encode(), b"\n", 1)

    ok("generate-letters", "--format", "pdf")
    pdfs = files()
    with monkeypatch.context() as old:
        old.setattr(formats, "TEXT_REVISION", 1)
        old.setattr(txt, "render", revision_1)
        ok("generate-letters")
    path = "yusuf-dzhumaev/ambassador--olga-petrova.txt"
    assert "Uzbekistan (UA 123/21)" not in read(path)

    report = generate_json()
    assert (report["generated"], report["unchanged"]) == (12, 0)
    assert blocks(read(path))[3].startswith("Please release Yusuf Dzhumaev")
    report = generate_json("--format", "pdf")
    assert (report["generated"], report["unchanged"]) == (0, 12)
    assert {k: v for k, v in files().items() if k.endswith(".pdf")} == pdfs


@pytest.mark.usefixtures("campaign")
def test_force_rewrites_every_letter() -> None:
    ok("generate-letters")
    before = files()
    report = generate_json("--force")
    assert (report["generated"], report["unchanged"]) == (12, 0)
    after = files()
    assert all(after[p][0] != before[p][0] and after[p][2] == before[p][2] for p in before)


@pytest.mark.usefixtures("campaign")
def test_dry_run_counts_and_writes_nothing() -> None:
    report = generate_json("--dry-run")
    assert (report["generated"], report["unchanged"], report["skipped"]) == (12, 0, 0)
    assert not Path("out").exists()
    assert letter_rows() == []
    result = ok("generate-letters", "--dry-run")
    assert "Would write 12 letters" in result.stdout

    ok("generate-letters")
    before, rows_before = files(), letter_rows()
    ok("case", "edit", "ilham-tohti", "--location", "Xinjiang")
    report = generate_json("--dry-run")
    assert (report["generated"], report["unchanged"]) == (3, 9)
    assert files() == before
    assert letter_rows() == rows_before


@pytest.mark.usefixtures("campaign")
def test_dry_run_after_a_language_change_keeps_the_rows() -> None:
    ok("generate-letters")
    rows_before = letter_rows()
    ok("official", "edit", "prosecutor-general", "--language", "en")

    report = generate_json("--dry-run")
    assert report["generated"] == 3
    assert letter_rows() == rows_before

    # The real run replaces the Russian letters with English ones, in the same files.
    report = generate_json()
    assert report["generated"] == 3
    rows = letter_rows("o.slug = 'prosecutor-general'")
    assert [r["language"] for r in rows] == ["en"] * 3
    assert len(letter_rows()) == 12
    assert read("yusuf-dzhumaev/prosecutor-general--olga-petrova.txt").count("Dear ") == 1


@pytest.mark.usefixtures("campaign")
@pytest.mark.parametrize("status", ["printed", "sent"])
def test_a_printed_or_sent_letter_is_never_overwritten(status: str) -> None:
    ok("generate-letters")
    name = "yusuf-dzhumaev/prosecutor-general--anna-schmidt.txt"
    set_status(f"out/{name}", status)
    before = files()
    (row_before,) = letter_rows("l.path = ?", (f"out/{name}",))

    ok("case", "edit", "yusuf-dzhumaev", "--charges", "insulting the president")
    for force in ((), ("--force",)):
        report = generate_json(*force)
        (entry,) = [e for e in report["letters"] if e["path"] == f"out/{name}"]
        assert entry["state"] == "skipped"
        assert files()[name] == before[name]
        assert letter_rows("l.path = ?", (f"out/{name}",)) == [row_before]
    # The same member's other letters, and other members' letters, are rewritten.
    assert "insulting the president" in read("yusuf-dzhumaev/prosecutor-general--mark-konrad.txt")
    assert "insulting the president" not in read(name)
    said = ok("generate-letters", "--force").stdout
    assert f"1 skipped: 1 already {status}, words changed since." in said
    Path("out", name).unlink()  # deleted by hand: not written again, whatever its words
    ok("case", "edit", "yusuf-dzhumaev", "--charges", "undermining the constitutional order")
    assert f"1 skipped: 1 already {status}." in ok("generate-letters").stdout


@pytest.mark.usefixtures("campaign")
def test_a_released_case_and_an_ended_appeal_get_no_letters() -> None:
    ok("case", "edit", "yusuf-dzhumaev", "--status", "released", "--released-on", "2011-12-29")
    ok("appeal", "remove", "ilham-tohti", "xi-jinping")
    ok("appeal", "add", "ilham-tohti", "xi-jinping", "--until", "2020-01-01")

    report = generate_json()

    assert (report["generated"], report["skipped"]) == (3, 9)
    skipped = {(e["case"], e["official"]) for e in report["letters"] if e["state"] == "skipped"}
    assert skipped == {
        ("yusuf-dzhumaev", "ambassador"),
        ("yusuf-dzhumaev", "prosecutor-general"),
        ("ilham-tohti", "xi-jinping"),
    }
    assert set(files()) == {f"narges-mohammadi/mohseni-ejei--{m}.txt" for m in MEMBERS}
    reasons = {e["reason"] for e in report["letters"] if e["state"] == "skipped"}
    assert reasons == {"the case is released", "the appeal ended on 2020-01-01"}
    # Without --json, the count of each kind of reason, the commonest first: here answered
    # from the receipt of the run before, then the long way (a forced run), alike.
    said = ok("generate-letters").stdout
    assert "3 unchanged, 9 skipped: 6 case released, 3 appeal ended." in said
    said = ok("generate-letters", "--force").stdout
    assert said.startswith("Wrote 3 letters")
    assert "0 unchanged, 9 skipped: 6 case released, 3 appeal ended." in said
    ok("appeal", "add", "yusuf-dzhumaev", "xi-jinping", "--template", "thanks")
    ok("appeal", "remove", "narges-mohammadi", "mohseni-ejei")
    ok("appeal", "add", "narges-mohammadi", "mohseni-ejei", "--template", "thanks")
    said = ok("generate-letters").stdout
    assert said.startswith("Wrote 3 letters")
    assert "0 unchanged, 12 skipped: 6 case released, 3 appeal ended, 3 case still detained." in (
        said
    )


@pytest.mark.usefixtures("campaign")
def test_a_thank_you_letter_for_a_released_case() -> None:
    ok("generate-letters")
    ok("case", "edit", "yusuf-dzhumaev", "--status", "released", "--released-on", "2011-12-29")

    report = generate_json("--template", "thanks")

    made = sorted(e["path"] for e in report["letters"] if e["state"] == "generated")
    assert made == sorted(
        f"out/yusuf-dzhumaev/{o}--{m}.thanks.txt"
        for o in ("ambassador", "prosecutor-general")
        for m in MEMBERS
    )
    # A prisoner still held gets no thank-you letter.
    assert report["skipped"] == 6
    english = read("yusuf-dzhumaev/ambassador--mark-konrad.thanks.txt")
    assert "Subject" not in english
    assert "released on December 29, 2011" in english or "release of Yusuf Dzhumaev" in english
    assert "had been held since October 23, 2001: 10 years" in english
    russian = read("yusuf-dzhumaev/prosecutor-general--olga-petrova.thanks.txt")
    assert "Юсуф Джумаев" in russian and "29 декабря 2011 г." in russian
    # The letters of concern are still there, beside the thank-you letters.
    assert Path("out/yusuf-dzhumaev/ambassador--mark-konrad.txt").is_file()
    assert {r["template"] for r in letter_rows("c.slug = 'yusuf-dzhumaev'")} == {
        "concern",
        "thanks",
    }


@pytest.mark.usefixtures("campaign")
def test_a_letter_keeps_the_day_it_was_first_written() -> None:
    first, later = dt.date(2024, 3, 1), dt.date(2024, 9, 14)
    db = Path("importune.db")

    def run(day: dt.date, **extra: Any) -> Any:
        with open_store(db) as store:
            options = Options(out=Path("out"), letters_dir=Path("letters"), today=day, **extra)
            return generate(store, options)

    assert run(first).generated == 12
    before = files()
    again = run(later)
    assert (again.generated, again.unchanged) == (0, 12)
    assert files() == before
    assert "March 1, 2024" in read("ilham-tohti/xi-jinping--anna-schmidt.txt")
    assert {r["dated"] for r in letter_rows()} == {"2024-03-01"}

    # Once its words change, a letter is written anew and dated that day.
    ok("case", "edit", "ilham-tohti", "--prison", "Urumqi No. 1 Prison")
    assert run(later).generated == 3
    assert "September 14, 2024" in read("ilham-tohti/xi-jinping--anna-schmidt.txt")
    assert "March 1, 2024" in read("narges-mohammadi/mohseni-ejei--anna-schmidt.txt")


@pytest.mark.usefixtures("campaign")
def test_runs_inside_a_callers_transaction_see_the_letters_it_wrote() -> None:
    with open_store(Path("importune.db")) as store, store.atomic():
        options = Options(out=Path("out"), letters_dir=Path("letters"))
        assert generate(store, options).generated == 12
        again = generate(store, options)
    assert (again.generated, again.unchanged) == (0, 12)
    assert len(letter_rows()) == 12 and len(files()) == 12


# -- the JSON report ----------------------------------------------------------------------------


@pytest.mark.usefixtures("campaign")
def test_the_json_report_has_the_contracts_shape() -> None:
    result = ok("generate-letters", "--json", "--case", "ilham-tohti")
    report = json.loads(result.stdout)  # stdout is JSON and nothing else

    assert list(report)[:4] == ["generated", "unchanged", "skipped", "letters"]
    assert result.stderr == ""
    rows = {r["id"]: r for r in letter_rows()}
    for entry in report["letters"]:
        assert {"id", "case", "official", "member", "format", "path"} <= set(entry)
        row = rows[entry["id"]]
        assert (entry["case"], entry["official"], entry["member"], entry["format"]) == (
            row["case_slug"],
            row["official_slug"],
            row["member_slug"],
            row["format"],
        )
        assert (
            entry["path"] == row["path"] == (f"out/ilham-tohti/xi-jinping--{entry['member']}.txt")
        )
    report = generate_json("--unsigned", "--case", "ilham-tohti")
    (entry,) = report["letters"]
    assert entry["member"] is None and isinstance(entry["id"], int)
    # Unchanged letters carry their ids too.
    again = generate_json("--case", "ilham-tohti")
    assert sorted(e["id"] for e in again["letters"]) == sorted(
        r["id"] for r in letter_rows("c.slug = 'ilham-tohti' AND l.member_id IS NOT NULL")
    )


@pytest.mark.usefixtures("campaign")
def test_on_a_terminal_json_is_still_only_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal a run shows a progress bar; with --json it must not."""
    from typer import testing

    monkeypatch.setattr(testing._NamedTextIOWrapper, "isatty", lambda self: True, raising=False)
    report = generate_json("--case", "ilham-tohti")
    assert report["generated"] == 3
    result = ok("generate-letters", "--force")
    assert "/12" in result.stdout  # the bar's count: this was the terminal's path
    assert "Wrote 12 letters" in result.stdout


# -- refusals -----------------------------------------------------------------------------------


BAD_TEMPLATES = {
    "internals": ("{{ case.__class__.__mro__ }}", "__class__"),
    "missing field": ("{{ case.prisn }}", "'prisn'"),
    "syntax": ("{{ case.name + }}", "syntax error"),
}


@pytest.mark.usefixtures("campaign")
@pytest.mark.parametrize("bad", list(BAD_TEMPLATES))
def test_a_broken_template_is_refused_naming_its_file_and_line(bad: str, refused: Refuse) -> None:
    code, what = BAD_TEMPLATES[bad]
    # The last case's own template is broken: letters for the first cases render first.
    Path("letters/cases/yusuf-dzhumaev/concern.en.txt.j2").write_text(
        '{% extends "concern.en.txt.j2" %}\n{% block facts %}\nHeld.\n'
        f"{code}\n{{% endblock %}}\n",
        encoding="utf-8",
    )
    line = refused("generate-letters")
    assert "letters/cases/yusuf-dzhumaev/concern.en.txt.j2, line 4" in line, line
    assert what in line
    assert not Path("out").exists() or everything_under("out") == []
    assert letter_rows() == []


@pytest.mark.usefixtures("campaign")
def test_a_broken_template_refuses_a_rerun_and_changes_nothing(refused: Refuse) -> None:
    ok("generate-letters")
    before, rows_before = files(), letter_rows()
    ok("case", "edit", "ilham-tohti", "--location", "Xinjiang")
    Path("letters/concern.en.txt.j2").write_text("Subject: x\n\n{{ member.adress }}\n", "utf-8")

    line = refused("generate-letters")
    assert "concern.en.txt.j2, line 3" in line and "'adress'" in line
    assert files() == before
    assert letter_rows() == rows_before
    assert not list(Path("out").rglob(f"*{TEMP_SUFFIX}"))


@pytest.mark.usefixtures("campaign")
@pytest.mark.parametrize("name", ["../../etc/passwd", "x/y", "nonexistent"])
def test_a_template_outside_letters_is_refused(name: str, refused: Refuse) -> None:
    line = refused("generate-letters", "--template", name)
    assert name in line
    assert not Path("out").exists() or everything_under("out") == []
    assert letter_rows() == []


@pytest.mark.usefixtures("campaign")
def test_a_killed_runs_temporary_files_are_swept() -> None:
    leftover = Path("out/yusuf-dzhumaev/ambassador--anna-schmidt.txt" + TEMP_SUFFIX)
    leftover.parent.mkdir(parents=True)
    leftover.write_text("half a lett")

    ok("generate-letters")
    assert not leftover.exists()
    assert not list(Path("out").rglob(f"*{TEMP_SUFFIX}"))
    assert len(files()) == 12


@pytest.mark.usefixtures("campaign")
def test_a_killed_first_runs_staged_case_folder_is_swept() -> None:
    """A first run makes each new case folder whole under a temporary name and renames it
    into place at the end; a run killed before that leaves the folder, never a letter."""
    staged = Path(f"out/yusuf-dzhumaev{TEMP_SUFFIX}")
    staged.mkdir(parents=True)
    (staged / "ambassador--anna-schmidt.txt").write_text("half a lett")

    ok("generate-letters")
    assert not staged.exists()
    assert not list(Path("out").rglob(f"*{TEMP_SUFFIX}*"))
    assert "half a lett" not in Path("out/yusuf-dzhumaev/ambassador--anna-schmidt.txt").read_text()
    assert len(files()) == 12 == len(letter_rows())


@pytest.mark.usefixtures("campaign")
def test_an_unknown_format_is_a_usage_error() -> None:
    result = cli("generate-letters", "--format", "docx")
    assert result.exit_code == 2
    assert not Path("out").exists()


@pytest.mark.usefixtures("campaign")
@pytest.mark.parametrize("folder", ["out[old]", "letters [/draft]"])
def test_an_output_folder_is_printed_as_named(folder: str) -> None:
    result = ok("generate-letters", "--out", folder, "--case", "ilham-tohti")
    assert f"Wrote 3 letters to {folder}/;" in result.stdout
    assert len(files(folder)) == 3
    assert {r["path"].split("/ilham-tohti/")[0] for r in letter_rows()} == {folder}


# -- letters list -------------------------------------------------------------------------------


@pytest.mark.usefixtures("campaign")
def test_letters_list_filters_and_json() -> None:
    ok("generate-letters")
    ok("generate-letters", "--format", "md", "--case", "ilham-tohti")
    set_status("out/ilham-tohti/xi-jinping--olga-petrova.txt", "sent")

    every = json.loads(ok("letters", "list", "--json").stdout)
    assert len(every) == 15
    for entry in every:
        assert {"id", "case", "official", "member", "format", "path", "status"} <= set(entry)

    by_case = json.loads(ok("letters", "list", "--case", "ilham-tohti", "--json").stdout)
    assert {(e["member"], e["format"]) for e in by_case} == {
        (m, f) for m in MEMBERS for f in ("md", "txt")
    }
    to_him = json.loads(ok("letters", "list", "--official", "prosecutor-general", "--json").stdout)
    assert {(e["case"], e["official"], e["member"]) for e in to_him} == {
        ("yusuf-dzhumaev", "prosecutor-general", m) for m in MEMBERS
    }
    by_member = json.loads(ok("letters", "list", "--member", "olga-petrova", "--json").stdout)
    assert len(by_member) == 5 and {e["member"] for e in by_member} == {"olga-petrova"}
    sent = json.loads(ok("letters", "list", "--status", "sent", "--json").stdout)
    assert [(e["path"], e["status"]) for e in sent] == [
        ("out/ilham-tohti/xi-jinping--olga-petrova.txt", "sent")
    ]

    table = ok("letters", "list", "--case", "narges-mohammadi").stdout
    assert "mohseni-ejei" in table and "ilham-tohti" not in table
    assert "Global" not in table


@pytest.mark.usefixtures("campaign")
def test_letters_list_refusals(refused: Refuse) -> None:
    assert "nobody" in refused("letters", "list", "--case", "nobody")
    assert "no official 'nobody'" in refused("letters", "list", "--official", "nobody")
    assert "bogus" in refused("letters", "list", "--status", "bogus")
    assert "No letters" in ok("letters", "list").stdout


def test_a_run_with_no_appeal_says_how_to_add_one(workspace: Path) -> None:
    said = ok("generate-letters").stdout.splitlines()
    assert said[0].endswith("out/; 0 unchanged, 0 skipped.")
    assert said[1:] == ["No appeal: nothing to write. Add one: importune appeal add CASE OFFICIAL"]
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ")
    said = ok("generate-letters", "--dry-run", "--case", "yusuf-dzhumaev").stdout
    assert "No appeal for the --case or --official given: nothing to write." in said


@pytest.mark.usefixtures("campaign")
def test_a_run_with_appeals_never_says_there_are_none() -> None:
    for args in ((), ("--dry-run",), ("--format", "md", "--dry-run")):
        assert "No appeal" not in ok("generate-letters", *args).stdout


def test_the_workspace_is_needed(refused: Refuse) -> None:
    line = refused("generate-letters")
    assert "no workspace" in line
    assert not Path("importune.db").exists()
    assert os.listdir(".") == []
