"""What ``print``'s speed rests on, and what it must not change (times are never asserted).

A pile of letters is laid out without page numbers first (Typst needs a second pass over
the whole pile to number pages), and again with them only when a letter runs onto a second
page; a printed PDF carries no accessibility tags; a letter written left to right has its
lines laid out without Unicode isolates; a big pile is composed by two processes at once.
These tests read the PDFs back with pypdf and check that each shortcut gives the page a
member would have had without it, and the same refusals.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pypdf
import pytest
from printing_helpers import (
    build_workspace,
    execute,
    ok,
    pdf_pages,
    placed,
    refused,
    rows,
    snapshot,
    text_lines,
)

from importune import generate as generate_module
from importune import printing
from importune.formats import pdf as pdf_module
from importune.formats.pdf import SHIPPED_FONTS, FontCoverage, PdfLayout, page_count
from importune.printing import Extras, PrintLayout
from importune.workspace import default_letters
from tests.test_formats import arabic_letter, cyrillic_letter, make_letter

MEMBER_PDF = Path("out/print/hedwig-brandauer.pdf")
LETTERS = default_letters()
LONG_BODY = "Dear President,\n\n" + "\n\n".join(["A long paragraph. " * 60] * 8) + "\n\nAnna\n"


pytestmark = pytest.mark.usefixtures("letters_beside_the_database")


def numbered(layout: PdfLayout) -> Callable[..., bytes]:
    """The layout's compile as it was before: always with page numbers, one compile."""

    def render(items: list[dict[str, object]], day: object) -> bytes:
        layout.numbers_optional = False
        try:
            return layout.render_items(items, day)  # type: ignore[arg-type]
        finally:
            layout.numbers_optional = True

    return render


def compiles(layout: PdfLayout) -> list[bool]:
    """Record, for each Typst compile of ``layout``, whether it asked for page numbers."""
    asked: list[bool] = []
    real = layout._compile

    def counted(numbers: bool, *rest: object) -> bytes:
        asked.append(numbers)
        return real(numbers, *rest)  # type: ignore[arg-type]

    layout._compile = counted  # type: ignore[method-assign]
    return asked


# -- page numbers only when a letter runs on -------------------------------------------------


@pytest.mark.parametrize("extras", [Extras(), Extras(envelopes=True)], ids=["plain", "envelopes"])
def test_a_pile_of_one_page_letters_is_laid_out_once_and_is_the_numbered_pdf(
    extras: Extras,
) -> None:
    layout = PrintLayout(LETTERS, extras)
    letters = [make_letter(), cyrillic_letter(), arabic_letter()]
    items = [layout.item(letter) for letter in letters]
    asked = compiles(layout)
    pdf = layout.render_items(items, letters[0].date)
    assert asked == [False]  # one compile, without the second pass numbers take
    assert page_count(pdf) == len(pdf_pages(pdf)) == 3 * (2 if extras.envelopes else 1)
    assert pdf == numbered(layout)(items, letters[0].date)


def test_a_pile_with_a_long_letter_is_numbered_at_once() -> None:
    layout = PrintLayout(LETTERS, Extras())
    letters = [make_letter(), make_letter(body=LONG_BODY), make_letter()]
    asked = compiles(layout)
    pages = [page.extract_text() for page in pdf_pages(layout.render_many(letters))]
    assert asked == [True]  # its length says it may run on: no pass without numbers first
    last = [page.rstrip().splitlines()[-1].strip() for page in pages]
    assert last[0] == last[-1] == "Anna Schmidt"  # one-page letters: no number
    assert last[2:-1] == [str(n) for n in range(2, len(pages) - 1)]


