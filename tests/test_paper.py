"""US Letter: the page, the #10 window envelope, the 30-label sheets.

A group in the United States prints on Letter paper (8.5 × 11 in) and posts in #10
window envelopes (9.5 × 4.125 in), whose window is smaller and sits elsewhere than a DL
envelope's. ``importune group set --paper letter`` makes Letter the group's paper (its
packs carry it); ``print --paper`` chooses for one print. Real PDFs, read back with the
place of each line; the workspace is ``printing_helpers``'s, through the CLI.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from printing_helpers import (
    build_workspace,
    cli,
    ok,
    pdf_pages,
    placed,
    refused,
    rows,
    sample_letter,
    size_mm,
    snapshot,
    text_lines,
)

from importune.formats.common import crowded
from importune.printing import Extras, layout_pdf
from importune.workspace import default_letters

pytestmark = pytest.mark.usefixtures("letters_beside_the_database")

LETTER, A4 = (216, 279), (210, 297)
# The part of a #10 envelope's window that shows the letter (letters/layout.typ), in mm
# from the page's top left corner: 2.042 to 2.917 in down, from 1 in across.
WINDOW_TOP, WINDOW_BOTTOM, WINDOW_LEFT = 51.9, 74.1, 25.4


@pytest.fixture(autouse=True)
def workspace() -> None:
    build_workspace(members=("hedwig-brandauer",))


def test_print_on_letter_paper_puts_the_address_in_the_10_envelopes_window() -> None:
    said = ok("print", "--paper", "letter", "--envelopes", "-o", "us.pdf").stdout
    assert "Printed 3 letters signed by hedwig-brandauer to us.pdf on US Letter, each " \
        "followed by a #10 envelope." in said  # fmt: skip
    pages = pdf_pages(Path("us.pdf"))
    assert [size_mm(page) for page in pages] == [LETTER, (241, 105)] * 3
    to_president = placed(pages[0])
    window = [run for run in to_president if abs(run.x - WINDOW_LEFT) < 1 and run.y < 80]
    assert [run.text for run in window] == [
        "Aleksandr Lukashenko", "President", "ul. Karla Marksa 38", "220016 Minsk", "BELARUS",
    ]  # fmt: skip
    assert all(WINDOW_TOP < run.y < WINDOW_BOTTOM for run in window)
    assert {run.size for run in window} == {10}  # 5 lines: 4 fit at 11 pt, so set smaller
    # The envelope carries both addresses, as on A4.
    assert text_lines(pages[1])[0] == "Hedwig Brandauer"
    assert text_lines(pages[1])[-1] == "BELARUS"


def test_the_groups_paper_is_the_default_and_print_can_choose_another() -> None:
    ok("group", "set", "--paper", "Letter")
    ok("print", "-o", "group.pdf")
    assert {size_mm(page) for page in pdf_pages(Path("group.pdf"))} == {LETTER}
    ok("print", "--paper", "a4", "-o", "a4.pdf")
    assert {size_mm(page) for page in pdf_pages(Path("a4.pdf"))} == {A4}
    # generate-letters --format pdf lays its files out on the group's paper too.
    ok("generate-letters", "--format", "pdf")
    made = [Path(row["path"]) for row in rows("l.format = 'pdf'")]
    assert made and all(size_mm(pdf_pages(path)[0]) == LETTER for path in made)


def test_a_pack_carries_the_groups_paper() -> None:
    ok("group", "set", "--paper", "letter")
    ok("pack", "export", "campaign.zip")
    said = ok("print", "--pack", "campaign.zip", "--as", "Olga Petrova", "--labels",
              "-o", "olga.pdf").stdout  # fmt: skip
    assert "to olga.pdf on US Letter, then 1 sheet of address labels (3×10)." in said
    assert {size_mm(page) for page in pdf_pages(Path("olga.pdf"))} == {LETTER}


def test_labels_on_letter_paper_fill_sheets_of_30() -> None:
    letters = [sample_letter(n) for n in range(1, 32)]
    pages = pdf_pages(layout_pdf(default_letters(), letters, Extras(labels=True, paper="letter")))
    assert len(pages) == 31 + 2 and size_mm(pages[31]) == LETTER
    first, second = text_lines(pages[31]), text_lines(pages[32])
    assert "Official 30" in first and "Official 31" not in first
    assert second[0] == "Official 31"
    # Three labels of 2 5/8 in across, 1/8 in apart, from 3/16 in: the third column's left.
    third = next(run for run in placed(pages[31]) if run.text == "Official 3")
    assert third.x == pytest.approx(4.76 + 2 * (66.68 + 3.18) + 4, abs=0.5)


def test_an_unknown_paper_is_refused_and_changes_nothing() -> None:
    before = snapshot()
    assert refused("print", "--paper", "legal") == (
        "importune: paper 'legal': use a4 or letter (US Letter)"
    )
    assert refused("group", "set", "--paper", "A5") == (
        "importune: paper 'A5': use a4 or letter (US Letter)"
    )
    assert snapshot() == before and not Path("out/print").exists()


def test_a_paper_another_program_wrote_is_named_not_a_traceback() -> None:
    with closing(sqlite3.connect("importune.db")) as conn, conn:
        conn.execute("INSERT INTO settings (key, value) VALUES ('group.paper', 'foolscap')")
    before = snapshot()
    assert refused("print") == "importune: the group's paper 'foolscap': use a4 or letter " \
        "(US Letter)"  # fmt: skip
    assert snapshot() == before


def test_a_layout_from_before_letter_paper_says_so() -> None:
    layout = Path("letters/layout.typ")
    layout.write_text(layout.read_text().replace('data.at("paper", default: "a4")', '"a4"'))
    ok("generate-letters")
    before = snapshot()
    line = refused("print", "--paper", "letter")
    assert line.startswith(f"importune: {Path.cwd() / 'letters/layout.typ'} lays out A4 only")
    assert line.endswith("or print on A4 (--paper a4)")
    assert snapshot() == before and not Path("out/print").exists()
    ok("print", "-o", "a4.pdf")  # on A4, it prints as it always did


def test_check_counts_the_window_of_the_groups_paper() -> None:
    ok("official", "edit", "ambassador", "--organization", "Embassy of the Republic of "
       "Uzbekistan to the United States of America", "--address",
       "Consular Section\n1746 Massachusetts Avenue NW\nWashington, DC 20036")  # fmt: skip
    assert "long-address" not in ok("check", "--json").stdout  # A4's window holds it
    ok("group", "set", "--paper", "letter")
    found = json.loads(ok("check", "--json").stdout)
    assert [f["message"] for f in found if f["kind"] == "long-address"] == [
        "name, title, organization and address take about 7 lines: a #10 envelope's window "
        "shows 6 at 8 pt, the smallest print, and the last ones (the country) would be hidden"
    ]


def test_letter_papers_smaller_window_measures_more_letters() -> None:
    five = {"recipient": ["President", "Aleksandr Lukashenko", "ul. Karla Marksa 38",
                          "220016 Minsk", "BELARUS"], "sender": ["Hedwig Brandauer"]}  # fmt: skip
    assert not crowded(five, "a4") and crowded(five, "letter")


def test_html_letters_print_on_the_groups_paper() -> None:
    """A browser prints an HTML letter on the page its CSS asks for (``@page``)."""
    ok("generate-letters", "--format", "html", "--case", "ales-bialiatski")
    ok("group", "set", "--paper", "letter")
    ok("generate-letters", "--format", "html", "--case", "ales-bialiatski")
    page = Path(rows("l.format = 'html'")[0]["path"]).read_text()
    assert "@page { size: letter; margin: 0.75in 1in; }" in page
    assert "grid-template-rows: 1.292in minmax(0.875in, auto)" in page  # the #10 window


def test_check_names_a_paper_another_program_wrote() -> None:
    with closing(sqlite3.connect("importune.db")) as conn, conn:
        conn.execute("INSERT INTO settings (key, value) VALUES ('group.paper', 'foolscap')")
    result = cli("check", "--json")
    assert result.exit_code == 1  # an error: PDFs would be refused
    found = [f for f in json.loads(result.stdout) if f["kind"] == "bad-paper"]
    assert found == [{
        "severity": "error", "kind": "bad-paper", "table": "settings", "record": "group",
        "field": "paper", "message": "the group's paper 'foolscap': use a4 or letter (US Letter)",
        "fix": "importune group set --paper a4 (or letter)",
    }]  # fmt: skip
    # A letter in text needs no paper: generate-letters still writes it.
    ok("generate-letters")
    before = snapshot()
    assert refused("generate-letters", "--format", "pdf") == (
        "importune: the group's paper 'foolscap': use a4 or letter (US Letter)"
    )
    assert snapshot() == before and not list(Path("out").rglob("*.pdf"))
