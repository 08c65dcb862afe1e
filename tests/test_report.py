"""``importune report``: the figures, as a table, as JSON, and as one HTML page.

The figures are checked on a workspace whose answers are known by hand: a case held
from 2001-10-23 to 2011-12-29 (3,719 days), one held for 100 days to today, one
with no date of detention. Letters are made by the real ``generate-letters`` in two
formats, printed by the real ``print`` and marked by the real ``mark-sent``, so a
letter in two formats must count once. The HTML page is parsed: one bar per case
held, a mark per event, no script, nothing fetched, every name escaped.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import Run, invoke, rows

TODAY = dt.date.today()
HELD_SINCE = (TODAY - dt.timedelta(days=100)).isoformat()


@pytest.fixture(scope="module")
def built_campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three cases, two officials, two members; six letters in two formats (twelve rows).

    yusuf-dzhumaev: appealed to both officials (one appeal then paused), 4 letters:
    member-one's 2 printed, member-two's 2 sent; released 2011-12-29.
    held-today: one appeal, 2 letters, member-one's withdrawn. no-date: nothing.
    Built once for the module (printing compiles with Typst); each test gets a copy.
    """
    folder = tmp_path_factory.mktemp("campaign")
    db = folder / "importune.db"

    def ok(*args: object) -> None:
        result = invoke("--db", db, "--letters", folder / "letters", *args)
        assert result.exit_code == 0, f"{args}: {result.output}"

    ok("init", folder, "--group", "Global Importune")
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ", "--detained-on", "2001-10-23",
       "--location", "Karakul")  # fmt: skip
    ok("case", "add", "Held Today", "--country", "AZ", "--detained-on", HELD_SINCE)
    ok("case", "add", "No Date", "--country", "BY")
    for name, country in (("Uzbek Prosecutor", "UZ"), ("Azeri Minister", "AZ")):
        ok("official", "add", name, "--country", country, "--address", "1 Main Street\nCapital")
    ok("member", "add", "Member One", "--address", "1 Elm Street\nSpringfield")
    ok("member", "add", "Member Two", "--address", "2 Elm Street\nSpringfield")
    ok("appeal", "add", "yusuf-dzhumaev", "uzbek-prosecutor")
    ok("appeal", "add", "yusuf-dzhumaev", "azeri-minister")
    ok("appeal", "add", "held-today", "azeri-minister")
    ok("generate-letters")
    ok("generate-letters", "--format", "md")
    ok("print", "--member", "member-one", "--case", "yusuf-dzhumaev", "-o", folder / "one.pdf")
    ok("mark-sent", "--member", "member-two", "--case", "yusuf-dzhumaev")
    # Released in the file itself: what a release does to letters is case release's to test.
    _execute(
        db,
        "UPDATE cases SET status = 'released', released_on = '2011-12-29' "
        "WHERE slug = 'yusuf-dzhumaev'",
        "UPDATE appeals SET active = 0 WHERE official_id = "
        "(SELECT id FROM officials WHERE slug = 'azeri-minister') AND case_id = "
        "(SELECT id FROM cases WHERE slug = 'yusuf-dzhumaev')",
        "UPDATE letters SET status = 'withdrawn', withdrawn_at = '2026-01-01' WHERE member_id = "
        "(SELECT id FROM members WHERE slug = 'member-one') AND case_id = "
        "(SELECT id FROM cases WHERE slug = 'held-today')",
    )
    assert len(rows("SELECT id FROM letters", db=db)) == 12
    return db


@pytest.fixture
def campaign(workspace: Path, built_campaign: Path) -> Path:
    """The campaign above, copied into this test's workspace."""
    with (
        closing(sqlite3.connect(built_campaign)) as source,
        closing(sqlite3.connect(workspace / "importune.db")) as target,
    ):
        source.backup(target)
    return workspace


def _execute(db: Path, *statements: str) -> None:
    with closing(sqlite3.connect(db)) as conn, conn:
        for statement in statements:
            conn.execute(statement)


def _events(*rows: tuple[str, str, str, str | None]) -> None:
    """Events written straight into the file (case, date, kind, note)."""
    with closing(sqlite3.connect(Path.cwd() / "importune.db")) as conn, conn:
        conn.executemany(
            "INSERT INTO events (case_id, date, kind, note) "
            "SELECT id, ?, ?, ? FROM cases WHERE slug = ?",
            [(date, kind, note, slug) for slug, date, kind, note in rows],
        )


# -- the figures ------------------------------------------------------------------------------