def test_a_letter_that_runs_on_unforeseen_gets_its_numbers_all_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The estimate of a letter's length only chooses how to lay the pile out: when it
    is wrong (another layout, wider letters), the page count catches it."""
    monkeypatch.setattr(pdf_module, "may_run_on", lambda item: False)
    layout = PrintLayout(LETTERS, Extras())
    letters = [make_letter(), make_letter(body=LONG_BODY), make_letter()]
    asked = compiles(layout)
    pages = [page.extract_text() for page in pdf_pages(layout.render_many(letters))]
    assert asked == [False, True]
    last = [page.rstrip().splitlines()[-1].strip() for page in pages]
    assert last[0] == last[-1] == "Anna Schmidt"
    assert last[2:-1] == [str(n) for n in range(2, len(pages) - 1)]


def test_a_letter_of_the_usual_length_is_not_taken_for_a_long_one() -> None:
    layout = PdfLayout(LETTERS)
    assert not pdf_module.may_run_on(layout.data(make_letter()))
    assert pdf_module.may_run_on(layout.data(make_letter(body=LONG_BODY)))
    usual = "Dear Prosecutor General,\n\n" + "\n\n".join(["A sentence of concern. " * 9] * 5)
    assert not pdf_module.may_run_on(layout.data(make_letter(body=usual + "\n\nAnna\n")))


def test_labels_are_laid_out_numbered_at_once() -> None:
    """Label sheets make pages of their own (envelope.typ's sheet), so the page count
    cannot tell whether a letter ran on: the pile is numbered from the start."""
    layout = PrintLayout(LETTERS, Extras(labels=True))
    asked = compiles(layout)
    pages = pdf_pages(layout.render_many([make_letter(), make_letter(body=LONG_BODY)]))
    assert asked == [True]
    assert text_lines(pages[2])[-1] == "2"
    assert "UZBEKISTAN" in text_lines(pages[-1])


def test_a_letter_file_of_one_page_is_laid_out_once() -> None:
    """generate-letters --format pdf: the same page (its tagged PDF only lacks the empty
    footer's marker)."""
    layout = PdfLayout(LETTERS)
    asked = compiles(layout)
    pdf = layout.render(make_letter())
    assert asked == [False]
    before = numbered(layout)([layout.item(make_letter())], make_letter().date)
    assert [text_lines(page) for page in pdf_pages(pdf)] == [
        text_lines(page) for page in pdf_pages(before)
    ]


# -- a pile's data in sys.inputs, one letter's as a file -----------------------------------


def test_a_pile_handed_in_the_inputs_is_the_pdf_the_letters_file_makes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pile's JSON goes to Typst in sys.inputs (typst-py would parse a file of it as
    markup first); the layout reads it the same, and lays out the same PDF."""
    letters = [make_letter(), cyrillic_letter(), arabic_letter()]
    layout = PrintLayout(LETTERS, Extras(envelopes=True))
    assert len(letters) >= pdf_module.PILE_IN_INPUTS
    in_inputs = layout.render_many(letters)
    monkeypatch.setattr(pdf_module, "PILE_IN_INPUTS", len(letters) + 1)
    assert PrintLayout(LETTERS, Extras(envelopes=True)).render_many(letters) == in_inputs


def test_one_letter_after_a_pile_is_laid_out_from_its_own_data() -> None:
    """One compiler lays out a pile (its data in sys.inputs), then one letter (its data as
    the file): the letter's page is its own, not the pile's first."""
    layout = PdfLayout(LETTERS)
    pile = layout.render_many([cyrillic_letter(), arabic_letter()])
    assert page_count(pile) == 2
    alone = layout.render(make_letter())
    assert page_count(alone) == 1
    assert text_lines(pdf_pages(alone)[0]) == text_lines(
        pdf_pages(PdfLayout(LETTERS).render(make_letter()))[0]
    )
    assert "UZBEKISTAN" in text_lines(pdf_pages(alone)[0])
    again = layout.render_many([cyrillic_letter(), arabic_letter()])
    assert [text_lines(page) for page in pdf_pages(again)] == [
        text_lines(page) for page in pdf_pages(pile)
    ]


class _Recording:
    """A Typst compiler that records which compiles were given inputs anew."""

    def __init__(self, compiler: Any) -> None:
        self.compiler = compiler
        self.inputs_given: list[bool] = []

    def compile(self, **options: Any) -> Any:
        self.inputs_given.append("sys_inputs" in options)
        return self.compiler.compile(**options)


def test_letter_files_do_not_give_typst_its_inputs_anew_each_letter() -> None:
    """Inputs given anew make Typst build its library again (a millisecond a letter of
    generate-letters --format pdf): they are given only when a pile's were given last."""
    layout = PdfLayout(LETTERS)
    recording = _Recording(layout.compiler)
    layout.compiler = recording  # type: ignore[assignment]
    for letter in (make_letter(), cyrillic_letter(), make_letter()):
        layout.render(letter)
    layout.render_many([make_letter(), cyrillic_letter()])
    layout.render_many([cyrillic_letter(), make_letter()])
    layout.render(make_letter())
    layout.render(cyrillic_letter())
    assert recording.inputs_given == [False, False, False, True, True, True, False]


# -- the fonts' cmaps: importune's own are recorded, never read ----------------------------


def test_noto_serif_has_every_printable_ascii_character(tmp_path: Path) -> None:
    """Noto Serif, read first, covers an English letter whole: no other font is asked."""
    for name in ("NotoSerif-Regular.ttf", "NotoSerif-Bold.ttf"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / name).write_bytes((SHIPPED_FONTS / name).read_bytes())
        codepoints = FontCoverage([folder]).codepoints
        assert all(code in codepoints for code in range(0x20, 0x7F)), name


def test_a_pile_is_printed_without_reading_the_cmaps_and_the_rest_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """importune's own fonts are known from fonts/coverage.json: no cmap is read, for an
    ASCII pile or any other, and a script none of them has is still refused."""
    read: list[Path] = []
    monkeypatch.setattr(pdf_module, "read_cmap", lambda path: read.append(path) or frozenset())
    pdf_module._codepoints.cache_clear()
    try:
        layout = PrintLayout(LETTERS, Extras())
        layout.render_many([make_letter(), make_letter()])
        layout.render_many([make_letter(), cyrillic_letter(), arabic_letter()])
        with pytest.raises(printing.ImportuneError, match="Ethiopic script"):
            layout.render_many([make_letter(), make_letter(subject="ሰላም")])
        assert read == []  # never read
    finally:
        pdf_module._codepoints.cache_clear()  # nothing recorded while read_cmap was replaced


# -- tags ------------------------------------------------------------------------------------


def tagged(pdf: bytes) -> bool:
    root = pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    return "/StructTreeRoot" in root


def test_a_printed_pile_has_no_accessibility_tags_and_a_letter_file_has(tmp_path: Path) -> None:
    build_workspace()
    ok("print", "--member", "hedwig-brandauer")
    assert not tagged(MEMBER_PDF.read_bytes())
    ok("generate-letters", "--format", "pdf", "--member", "hedwig-brandauer")
    files = sorted(path for path in Path("out").glob("*/*.pdf") if path.parent.name != "print")
    assert len(files) == 3
    assert all(tagged(path.read_bytes()) for path in files)


# -- Unicode isolates only where a line may read right to left -------------------------------


def test_only_letters_with_right_to_left_text_have_their_lines_isolated() -> None:
    layout = PdfLayout(LETTERS)
    assert layout.data(make_letter())["isolate"] is False
    assert layout.data(cyrillic_letter())["isolate"] is False
    assert layout.data(arabic_letter())["isolate"] is True  # a right-to-left letter
    hebrew_name = make_letter(sender_lines=["מרים כהן", "12 Linden Street", "Bristol"])
    assert layout.data(hebrew_name)["isolate"] is True  # one right-to-left line is enough
    arabic_digits = make_letter(body="Dear President,\n\nCase ١٢٣.\n\nAnna Schmidt\n")
    assert layout.data(arabic_digits)["isolate"] is True


def test_a_left_to_right_line_of_a_right_to_left_letter_keeps_its_full_stop_at_its_end() -> None:
    """importune makes each line of such a letter an isolate: an English line of an Arabic
    letter reads left to right, its full stop last (the letter's own direction, without
    the isolate, would draw the full stop at the line's left)."""
    layout = PdfLayout(LETTERS)
    recipient = ["عبد الفتاح السيسي", "Office of the President, Room 5.", "Cairo 11611", "EGYPT"]
    letter = arabic_letter(recipient_lines=recipient)
    item = layout.item(letter)
    runs = placed(pdf_pages(layout.render_items([item], letter.date))[0])
    office = [run for run in runs if "Office" in run.text]
    assert [run.text for run in office] == ["Office of the President, Room 5."]
    assert not [run for run in runs if run.text == "." and abs(run.y - office[0].y) < 0.5]


def test_a_left_to_right_letter_is_the_same_page_without_its_isolates() -> None:
    """The same words in the same places; only punctuation ending a line may now hang into
    the margin by a hair (a right-aligned date ending in a full stop moves 2 pt right)."""
    layout = PdfLayout(LETTERS)
    for letter in (make_letter(), cyrillic_letter(), make_letter(body=LONG_BODY)):
        plain = layout.data(letter)
        assert plain["isolate"] is False
        isolated = {**plain, "isolate": True}
        without = layout.render_items([plain], letter.date)
        with_isolates = layout.render_items([isolated], letter.date)
        assert [text_lines(page) for page in pdf_pages(without)] == [
            [line.strip("\u2068\u2069") for line in text_lines(page)]
            for page in pdf_pages(with_isolates)
        ]
        if letter.date_text == "1 March 2002":  # no line ends in punctuation that hangs
            assert without == with_isolates


# -- two processes compose a big pile ---------------------------------------------------------


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch, forks_made: list[int]) -> list[int]:
    """Compose in two processes from the smallest pile, even on one core; count the forks."""
    monkeypatch.setattr(printing, "PARALLEL_FROM", 2)
    monkeypatch.setattr(generate_module, "cores", lambda: 2)
    return forks_made


