"""Counts in importune's own English messages: "1 letter", "2,000 letters".

The messages are read by people, every day, at the end of every command: "Wrote 1
letter(s)" reads as a form, and "1 letters stay sent" as a mistake. (The letters
themselves count in their own language, with babel's plural rules: see the
``plural`` filter in :mod:`importune.compose`.)
"""

from __future__ import annotations


def count(number: int, noun: str, plural: str | None = None) -> str:
    """The number, with thousands separated, and its noun agreed: ``count(1, "letter")``
    is "1 letter", ``count(2000, "letter")`` "2,000 letters"; ``plural`` for a noun
    whose plural is not its singular and an s."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def agree(number: int, one: str, many: str) -> str:
    """The verb (or any word) that agrees with ``number``: ``agree(n, "stays", "stay")``."""
    return one if number == 1 else many
