"""An official's address of many lines still reads whole through the envelope's window.

The window of a DL envelope shows 40 × 80 mm of the letter: 8 lines at the letter's 11 pt.
An official's name, title and organization, their address and the country can take more.
Before, the lines past the eighth ran below the window, the country among them, and a
longer address ran over the date and the subject. Now such an address is set smaller to
fit (down to 8 pt); one too long even then pushes the date and the subject down, never
under them, and ``importune check`` says to shorten it. The same on envelopes and labels.

Real PDFs, printed by the CLI from the workspace of ``printing_helpers`` and read back
with the place and size of each line.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest
import typst
from printing_helpers import Placed, build_workspace, ok, pdf_pages, placed

from importune.compose import Letter
from importune.formats.common import ADDRESS_EMS, crowded, wrapped_lines
from importune.formats.pdf import SHIPPED_FONTS, PdfLayout
from importune.printing import Extras, PrintLayout
from importune.workspace import default_letters

pytestmark = pytest.mark.usefixtures("letters_beside_the_database")

PDF = Path("yusuf.pdf")
# The window, from the page's top left corner (letters/layout.typ): 50 to 90 mm down.
WINDOW_TOP, WINDOW_BOTTOM, WINDOW_LEFT = 50.0, 90.0, 25.0

LONG_TITLE = "Ambassador Extraordinary and Plenipotentiary of the Republic of Uzbekistan"
LONG_ORGANIZATION = "Embassy of the Republic of Uzbekistan to the United States of America"
LONG_ADDRESS = "Consular Section, Second Floor\n1746 Massachusetts Avenue NW\nWashington, DC 20036"


@pytest.fixture
def workspace() -> None:
    build_workspace(members=("hedwig-brandauer",))


def date(page: list[Placed]) -> Placed:
    """The date: the first line on the right below the return address."""
    return next(run for run in page if run.x > 100 and run.y > WINDOW_TOP)


def recipient(page: list[Placed]) -> list[Placed]:
    """The lines in the window's column, from the window's top down to the date."""
    return [
        run for run in page if abs(run.x - WINDOW_LEFT) < 1 and WINDOW_TOP < run.y < date(page).y
    ]


def subject(page: list[Placed]) -> Placed:
    """The subject: the first line on the left below the date."""
    return next(run for run in page if abs(run.x - WINDOW_LEFT) < 1 and run.y > date(page).y)


def ambassador(*lines: str) -> None:
    """Make the ambassador's address longer: title, organization and address."""
    address = "\n".join(lines) or LONG_ADDRESS
    ok("official", "edit", "ambassador", "--title", LONG_TITLE,
       "--organization", LONG_ORGANIZATION, "--address", address)  # fmt: skip


@pytest.mark.usefixtures("workspace")
def test_a_long_address_is_set_smaller_to_fit_the_window_whole() -> None:
    ambassador()
    ok("print", "-o", str(PDF))
    to_president, to_ambassador, _ = (placed(page) for page in pdf_pages(PDF))

    lines = recipient(to_ambassador)
    assert [run.text for run in lines][-1] == "UNITED STATES"  # the country, last, in it
    assert len(lines) > 8  # more than the window holds at 11 pt
    assert all(8 <= run.size < 11 for run in lines)
    assert lines[0].y > WINDOW_TOP and lines[-1].y < WINDOW_BOTTOM
    # The rest of the letter stands where it always does, at its usual size.
    assert subject(to_ambassador).y == pytest.approx(subject(to_president).y)
    assert date(to_ambassador).y == pytest.approx(date(to_president).y)
    assert subject(to_ambassador).size == 11
    # A letter whose address fits is laid out as it always was.
    assert {run.size for run in recipient(to_president)} == {11}