def test_report_json_figures_known_by_hand(campaign: Path, ok: Run) -> None:
    report = json.loads(ok("report", "--json").stdout)
    cases = {case["slug"]: case for case in report["cases"]}
    assert [case["slug"] for case in report["cases"]] == ["yusuf-dzhumaev", "held-today", "no-date"]
    assert cases["yusuf-dzhumaev"] == {
        "slug": "yusuf-dzhumaev",
        "name": "Yusuf Dzhumaev",
        "country": "UZ",
        "status": "released",
        "detained_on": "2001-10-23",
        "released_on": "2011-12-29",
        "held_until": "2011-12-29",
        "days_detained": 3719,
        "appeals": 1,
        "letters_generated": 4,
        "letters_printed": 2,
        "letters_sent": 2,
        "letters_withdrawn": 0,
    }
    held = cases["held-today"]
    assert held["status"] == "detained" and held["released_on"] is None
    assert held["held_until"] == TODAY.isoformat()
    assert held["days_detained"] == 100
    assert (held["appeals"], held["letters_generated"], held["letters_printed"]) == (1, 2, 0)
    assert (held["letters_sent"], held["letters_withdrawn"]) == (0, 1)
    no_date = cases["no-date"]
    assert no_date["days_detained"] is None and no_date["held_until"] is None
    assert (no_date["appeals"], no_date["letters_generated"]) == (0, 0)
    assert report["totals"] == {
        "cases": 3,
        "detained": 2,
        "released": 1,
        "deceased": 0,
        "unknown": 0,
        "days_detained": 3819,
        "appeals": 2,
        "letters_generated": 6,
        "letters_printed": 2,
        "letters_sent": 2,
        "letters_withdrawn": 1,
        "officials_written_to": 2,
    }
    assert report["today"] == TODAY.isoformat()
    assert "whatever the number of formats" in report["counted"]


def test_report_on_the_terminal(campaign: Path, ok: Run) -> None:
    out = ok("report").stdout
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}
    yusuf = [cell.strip() for cell in lines["yusuf-dzhumaev"].split("│")[1:-1]]
    assert yusuf == ["yusuf-dzhumaev", "released", "2001-10-23", "2011-12-29", "3,719", "1",
                     "4", "2", "2"]  # fmt: skip
    for header in ("days held", "appeals", "generated", "printed", "sent"):
        assert header in out
    assert "3 cases: 2 held, 1 released; 3,819 days in detention" in out
    assert "6 generated, 2 printed, 2 sent" in out


def test_report_of_an_empty_workspace(workspace: Path, ok: Run) -> None:
    assert "No cases" in ok("report").stdout
    report = json.loads(ok("report", "--json").stdout)
    assert report["cases"] == []
    assert report["totals"]["cases"] == 0 and report["totals"]["letters_sent"] == 0
    ok("report", "--html", "empty.html")
    page = Page.read(Path("empty.html"))
    assert page.bars == [] and "No cases yet" in page.text and "No letters yet" in page.text


def test_a_deceased_case_is_held_to_its_last_event(workspace: Path, ok: Run) -> None:
    ok("case", "add", "Gone", "--country", "UZ", "--detained-on", "2010-01-01")
    ok("case", "edit", "gone", "--status", "deceased")
    assert json.loads(ok("report", "--json").stdout)["cases"][0]["days_detained"] is None
    _events(("gone", "2010-01-31", "note", "died in custody"))
    assert json.loads(ok("report", "--json").stdout)["cases"][0]["days_detained"] == 30


# -- the HTML page -------------------------------------------------------------------------------


