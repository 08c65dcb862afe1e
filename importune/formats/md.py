"""The letter in Markdown: the same blocks as the plain text, safe to render anywhere.

Names and addresses are data, not markup: every character that CommonMark (or
GitHub's dialect: tables, strikethrough, ``$`` maths) would read as syntax is
escaped with a backslash, so ``*Anna*`` or ``# 2`` is shown as typed, and a
``<script>`` in a name stays text. Lines keep their breaks with a trailing
backslash (CommonMark's hard line break, visible where trailing spaces are not).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from importune.formats.common import lines, normalise_lines, one_line, paragraphs

if TYPE_CHECKING:
    from importune.compose import Letter

# Characters that can start markup anywhere in a line.
_INLINE = re.compile(r"([\\`*_\[\]<>#|~$&])")
# What makes a block only at the start of a line: a list item (- + or "1." "1)"), a
# heading underline (= or -), a quote (> is escaped above). Leading spaces would make code.
_LIST_MARK = re.compile(r"^([-+=])")
_NUMBERED = re.compile(r"^(\d{1,9})([.)])")


def escape(line: str) -> str:
    """One line of text made Markdown that renders as exactly that text."""
    line = _INLINE.sub(r"\\\1", line.strip())
    line = _LIST_MARK.sub(r"\\\1", line)
    return _NUMBERED.sub(r"\1\\\2", line)


def _block(block_lines: list[str]) -> str:
    """Lines of one block, each kept on its own line by a hard break."""
    return "\\\n".join(escape(line) for line in block_lines)


def _strong(text: str) -> str:
    """The subject in bold, as the printed letter shows it (nothing for none)."""
    return f"**{text}**" if text else ""


def text(letter: Letter) -> str:
    """The letter as Markdown source."""
    blocks = [
        _block(lines(letter.sender_lines)),
        _block(lines(letter.recipient_lines)),
        escape(one_line(letter.date_text)),
        _strong(escape(one_line(letter.subject))),
        *(_block(paragraph) for paragraph in paragraphs(normalise_lines(letter.body))),
    ]
    return "\n\n".join(block for block in blocks if block) + "\n"


def render(letter: Letter) -> bytes:
    """The letter as UTF-8 Markdown."""
    return text(letter).encode("utf-8")