@pytest.mark.usefixtures("workspace")
def test_an_address_too_long_even_when_small_pushes_the_letter_down_not_under_it() -> None:
    ambassador(*(f"Department {n}, Building {n}" for n in range(1, 9)), "Washington, DC 20036")
    ok("print", "-o", str(PDF))
    to_president, to_ambassador, _ = (placed(page) for page in pdf_pages(PDF))

    lines = recipient(to_ambassador)
    assert [run.text for run in lines][-1] == "UNITED STATES"
    assert {run.size for run in lines} == {8}  # as small as it goes
    # Below the window now, and the letter moves down to make room: nothing is drawn over.
    assert lines[-1].y > WINDOW_BOTTOM
    assert date(to_ambassador).y > date(to_president).y
    assert date(to_ambassador).y - 11 * 0.3528 > lines[-1].y  # the date's top below the last
    assert subject(to_ambassador).y > subject(to_president).y


@pytest.mark.usefixtures("workspace")
def test_envelopes_and_labels_carry_a_long_address_whole() -> None:
    ambassador(*(f"Department {n}, Building {n}" for n in range(1, 6)), "Washington, DC 20036")
    ok("print", "--case", "yusuf-dzhumaev", "--envelopes", "-o", "envelopes.pdf")
    envelope = placed(pdf_pages(Path("envelopes.pdf"))[1])
    address = [run for run in envelope if run.x > 90]
    assert address[-1].text == "UNITED STATES"
    assert address[-1].y < 110 - 8  # above the envelope's foot, with room to spare
    assert all(8 <= run.size < 11 for run in address)

    ok("print", "--case", "yusuf-dzhumaev", "--labels", "-o", "labels.pdf")
    sheet = placed(pdf_pages(Path("labels.pdf"))[-1])
    first_label = [run for run in sheet if run.x < 70 and run.y < 42.3]
    assert first_label[-1].text == "UNITED STATES"  # on the label, not cut off below it
    assert first_label[0].text.startswith("Ambassador of the Republic")
    assert all(6.5 <= run.size < 9 for run in first_label)
    assert " ".join(run.text for run in first_label) == " ".join(run.text for run in address)


@pytest.mark.usefixtures("workspace")
def test_check_warns_of_an_address_that_even_small_print_cannot_fit() -> None:
    ambassador()
    assert "long-address" not in ok("check", "--json").stdout  # fits, set smaller
    ambassador(*(f"Department {n}, Building {n}" for n in range(1, 9)), "Washington, DC 20036")
    said = ok("check").stdout
    assert (
        "warning official ambassador, address: name, title, organization and address take "
        "about 15 lines: a DL envelope's window shows 10 at 8 pt, the smallest print, and the "
        "last ones (the country) would be hidden → importune official edit ambassador with a "
        "shorter --title, --organization or --address"
    ) in said


@pytest.mark.parametrize(
    ("recipient_lines", "expected"),
    [
        (["Prosecutor General of the Republic of Uzbekistan", "ul. Gulyamova 66",
          "Tashkent 100047", "UZBEKISTAN"], False),
        (["Official 0", "Minister of Justice", "Office of the Prosecutor General",
          "Independence Avenue 1", "Capital City 10000", "UZBEKISTAN"], False),
        ([f"Line {n}" for n in range(8)], True),  # more lines than the window surely holds
        (["中华人民共和国最高人民检察院检察长办公室"] * 4, True),  # 20 wide characters wrap
    ],
)
def test_which_letters_are_measured(recipient_lines: list[str], expected: bool) -> None:
    """Only a letter whose address may not fit is measured (the layout's slower way)."""
    assert crowded({"recipient": recipient_lines, "sender": ["Hedwig Brandauer"]}) is expected


def test_lines_are_wrapped_word_by_word() -> None:
    assert wrapped_lines(["UZBEKISTAN"], 18) == 1
    assert wrapped_lines(["General Prosecutor's Office of the Republic of Uzbekistan"], 18) == 2
    assert wrapped_lines(["X" * 60], 18) == 3  # a word no line holds: 45 ems
    assert wrapped_lines(["e\u0301" * 30], 18) == 1  # a combining accent takes no room
    assert wrapped_lines([], 18) == 0


