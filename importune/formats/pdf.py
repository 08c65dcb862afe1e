"""The letter as a printed page: laid out by Typst from ``letters/layout.typ``.

The letter goes to Typst as data (JSON in ``sys.inputs``), never spliced into Typst
markup, so a name with ``#``, ``$``, ``*``, ``_``, ``@`` or ``<`` prints as written.
The layout takes a list of letters and starts each on a new page, so ``print``
lays out a member's whole pile in one compile (:meth:`PdfLayout.render_many`).

One :class:`PdfLayout` holds one ``typst.Compiler`` for a whole run: fonts are
read and the layout is parsed once, then each letter is a fresh compile of the
same document with new data. The data is a JSON file handed to Typst in memory
(``sys.inputs.letters-file`` names it), not ``sys.inputs`` itself: new inputs
make a new standard library for Typst, and everything it remembered from the
compiles before (the layout evaluated, paragraphs shaped, fonts subset) would be
thrown away each letter, at ~40% of a one-letter compile. A workspace's older
``layout.typ`` that reads ``sys.inputs.letters`` still gets its letters there.

Fonts are files, never the machine's own: the Noto fonts shipped in
``importune/fonts/`` (Latin, Greek, Cyrillic, Vietnamese, Arabic script, Hebrew,
Armenian, Georgian, Thai, Devanagari), then the folders in ``$IMPORTUNE_FONTS``,
then ``letters/fonts/``. Typst's own embedded fonts and the system's are left out,
so a letter prints the same on every machine and :class:`FontCoverage` knows
exactly which characters can be printed: a letter holding a script that no font
has is refused before anything is written, rather than printed with empty boxes.

Page numbers (from a letter's second page on) cost Typst a second pass over the whole
document: a footer that knows where its letter starts needs the first pass's pages. Most
letters fit on one page, where no number shows. So a layout that knows ``page-numbers``
is first compiled without them, and the pages are counted: one per letter (and envelope)
means no letter ran on, and that PDF is the one a numbered layout would give. Otherwise the
letters are laid out again, numbered. A pile holding a letter whose length says it may run
on (:func:`may_run_on`) is numbered at once. An older layout is compiled once, numbered.

A PDF to read on screen (``generate-letters --format pdf``) is tagged for accessibility
(reading order, structure for screen readers); one printed on paper (``print``) is not:
tags are half the bytes of a pile of letters, and a fifth of its time.

Same letter, same bytes: the PDF's dates come from the letter's date, not the clock.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import typst

from importune.errors import ImportuneError, NotFound
from importune.formats.common import crowded, layout_data, noon_utc, slug_of
from importune.wording import agree
from importune.workspace import default_letters

if TYPE_CHECKING:
    from importune.compose import Letter

LAYOUT = "layout.typ"
DATA_FILE = "importune-letters.json"
"""The letters' JSON as the layout reads it (``json(sys.inputs.at("letters-file"))``), in
memory: never written to disk, and not a file in the letters folder."""
_MAIN = "main.typ"
"""The in-memory main file: it only includes the layout. The layout itself stays a file that
Typst parsed once; a main file given anew each compile would be parsed and hashed anew (a
fifth of a one-letter compile for layout.typ)."""
_INCLUDE_LAYOUT = f'#include "{LAYOUT}"\n'.encode()
FONTS_ENV = "IMPORTUNE_FONTS"
FONT_SUFFIXES = frozenset({".ttf", ".otf", ".ttc", ".otc"})
SHIPPED_FONTS = Path(__file__).resolve().parent.parent / "fonts"

MAIN_FONT = "Noto Serif"
"""Latin, Greek and Cyrillic are set in it; other scripts in the next font that has them."""

# Characters that need no glyph: Typst hides them or acts on them (line ends, joiners,
# direction marks, soft hyphens, variation selectors).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
_VARIATION_SELECTORS = (range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0))

# Bidirectional classes that read left to right in a left-to-right letter, isolated or not
# (strong left-to-right, numbers and separators, neutrals, marks): a letter made of these
# alone is laid out the same without Unicode isolates. Right-to-left letters (R, AL), Arabic
# digits (AN) and the explicit direction controls need them.
_LEFT_TO_RIGHT = frozenset({"L", "EN", "ES", "ET", "CS", "NSM", "BN", "B", "S", "WS", "ON"})

# Where a Typst diagnostic points: "┌─ layout.typ:12:5".
_PLACE = re.compile(r"┌─ (?P<file>\S+):(?P<line>\d+):(?P<column>\d+)")
# The page tree of a PDF Typst writes: "/Type/Pages/Count 1000/Kids[...]".
_PAGE_TREE = re.compile(rb"/Type\s*/Pages\s*/Count\s+(\d+)")
PILE_IN_INPUTS = 2
"""Letters from which one compile hands its data to the layout in ``sys.inputs.letters``,
not as the letters file: typst-py parses every file it is handed as Typst markup (45 ms
for the 1.7 MB of a thousand letters, before Typst can start on them). One letter at a
time (``generate-letters``) goes as the file: the compiler's inputs stay the same from
letter to letter, and with them what Typst laid out for the letters before."""
PAGE_NUMBERS = "page-numbers"
"""The data's switch for page numbers (a layout that has none ignores it)."""
PAPER_MARK = 'at("paper"'
"""How a layout that reads the data's paper (``data.at("paper", default: "a4")``) is known:
an older one lays out A4 whatever it is given."""


