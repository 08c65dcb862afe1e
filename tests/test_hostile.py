"""Hostile input: every one importune has been tried against, listed in one place.

importune reads files, names and templates that other people wrote: a spreadsheet
from a partner group, a pack from an organizer, a template from a forum, a record
edited in Datasette. None of them may reach further than it should. Each hostile
input below has its own test (or parametrised case) that runs the real command and
then asserts the state after it: refused in one line with the workspace unchanged
(the ``refused`` fixture compares every file and the database's rows), nothing
written outside, no secret in the message; or accepted and rendered inert.

Some hostile inputs are tested in the module of the feature they attack; ``ELSEWHERE``
names those tests, and :func:`test_the_hostile_inputs_tested_elsewhere_are_still_there`
checks that they still exist, so this module stays the list of everything tried.
Run ``pytest tests/test_hostile.py -q --co`` to count the inputs tried here.
"""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
import os
import re
import shutil
import sqlite3
import tracemalloc
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from contextlib import closing
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import GROUP, folder_state, invoke

from importune.records import make_slug

Refused = Callable[..., str]
TESTS = Path(__file__).resolve().parent
TEMPLATE = "letters/concern.en.txt.j2"
SECRET = "the-secret-of-elsewhere"


# -- a small campaign, built once and copied into each test's folder -----------------------------


@pytest.fixture(scope="session")
def _built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One held case, one official (with an e-mail), one member, one appeal: one letter a run."""
    base = tmp_path_factory.mktemp("hostile-campaign")
    db, letters = base / "importune.db", base / "letters"

    def do(*args: object) -> None:
        result = invoke("--db", db, "--letters", letters, *args)
        assert result.exit_code == 0, f"{args}: {result.output}"

    do("init", base, "--group", GROUP)
    do("group", "set", "--address", "PO Box 7\nBristol BS1 1AA", "--email", "group@example.org")
    do("case", "add", "Yusuf Dzhumaev", "--country", "UZ", "--native-name", "Юсуф Джумаев",
       "--detained-on", "2001-10-23", "--prison", "Jaslyk",
       "--summary", "An Uzbek poet.")  # fmt: skip
    do("official", "add", "Javlon Vakhabov", "--slug", "ambassador", "--country", "US",
       "--title", "Ambassador", "--email", "info@uzbekistan.example",
       "--address", "1746 Massachusetts Avenue NW\nWashington, DC 20036")  # fmt: skip
    do("member", "add", "Anna Schmidt", "--address", "Hauptstraße 5\n10115 Berlin",
       "--email", "anna@example.org")  # fmt: skip
    do("appeal", "add", "yusuf-dzhumaev", "ambassador")
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return base


@pytest.fixture
def campaign(_built: Path, tmp_path: Path) -> Path:
    """The campaign, in this test's own folder (the current one)."""
    shutil.copytree(_built, tmp_path, dirs_exist_ok=True)
    return tmp_path


