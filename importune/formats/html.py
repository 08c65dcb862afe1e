"""The letter as a web page: one printable page per letter (A4 or US Letter, the group's
paper), from ``letters/layout.html.j2``.

The layout is a group's own template (a workspace's ``letters/`` first, importune's
default after it) and may come in an organizer's pack, so it renders in Jinja2's
sandbox, with ``StrictUndefined`` and autoescaping on: a name holding ``<script>``
is printed as text, never run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound
from jinja2.sandbox import ImmutableSandboxedEnvironment

from importune.errors import ImportuneError, NotFound
from importune.formats.common import layout_data, one_line
from importune.workspace import default_letters

if TYPE_CHECKING:
    from importune.compose import Letter

LAYOUT = "layout.html.j2"


class HtmlLayout:
    """``layout.html.j2``, loaded and compiled once for a run of many letters."""

    def __init__(self, letters_dir: Path, paper: str = "a4") -> None:
        self.letters_dir = Path(letters_dir)
        self.paper = paper
        folders = [self.letters_dir]
        default = default_letters()
        if default.resolve() != self.letters_dir.resolve():
            folders.append(default)
        environment = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader([str(folder) for folder in folders]),
            autoescape=True,
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
        try:
            self.template = environment.get_template(LAYOUT)
        except TemplateError as error:
            raise self._error(error) from None
        if self.template.filename is None:  # pragma: no cover - a FileSystemLoader always sets it
            raise NotFound(f"{self.letters_dir / LAYOUT} not found")
        self.path = Path(self.template.filename)

    def render(self, letter: Letter) -> bytes:
        """One letter as a page."""
        return self.render_many([letter])

    def render_many(self, letters: Sequence[Letter]) -> bytes:
        """Letters as one document, each on its own printed page."""
        if not letters:
            raise ImportuneError("no letters to lay out")
        title = one_line(letters[0].subject) if len(letters) == 1 else f"{len(letters)} letters"
        try:
            page = self.template.render(
                title=title, paper=self.paper, letters=[layout_data(x) for x in letters]
            )
        except TemplateError as error:
            raise self._error(error) from None
        return page.encode("utf-8")

    def _error(self, error: TemplateError) -> ImportuneError:
        """A layout that cannot be rendered: its file, line and the problem, in one line."""
        if isinstance(error, TemplateNotFound):
            return NotFound(
                f"{self.letters_dir / LAYOUT} not found (nor importune's default): "
                "copy it from a new workspace made by 'importune init'"
            )
        filename = getattr(error, "filename", None) or str(getattr(self, "path", LAYOUT))
        line = getattr(error, "lineno", None)
        traceback = error.__traceback__
        while traceback is not None:  # Jinja2 rewrites its frames to the template's lines
            if traceback.tb_frame.f_code.co_filename == filename:
                line = traceback.tb_lineno
            traceback = traceback.tb_next
        where = f"{filename}, line {line}" if line else filename
        message = " ".join(str(error.message or error).split())
        return ImportuneError(f"{where}: {message}")