class Page(HTMLParser):
    """What a browser would see: the tags, the bars, the marks' titles, the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.bars: list[dict[str, str | None]] = []
        self.svgs: list[str | None] = []
        self.titles: list[str] = []
        self.chunks: list[str] = []
        self._title = False

    @classmethod
    def read(cls, path: Path) -> Page:
        page = cls()
        page.feed(path.read_text(encoding="utf-8"))
        page.close()
        return page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if tag == "svg":
            self.svgs.append(found.get("id"))
        if tag == "rect" and found.get("class") == "bar":
            self.bars.append(found)
        self._title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._title = False

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)
        if self._title:
            self.titles.append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)


def test_html_report_is_one_self_contained_page(campaign: Path, ok: Run) -> None:
    _events(
        ("yusuf-dzhumaev", "2001-10-23", "arrested", "at home, by the SNB"),
        ("yusuf-dzhumaev", "2005-03-01", "transferred", "to Jaslyk"),
        ("yusuf-dzhumaev", "2011-12-29", "released", None),
        ("held-today", HELD_SINCE, "arrested", None),
    )
    result = ok("report", "--html", "report.html")
    assert "report.html" in result.stdout
    page = Page.read(Path("report.html"))
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags and "link" not in tags and "img" not in tags
    assert "iframe" not in tags and "object" not in tags
    for _, attrs in page.tags:
        for name, value in attrs.items():
            assert not (name in ("src", "href") and value), (name, value)
            assert not name.startswith("on"), name
    assert "timeline-chart" in page.svgs and "letters-chart" in page.svgs
    # One bar per case with a date of detention; none for the case without one.
    assert len(page.bars) == 2
    released, held = page.bars
    assert float(held["x"]) > float(released["x"])  # type: ignore[arg-type]
    assert float(released["width"]) > 20 * float(held["width"])  # type: ignore[arg-type]
    assert "Yusuf Dzhumaev: held from 2001-10-23 to 2011-12-29" in page.titles
    assert f"Held Today: held from {HELD_SINCE} to today" in page.titles
    # A mark per event, its note in its tooltip.
    assert "2005-03-01 transferred: to Jaslyk" in page.titles
    assert "2001-10-23 arrested: at home, by the SNB" in page.titles
    assert "2011-12-29 released" in page.titles
    # The table and the letters chart, with what is counted.
    assert "3,719" in page.text and "No Date" in page.text
    assert "generated (6)" in page.text and "sent (2)" in page.text
    # Letters of one month are drawn per month, over a few months, the last labelled.
    assert "per month" in page.text
    (month,) = rows("SELECT DISTINCT substr(generated_at, 1, 7) AS m FROM letters")
    (sent,) = rows("SELECT DISTINCT substr(sent_at, 1, 7) AS m FROM letters WHERE sent_at")
    assert f"{month['m']}: 6 generated" in page.titles
    assert f"{sent['m']}: 2 sent" in page.titles
    assert "whatever the number of formats" in page.text


def test_html_report_escapes_every_name(workspace: Path, ok: Run) -> None:
    hostile = "<script>alert('x')</script> & <b>Bold</b>"
    ok("case", "add", hostile, "--country", "UZ", "--detained-on", "2020-01-01",
       "--slug", "hostile")  # fmt: skip
    _events(("hostile", "2020-02-02", "note", "<img src=x onerror=alert(1)>"))
    ok("group", "set", "--name", "<i>Group</i>")
    ok("report", "--html", "report.html")
    raw = Path("report.html").read_text(encoding="utf-8")
    assert "<script>" not in raw and "<img" not in raw and "<b>" not in raw and "<i>" not in raw
    page = Page.read(Path("report.html"))
    assert "script" not in [tag for tag, _ in page.tags]
    assert hostile in page.text  # shown as text, exactly as typed
    assert "2020-02-02 note: <img src=x onerror=alert(1)>" in page.titles
    assert "<i>Group</i>: campaign report" in page.text


def test_html_report_of_forty_cases_has_forty_bars(
    workspace: Path, ok: Run, tmp_path: Path
) -> None:
    lines = ["name,country,detained_on"] + [
        f"Prisoner {i},UZ,{dt.date(2000 + i % 20, 1 + i % 12, 1 + i % 28).isoformat()}"
        for i in range(40)
    ]
    (tmp_path / "cases.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ok("import", "cases", "cases.csv")
    ok("report", "--html", "out/report.html")  # a folder that is not there yet is made
    page = Page.read(Path("out/report.html"))
    assert len(page.bars) == 40
    assert len({bar["y"] for bar in page.bars}) == 40  # a row each, none on top of another


def test_html_report_refused_into_a_folder(workspace: Path, refused: Callable[..., str]) -> None:
    Path("reports").mkdir()
    message = refused("report", "--html", "reports")
    assert message.startswith("reports is a folder")
    assert list(Path("reports").iterdir()) == []


def test_html_report_rewrites_whole(campaign: Path, ok: Run) -> None:
    Path("report.html").write_text("old", encoding="utf-8")
    ok("report", "--html", "report.html")
    assert Path("report.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    assert [p.name for p in Path.cwd().iterdir() if p.name.startswith(".report.html")] == []


def test_html_report_names_countries_as_the_letters_do(workspace: Path, ok: Run) -> None:
    """CLDR's names, the letters' own ("Russia"), not ISO's ("Russian Federation")."""
    ok("case", "add", "Alexei Gorinov", "--country", "RU", "--detained-on", "2022-04-26")
    ok("case", "add", "Arben Krasniqi", "--country", "Kosovo", "--detained-on", "2020-01-01")
    ok("report", "--html", "report.html")
    text = Page.read(Path("report.html")).text
    assert "Russia · detained" in text and "Russian Federation" not in text
    assert "Kosovo · detained" in text
