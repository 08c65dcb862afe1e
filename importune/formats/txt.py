"""The letter as written, in plain text: what a member copies out by hand or prints as it is.

Sender block, a blank line, recipient block, a blank line, the date, a blank line,
the subject (the template's ``Subject:`` line, without the word, as the printed letter
shows it), a blank line, then the body from the salutation to the signature. UTF-8,
``\\n`` line ends, one newline at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from importune.formats.common import block_lines, normalise_lines, one_line

if TYPE_CHECKING:
    from importune.compose import Letter


def text(letter: Letter) -> str:
    """The letter as one string (the blocks that are empty are left out)."""
    blocks = [
        "\n".join(block_lines(tuple(letter.sender_lines))),
        "\n".join(block_lines(tuple(letter.recipient_lines))),
        one_line(letter.date_text),
        one_line(letter.subject),
        normalise_lines(letter.body).strip("\n"),
    ]
    return "\n\n".join(block for block in blocks if block) + "\n"


def render(letter: Letter) -> bytes:
    """The letter as UTF-8 bytes."""
    return text(letter).encode("utf-8")