def printed_alike(forks: list[int], turn_off: Callable[[], None], *args: str) -> bytes:
    """``print`` with one process forked to compose, then (after ``turn_off``) with none:
    the same PDF, byte for byte, which is returned."""
    ok("print", "--member", "hedwig-brandauer", *args)
    assert len(forks) == 1
    shared = MEMBER_PDF.read_bytes()
    turn_off()
    ok("print", "--member", "hedwig-brandauer", *args)
    assert len(forks) == 1
    assert MEMBER_PDF.read_bytes() == shared
    return shared


def refused_alike(forks: list[int], turn_off: Callable[[], None]) -> None:
    """A letter names an official in a script no font has: ``print`` refuses it in one
    line, with one process forked to compose and (after ``turn_off``) with none, changes
    nothing and leaves no process behind."""
    build_workspace()
    ok("official", "edit", "prosecutor-general", "--name", "ጠቅላይ ዓቃቤ ሕግ")
    ok("generate-letters", "--member", "hedwig-brandauer")
    before = snapshot()
    line = refused("print", "--member", "hedwig-brandauer")
    assert len(forks) == 1
    assert "'prosecutor-general'" in line and "Ethiopic script" in line
    assert snapshot() == before and not MEMBER_PDF.exists()
    with pytest.raises(ChildProcessError):
        os.waitpid(forks[0], os.WNOHANG)  # reaped: no zombie left
    turn_off()
    assert refused("print", "--member", "hedwig-brandauer") == line
    assert len(forks) == 1


