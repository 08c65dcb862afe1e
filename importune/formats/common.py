"""What every format reads from a composed letter: its lines, its paragraphs, its direction.

A :class:`~importune.compose.Letter` holds text as a template wrote it. The formats
agree on how that text is cut up, so that the same letter reads the same in a
.txt file, an e-mail and a printed page:

- line ends are ``\\n`` whatever the template or a spreadsheet used (``\\r\\n``,
  ``\\r``, U+2028...), and a single-line field (the subject, the date) never
  carries one;
- the body is paragraphs separated by blank lines, each paragraph its lines as
  written (a template's line break is a line break on paper too);
- the body's last line is the signer's name: the printed layouts leave the space
  for the handwritten signature above it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importune.compose import Letter

RTL_LANGUAGES = frozenset({"ar", "fa", "he", "iw", "ur", "ps", "sd", "ug", "yi", "ckb", "dv"})
"""Languages written right to left: Arabic, Persian, Hebrew, Urdu, Pashto, Sindhi, Uyghur,
Yiddish, Central Kurdish, Dhivehi."""

_LINE_ENDS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")


def direction(language: str) -> str:
    """``"rtl"`` for a language written right to left, else ``"ltr"``."""
    return "rtl" if language.split("-")[0].lower() in RTL_LANGUAGES else "ltr"


_OTHER_BREAKS = ("\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def normalise_lines(text: str) -> str:
    """Every kind of line end made ``\\n``.

    Text with none but ``\\n`` (nearly every letter) is returned as it is: nine
    substring tests cost a microsecond, the regular expression's scan of a letter
    thirty times that."""
    if not any(other in text for other in _OTHER_BREAKS):
        return text
    return _LINE_ENDS.sub("\n", text)


@lru_cache(maxsize=4096)
def one_line(text: str | None) -> str:
    """A field that must stay on one line (a subject, a name in a header): breaks become spaces."""
    return " ".join(normalise_lines(text or "").split("\n")).strip()


def lines(items: Iterable[str | None]) -> list[str]:
    """Address lines as lines: an item holding a line break becomes two, empty ones go."""
    return list(block_lines(tuple(items)))


@lru_cache(maxsize=4096)
def block_lines(items: tuple[str | None, ...]) -> tuple[str, ...]:
    """:func:`lines` for an address block, cut once per block: a campaign has a few
    hundred senders and recipients and tens of thousands of letters."""
    result = []
    for item in items:
        for line in normalise_lines(item or "").split("\n"):
            if line.strip():
                result.append(line.strip())
    return tuple(result)


def paragraphs(body: str) -> list[list[str]]:
    """The body as paragraphs (split at blank lines), each a list of its lines."""
    text = normalise_lines(body).strip("\n")
    blocks = _BLANK_LINE.split(text) if text.strip() else []
    return [[line.rstrip() for line in block.split("\n")] for block in blocks if block.strip()]


def body_and_signature(body: str) -> tuple[list[list[str]], str]:
    """The paragraphs above the signature and the signature line (the body's last line).

    ``Yours sincerely,\\n\\nAnna`` and ``Yours sincerely,\\nAnna`` both give the closing
    as the last paragraph and ``Anna`` as the signature.
    """
    blocks = paragraphs(body)
    if not blocks:
        return [], ""
    signature = blocks[-1].pop()
    if not blocks[-1]:
        blocks.pop()
    return blocks, signature


def noon_utc(day: dt.date) -> dt.datetime:
    """The moment a letter is dated: noon UTC is the same calendar day from UTC-11 to UTC+11.

    Every date a format writes (an e-mail's Date, a PDF's creation date) comes from
    the letter's date, never from the clock, so the same letter makes the same bytes.
    """
    return dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC)


def slug_of(record: dict[str, Any] | None, default: str = "") -> str:
    """A record's slug for messages and identities (its name when it has no slug)."""
    if not record:
        return default
    return str(record.get("slug") or record.get("name") or default)


def layout_data(letter: Letter) -> dict[str, Any]:
    """The letter as plain data for a page layout (layout.html.j2 and layout.typ).

    Only strings and lists of strings: a layout shows them as text and never
    interprets them, so nothing a name contains can act as markup.
    """
    body, signature = body_and_signature(letter.body)
    return {
        "language": letter.language,
        "dir": direction(letter.language),
        "sender": lines(letter.sender_lines),
        "recipient": lines(letter.recipient_lines),
        "date": one_line(letter.date_text),
        "subject": one_line(letter.subject),
        "body": body,
        "signature": signature,
    }


# -- the paper and its window envelope ---------------------------------------------------------

PAPER_NAMES = {"a4": "A4", "letter": "US Letter"}
"""The papers the layouts lay letters out on, as a person names them."""
WINDOW_ENVELOPES = {"a4": "DL", "letter": "No10"}
"""The window envelope each paper's letters are folded for (``envelope.typ``'s names)."""
ENVELOPE_NAMES = {"DL": "DL", "C5": "C5", "No10": "#10"}
"""An envelope's name as a person reads it."""


def window_envelope(paper: str) -> str:
    """``DL``, ``#10``: the envelope whose window a letter on ``paper`` shows through."""
    return ENVELOPE_NAMES[WINDOW_ENVELOPES[paper]]


# -- addresses on the printed page ------------------------------------------------------------

ADDRESS_EMS = 16.0
"""The width of an address line under the default layouts, in ems of its text, less an eighth
for the estimate's sake: 18.3 on a label (58 mm at 9 pt), 20.6 in A4's window (80 mm at 11
pt) and 22.0 in US Letter's, 18.0 for the return address (70 mm at 11 pt). For
:func:`crowded`."""
RECIPIENT_LINES = {"a4": 7, "letter": 3}
"""Lines of the official's address that surely fit the window and a label, by paper: on A4, 8
do in the window (40 mm at 11 pt) and on a label (34.3 mm at 9 pt); on US Letter, 4 in the
#10 envelope's window (22.2 mm) and 5 on a label (21.4 mm). One is kept for the estimate."""
SENDER_LINES = {"a4": 12, "letter": 9}
"""Lines of the return address that surely fit the letter's head at 11 pt: 13 on A4 (70 mm),
10 on US Letter (55 mm)."""
SMALLEST_EMS = {"a4": 28.0, "letter": 30.0}
SMALLEST_LINES = {"a4": 10, "letter": 6}
"""Lines of the official's address that show through the window at the smallest the layout
sets it (8 pt), of ``SMALLEST_EMS`` each: on A4, 10 lines of 28.3 em; on US Letter, 6 of
30.4 em. A longer address shows in part, and ``importune check`` warns: this estimate errs
wide only by its widths, so as not to warn of an address that fits."""


def crowded(item: dict[str, Any], paper: str = "a4") -> bool:
    """Whether an address of a letter may not fit its place under the default layouts (the
    official's the envelope's window or a label, the member's the letter's head), estimated
    from its lines with a width for each character that errs on the wide side. The layout
    measures such a letter's addresses, and sets the official's smaller to fit: a letter
    whose addresses surely fit is spared the measuring, and looks as it always did."""
    return _crowded(tuple(item["recipient"]), tuple(item["sender"]), paper)


@lru_cache(maxsize=4096)
def _crowded(recipient: tuple[str, ...], sender: tuple[str, ...], paper: str) -> bool:
    """:func:`crowded`, once per official and member: their letters share the addresses."""
    return (
        wrapped_lines(recipient, ADDRESS_EMS) > RECIPIENT_LINES[paper]
        or wrapped_lines(sender, ADDRESS_EMS) > SENDER_LINES[paper]
    )


def wrapped_lines(items: Sequence[str], width: float) -> float:
    """The height ``items`` take when wrapped at ``width`` ems, word by word as Typst wraps
    them (a word wider than a line counted in lines of its own), by :func:`_ems`; in lines
    of Latin text: a line in Arabic script counts as :data:`_TALL_LINE`."""
    height = 0.0
    for item in items:
        tall = _TALL_LINE if any(map(_tall, item)) else 1.0
        if len(item) <= width:  # no character is wider than an em
            height += tall
            continue
        taken, used = 1, 0.0
        for word in item.split():
            ems = sum(map(_ems, word))
            if used and used + _SPACE_EMS + ems > width:
                taken, used = taken + 1, 0.0
            used += (_SPACE_EMS if used else 0.0) + ems
            while used > width:  # a word no line holds: Typst breaks or overflows it
                taken, used = taken + 1, used - width
        height += taken * tall
    return height


_TALL_LINE = 1.3
"""Noto Naskh Arabic's lines are 26% taller than Noto Serif's (6.67 mm against 5.29 at 11 pt)."""


@cache
def _tall(char: str) -> bool:
    """Whether a character is in Arabic script (bidirectional class AL), set in taller lines."""
    return unicodedata.bidirectional(char) == "AL"


_SPACE_EMS = 0.3
_NO_WIDTH = frozenset({"Cc", "Cf", "Zl", "Zp", "Mn", "Me"})
_EMS_BY_CATEGORY = {"Ll": 0.7, "Nd": 0.6, "Zs": _SPACE_EMS}
"""Widths in ems that err on the wide side of the shipped fonts' averages: lower case 0.65
(Cyrillic, Georgian; a to z 0.55, counted 0.6), digits 0.56, a space 0.26; capitals (0.67
Latin, 0.74 Cyrillic) and letters with no case (0.65 Arabic) 0.8, punctuation 0.5."""


@cache
def _ems(char: str) -> float:
    """A character's width in ems, on the wide side for its kind (see _EMS_BY_CATEGORY)."""
    category = unicodedata.category(char)
    if category in _NO_WIDTH:
        return 0.0
    if unicodedata.east_asian_width(char) in "WF":
        return 1.0
    if char.isascii() and char.islower():
        return 0.6
    return _EMS_BY_CATEGORY.get(category, 0.5 if category[0] in "PS" else 0.8)
