"""The printed page as a member gets it, after the PDF layout was made faster.

What the speed rests on: Typst gets the letters as an in-memory JSON file (not as
``sys.inputs``, which would make it start afresh each letter), and a letter's page
numbers come from where its first page is, not from Typst's page counter reset at
each letter. These tests read the PDFs back and check what that must not change:
page numbers from a letter's second page only (envelopes in between too), every
script in its own font, the same bytes for the same letter whatever was laid out
before it, and a workspace's older ``layout.typ`` still printing.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

from importune.errors import ImportuneError
from importune.formats import Renderer
from importune.formats.pdf import (
    COVERAGE,
    DATA_FILE,
    FONT_SUFFIXES,
    SHIPPED_FONTS,
    ranges,
    read_cmap,
)
from importune.printing import Extras, layout_pdf
from importune.workspace import default_letters
from tests.test_formats import arabic_letter, cyrillic_letter, make_letter

LETTERS = default_letters()
LONG_BODY = "Dear President,\n\n" + "\n\n".join(["A long paragraph. " * 60] * 8) + "\n\nAnna\n"


@pytest.fixture(autouse=True)
def _no_user_fonts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMPORTUNE_FONTS", raising=False)


@pytest.fixture(scope="module")
def pdf() -> Renderer:
    return Renderer(LETTERS, "pdf")


def pages_of(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def last_line(text: str) -> str:
    return text.rstrip().splitlines()[-1].strip()


def fonts_of(page: pypdf.PageObject) -> set[str]:
    """The font families a page draws with (``ABCDEF+NotoSerif-Bold`` gives ``NotoSerif``)."""
    fonts = page["/Resources"]["/Font"]
    names = {str(fonts[key].get_object()["/BaseFont"]).lstrip("/") for key in fonts}
    return {name.split("+")[-1].split("-")[0] for name in names}


def test_pages_are_numbered_from_each_letters_second_page(pdf: Renderer) -> None:
    letters = [make_letter(), make_letter(body=LONG_BODY), cyrillic_letter(), make_letter()]
    pages = pages_of(pdf.render_many(letters))
    long_pages = len(pages) - 3
    assert long_pages >= 3
    assert last_line(pages[0]) == "Anna Schmidt"  # one page: no number
    assert pages[1].startswith("Anna Schmidt") and last_line(pages[1]) != "1"
    assert [last_line(page) for page in pages[2 : 1 + long_pages]] == [
        str(n) for n in range(2, long_pages + 1)
    ]
    assert last_line(pages[-2]) == "Ольга Петрова"  # the next letter starts again, unnumbered
    assert last_line(pages[-1]) == "Anna Schmidt"


def test_a_long_letter_alone_is_numbered_from_its_second_page(pdf: Renderer) -> None:
    """generate-letters lays out each letter alone: its file is numbered the same way."""
    pages = pages_of(pdf.render(make_letter(body=LONG_BODY)))
    assert len(pages) >= 3
    assert last_line(pages[0]) != "1"
    assert [last_line(page) for page in pages[1:]] == [str(n) for n in range(2, len(pages) + 1)]


def test_page_numbers_skip_the_envelopes_between_letters() -> None:
    letters = [make_letter(body=LONG_BODY), make_letter(body=LONG_BODY)]
    pages = pages_of(layout_pdf(LETTERS, letters, Extras(envelopes=True)))
    per_letter = (len(pages) - 2) // 2
    first, second = pages[:per_letter], pages[per_letter + 1 : -1]
    for letter_pages in (first, second):
        assert letter_pages[0].startswith("Anna Schmidt")
        numbers = [last_line(page) for page in letter_pages[1:]]
        assert numbers == [str(n) for n in range(2, per_letter + 1)]
    for envelope in (pages[per_letter], pages[-1]):
        assert "UZBEKISTAN" in envelope and not last_line(envelope).isdigit()


def test_a_letter_mixing_scripts_prints_each_in_its_font(pdf: Renderer) -> None:
    letter = make_letter(
        body="Dear President,\n\nOn behalf of Ольга Петрова, منصور, מרים and ნინო we ask "
        "for the release of Yusuf Dzhumaev.\n\nYours sincerely,\n\nAnna Schmidt\n",
    )
    data = pdf.render(letter)
    (page,) = pypdf.PdfReader(io.BytesIO(data)).pages
    assert {"NotoSerif", "NotoNaskhArabic", "NotoSerifHebrew", "NotoSerifGeorgian"} <= fonts_of(
        page
    )
    text = page.extract_text()
    for word in ["Ольга", "Петрова", "منصور", "ნინო", "Dzhumaev"]:
        assert word in text


def test_the_same_letter_is_the_same_bytes_whatever_came_before(pdf: Renderer) -> None:
    letter = make_letter()
    first = pdf.render(letter)
    for other in (cyrillic_letter(), arabic_letter(), make_letter(body=LONG_BODY)):
        pdf.render(other)
    assert pdf.render(letter) == first
    assert Renderer(LETTERS, "pdf").render(letter) == first
    assert pdf.render_many([letter]) == first


def test_the_letters_never_reach_the_disk(tmp_path: Path) -> None:
    letters = tmp_path / "letters"
    letters.mkdir()
    for name in ("layout.typ", "envelope.typ"):
        (letters / name).write_bytes((LETTERS / name).read_bytes())
    Renderer(letters, "pdf").render(make_letter())
    assert sorted(path.name for path in letters.iterdir()) == ["envelope.typ", "layout.typ"]
    assert not (tmp_path / DATA_FILE).exists()


def letters_with_layout(tmp_path: Path, layout: str) -> Path:
    """A letters folder holding only a ``layout.typ`` of these words."""
    letters = tmp_path / "letters"
    letters.mkdir()
    (letters / "layout.typ").write_text(layout, encoding="utf-8")
    return letters


def test_an_older_layout_reading_sys_inputs_still_prints(tmp_path: Path) -> None:
    """A workspace copied layout.typ before its letters came in memory: it still works."""
    letters = letters_with_layout(
        tmp_path,
        "#let data = json(bytes(sys.inputs.letters))\n"
        "#for letter in data.letters [#letter.signature #pagebreak(weak: true)]\n",
    )
    renderer = Renderer(letters, "pdf")
    pages = pages_of(renderer.render_many([make_letter(), cyrillic_letter()]))
    assert [page.strip() for page in pages] == ["Anna Schmidt", "Ольга Петрова"]


def test_an_older_layout_is_told_which_letters_need_isolates(tmp_path: Path) -> None:
    """A layout from before importune made the Unicode isolates itself isolates a letter's
    lines unless its data says ``isolate: false``: told so, it prints a left-to-right
    letter as it did (and one that has them gets them twice, which shows nothing)."""
    letters = letters_with_layout(
        tmp_path,
        '// reads sys.inputs.letters-file when there is one\n'
        '#let data = if "letters-file" in sys.inputs { json(sys.inputs.at("letters-file")) }'
        " else { json(bytes(sys.inputs.letters)) }\n"
        '#for letter in data.letters [#repr(letter.at("isolate", default: "missing"))'
        " #pagebreak(weak: true)]\n",
    )
    renderer = Renderer(letters, "pdf")
    pages = pages_of(renderer.render_many([make_letter(), arabic_letter()]))
    assert [page.strip() for page in pages] == ["false", "true"]
    assert [page.strip() for page in pages_of(renderer.render(make_letter()))] == ["false"]


def test_an_error_in_a_layout_names_its_file_and_line(tmp_path: Path) -> None:
    letters = letters_with_layout(
        tmp_path,
        "// reads the letters from sys.inputs.letters-file\n"
        '#let data = json(sys.inputs.at("letters-file"))\n'
        "#data.nope\n",
    )
    with pytest.raises(ImportuneError, match=r"layout\.typ, line 3: .*nope"):
        Renderer(letters, "pdf").render(make_letter())


def test_a_file_named_like_the_letters_data_in_the_letters_folder_is_not_read(
    tmp_path: Path,
) -> None:
    """The letters come from importune, even when the letters folder (a pack from someone
    else, say) holds a file of the name the layout reads them under."""
    letters = tmp_path / "letters"
    letters.mkdir()
    for name in ("layout.typ", "envelope.typ"):
        (letters / name).write_bytes((LETTERS / name).read_bytes())
    forged = {"title": "forged", "letters": []}
    (letters / DATA_FILE).write_text(json.dumps(forged))
    (text,) = pages_of(Renderer(letters, "pdf").render(make_letter()))
    assert "Shavkat Mirziyoyev" in text


def test_the_recorded_coverage_of_the_shipped_fonts_is_what_the_fonts_have() -> None:
    """importune/fonts/coverage.json spares a run fontTools; it must be the fonts' own
    (after changing a font: python scripts/font_coverage.py)."""
    fonts = sorted(p for p in SHIPPED_FONTS.iterdir() if p.suffix.lower() in FONT_SUFFIXES)
    recorded = json.loads((SHIPPED_FONTS / COVERAGE).read_text(encoding="utf-8"))
    assert sorted(recorded) == [path.name for path in fonts]
    for path in fonts:
        assert recorded[path.name] == {
            "size": path.stat().st_size, "ranges": ranges(read_cmap(path))
        }, f"{path.name}: run python scripts/font_coverage.py"


def test_a_letter_in_the_shipped_scripts_is_checked_without_fonttools(tmp_path: Path) -> None:
    """A new process prints Cyrillic and Arabic letters (so their coverage is checked) and a
    refusal still names the script no font has, reading the cmaps only for that."""
    probe = (
        "import sys\n"
        "from importune.formats.pdf import FontCoverage, font_dirs\n"
        "from pathlib import Path\n"
        "coverage = FontCoverage(font_dirs(Path(sys.argv[1])))\n"
        "print(sorted(coverage.missing(['Юсуф Джумаев', 'نرگس محمدی', 'Grüße'])))\n"
        "print('fontTools' in sys.modules)\n"
        "print(sorted(coverage.missing(['ሰላም'])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == ["[]", "False"]
    assert lines[2] == str(sorted("ሰላም"))