def font_dirs(letters_dir: Path) -> list[Path]:
    """The font folders, in order: importune's own, ``$IMPORTUNE_FONTS`` (folders separated
    like PATH), then the letters folder's ``fonts/`` when there is one."""
    folders = [SHIPPED_FONTS]
    for entry in os.environ.get(FONTS_ENV, "").split(os.pathsep):
        if entry.strip():
            folder = Path(entry.strip()).expanduser()
            if not folder.is_dir():
                raise NotFound(f"{FONTS_ENV} names {str(folder)!r}, which is not a folder")
            folders.append(folder)
    own = Path(letters_dir) / "fonts"
    if own.is_dir():
        folders.append(own)
    return folders


def font_files(folders: Iterable[Path]) -> list[Path]:
    """Every font file in the folders and their subfolders, as Typst finds them."""
    found = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.suffix.lower() in FONT_SUFFIXES and path.is_file():
                found.append(path)
    return found


COVERAGE = "coverage.json"
"""In importune's font folder: the characters of each font shipped there, as fontTools
reads them, with the file's size (``python scripts/font_coverage.py`` writes it; a test
reads every font again and compares). A run whose letters need only these fonts never
loads fontTools nor reads a cmap: a tenth of a second before the first page."""


@cache
def _codepoints(path: Path, size: int, mtime_ns: int) -> frozenset[int]:
    """The characters a font file has glyphs for (every font of a collection).

    Cached by path, size and time, so a run reads each font's cmap once; a font importune
    ships is known from :data:`COVERAGE` while its size is the one recorded there.
    """
    del mtime_ns  # part of the cache key only
    known = _shipped().get(path.name) if path.parent == SHIPPED_FONTS else None
    if known is not None and known["size"] == size:
        return frozenset(
            code for first, last in known["ranges"] for code in range(first, last + 1)
        )
    return read_cmap(path)


