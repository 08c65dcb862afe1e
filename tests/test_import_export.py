"""``import`` and ``export``: records in and out of spreadsheets and JSON files.

Import files are written here as an organizer's spreadsheet would write them
(Excel's "CSV UTF-8": a byte-order mark, CRLF line ends, quoted multi-line
cells). An import is all or nothing: each refusal is checked for its one line
naming the file, the row and the column, and for a workspace left byte for byte
as it was. Exports are read back into a fresh workspace and must give the same
records; CSV cells a spreadsheet would run as formulas must come out inert.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import stat
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from conftest import Run

pytestmark = pytest.mark.usefixtures("workspace")

Refused = Callable[..., str]
Sql = Callable[..., list[dict]]


def write_csv(
    path: Path, rows: list[list[str]], *, delimiter: str = ",", excel: bool = True
) -> Path:
    """A CSV file as a spreadsheet saves it: BOM and CRLF when ``excel``."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n" if excel else "\n").writerows(
        rows
    )
    path.write_bytes(("\ufeff" if excel else "").encode() + buffer.getvalue().encode("utf-8"))
    return path


def as_json(ok: Run, *args: str) -> Any:
    return json.loads(ok(*args, "--json").stdout)


def count(sql: Sql, table: str) -> int:
    return sql(f"SELECT count(*) AS n FROM {table}")[0]["n"]


# -- import: what is read ----------------------------------------------------------------------


def test_a_csv_as_excel_saves_it(ok: Run, tmp_path: Path) -> None:
    write_csv(tmp_path / "cases.csv", [
        ["name", "native_name", "country", "detained_on", "summary", "sources"],
        ["Yusuf Dzhumaev", "Юсуф Джумаев", "Uzbekistan", "2001-10-23",
         "A poet from Karakul.\r\nHeld for his poems.", "https://example.org/a\r\nhttps://example.org/b"],
        ["Narges Mohammadi", "نرگس محمدی", "Iran", "2021-11-16", "", ""],
    ])  # fmt: skip
    result = ok("import", "cases", "cases.csv")
    assert "Imported 2 cases" in result.stdout
    yusuf, narges = as_json(ok, "case", "list")
    assert yusuf["slug"] == "yusuf-dzhumaev" and yusuf["native_name"] == "Юсуф Джумаев"
    assert yusuf["country"] == "UZ" and narges["country"] == "IR"
    assert narges["native_name"] == "نرگس محمدی"
    shown = as_json(ok, "case", "show", "yusuf-dzhumaev")
    assert shown["summary"] == "A poet from Karakul.\nHeld for his poems."
    assert shown["sources"] == "https://example.org/a\nhttps://example.org/b"
    assert narges["status"] == "detained"  # absent status: the default
    assert as_json(ok, "case", "show", "narges-mohammadi")["summary"] is None


def test_a_csv_with_semicolons_as_european_spreadsheets_save_it(ok: Run, tmp_path: Path) -> None:
    write_csv(tmp_path / "members.csv", [
        ["name", "address", "email"],
        ["Anna Schmidt", "Hauptstraße 5, Hinterhaus\n10115 Berlin", "anna@example.de"],
    ], delimiter=";")  # fmt: skip
    ok("import", "members", "members.csv")
    anna = as_json(ok, "member", "show", "anna-schmidt")
    assert anna["address"] == "Hauptstraße 5, Hinterhaus\n10115 Berlin"


def test_headings_as_people_write_them_name_the_columns(ok: Run, tmp_path: Path) -> None:
    """A spreadsheet's own headings ("Name", "Detained on", "E-mail") are its columns."""
    write_csv(tmp_path / "cases.csv", [
        ["Name", " Native Name ", "COUNTRY", "Detained on", "Prison"],
        ["Yusuf Dzhumaev", "Юсуф Джумаев", "UZ", "2001-10-23", "Jaslyk"],
    ])  # fmt: skip
    ok("import", "cases", "cases.csv")
    yusuf = as_json(ok, "case", "show", "yusuf-dzhumaev")
    assert (yusuf["native_name"], yusuf["detained_on"], yusuf["prison"]) == (
        "Юсуф Джумаев", "2001-10-23", "Jaslyk"
    )
    write_csv(tmp_path / "members.csv", [["Name", "E-mail"], ["Anna Schmidt", "anna@example.de"]])
    ok("import", "members", "members.csv")
    assert as_json(ok, "member", "show", "anna-schmidt")["email"] == "anna@example.de"