@pytest.fixture
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder outside the workspace holding a secret and a template: it must be the same
    after the test."""
    folder = tmp_path_factory.mktemp("elsewhere")
    (folder / "secret.txt").write_text(SECRET, encoding="utf-8")
    (folder / "concern.en.txt.j2").write_text(f"Subject: x\n\n{SECRET}\n", encoding="utf-8")
    before = folder_state(folder)
    yield folder
    assert folder_state(folder) == before, "something was written outside the workspace"


def ok(*args: object, input: str | None = None) -> Any:
    result = invoke(*args, input=input)
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result


def query(sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect("importune.db")) as conn:
        return conn.execute(sql, params).fetchall()


def datasette_edit(sql: str, params: tuple[object, ...] = ()) -> None:
    """A change made outside importune, as in Datasette or the sqlite3 shell: unchecked."""
    with closing(sqlite3.connect("importune.db")) as conn, conn:
        conn.execute(sql, params)


def letter_files(root: str = "out") -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file()) if Path(root).exists() else []


def no_letters_made() -> None:
    assert letter_files() == []
    assert query("SELECT count(*) FROM letters") == [(0,)]


# -- templates reaching for Python internals, or for the machine ---------------------------------

TEMPLATE_ATTACKS = {
    "str-mro": ("{{ ''.__class__.__mro__ }}", "Python internals"),
    "cycler-globals": ("{{ cycler.__init__.__globals__ }}", "Python internals"),
    "joiner-os": ("{{ joiner.__init__.__globals__.os }}", "Python internals"),
    "namespace-globals": ("{{ namespace.__init__.__globals__ }}", "Python internals"),
    "self-globals": ("{{ self.__init__.__globals__ }}", "Python internals"),
    "loop-class": ("{% for i in range(2) %}{{ loop.__class__ }}{% endfor %}", "Python internals"),
    "subclasses": ("{{ ().__class__.__base__.__subclasses__() }}", "Python internals"),
    "attr-filter": ("{{ case|attr('__class__') }}", "Python internals"),
    "subscript": ("{{ case['__class__'] }}", "Python internals"),
    "str-format": ("{{ '{0.__class__}'.format(case) }}", "Python internals"),
    "format-filter": ("{{ '%s'|format(case.__class__) }}", "Python internals"),
    "private-field": ("{{ case._private }}", "has no field '_private'"),
    "private-attribute": ("{{ case.name._formatter_parser }}", "_formatter_parser"),
    "dict-mutation": ("{{ case.update({'name': 'x'}) }}", "refused"),
    "dict-pop": ("{{ case.pop('name') }}", "refused"),
    "range-1e9": ("{{ range(10**9)|list|length }}", "Range too big"),
    "repeat-1e6": ("{{ 'x' * 10**6 }}", "more than a letter needs"),
    "exponent-1000": ("{{ 10**1000 }}", "too large"),
    "flask-globals": ("{{ config }}", "'config' is not defined"),
    "include-absolute": ('{% include "/etc/passwd" %}', "line 4"),
    "include-database": ('{% include "../importune.db" %}', "line 4"),
    "import-module": ('{% import "os" as os %}{{ os.system }}', "line 4"),
}


@pytest.mark.parametrize("attack", list(TEMPLATE_ATTACKS))
def test_a_template_reaching_for_internals_is_refused_and_nothing_is_made(
    campaign: Path, refused: Refused, attack: str
) -> None:
    code, says = TEMPLATE_ATTACKS[attack]
    Path(TEMPLATE).write_text(f"Subject: A letter\n\nDear,\n{code}\n", encoding="utf-8")
    line = refused("generate-letters")
    assert line.startswith(f"{TEMPLATE}, line 4: "), line
    assert says in line
    assert "root:" not in line and "SQLite format" not in line  # nothing read out of a file
    no_letters_made()
    assert query("SELECT name FROM cases") == [("Yusuf Dzhumaev",)]


def test_a_case_folder_of_templates_symlinked_outside_is_refused(
    campaign: Path, refused: Refused, elsewhere: Path
) -> None:
    Path("letters/cases").mkdir(exist_ok=True)
    Path("letters/cases/yusuf-dzhumaev").symlink_to(elsewhere, target_is_directory=True)
    line = refused("generate-letters")
    assert "leads outside letters/" in line
    no_letters_made()


# -- names of files and folders that climb out ---------------------------------------------------


@pytest.mark.parametrize("name", ["/etc/passwd", "..", ".", "cases/../../x", "concern/..", "~"])
def test_a_template_option_that_climbs_out_is_refused(
    campaign: Path, refused: Refused, name: str
) -> None:
    assert "is not a template name" in refused("generate-letters", "--template", name)
    no_letters_made()


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_out_outside_the_workspace_gets_the_letters_and_nothing_else(
    campaign: Path, tmp_path_factory: pytest.TempPathFactory, where: str
) -> None:
    """``--out`` is the person's own choice, wherever it is: the letters go under it,
    exactly where the table says, and nowhere else (a slug never climbs out of it)."""
    target = tmp_path_factory.mktemp("letters-elsewhere") / "out"
    given = os.path.relpath(target) if where == "relative" else str(target)
    assert given.startswith("..") == (where == "relative")
    ok("generate-letters", "--out", given)
    made = letter_files(str(target))
    assert [p.relative_to(target).as_posix() for p in made] == [
        "yusuf-dzhumaev/ambassador--anna-schmidt.txt"
    ]
    (path,) = query("SELECT path FROM letters")[0]
    assert Path(path).is_absolute() and Path(path).resolve() == made[0].resolve()
    assert not Path("out").exists()


@pytest.mark.parametrize(
    ("suffix", "body"),
    [
        (".csv", "name,country,slug\r\nYusuf Other,UZ,../evil\r\n"),
        (".json", json.dumps([{"name": "Yusuf Other", "country": "UZ", "slug": "/etc"}])),
        (".jsonl", json.dumps({"name": "Yusuf Other", "country": "UZ", "slug": "a/../../b"})),
        (".tsv", "name\tcountry\tslug\nYusuf Other\tUZ\t..\\evil\n"),
    ],
)
def test_a_slug_that_climbs_out_in_an_import_file_is_refused(
    campaign: Path, refused: Refused, tmp_path_factory: pytest.TempPathFactory, suffix: str,
    body: str,
) -> None:  # fmt: skip
    path = tmp_path_factory.mktemp("import") / f"cases{suffix}"
    path.write_text(body, encoding="utf-8")
    line = refused("import", "cases", path)
    assert "column 'slug'" in line and "is not a slug" in line
    assert query("SELECT slug FROM cases") == [("yusuf-dzhumaev",)]


def test_a_case_slug_edited_outside_importune_cannot_climb_out(
    campaign: Path, refused: Refused, elsewhere: Path
) -> None:
    datasette_edit("UPDATE cases SET slug = ?", (f"../../{elsewhere.name}",))
    line = refused("generate-letters")
    assert "cannot name a folder" in line or "is not a slug" in line
    no_letters_made()


def test_a_symlink_in_place_of_a_letter_is_replaced_not_written_through(
    campaign: Path, elsewhere: Path
) -> None:
    Path("out/yusuf-dzhumaev").mkdir(parents=True)
    letter = Path("out/yusuf-dzhumaev/ambassador--anna-schmidt.txt")
    letter.symlink_to(elsewhere / "secret.txt")
    ok("generate-letters")
    assert not letter.is_symlink()
    assert "Yusuf Dzhumaev" in letter.read_text(encoding="utf-8")
    (sha,) = query("SELECT sha256 FROM letters")[0]
    assert len(sha) == 64
    # ``elsewhere`` checks on teardown that secret.txt still holds only the secret.


def test_a_symlink_in_place_of_a_staged_letter_is_swept_not_written_through(
    campaign: Path, elsewhere: Path
) -> None:
    from importune.generate import TEMP_SUFFIX

    Path("out/yusuf-dzhumaev").mkdir(parents=True)
    staged = Path(f"out/yusuf-dzhumaev/ambassador--anna-schmidt.txt{TEMP_SUFFIX}")
    staged.symlink_to(elsewhere / "secret.txt")
    ok("generate-letters")
    assert not staged.exists() and not staged.is_symlink()
    assert [p.name for p in letter_files()] == ["ambassador--anna-schmidt.txt"]


def test_a_symlink_in_place_of_a_staged_pdf_is_not_written_through(
    campaign: Path, elsewhere: Path
) -> None:
    from importune.printing import TEMP_SUFFIX

    ok("generate-letters")
    Path("out/print").mkdir()
    staged = Path(f"out/print/.anna-schmidt.pdf{TEMP_SUFFIX}")
    staged.symlink_to(elsewhere / "secret.txt")
    ok("print")
    assert Path("out/print/anna-schmidt.pdf").read_bytes().startswith(b"%PDF")
    assert not staged.exists() and not staged.is_symlink()


# -- e-mail headers --------------------------------------------------------------------------

BREAKS = {"LF": "\n", "CR": "\r", "CRLF": "\r\n", "LS": "\u2028", "PS": "\u2029", "NEL": "\x85"}


@pytest.mark.parametrize("brk", list(BREAKS))
@pytest.mark.parametrize(
    "command",
    [
        ["official", "add", "Evil{}Bcc: x@evil.example", "--country", "US", "--address", "x"],
        ["official", "edit", "ambassador", "--email", "info@uzbekistan.example{}Bcc: x@evil.ex"],
        ["member", "add", "Mal{}Cc: y@evil.example"],
        ["member", "edit", "anna-schmidt", "--email", "anna@example.org{}Bcc: z@evil.example"],
        ["group", "set", "--name", "Group{}Bcc: g@evil.example"],
        ["case", "edit", "yusuf-dzhumaev", "--name", "Yusuf{}Bcc: s@evil.example"],
    ],
    ids=["official-name", "official-email", "member-name", "member-email", "group", "subject"],
)
def test_a_line_break_in_a_header_field_is_refused(
    campaign: Path, refused: Refused, command: list[str], brk: str
) -> None:
    line = refused(*[part.replace("{}", BREAKS[brk]) for part in command])
    assert "must be one line" in line or "control character" in line or "e-mail" in line


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("officials", "name", "Evil\nBcc: x@evil.example"),
        ("officials", "name", "Evil\r\nBcc: x@evil.example"),
        ("officials", "name", "Evil\u2028Bcc: x@evil.example\x85Cc: y@evil.example"),
        ("members", "name", "Mal\r\nCc: y@evil.example\r\n\r\nA body of my own"),
        ("cases", "name", "Yusuf\nBcc: s@evil.example"),
        ("settings", "value", "Group\nBcc: g@evil.example"),
    ],
    ids=["official-LF", "official-CRLF", "official-LS-NEL", "member-body", "subject", "group"],
)
def test_names_edited_outside_importune_cannot_add_a_header_to_an_eml(
    campaign: Path, table: str, column: str, value: str
) -> None:
    """A name can also reach the letter unchecked (Datasette): the message still has
    exactly its own headers, one recipient, and the name stays inside its header."""
    datasette_edit(
        f"UPDATE {table} SET {column} = ?" + (" WHERE key = 'group.name'" if table == "settings"
                                             else ""),
        (value,),
    )  # fmt: skip
    ok("generate-letters", "--format", "eml")
    (path,) = letter_files()
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert set(message.keys()) == {
        "To", "From", "Subject", "Date", "Message-ID", "Content-Language", "X-Unsent",
        "Content-Type", "Content-Transfer-Encoding", "MIME-Version",
    }  # fmt: skip
    assert [a.addr_spec for a in message["To"].addresses] == ["info@uzbekistan.example"]
    assert [a.addr_spec for a in message["From"].addresses] == ["anna@example.org"]
    assert not message.defects


def test_an_email_address_edited_outside_importune_cannot_add_a_recipient(
    campaign: Path, refused: Refused
) -> None:
    datasette_edit("UPDATE officials SET email = 'info@uzbekistan.example\nBcc: z@evil.example'")
    line = refused("generate-letters", "--format", "eml")
    assert "official 'ambassador' has an e-mail address that cannot be used" in line
    no_letters_made()


# -- HTML ------------------------------------------------------------------------------------

SCRIPTS = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "</title><script>alert(1)</script>",
    "{{ 7*7 }}",
]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text += data


def elements(data: str) -> _Elements:
    parser = _Elements()
    parser.feed(data)
    return parser


def assert_inert(page: _Elements, allowed: frozenset[str] = frozenset()) -> None:
    for tag, attrs in page.tags:
        assert tag in allowed or tag not in {"script", "img", "svg", "iframe", "object", "link"}
        assert not [name for name in attrs if name.startswith("on") or name in ("src", "href")]


@pytest.mark.parametrize("script", SCRIPTS)
def test_markup_in_a_name_is_shown_as_text_in_an_html_letter(campaign: Path, script: str) -> None:
    """In every name and line the letter shows: the case's, the official's, the member's."""
    shown = {
        "case": f"Yusuf {script}", "official": f"Javlon {script}", "member": f"Anna {script}",
        "address": f"Box {script}",
    }  # fmt: skip
    ok("case", "edit", "yusuf-dzhumaev", "--name", shown["case"])
    ok("official", "edit", "ambassador", "--name", shown["official"])
    ok("member", "edit", "anna-schmidt", "--name", shown["member"],
       "--address", f"Hauptstraße 5\n{shown['address']}")  # fmt: skip
    ok("generate-letters", "--format", "html")
    (path,) = letter_files()
    page = elements(path.read_text(encoding="utf-8"))
    assert_inert(page)
    for text in shown.values():
        assert text in page.text  # as the person wrote it, and not run
    if "7*7" in script:
        assert "49" not in page.text  # a name is never rendered as a template


