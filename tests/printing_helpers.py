"""What tests/test_print.py, test_pack.py and test_mark_sent.py share: a real workspace
built with the commands an organizer types, and ways to read back what the commands did.

The campaign: two held cases, three officials in three countries (Belarus's president;
Uzbekistan's prosecutor, written to in Russian; an ambassador in Washington), three
appeals, and two members with distinctive names, addresses and e-mails (so that a test
can look for them in a pack's bytes). Each member has three letters, in this order:
ales-bialiatski → aleksandr-lukashenko, yusuf-dzhumaev → ambassador,
yusuf-dzhumaev → prosecutor-general.
"""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, NamedTuple

import pypdf
from typer.testing import CliRunner, Result

from importune.cli import app
from importune.compose import Letter

runner = CliRunner()

MEMBERS = {
    "hedwig-brandauer": {
        "name": "Hedwig Brandauer",
        "address": "9 Orchard Close\nYeovil BA20 1QQ",
        "email": "hedwig.brandauer@example.org",
    },
    "tomasz-wielgosz": {
        "name": "Tomasz Wielgosz",
        "address": "41 Quarry Lane\nSheffield S11 8YA",
        "email": "t.wielgosz@example.net",
    },
}

# The letters of each member, in the order print lays them out, and the country line
# that closes each recipient's address.
ORDER = [
    ("ales-bialiatski", "aleksandr-lukashenko", "BELARUS"),
    ("yusuf-dzhumaev", "ambassador", "UNITED STATES"),
    ("yusuf-dzhumaev", "prosecutor-general", "UZBEKISTAN"),
]


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args))


def ok(*args: str) -> Result:
    result = cli(*args)
    assert result.exit_code == 0, f"{args}: {result.stdout}{result.stderr}"
    return result


def refused(*args: str) -> str:
    """Run a command that must be refused: exit 1, one line on stderr, no traceback."""
    result = cli(*args)
    assert result.exit_code == 1, f"{args}: {result.exit_code} {result.stdout}{result.stderr}"
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def build_workspace(members: tuple[str, ...] = ("hedwig-brandauer", "tomasz-wielgosz")) -> None:
    """The campaign above, in the current folder, through the CLI."""
    ok("init", "--group", "Bristol Letter Group")
    ok("group", "set", "--address", "1 Park Row\nBristol BS1 5LJ", "--email", "group@example.org")
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ", "--detained-on", "2001-10-23",
       "--native-name", "Юсуф Джумаев", "--location", "Karakul")  # fmt: skip
    ok("case", "add", "Ales Bialiatski", "--country", "BY", "--detained-on", "2021-07-14",
       "--location", "Minsk")  # fmt: skip
    ok("official", "add", "Aleksandr Lukashenko", "--country", "BY", "--title", "President",
       "--address", "ul. Karla Marksa 38\n220016 Minsk", "--language", "en")  # fmt: skip
    ok("official", "add", "Prosecutor General of the Republic of Uzbekistan",
       "--slug", "prosecutor-general", "--country", "UZ", "--language", "ru",
       "--address", "ul. Gulyamova 66\nTashkent 100047")  # fmt: skip
    ok("official", "add", "Ambassador of the Republic of Uzbekistan", "--slug", "ambassador",
       "--country", "US", "--address", "1746 Massachusetts Avenue NW\nWashington, DC 20036",
       "--salutation", "Your Excellency")  # fmt: skip
    ok("appeal", "add", "ales-bialiatski", "aleksandr-lukashenko")
    ok("appeal", "add", "yusuf-dzhumaev", "prosecutor-general")
    ok("appeal", "add", "yusuf-dzhumaev", "ambassador")
    for slug in members:
        member = MEMBERS[slug]
        ok("member", "add", member["name"], "--address", member["address"],
           "--email", member["email"])  # fmt: skip


def rows(where: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """The letters table with slugs, as Datasette would show it, by id."""
    with closing(sqlite3.connect(Path.cwd() / "importune.db")) as conn:
        conn.row_factory = sqlite3.Row
        query = (
            "SELECT l.*, c.slug AS case_slug, o.slug AS official_slug, m.slug AS member_slug "
            "FROM letters l JOIN cases c ON c.id = l.case_id "
            "JOIN officials o ON o.id = l.official_id LEFT JOIN members m ON m.id = l.member_id "
            + (f"WHERE {where} " if where else "")
            + "ORDER BY l.id"
        )
        return [dict(row) for row in conn.execute(query, params)]


def snapshot() -> list[tuple[Any, ...]]:
    """Every row of every table, to show a refused command changed nothing."""
    with closing(sqlite3.connect(Path.cwd() / "importune.db")) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [(t, *row) for t in sorted(tables) for row in conn.execute(f"SELECT * FROM [{t}]")]


def execute(sql: str, params: tuple[Any, ...] = ()) -> None:
    with closing(sqlite3.connect(Path.cwd() / "importune.db")) as conn, conn:
        conn.execute(sql, params)


def pdf_pages(path: Path | bytes) -> list[pypdf.PageObject]:
    data = path if isinstance(path, bytes) else Path(path).read_bytes()
    return list(pypdf.PdfReader(io.BytesIO(data)).pages)


def page_text(page: pypdf.PageObject) -> str:
    return page.extract_text()


def size_mm(page: pypdf.PageObject) -> tuple[int, int]:
    """The page's width and height in whole millimetres."""
    box = page.mediabox
    return round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)


def text_lines(page: pypdf.PageObject) -> list[str]:
    return [line.strip() for line in page_text(page).splitlines() if line.strip()]


class Placed(NamedTuple):
    """A run of text where the PDF draws it: its baseline's left end, from the page's top
    left corner in millimetres, and its size in points."""

    text: str
    x: float
    y: float
    size: float


def placed(page: pypdf.PageObject) -> list[Placed]:
    """The page's runs of text (a line each, as Typst writes them), where they stand."""
    height = float(page.mediabox.height)
    runs: list[Placed] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if text.strip():
            x, y = cm[4] + tm[4], cm[5] + tm[5]
            runs.append(Placed(text.strip(), x / 72 * 25.4, (height - y) / 72 * 25.4, size))

    page.extract_text(visitor_text=visit)
    return runs


def sample_letter(n: int) -> Letter:
    """A short letter to "Official n", composed by hand: for laying out many at once."""
    return Letter(
        case={"slug": "c"}, official={"slug": f"o{n}"}, member=None, appeal={}, group={},
        template="concern", language="en", template_path="concern.en.txt.j2",
        date=dt.date(2024, 5, 1), date_text="1 May 2024", subject=f"Letter {n}",
        body="Dear Sir,\n\nPlease.\n\nAnna\n",
        recipient_lines=[f"Official {n}", f"{n} Main Street", "Tashkent", "UZBEKISTAN"],
        sender_lines=["Anna"],
    )  # fmt: skip