def test_a_tsv_of_officials(ok: Run, tmp_path: Path) -> None:
    write_csv(tmp_path / "officials.tsv", [
        ["name", "slug", "title", "country", "address", "language", "fax"],
        ["Нигматилла Юлдашев", "prosecutor-general", "Генеральный прокурор", "UZ",
         "ул. Гулямова, 66\nТашкент 100047", "ru", "+998 71 133 39 17"],
    ], delimiter="\t", excel=False)  # fmt: skip
    ok("import", "officials", "officials.tsv")
    official = as_json(ok, "official", "show", "prosecutor-general")
    assert official["address"] == "ул. Гулямова, 66\nТашкент 100047"
    assert official["fax"] == "+998 71 133 39 17"


def test_a_json_array_and_json_lines(ok: Run, tmp_path: Path) -> None:
    members = [
        {"name": "Ольга Петрова", "address": "ul. Lenina 1\nMoscow 101000", "language": "ru"},
        {"name": "Anna Schmidt", "email": "anna@example.de", "address": None},
    ]
    (tmp_path / "members.json").write_text(json.dumps(members, ensure_ascii=False), "utf-8")
    ok("import", "members", "members.json")
    cases = [
        {"name": "Yusuf Dzhumaev", "country": "UZ", "sources": ["https://a.example", "https://b.example"]},
        {"name": "Zhang Zhan", "country": "China", "slug": "zhang-zhan", "status": "released",
         "detained_on": "2020-05-14", "released_on": "2024-05-13"},
    ]  # fmt: skip
    lines = "\n".join(json.dumps(c, ensure_ascii=False) for c in cases)
    (tmp_path / "cases.jsonl").write_text(f"\n{lines}\n\n", "utf-8")
    ok("import", "cases", "cases.jsonl")
    assert [m["slug"] for m in as_json(ok, "member", "list")] == ["olga-petrova", "anna-schmidt"]
    assert as_json(ok, "member", "show", "anna-schmidt")["address"] is None
    yusuf = as_json(ok, "case", "show", "yusuf-dzhumaev")
    assert yusuf["sources"] == "https://a.example\nhttps://b.example"
    zhang = as_json(ok, "case", "show", "zhang-zhan")
    assert (zhang["country"], zhang["status"], zhang["released_on"]) == (
        "CN",
        "released",
        "2024-05-13",
    )


def test_appeals_name_their_case_and_official_by_slug_or_id(
    ok: Run, tmp_path: Path, sql: Sql
) -> None:
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ")
    ok("official", "add", "Prosecutor General", "--country", "UZ", "--address", "Tashkent")
    ok("official", "add", "Ambassador", "--country", "US", "--address", "Washington, DC")
    write_csv(tmp_path / "appeals.csv", [
        ["case", "official", "template", "language", "until", "active"],
        ["yusuf-dzhumaev", "prosecutor-general", "", "ru", "", ""],
        ["1", "2", "thanks", "", "2030-12-31", "no"],
    ])  # fmt: skip
    ok("import", "appeals", "appeals.csv")
    assert as_json(ok, "appeal", "list") == [
        {"id": 2, "case": "yusuf-dzhumaev", "official": "ambassador", "template": "thanks",
         "language": None, "until": "2030-12-31", "active": False},
        {"id": 1, "case": "yusuf-dzhumaev", "official": "prosecutor-general",
         "template": "concern", "language": "ru", "until": None, "active": True},
    ]  # fmt: skip
    assert count(sql, "appeals") == 2


# -- import: what is refused, and that nothing changes -------------------------------------------

GOOD = ["Yusuf Dzhumaev", "UZ", "2001-10-23"]
HEADER = ["name", "country", "detained_on"]

