"""A composed letter in, bytes out: txt, md, html, pdf (Typst) and eml.

A run makes one :class:`Renderer` for its format and passes it every letter, so
whatever is costly is done once: the HTML layout is compiled once, the PDF
layout's Typst compiler and its fonts are loaded once.

    renderer = Renderer(letters_dir, "pdf")
    for letter in letters:
        renderer.check(letter)          # refuse before anything is written
    for letter in letters:
        path.write_bytes(renderer.render(letter))

Every format gives the same bytes for the same letter, every time (generation is
idempotent by the sha256 of these bytes): nothing depends on the clock, the
machine's fonts or the order letters are rendered in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from importune.errors import ImportuneError

if TYPE_CHECKING:
    from importune.compose import Letter

FORMATS = ("txt", "md", "html", "pdf", "eml")
EXTENSIONS = {"txt": ".txt", "md": ".md", "html": ".html", "pdf": ".pdf", "eml": ".eml"}
"""The file name ending of each format, dot included."""

MANY = frozenset({"html", "pdf"})
"""The formats that hold many letters in one file, each on its own page."""


class Renderer:
    """Lays out letters in one format (a PDF on ``paper``, the group's); made once per run
    and reused for every letter."""

    def __init__(self, letters_dir: Path, fmt: str, paper: str = "a4") -> None:
        if fmt not in FORMATS:
            raise ImportuneError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
        self.letters_dir = Path(letters_dir)
        self.fmt = fmt
        self.extension = EXTENSIONS[fmt]
        self._render: Callable[[Letter], bytes]
        self._check: Callable[[Letter], None] = _nothing_to_check
        self._render_many: Callable[[Sequence[Letter]], bytes] | None = None
        if fmt == "txt":
            from importune.formats import txt

            self._render = txt.render
        elif fmt == "md":
            from importune.formats import md

            self._render = md.render
        elif fmt == "eml":
            from importune.formats import eml

            self._render, self._check = eml.render, eml.check
        elif fmt == "html":
            from importune.formats.html import HtmlLayout

            layout = HtmlLayout(self.letters_dir, paper)
            self._render, self._render_many = layout.render, layout.render_many
        else:
            from importune.formats.pdf import PdfLayout

            pdf = PdfLayout(self.letters_dir, paper=paper)
            self._render, self._render_many, self._check = pdf.render, pdf.render_many, pdf.check

    def check(self, letter: Letter) -> None:
        """Refuse, before anything is written, a letter this format cannot make: an
        e-mail to an official with no address, a PDF with a script no font has."""
        self._check(letter)

    def render(self, letter: Letter) -> bytes:
        """The letter's file content."""
        return self._render(letter)

    def render_many(self, letters: Sequence[Letter]) -> bytes:
        """Many letters in one file (html, pdf), each starting on a new page."""
        if self._render_many is None:
            raise ImportuneError(
                f"a {self.fmt} file holds one letter: lay out many in one file as html or pdf"
            )
        return self._render_many(letters)


TEXT_REVISION = 2
"""The revision of the plain text and Markdown layouts, which are importune's own code
rather than a file: 2 added the subject line under the date. It is part of their
:func:`source_digest`, so a letter laid out by an earlier revision is written again."""


def source_digest(letters_dir: Path, fmt: str) -> str:
    """The sha256 of the files a format lays letters out from, beyond the letter itself:
    the HTML layout; the Typst layout files and the fonts (by path, size and time).
    Text and Markdown have :data:`TEXT_REVISION`, e-mail nothing. A re-run whose layout
    changed renders again."""
    import hashlib
    import os

    from importune.workspace import default_letters

    sha = hashlib.sha256(fmt.encode())
    if fmt in ("txt", "md"):
        sha.update(f"\0revision {TEXT_REVISION}".encode())
    folders = [Path(letters_dir), default_letters()]  # by name and content: not where they are
    if fmt == "html":
        files = [folder / "layout.html.j2" for folder in folders]
    elif fmt == "pdf":
        from importune.formats.pdf import font_dirs, font_files

        files = [path for folder in folders for path in sorted(folder.glob("*.typ"))]
        for font in font_files(font_dirs(Path(letters_dir))):
            stat = font.stat()
            sha.update(f"{font.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    else:
        files = []
    for index, path in enumerate(files):
        sha.update(f"{index}\0".encode() + os.fsencode(path.name) + b"\0")
        try:
            sha.update(path.read_bytes())
        except OSError:
            sha.update(b"\0missing")
    return sha.hexdigest()


def _nothing_to_check(letter: Letter) -> None:
    """Plain text, Markdown and HTML can hold any letter."""