# Letters of the scripts importune prints, as addresses hold them: words of each script in
# either case, numbers, punctuation, and the scripts mixed on a line.
ALPHABETS = (
    "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "àéîõüçñøåæœß",
    "абвгдежзийклмнопрстуфхцчшщъыьэюя", "АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ",
    "αβγδεζηθικλμνξοπρστυφχψω", "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ",
    "ابتثجحخدذرزسشصضطظعغفقكلمنهوي", "აბგდევზთიკლმნოპჟრსტუფქღყშჩცძწჭხჯჰ",
    "0123456789", ",.-/()",
)  # fmt: skip


def addresses_said_to_fit(count: int) -> list[list[str]]:
    """Random addresses that :func:`crowded` says fit, as near its limit as can be: 4 to 7
    lines, each as long as one line is estimated to hold."""
    chance = random.Random(20261129)

    def word(alphabets: list[str]) -> str:
        return "".join(chance.choice(chance.choice(alphabets)) for _ in range(chance.randint(1, 9)))

    found: list[list[str]] = []
    while len(found) < count:
        mine = chance.sample(ALPHABETS, 2)
        lines = []
        for _ in range(chance.randint(4, 7)):
            line = word(mine)
            while wrapped_lines([longer := f"{line} {word(mine)}"], ADDRESS_EMS) <= 1.3:
                line = longer
            lines.append(line)
        if not crowded({"recipient": lines, "sender": ["Hedwig Brandauer"]}):
            found.append(lines)
    return found


MEASURE = r"""
#let data = json("addresses.json")
#set text(font: data.fonts, hyphenate: false)
#set par(justify: false)
#context for lines in data.addresses {
  let body = lines.map(line => "\u{2068}" + line + "\u{2069}").join(linebreak())
  let window = measure(block(width: 80mm, text(size: 11pt, body))).height
  let label = measure(block(width: 58mm, text(size: 9pt, body))).height
  [#metadata((window.mm(), label.mm()))<height>]
}
"""


def test_an_address_said_to_fit_does_fit_the_window_and_a_label(tmp_path: Path) -> None:
    """The estimate errs on the safe side: Typst itself measures 300 addresses it passed
    (in the letter's fonts, as the layouts set them: 80 mm at 11 pt, 58 mm at 9 pt)."""
    addresses = addresses_said_to_fit(300)
    fonts = PdfLayout(default_letters()).fonts
    data = {"fonts": fonts, "addresses": addresses}
    (tmp_path / "addresses.json").write_text(json.dumps(data, ensure_ascii=False))
    (tmp_path / "measure.typ").write_text(MEASURE)
    heights = json.loads(
        typst.query(str(tmp_path / "measure.typ"), "<height>", font_paths=[str(SHIPPED_FONTS)])
    )
    assert len(heights) == len(addresses)
    too_tall = [
        (lines, found["value"])
        for lines, found in zip(addresses, heights, strict=True)
        if found["value"][0] > 40 or found["value"][1] > 34.3
    ]
    assert too_tall == []


@pytest.mark.parametrize("extras", [Extras(), Extras(envelopes=True), Extras(labels=True)],
                         ids=["letter", "envelope", "label"])  # fmt: skip
def test_a_measured_address_that_fits_is_laid_out_to_the_byte_as_before(extras: Extras) -> None:
    """Measuring is only ever a way to the same page, when the address fits: the estimate
    decides the time taken, never what is printed."""
    letter = Letter(
        case={"slug": "yusuf-dzhumaev"}, official={"slug": "prosecutor-general"}, member=None,
        appeal={}, group={}, template="concern", language="en",
        template_path="concern.en.txt.j2", date=dt.date(2024, 5, 1), date_text="1 May 2024",
        subject="Yusuf Dzhumaev", body="Dear Prosecutor General,\n\nPlease.\n\nAnna Schmidt\n",
        recipient_lines=["Prosecutor General", "ul. Gulyamova 66", "Tashkent", "UZBEKISTAN"],
        sender_lines=["Anna Schmidt", "12 Linden Street", "Bristol BS1 4DJ"],
    )  # fmt: skip
    layout = PrintLayout(default_letters(), extras)
    item = layout.item(letter)
    assert "crowded" not in item
    alike = [layout.render_items([data], letter.date) for data in (item, {**item, "crowded": True})]
    assert alike[0] == alike[1]