REFUSALS: list[tuple[str, list[list[str]], list[str]]] = [
    ("unknown column", [["name", "country", "prison_name"], ["Yusuf", "UZ", "Jaslyk"]],
     ["row 2", "column 'prison_name'", "unknown column"]),
    ("empty name", [HEADER, GOOD, ["", "UZ", ""]], ["row 3", "column 'name'", "name is empty"]),
    ("blank name", [HEADER, GOOD, ["   ", "UZ", ""]], ["row 3", "column 'name'", "name is empty"]),
    ("bad date", [HEADER, GOOD, ["Ali Karimov", "UZ", "10/11/2001"]],
     ["row 3", "column 'detained_on'", "YYYY-MM-DD"]),
    ("unknown country", [HEADER, ["Ali Karimov", "Narnia", ""]],
     ["row 2", "column 'country'", "'Narnia' is not a country code or English name"]),
    ("duplicate inside the file", [HEADER, GOOD, ["Ali Karimov", "UZ", ""], GOOD],
     ["row 4", "column 'name'", "'yusuf-dzhumaev' appears twice (also row 2)"]),
    ("duplicate slug inside the file",
     [[*HEADER, "slug"], [*GOOD, "yusuf"], ["Ali", "UZ", "", "yusuf"]],
     ["row 3", "column 'slug'", "'yusuf' appears twice"]),
    ("slug with a slash", [[*HEADER, "slug"], [*GOOD, "cases/yusuf"]],
     ["row 2", "column 'slug'", "is not a slug"]),
    ("slug with dots", [[*HEADER, "slug"], [*GOOD, ".."]],
     ["row 2", "column 'slug'", "is not a slug"]),
    ("mojibake", [HEADER, ["JosÃ© MartÃ\xad", "CU", ""]],
     ["row 2", "column 'name'", "garbled", "José Martí"]),
    ("Cyrillic mojibake", [["name", "native_name", "country"], ["Olga", "ÐžÐ»ÑŒÐ³Ð°", "RU"]],
     ["row 2", "column 'native_name'", "garbled", "Ольга"]),
    ("too many cells", [HEADER, [*GOOD, "extra"]], ["row 2", "4 cells but 3 columns"]),
    ("a column twice", [["name", "country", "name"], ["A", "UZ", "B"]],
     ["row 1", "'name' appears twice"]),
    ("a column twice, headed two ways", [["Name", "country", "name"], ["A", "UZ", "B"]],
     ["row 1", "'name' appears twice"]),
    ("an unknown heading, named as typed", [["Name", "Country", "Phone"], ["A", "UZ", "1"]],
     ["row 2", "column 'Phone'", "unknown column 'Phone'"]),
    ("header only", [HEADER], ["holds no records"]),
    ("a control character", [HEADER, ["Yusuf\x00", "UZ", ""]],
     ["row 2", "column 'name'", "control"]),
]  # fmt: skip