@cache
def _shipped() -> dict[str, dict[str, Any]]:
    try:
        recorded = json.loads((SHIPPED_FONTS / COVERAGE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def read_cmap(path: Path) -> frozenset[int]:
    """The characters a font file has glyphs for, read with fontTools. A file that is not
    a readable font counts for nothing, as Typst skips it too."""
    from fontTools.ttLib import TTCollection, TTFont, TTLibError

    try:
        if path.suffix.lower() in {".ttc", ".otc"}:
            fonts = list(TTCollection(str(path), lazy=True).fonts)
        else:
            fonts = [TTFont(str(path), lazy=True)]
        covered: set[int] = set()
        for font in fonts:
            cmap = font.getBestCmap() or {}
            covered.update(cmap)
        return frozenset(covered)
    except (TTLibError, OSError, KeyError, ValueError, AssertionError, IndexError):
        return frozenset()


def ranges(codes: Iterable[int]) -> list[list[int]]:
    """``[[first, last], ...]``: runs of consecutive characters, as :data:`COVERAGE` keeps them."""
    runs: list[list[int]] = []
    for code in sorted(codes):
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return runs


@cache
def _left_to_right(char: str) -> bool:
    """Whether a character reads left to right in a left-to-right letter, isolated or not."""
    return unicodedata.bidirectional(char) in _LEFT_TO_RIGHT


def _needs_glyph(char: str) -> bool:
    code = ord(char)
    if any(code in block for block in _VARIATION_SELECTORS):
        return False
    return unicodedata.category(char) not in _INVISIBLE_CATEGORIES


def _what(chars: set[str]) -> str:
    """``Ethiopic script``, ``Han and Ethiopic scripts``, ``the character '☭' (U+262D)``."""
    from fontTools import unicodedata as font_unicodedata

    scripts: dict[str, None] = {}
    loose: list[str] = []
    for char in sorted(chars):
        code = font_unicodedata.script(char)
        if code in {"Zyyy", "Zinh", "Zzzz"}:  # common, inherited, unknown: name the character
            loose.append(char)
        else:
            scripts.setdefault(font_unicodedata.script_name(code, default=code))
    parts = []
    if scripts:
        names = list(scripts)
        parts.append(f"{_and(names)} {agree(len(names), 'script', 'scripts')}")
    if loose:
        shown = [f"{char!r} (U+{ord(char):04X})" for char in loose[:3]]
        more = f" and {len(loose) - 3} more" if len(loose) > 3 else ""
        noun = agree(len(loose), "character", "characters")
        parts.append(f"the {noun} {', '.join(shown)}{more}")
    return " and ".join(parts)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_ASCII = "".join(map(chr, range(128)))


class FontCoverage:
    """What the fonts in a set of folders can print, read from their cmaps as letters ask.

    A character is printable when any of the fonts has it. The fonts are read one at a
    time, Noto Serif first (Latin, Greek and Cyrillic), and only until every character
    asked about is found: a pile of letters in those scripts reads one font's cmap, not
    sixteen (and a tenth of a second less before the first page).
    """

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = list(folders)
        main = f"{MAIN_FONT.replace(' ', '')}-Regular.ttf"
        # sorted() is stable: the other fonts keep the order Typst finds them in.
        self._unread = sorted(font_files(self.folders), key=lambda path: path.name != main)
        self._covered: set[int] = set()
        self._printable: set[str] = set()  # characters asked about and found covered

    @property
    def codepoints(self) -> frozenset[int]:
        """Every character one of the fonts has (all of them read)."""
        self._read(until=None)
        return frozenset(self._covered)

    def missing(self, texts: Iterable[str]) -> set[str]:
        """The characters of ``texts`` that no font has (and that need a glyph).

        A letter's characters are nearly all those of the letters before it: the ones
        found printable are kept, so a letter costs one set difference, and none at all
        when it is ASCII and every ASCII character was found printable."""
        text = "".join(texts)
        if text.isascii() and self._ascii_printable:
            return set()
        return self._unprintable(set(text))

    @cached_property
    def _ascii_printable(self) -> bool:
        """Whether every ASCII character that needs a glyph has one (Noto Serif's do)."""
        return not self._unprintable(set(_ASCII))

    def _unprintable(self, chars: set[str]) -> set[str]:
        """:meth:`missing` for a set of characters."""
        chars -= self._printable
        if not chars:
            return chars
        covered = self._covered
        unknown = {char for char in chars if ord(char) not in covered and _needs_glyph(char)}
        if unknown:
            self._read(until={ord(char) for char in unknown})
            unknown = {char for char in unknown if ord(char) not in covered}
        self._printable |= chars - unknown
        return unknown

    def _read(self, until: set[int] | None) -> None:
        """Read fonts not read yet until ``until`` is covered (None: every font)."""
        while self._unread and (until is None or not until <= self._covered):
            path = self._unread.pop(0)
            try:
                stat = path.stat()
            except OSError:  # gone since the folder was listed: Typst will not have it either
                continue
            self._covered |= _codepoints(path, stat.st_size, stat.st_mtime_ns)


def _texts(data: dict[str, Any]) -> list[str]:
    """Every string a letter puts on the page."""
    texts = [data["date"], data["subject"], data["signature"], *data["sender"]]
    texts += data["recipient"]
    for paragraph in data["body"]:
        texts += paragraph
    return texts


def _font_order(fonts: typst.Fonts) -> list[str]:
    """Font families in the order a letter tries them: Noto Serif for Latin, Greek and
    Cyrillic, then the user's fonts (so that a font put in ``letters/fonts/`` is the one
    used for the scripts it has), then the other fonts importune ships."""
    shipped, user = set(), set()
    for info in fonts.fonts():
        path = Path(info.path) if info.path else None
        ours = path is not None and path.resolve().is_relative_to(SHIPPED_FONTS)
        (shipped if ours else user).add(info.family)
    return list(dict.fromkeys([MAIN_FONT, *sorted(user), *sorted(shipped)]))


LINE_CHARACTERS = 85
"""About the characters of a line of body text under the default layout (11 pt Noto Serif
on 165 mm): an estimate, for :func:`may_run_on` only."""
PAGE_LINES = 22
"""Lines of body text (a paragraph's gap counted as a third of a line) that surely fit on a
letter's first page under its head, date, subject and signature (25 do, measured)."""


def may_run_on(item: dict[str, Any]) -> bool:
    """Whether a letter may run onto a second page, estimated from its length under the
    default layout. Only the way the pile is laid out depends on it (numbered at once, or
    first without numbers), never the pages: a wrong guess costs time, not a number."""
    lines = sum(-(-len(line) // LINE_CHARACTERS) or 1 for part in item["body"] for line in part)
    lines += len(item["body"]) / 3 + len(item["subject"]) // LINE_CHARACTERS
    return lines > PAGE_LINES


class Encoded(NamedTuple):
    """A letter's layout data as the JSON the layout reads, with what a pile needs to know
    of it without reading it back: a pile is sent to Typst as one JSON text, joined from
    its letters' (made where the letters are composed, in two processes for a big pile)."""

    json: str
    subject: str  # the PDF's title when it holds this letter alone
    long: bool  # whether it may run onto a second page (:func:`may_run_on`)


def encode(item: dict[str, Any]) -> Encoded:
    """A letter's layout data (:meth:`PdfLayout.item`) for :meth:`PdfLayout.render_encoded`,
    its lines as the layout shows them (:func:`shown`)."""
    return Encoded(json.dumps(shown(item), ensure_ascii=False), item["subject"], may_run_on(item))


_ONE_LINE = ("date", "subject", "signature")
_LINES = ("sender", "recipient")


def shown(item: dict[str, Any]) -> dict[str, Any]:
    """The layout data with each line of a letter that needs it (``isolate``) made a Unicode
    isolate (FSI ... PDI): a line that takes its own direction from its first letter, as
    HTML's dir="auto" does, so that an English address line in an Arabic letter still reads
    left to right and lines up on the letter's side. Done here, not by the layout: Typst
    records every call to a layout's function, and calling one for each line of a thousand
    letters cost it 50 ms on one core before it could lay out a page.

    ``isolate`` stays in the data: a workspace's copy of an older layout reads it, and
    shows a letter without isolates as it did (one with them gets them twice, unseen)."""
    if not item.get("isolate"):
        return item
    shown = dict(item)
    for key in _ONE_LINE:
        shown[key] = _isolated(item[key])
    for key in _LINES:
        shown[key] = [_isolated(line) for line in item[key]]
    shown["body"] = [[_isolated(line) for line in paragraph] for paragraph in item["body"]]
    return shown


def _isolated(line: str) -> str:
    return f"\u2068{line}\u2069"


def page_count(pdf: bytes) -> int | None:
    """The pages of a PDF that Typst wrote (its page tree's count), or None when unsure."""
    found = _PAGE_TREE.findall(pdf)
    return int(found[0]) if len(found) == 1 else None


class PdfLayout:
    """``layout.typ`` with its fonts, compiled by one Typst compiler for a whole run.

    ``tags``: a tagged PDF (for screen readers), or a lighter one for paper. ``paper``:
    ``a4`` or ``letter`` (US Letter), the page and where the window envelope's window is.
    """

    def __init__(self, letters_dir: Path, *, tags: bool = True, paper: str = "a4") -> None:
        self.letters_dir = Path(letters_dir)
        self.tags = tags
        self.paper = paper
        path = self.letters_dir / LAYOUT
        if not path.is_file():
            path = default_letters() / LAYOUT
            if not path.is_file():  # pragma: no cover - the default ships with importune
                raise NotFound(f"{self.letters_dir / LAYOUT} not found (nor importune's default)")
        self.path = path
        self.folders = font_dirs(self.letters_dir)
        fonts = typst.Fonts(
            include_system_fonts=False,
            include_embedded_fonts=False,
            font_paths=[str(folder) for folder in self.folders],
        )
        self.fonts = _font_order(fonts)
        # A layout from before letters-file (copied into a workspace) reads sys.inputs.letters;
        # one from before page-numbers numbers its pages always.
        source = path.read_text(encoding="utf-8")
        if paper != "a4" and PAPER_MARK not in source:
            raise NotFound(
                f"{path} lays out A4 only (it predates --paper {paper}): copy layout.typ and "
                f"envelope.typ anew (importune init /tmp/fresh && cp /tmp/fresh/letters/*.typ "
                f"{path.parent}/), or print on A4 (--paper a4)"
            )
        self.by_file = "letters-file" in source
        self.numbers_optional = self.by_file and PAGE_NUMBERS in source
        self._file_inputs = {"letters-file": f"/{DATA_FILE}"} if self.by_file else {}
        self._inputs = self._file_inputs  # those the compiler has (see _compile)
        self.compiler = typst.Compiler(
            str(path), root=str(path.parent), font_paths=fonts, sys_inputs=self._file_inputs
        )
        self._checked: tuple[Letter, dict[str, Any]] | None = None

    @cached_property
    def coverage(self) -> FontCoverage:
        """What the fonts can print: their cmaps are read when a letter first needs them."""
        return FontCoverage(self.folders)

    def data(self, letter: Letter) -> dict[str, Any]:
        """The letter as the layout reads it, with the font families to try in order,
        whether its lines need Unicode isolates (see :data:`_LEFT_TO_RIGHT`; :func:`shown`
        adds them) and whether an address may not fit its place
        (:func:`~importune.formats.common.crowded`)."""
        data = {**layout_data(letter), "fonts": self.fonts}
        text = "".join(_texts(data))
        data["isolate"] = data["dir"] != "ltr" or not (
            text.isascii() or all(map(_left_to_right, set(text)))
        )
        if crowded(data, self.paper):
            data["crowded"] = True
        return data

    def check(self, letter: Letter) -> None:
        """Refuse a letter holding characters that no font can print, naming their script."""
        data = self.data(letter)
        self._check(letter, data)
        # A run checks each letter, then renders it: that render needs neither done again.
        self._checked = (letter, data)

    def _check(self, letter: Letter, data: dict[str, Any]) -> None:
        missing = self.coverage.missing(_texts(data))
        if missing:
            raise ImportuneError(
                f"letter to {slug_of(letter.official)!r} for {slug_of(letter.case)!r} uses "
                f"{_what(missing)}, which no font covers: put a font (.ttf/.otf) that has it "
                f"in {self.letters_dir / 'fonts'}/ or set {FONTS_ENV}"
            )

    def render(self, letter: Letter) -> bytes:
        """One letter as a PDF."""
        return self.render_many([letter])

    def render_many(self, letters: Sequence[Letter]) -> bytes:
        """Letters as one PDF, each from a new page; all are checked before any is laid out."""
        if not letters:
            raise ImportuneError("no letters to lay out")
        items = [self.item(letter) for letter in letters]
        return self.render_items(items, max(letter.date for letter in letters))

    def item(self, letter: Letter) -> dict[str, Any]:
        """The letter as the layout reads it, checked (see :meth:`check`)."""
        if self._checked is not None and self._checked[0] is letter:
            return self._checked[1]
        data = self.data(letter)
        self._check(letter, data)
        return data

    def render_items(self, items: Sequence[dict[str, Any]], day: dt.date) -> bytes:
        """Letters made layout data by :meth:`item` as one PDF, dated ``day`` (the latest
        letter's date)."""
        return self.render_encoded([encode(item) for item in items], day)

    def render_encoded(self, letters: Sequence[Encoded], day: dt.date) -> bytes:
        """:meth:`render_items` for letters encoded already (:func:`encode`)."""
        if not letters:
            raise ImportuneError("no letters to lay out")
        title = letters[0].subject if len(letters) == 1 else f"{len(letters)} letters"
        timestamp = noon_utc(day)
        # A pile with a letter that may run on is numbered at once: laying it out first
        # without numbers would most likely be thrown away (half again the time).
        long = any(letter.long for letter in letters)
        pages = self.pages(len(letters)) if self.numbers_optional and not long else None
        if pages is not None:
            pdf = self._compile(False, title, letters, timestamp)
            if page_count(pdf) == pages:
                return pdf  # no letter ran on: numbers would have shown nowhere
        # A letter runs onto a second page (or the layout always numbers): numbered.
        return self._compile(True, title, letters, timestamp)

    def pages(self, letters: int) -> int | None:
        """The pages ``letters`` letters make when none runs onto a second page (None:
        unknown)."""
        return letters

    def _compile(
        self, numbers: bool, title: str, letters: Sequence[Encoded], timestamp: dt.datetime
    ) -> bytes:
        """One Typst compile of the letters: the data is joined from each letter's JSON,
        the same text ``json.dumps`` makes of the whole document."""
        head = json.dumps(
            {"title": title, PAGE_NUMBERS: numbers, "paper": self.paper}, ensure_ascii=False
        )
        text = f'{head[:-1]}, "letters": [{", ".join(letter.json for letter in letters)}]}}'
        if self.by_file and len(letters) < PILE_IN_INPUTS:
            files = {_MAIN: _INCLUDE_LAYOUT, DATA_FILE: text.encode("utf-8")}
            inputs = self._file_inputs
        else:
            files = {_MAIN: _INCLUDE_LAYOUT} if self.by_file else None
            inputs = {"letters": text}
        # Inputs given to a compile stay for the next; giving them anew costs a millisecond
        # a letter (Typst's library is built again), so the letters file's are given only
        # when a pile's were given last.
        anew = {"sys_inputs": inputs} if inputs is not self._inputs else {}
        self._inputs = inputs
        try:
            pdf = self.compiler.compile(
                input=files, format="pdf", timestamp=timestamp, pdf_tags=self.tags, **anew
            )
        except typst.TypstError as error:
            raise ImportuneError(_typst_message(self.path, error)) from None
        assert isinstance(pdf, bytes)
        return pdf


def _typst_message(layout: Path, error: typst.TypstError) -> str:
    """Typst's error as one line: the file and line it names, the message and its hints."""
    message = " ".join(str(getattr(error, "message", "") or error).split())
    hints = [" ".join(str(hint).split()) for hint in getattr(error, "hints", None) or []]
    where = str(layout)
    place = _PLACE.search(str(getattr(error, "diagnostic", "") or ""))
    if place:
        file = place["file"]
        where = f"{layout if Path(file).name == layout.name else file}, line {place['line']}"
    if message == "unresolved import" and not hints:
        # The layout imports from envelope.typ what an older copy of it lacks.
        hints = [
            f"if {layout.name} and envelope.typ in {layout.parent} come from different "
            f"versions of importune, copy both anew (importune init /tmp/fresh && cp "
            f"/tmp/fresh/letters/*.typ {layout.parent}/)"
        ]
    return f"{where}: " + "; ".join([message, *hints])