@pytest.mark.parametrize("script", SCRIPTS[:3])
def test_markup_in_a_case_name_is_shown_as_text_in_the_html_report(
    campaign: Path, script: str
) -> None:
    ok("report", "--html", "report.html")
    before = elements(Path("report.html").read_text(encoding="utf-8"))
    ok("case", "edit", "yusuf-dzhumaev", "--name", f"Yusuf {script}")
    ok("report", "--html", "report.html")
    page = elements(Path("report.html").read_text(encoding="utf-8"))
    assert_inert(page, allowed=frozenset({"svg"}))  # the report's own charts are SVG
    assert len(page.tags) >= len(before.tags) - 2  # the same page (a long name may wrap)
    assert f"Yusuf {script}"[:20] in page.text


# -- CSV cells a spreadsheet would run -------------------------------------------------------

FORMULA_CELLS = {
    "equals": '=HYPERLINK("http://evil.example","click")',
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
    "quote": "'=1+1",
}


def exported_cells(kind: str) -> list[str]:
    ok("export", kind, "-o", f"{kind}.csv")
    text = Path(f"{kind}.csv").read_bytes().decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


@pytest.mark.parametrize("kind", list(FORMULA_CELLS))
def test_a_cell_a_spreadsheet_would_run_is_exported_inert(campaign: Path, kind: str) -> None:
    """Whatever is in the database (Datasette writes unchecked), the CSV cell starts
    with an apostrophe, so a spreadsheet shows it as text."""
    value = FORMULA_CELLS[kind]
    datasette_edit("UPDATE cases SET charges = ?, location = ?", (value, value))
    datasette_edit("UPDATE members SET address = ?", (value,))
    for table in ("cases", "members"):
        cells = exported_cells(table)
        assert "'" + value in cells
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