def composed(letters: list[Any], compose: Callable[[Any], Any] = lambda letter: letter) -> Any:
    """compose_pdf over letters made already (``compose`` hands each back)."""
    return printing.compose_pdf(PrintLayout(LETTERS, Extras()), letters, compose)


def test_a_pile_composed_by_two_processes_is_the_same_pdf(
    forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    build_workspace()
    shared = printed_alike(
        forks, lambda: monkeypatch.setattr(printing, "PARALLEL_FROM", 10**9), "--envelopes"
    )
    assert [text_lines(page)[0] for page in pdf_pages(shared)[::2]] == ["Hedwig Brandauer"] * 3


def test_a_letter_the_second_process_cannot_print_is_refused_as_before(
    forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last letter (composed by the second process) names an official in a script no
    font has: the same one-line refusal as from one process, and nothing changes."""
    refused_alike(forks, lambda: monkeypatch.setattr(printing, "PARALLEL_FROM", 10**9))


def test_a_pack_is_composed_by_two_processes_the_same_way(
    forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    build_workspace()
    ok("pack", "export", "campaign.zip")
    ok("print", "--pack", "campaign.zip", "--as", "Ada Brown", "-o", "two.pdf")
    assert len(forks) == 1
    monkeypatch.setattr(printing, "PARALLEL_FROM", 10**9)
    ok("print", "--pack", "campaign.zip", "--as", "Ada Brown", "-o", "one.pdf")
    assert Path("two.pdf").read_bytes() == Path("one.pdf").read_bytes()
    assert len(pdf_pages(Path("one.pdf"))) == 3


def test_the_second_process_is_stopped_when_the_first_half_is_refused(
    forks: list[int],
) -> None:
    """A refusal in this process's half leaves no process behind."""
    layout_letters = [make_letter()] * 4
    layout_letters[1] = make_letter(recipient_lines=["ጠቅላይ", "Tashkent"])  # this process's

    def compose(letter: object) -> object:
        return letter

    with pytest.raises(printing.ImportuneError, match="Ethiopic"):
        composed(layout_letters, compose)
    assert len(forks) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(forks[0], os.WNOHANG)  # already reaped: no zombie left


def test_letters_keep_their_order_across_the_two_halves(forks: list[int]) -> None:
    letters = [make_letter(sender_lines=[f"Member {n}"], subject=f"Letter {n}") for n in range(5)]
    count, pdf = composed(letters)
    assert count == 5 and len(forks) == 1
    assert [text_lines(page)[0] for page in pdf_pages(pdf)] == [f"Member {n}" for n in range(5)]


def test_a_pile_is_composed_here_when_no_process_can_be_forked(
    forks: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    letters = [make_letter(sender_lines=[f"Member {n}"]) for n in range(4)]
    count, pdf = composed(letters)
    assert count == 4
    assert [text_lines(page)[0] for page in pdf_pages(pdf)] == [f"Member {n}" for n in range(4)]


def test_a_second_process_that_dies_is_a_refusal_not_a_half_pile(forks: list[int]) -> None:
    parent = os.getpid()

    def compose(letter: object) -> object:
        if os.getpid() != parent:
            os._exit(3)  # killed, out of memory: it hands nothing back
        return letter

    letters = [make_letter() for _ in range(4)]
    with pytest.raises(printing.ImportuneError, match="stopped before it was done"):
        composed(letters, compose)
    assert len(forks) == 1


# -- letters on record are composed while they are checked -----------------------------------


@pytest.fixture
def ahead(monkeypatch: pytest.MonkeyPatch, forks_made: list[int]) -> list[int]:
    """Compose the letters on record ahead from the smallest pile, even on one core (and
    never split what is left between two processes); count the forks."""
    monkeypatch.setattr(printing, "AHEAD_FROM", 1)
    monkeypatch.setattr(printing, "PARALLEL_FROM", 10**9)
    monkeypatch.setattr(generate_module, "cores", lambda: 2)
    return forks_made


def not_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(printing, "AHEAD_FROM", 10**9)


def test_letters_composed_while_they_are_checked_are_the_same_pdf(
    ahead: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    build_workspace()
    ok("print", "--member", "hedwig-brandauer", "--envelopes")  # nothing on record: no copy
    assert ahead == []
    shared = printed_alike(ahead, lambda: not_ahead(monkeypatch), "--envelopes")
    assert len(pdf_pages(shared)) == 6


def test_letters_the_check_writes_anew_are_composed_after_it(
    ahead: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One letter on record has an older date and other words (so the check writes it anew,
    dated today) and one is not on record at all: both are printed as they are now."""
    build_workspace()
    ok("generate-letters", "--member", "hedwig-brandauer")
    first = rows("official_slug = 'ambassador'")[0]
    execute("UPDATE letters SET dated = '2020-02-02' WHERE id = ?", (first["id"],))
    execute("DELETE FROM letters WHERE official_id = (SELECT id FROM officials "
            "WHERE slug = 'aleksandr-lukashenko')")  # fmt: skip
    ok("print", "--member", "hedwig-brandauer")
    assert len(ahead) == 1
    printed = MEMBER_PDF.read_bytes()
    assert [r["dated"] for r in rows("l.status = 'printed'")] == [first["dated"]] * 3
    assert "2020" not in "".join(line for page in pdf_pages(printed) for line in text_lines(page))
    not_ahead(monkeypatch)
    ok("print", "--member", "hedwig-brandauer")
    assert MEMBER_PDF.read_bytes() == printed


def test_a_letter_composed_ahead_that_cannot_be_printed_is_refused_as_before(
    ahead: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    refused_alike(ahead, lambda: not_ahead(monkeypatch))


def test_a_refused_check_stops_the_copy_composing_ahead(ahead: list[int]) -> None:
    build_workspace()
    ok("generate-letters", "--member", "hedwig-brandauer")
    execute("UPDATE officials SET slug = '../ambassador' WHERE slug = 'ambassador'")
    before = snapshot()
    line = refused("print", "--member", "hedwig-brandauer")
    assert "official slug '../ambassador' is not a slug" in line
    assert snapshot() == before and not MEMBER_PDF.exists()
    assert len(ahead) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(ahead[0], os.WNOHANG)


def test_a_copy_composing_ahead_that_dies_leaves_the_letters_to_this_process(
    ahead: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    build_workspace()
    ok("print", "--member", "hedwig-brandauer")
    alone = MEMBER_PDF.read_bytes()
    parent = os.getpid()
    real = printing._composed

    def composed_here(layout: PdfLayout, letter: object) -> object:
        if os.getpid() != parent:
            os._exit(3)  # killed, out of memory: it hands nothing back
        return real(layout, letter)  # type: ignore[arg-type]

    monkeypatch.setattr(printing, "_composed", composed_here)
    ok("print", "--member", "hedwig-brandauer")
    assert len(ahead) == 1
    assert MEMBER_PDF.read_bytes() == alone


def test_two_processes_meeting_take_each_position_at_most_once() -> None:
    """Taken from both ends in turn, every position is taken once; a position both reach
    at once is taken by neither (and done afterwards)."""
    meeting = printing._Meeting(5)
    taken = []
    front, back = 0, 4
    while True:
        moved = False
        if meeting.front(front):
            taken.append(front)
            front, moved = front + 1, True
        if meeting.back(back):
            taken.append(back)
            back, moved = back - 1, True
        if not moved:
            break
    assert sorted(taken) == [0, 1, 2, 3, 4]
    late = printing._Meeting(3)  # the front starts when the back has done most
    assert late.back(2) and late.back(1)
    assert late.front(0)
    assert not late.front(1)  # the back has taken it
    assert not late.back(0)  # and the back stops where the front has been