@pytest.mark.parametrize(("rows", "says"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_a_bad_csv_is_refused_naming_file_row_and_column(
    ok: Run, refused: Refused, sql: Sql, tmp_path: Path, rows: list[list[str]], says: list[str]
) -> None:
    write_csv(tmp_path / "cases.csv", rows)
    line = refused("import", "cases", "cases.csv")
    assert line.startswith("cases.csv")
    for part in says:
        assert part in line
    assert count(sql, "cases") == 0


def test_a_duplicate_of_a_case_already_there_is_refused(
    ok: Run, refused: Refused, sql: Sql, tmp_path: Path
) -> None:
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ", "--prison", "Jaslyk")
    write_csv(tmp_path / "cases.csv", [HEADER, ["Ali Karimov", "UZ", ""], GOOD])
    line = refused("import", "cases", "cases.csv")
    assert "cases.csv, row 3, column 'name'" in line
    assert "case slug 'yusuf-dzhumaev' already exists" in line
    # A file imported again names the command that changes the case already there.
    assert "(to change that case: importune case edit yusuf-dzhumaev)" in line
    assert line.endswith("give this one a slug of its own (a slug column)")
    assert sql("SELECT slug, prison FROM cases") == [{"slug": "yusuf-dzhumaev", "prison": "Jaslyk"}]
    write_csv(tmp_path / "one.csv", [HEADER, ["Ali Karimov", "UZ", ""]])
    assert ok("import", "cases", "one.csv").stdout.startswith("Imported 1 case from one.csv.")


def test_one_bad_row_in_a_thousand_imports_nothing(
    ok: Run, refused: Refused, sql: Sql, tmp_path: Path
) -> None:
    rows = [HEADER] + [[f"Prisoner {n}", "UZ", "2001-10-23"] for n in range(1, 1001)]
    rows[500][2] = "23.10.2001"  # the 500th case, on row 501 after the header
    write_csv(tmp_path / "cases.csv", rows)
    line = refused("import", "cases", "cases.csv")
    assert "cases.csv, row 501, column 'detained_on'" in line
    assert count(sql, "cases") == 0
    rows[500][2] = "2001-10-23"
    write_csv(tmp_path / "cases.csv", rows)
    ok("import", "cases", "cases.csv")
    assert count(sql, "cases") == 1000


def test_a_latin_1_file_is_refused_not_guessed(refused: Refused, sql: Sql, tmp_path: Path) -> None:
    (tmp_path / "cases.csv").write_bytes("name,country\r\nJosé Martí,CU\r\n".encode("latin-1"))
    line = refused("import", "cases", "cases.csv")
    assert line.startswith("cases.csv: not UTF-8")
    assert "0xE9" in line and "line 2" in line and "UTF-8" in line
    assert count(sql, "cases") == 0


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("cases.json", '[{"name": "Yusuf", "country": "UZ"},]', ["not valid JSON", "line 1"]),
        ("cases.json", '{"name": "Yusuf", "country": "UZ"}', ["JSON array of objects"]),
        ("cases.json", '["Yusuf"]', ["record 1", "not an object"]),
        ("cases.json", '[{"name": "Yusuf", "country": {"code": "UZ"}}]',
         ["record 1", "column 'country'", "must be text"]),
        ("cases.json", '[{"name": "Yusuf", "country": "UZ", "detained_on": true}]',
         ["record 1", "column 'detained_on'", "must be text"]),
        ("cases.json", "[]", ["holds no records"]),
        ("cases.jsonl", '{"name": "A", "country": "UZ"}\n\n{"name": "B", "country": UZ}\n',
         ["line 3", "not valid JSON"]),
        ("cases.jsonl", '{"name": "A", "country": "UZ"}\n{"name": "A", "country": "UZ"}\n',
         ["line 2", "column 'name'", "appears twice (also line 1)"]),
        ("cases.jsonl", '{"nome": "A", "country": "UZ"}\n', ["line 1", "column 'nome'", "unknown"]),
        ("cases.xlsx", "PK", ["cannot import .xlsx", ".csv"]),
    ],
)  # fmt: skip
def test_a_bad_json_file_is_refused_naming_where(
    refused: Refused, sql: Sql, tmp_path: Path, name: str, text: str, says: list[str]
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    line = refused("import", "cases", name)
    assert line.startswith(name)
    for part in says:
        assert part in line
    assert count(sql, "cases") == 0


def test_a_missing_file_is_refused(refused: Refused) -> None:
    assert refused("import", "cases", "nowhere.csv") == "nowhere.csv: no such file"


@pytest.mark.parametrize(
    ("row", "says"),
    [
        (["nobody", "prosecutor-general"], "row 3, column 'case': no case 'nobody'"),
        (["yusuf-dzhumaev", "99"], "row 3, column 'official': no official '99'"),
        (["yusuf-dzhumaev", "prosecutor-general", "../../etc/passwd"], "column 'template'"),
    ],
)
def test_appeals_to_records_that_are_not_there_are_refused(
    ok: Run, refused: Refused, sql: Sql, tmp_path: Path, row: list[str], says: str
) -> None:
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ")
    ok("official", "add", "Prosecutor General", "--country", "UZ", "--address", "Tashkent")
    header = ["case", "official", "template"][: len(row)]
    write_csv(
        tmp_path / "appeals.csv",
        [header, ["yusuf-dzhumaev", "prosecutor-general"][: len(row)], row],
    )
    assert says in refused("import", "appeals", "appeals.csv")
    assert count(sql, "appeals") == 0


def test_an_appeal_twice_in_a_file_is_refused(
    ok: Run, refused: Refused, sql: Sql, tmp_path: Path
) -> None:
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ")
    ok("official", "add", "Prosecutor General", "--country", "UZ", "--address", "Tashkent")
    write_csv(tmp_path / "appeals.csv", [["case", "official"], ["1", "1"], ["yusuf-dzhumaev", "1"]])
    assert "row 3" in refused("import", "appeals", "appeals.csv")
    assert count(sql, "appeals") == 0


# -- export ----------------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+1", "-2", "@x", "'quoted'"]


def fill(ok: Run) -> None:
    """A workspace whose records hold everything that could go wrong in a file."""
    ok("group", "set", "--address", "PO Box 7\nPortland")
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ", "--native-name", "Юсуф Джумаев",
       "--reference", "UA 123/21", "--location", "Karakul, \"Bukhara\" region",
       "--detained-on", "2001-10-23", "--summary", "- arrested at home\n- poems confiscated",
       "--source", "https://example.org/a", "--source", "https://example.org/b",
       "--language", "uz")  # fmt: skip
    ok("case", "add", "Ольга Петрова", "--country", "RU", "--charges", FORMULAS[0])
    ok("case", "edit", "olga-petrova", "--status", "released", "--released-on", "2024-02-01")
    ok("case", "add", "Narges Mohammadi", "--country", "IR", "--native-name", "نرگس محمدی",
       "--reference", FORMULAS[1], "--location", FORMULAS[2], "--prison", FORMULAS[3],
       "--charges", FORMULAS[4])  # fmt: skip
    ok("official", "add", "Нигматилла Юлдашев", "--slug", "prosecutor-general", "--country", "UZ",
       "--address", "ул. Гулямова, 66\nТашкент 100047", "--language", "ru",
       "--fax", "+998 71 133 39 17", "--salutation", "Уважаемый господин, прокурор")  # fmt: skip
    ok("official", "add", "Javlon Vakhabov", "--slug", "ambassador", "--country", "US",
       "--address", "1746 Massachusetts Avenue NW\nWashington, DC 20036",
       "--email", "info@uzbekistan.example")  # fmt: skip
    ok("member", "add", "Anna Schmidt", "--address", "Hauptstraße 5\n10115 Berlin")
    ok("member", "add", "@nna", "--slug", "anna-two", "--email", "=cmd@example.org")
    ok("appeal", "add", "yusuf-dzhumaev", "prosecutor-general", "--language", "ru")
    ok("appeal", "add", "yusuf-dzhumaev", "ambassador", "--until", "2030-12-31")
    ok("appeal", "add", "narges-mohammadi", "ambassador", "--template", "thanks")
    with closing(sqlite3.connect("importune.db")) as conn, conn:  # an appeal paused by hand
        conn.execute("UPDATE appeals SET active = 0 WHERE id = 3")