@pytest.mark.parametrize("kind", [k for k in FORMULA_CELLS if k != "cr"])
def test_a_guarded_cell_imports_back_as_it_was(
    campaign: Path, kind: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The guard is for spreadsheets only: an export read back in is the same record
    (a carriage return cannot be typed into a field: it becomes a line end)."""
    value = FORMULA_CELLS[kind]
    ok("case", "edit", "yusuf-dzhumaev", "--charges", value)
    exported_cells("cases")
    copy = tmp_path_factory.mktemp("copy")
    ok("--db", copy / "importune.db", "init", copy)
    ok("--db", copy / "importune.db", "import", "cases", "cases.csv")
    shown = json.loads(ok("--db", copy / "importune.db", "case", "show", "yusuf-dzhumaev",
                          "--json").stdout)  # fmt: skip
    assert shown["charges"] == value


# -- a 10 MB summary -------------------------------------------------------------------------

TEN_MB = 10 * 1024 * 1024


def _ten_mb_summary_file(folder: Path, how: str) -> list[object]:
    summary = ("Он писал стихи. " * (TEN_MB // 28))[: TEN_MB // 2]  # 10 MB in UTF-8
    if how == "summary-file":
        (folder / "summary.txt").write_text(summary, encoding="utf-8")
        return ["case", "add", "Ali Karimov", "--country", "UZ",
                "--summary-file", folder / "summary.txt"]  # fmt: skip
    if how == "edit":
        (folder / "summary.txt").write_text(summary, encoding="utf-8")
        return ["case", "edit", "yusuf-dzhumaev", "--summary-file", folder / "summary.txt"]
    if how == "csv":
        with open(folder / "cases.csv", "w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows([["name", "country", "summary"],
                                       ["Ali Karimov", "UZ", summary]])  # fmt: skip
        return ["import", "cases", folder / "cases.csv"]
    record = {"name": "Ali Karimov", "country": "UZ", "summary": summary}
    (folder / "cases.json").write_text(json.dumps([record]), encoding="utf-8")
    return ["import", "cases", folder / "cases.json"]


@pytest.mark.parametrize("how", ["summary-file", "edit", "csv", "json"])
def test_a_ten_megabyte_summary_is_refused_clearly_in_bounded_memory(
    campaign: Path, refused: Refused, tmp_path_factory: pytest.TempPathFactory, how: str
) -> None:
    """A summary is at most 100,000 characters (a long one is ~5,000): a 10 MB one is a
    mistake (a whole book, a binary file) and is refused, without holding many copies."""
    args = _ten_mb_summary_file(tmp_path_factory.mktemp("big"), how)
    tracemalloc.start()
    try:
        line = refused(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "at most 100,000" in line or "field larger than field limit" in line, line
    assert peak < 12 * TEN_MB, f"{peak:,} bytes at peak"
    assert query("SELECT count(*), max(length(summary)) FROM cases") == [(1, 14)]


@pytest.mark.parametrize(
    ("name", "text"),
    [("cases.json", "[" * 100_000 + "]" * 100_000),
     ("cases.jsonl", '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}")],
)  # fmt: skip
def test_json_nested_too_deeply_is_refused_in_one_line(
    campaign: Path, refused: Refused, tmp_path_factory: pytest.TempPathFactory, name: str,
    text: str,
) -> None:  # fmt: skip
    path = tmp_path_factory.mktemp("deep") / name
    path.write_text(text, encoding="utf-8")
    assert "nested too deeply" in refused("import", "cases", path)


def test_an_import_file_too_large_to_be_records_is_refused_unread(
    campaign: Path, refused: Refused, tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from importune import transfer

    monkeypatch.setattr(transfer, "IMPORT_MAX_BYTES", 1024)
    path = tmp_path_factory.mktemp("large") / "cases.csv"
    path.write_text("name,country\n" + "Ali Karimov,UZ\n" * 100, encoding="utf-8")
    assert "larger than" in refused("import", "cases", path)


# -- one name, two Unicode forms -------------------------------------------------------------


def nfd(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text
    return decomposed


@pytest.mark.parametrize("name", ["José Martí", "Zoë Brontë", "Nguyễn Văn Đài", "한국인"])
def test_a_name_typed_decomposed_is_the_same_person_in_an_import(
    campaign: Path, refused: Refused, tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    ok("member", "add", name)
    folder = tmp_path_factory.mktemp("nfd")
    row = f"{nfd(name)},{nfd('Kölner Straße 1')}"
    (folder / "members.csv").write_text(f"name,address\n{row}\n", encoding="utf-8")
    assert "already exists" in refused("import", "members", folder / "members.csv")
    both = folder / "both.json"
    other = f"Ünal {name}"  # a new name, in its two forms in one file
    both.write_text(json.dumps([{"name": nfd(other)}, {"name": other}]), encoding="utf-8")
    assert "appears twice" in refused("import", "members", both)
    names = [n for (n,) in query("SELECT name FROM members")]
    assert names.count(name) == 1 and len(names) == 2


def test_every_field_typed_decomposed_is_stored_composed(campaign: Path) -> None:
    ok("official", "add", nfd("Rüstəm Əliyev"), "--country", "AZ", "--address",
       nfd("Üzeyir Hacıbəyov küç. 1\nBakı"), "--title", nfd("Baş prokuror"))  # fmt: skip
    ok("case", "edit", "yusuf-dzhumaev", "--summary", nfd("Poète ouzbek, arrêté."))
    ok("group", "set", "--name", nfd("Groupe Liberté"))
    for (text,) in query(
        "SELECT name || title || address FROM officials WHERE country = 'AZ' "
        "UNION ALL SELECT summary FROM cases UNION ALL SELECT value FROM settings"
    ):
        assert text == unicodedata.normalize("NFC", text)
    slug = make_slug(unicodedata.normalize("NFC", "Rüstəm Əliyev"))
    assert query("SELECT slug FROM officials WHERE country = 'AZ'") == [(slug,)]


def test_a_search_typed_decomposed_finds_the_composed_name(campaign: Path) -> None:
    ok("case", "add", "José Martí", "--country", "CU")
    found = json.loads(ok("search", nfd("José"), "--json").stdout)
    assert [row["slug"] for row in found] == ["jose-marti"]


# -- packs: paths and records that climb out -------------------------------------------------


@pytest.fixture
def pack(campaign: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("pack") / "campaign.zip"
    ok("pack", "export", target)
    return target


def forged(pack: Path, change: dict[str, bytes], extra: zipfile.ZipInfo | None = None) -> Path:
    """The pack with entries replaced or added."""
    with zipfile.ZipFile(pack) as old:
        entries = {name: old.read(name) for name in old.namelist()}
    target = pack.with_name("forged.zip")
    with zipfile.ZipFile(target, "w") as new:
        for name, data in {**entries, **change}.items():
            new.writestr(name, data)
        if extra is not None:
            new.writestr(extra, SECRET)
    return target


def pack_refusal(path: Path, refused: Refused, member_home: Path) -> str:
    """``print --pack`` in a member's empty folder: refused, and nothing written there."""
    os.chdir(member_home)
    line = refused("print", "--pack", path, "--as", "Olga Petrova")
    assert list(member_home.iterdir()) == []
    return line


@pytest.mark.parametrize(
    "name",
    ["C:/evil.j2", "C:evil.j2", "letters/./concern.en.txt.j2", "letters//evil.j2",
     "letters/cases/../../../evil.j2"],
)  # fmt: skip
def test_a_pack_path_that_names_another_place_is_refused(
    pack: Path, refused: Refused, tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    home = tmp_path_factory.mktemp("home")
    path = forged(pack, {name: b"Subject: x\n\nowned\n"})
    assert "holds a path outside its folder" in pack_refusal(path, refused, home)
    assert not list(home.parent.rglob("evil.j2"))


def test_a_symlinked_folder_entry_in_a_pack_is_refused(
    pack: Path, refused: Refused, tmp_path_factory: pytest.TempPathFactory
) -> None:
    link = zipfile.ZipInfo("letters/cases")
    link.external_attr = 0o120777 << 16
    path = forged(pack, {}, extra=link)
    home = tmp_path_factory.mktemp("home")
    assert "holds a symbolic link" in pack_refusal(path, refused, home)


@pytest.mark.parametrize(
    ("document", "slug"),
    [("cases.json", "../../evil"), ("cases.json", "/etc"), ("officials.json", "a/b"),
     ("cases.json", "yusuf-dzhumaev\n")],
)
def test_a_pack_record_whose_slug_climbs_out_is_refused(
    pack: Path, refused: Refused, tmp_path_factory: pytest.TempPathFactory, document: str,
    slug: str,
) -> None:  # fmt: skip
    with zipfile.ZipFile(pack) as archive:
        rows = json.loads(archive.read(document))
    rows[0]["slug"] = slug
    path = forged(pack, {document: json.dumps(rows).encode()})
    home = tmp_path_factory.mktemp("home")
    assert f"slug {slug!r} is not a slug" in pack_refusal(path, refused, home)


# -- hostile inputs tested beside the feature they attack -------------------------------------

ELSEWHERE: dict[str, list[str]] = {
    # test (file::function): the hostile inputs it tries
    "test_compose.py::test_reaching_for_python_internals_is_refused": [
        "case.__class__.__mro__", "''.__class__", "lipsum.__globals__", "cycler.__init__",
    ],
    "test_compose.py::test_mutating_records_is_refused": ["case.update()"],
    "test_compose.py::test_a_template_that_would_fill_the_memory_is_refused": ["'x' * 1e8"],
    "test_compose.py::test_template_names_that_could_climb_out_are_refused": [
        "../concern", "/etc/passwd", "cases/../../x", "Concern", "(empty)",
    ],
    "test_compose.py::test_languages_and_case_slugs_that_could_climb_out_are_refused": [
        "language ../en", "case slug ../../etc",
    ],
    "test_compose.py::test_a_symlink_leading_outside_the_folder_is_refused": ["symlinked template"],
    "test_compose.py::test_an_include_cannot_climb_out_either": [
        "include ../secret.txt", "include of a symlink",
    ],
    "test_compose.py::test_render_named_refuses_paths_outside_the_folder": [
        "../letters/x", "/etc/passwd.j2", "cases/../x",
    ],
    "test_generate.py::test_a_template_outside_letters_is_refused": [
        "--template ../../etc/passwd", "--template x/y",
    ],
    "test_records_cli.py::test_case_add_refusals": [
        "--slug a/b", "--slug ..", "--slug ../../etc", "--native-name two lines",
        "--prison BEL",
    ],
    "test_records_cli.py::test_the_same_name_typed_decomposed_is_the_same_case": ["NFD case"],
    "test_records_cli.py::test_a_name_typed_decomposed_is_stored_composed": ["NFD member"],
    "test_formats.py::test_eml_names_cannot_inject_headers": ["LF/CRLF in To, From, Subject"],
    "test_formats.py::test_html_shows_a_script_in_a_name_as_text": ["<script> in a name"],
    "test_formats.py::test_md_prints_names_as_written": ["Markdown syntax in a name (15)"],
    "test_import_export.py::test_csv_cells_that_a_spreadsheet_would_run_are_guarded": [
        "=HYPERLINK", "+1", "-2", "@x", "'quoted",
    ],
    "test_pack.py::test_a_path_that_climbs_out_is_refused": [
        "letters/../../evil.j2", "../evil.j2", "/tmp/evil.j2", "letters/..\\evil.j2",
    ],
    "test_pack.py::test_a_symlink_in_a_pack_is_refused": ["symlink entry"],
    "test_pack.py::test_a_huge_entry_is_refused": ["oversized entry"],
    "test_pack.py::test_an_entry_that_lies_about_its_size_is_refused": ["zip bomb"],
    "test_pack.py::test_a_template_in_a_pack_cannot_reach_python_internals": ["pack template"],
    "test_pack.py::test_pack_never_follows_a_symlink_out_of_letters": ["symlink in letters/"],
}


def test_the_hostile_inputs_tested_elsewhere_are_still_there() -> None:
    """The list above is only worth something while every test it names exists."""
    for reference in ELSEWHERE:
        module, function = reference.split("::")
        text = (TESTS / module).read_text(encoding="utf-8")
        gone = f"{reference} is gone: update ELSEWHERE"
        assert re.search(rf"^def {function}\(", text, re.M), gone