KINDS = ["cases", "officials", "members", "appeals"]


def everything(ok: Run, db: str | None = None) -> dict[str, Any]:
    pre = ["--db", db] if db else []
    return {kind: json.loads(ok(*pre, "export", kind, "--format", "json").stdout) for kind in KINDS}


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_export_imports_into_a_new_workspace_as_the_same_records(
    ok: Run, tmp_path: Path, fmt: str
) -> None:
    fill(ok)
    for kind in KINDS:
        ok("export", kind, "-o", f"exported/{kind}.{fmt}")
    ok("--db", "copy/importune.db", "init", "copy")
    for kind in KINDS:
        result = ok("--db", "copy/importune.db", "import", kind, f"exported/{kind}.{fmt}")
        assert f"Imported {len(everything(ok)[kind])} {kind}" in result.stdout
    assert everything(ok, "copy/importune.db") == everything(ok)
    shown = [("case", "list"), ("official", "list"), ("member", "list"), ("appeal", "list")]
    for args in shown:
        copy = json.loads(ok("--db", "copy/importune.db", *args, "--json").stdout)
        assert copy == json.loads(ok(*args, "--json").stdout)


def test_csv_cells_that_a_spreadsheet_would_run_are_guarded(ok: Run, tmp_path: Path) -> None:
    fill(ok)
    ok("export", "cases", "-o", "cases.csv")
    data = (tmp_path / "cases.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM: spreadsheets read UTF-8
    assert b"\r\n" in data
    cells = [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    for formula in FORMULAS:
        assert "'" + formula in cells
    narges = as_json(ok, "case", "show", "narges-mohammadi")
    assert [narges[k] for k in ("reference", "location", "prison", "charges")] == FORMULAS[1:]


def test_export_to_stdout_is_the_same_csv_without_a_bom(ok: Run, tmp_path: Path) -> None:
    fill(ok)
    ok("export", "officials", "-o", "officials.csv")
    printed = ok("export", "officials").stdout_bytes.decode("utf-8")
    assert not printed.startswith("\ufeff")
    assert printed == (tmp_path / "officials.csv").read_bytes().decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(printed)))
    assert header == ["name", "title", "organization", "country", "address", "salutation",
                      "email", "fax", "language", "slug"]  # fmt: skip


def test_an_export_file_of_members_is_private(ok: Run, tmp_path: Path) -> None:
    fill(ok)
    ok("export", "members", "-o", "members.csv")
    ok("export", "members", "--format", "json", "-o", "members.json")
    ok("export", "cases", "-o", "cases.json")
    assert stat.S_IMODE((tmp_path / "members.csv").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "members.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "cases.json").stat().st_mode) == 0o644
    members = json.loads((tmp_path / "members.json").read_text(encoding="utf-8"))
    assert members[0] == {"name": "Anna Schmidt", "address": "Hauptstraße 5\n10115 Berlin",
                          "email": None, "language": None, "slug": "anna-schmidt"}  # fmt: skip
    assert "id" not in json.loads((tmp_path / "cases.json").read_text(encoding="utf-8"))[0]


def test_an_empty_workspace_exports_a_header(ok: Run) -> None:
    assert ok("export", "members").stdout_bytes == b"name,address,email,language,slug\r\n"
    assert json.loads(ok("export", "cases", "--format", "json").stdout) == []
