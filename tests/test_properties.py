"""Properties: any Unicode name, address and summary comes back as it went in.

Hypothesis writes the values; each example gets a workspace of its own (a copy of
one made once) and goes through the real commands:

- import (CSV and JSON) then export (JSON exactly; CSV read as a spreadsheet
  reads it, the formula guard taken off) gives back every value unchanged;
- a letter in every format shows each one unchanged: txt exactly (the lines
  as typed), md once rendered by markdown-it, html once parsed and unescaped,
  eml once parsed as a message (names in To and From, the subject, the body),
  pdf once its text is extracted, for the scripts the bundled fonts cover;
- a value importune refuses on purpose (a control character) is refused in one
  line and nothing changes.

What "unchanged" means: importune stores text in Unicode NFC with no space at the
ends of a line and ``\\n`` line ends (records.clean_text), so the values drawn here
are in that form already: words of any characters but spaces and controls, one
space between words, lines joined by ``\\n``, paragraphs by one blank line (a
letter's layout makes several blank lines one). How many examples each property
runs is in ``EXAMPLES``.
"""

from __future__ import annotations

import csv
import email
import email.policy
import functools
import io
import json
import os
import re
import shutil
import sqlite3
import tempfile
import unicodedata
from contextlib import closing
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pypdf
import pytest
from conftest import GROUP, folder_state, invoke
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from importune.transfer import FORMULA_START

# Few examples, so that the suite stays fast; IMPORTUNE_PROPERTY_SCALE=20 explores 20 times
# as many, with new random examples each run (the default run is the same on every machine).
SCALE = int(os.environ.get("IMPORTUNE_PROPERTY_SCALE", "1"))
EXAMPLES = {
    name: count * SCALE
    for name, count in {"import-export": 12, "letters": 8, "pdf": 4, "refused": 8}.items()
}
SETTINGS = {
    "deadline": None,
    "derandomize": SCALE == 1,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
KINDS = ("cases", "officials", "members")

# -- the values ------------------------------------------------------------------------------


def _in_form(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _word(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=1, max_size=8).map(_in_form).filter(
        lambda word: word and not any(c.isspace() for c in word)
    )


ANY_CHARACTER = st.characters(
    blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
    blacklist_characters="\u0085\u2028\u2029",
)


def _values(alphabet: st.SearchStrategy[str]) -> dict[str, st.SearchStrategy[str]]:
    line = st.lists(_word(alphabet), min_size=1, max_size=4).map(" ".join)
    lines = st.lists(line, min_size=1, max_size=4).map("\n".join)
    paragraphs = st.lists(lines, min_size=1, max_size=3).map("\n\n".join)
    return {"name": line, "address": lines, "summary": paragraphs}


VALUES = _values(ANY_CHARACTER)


@functools.cache
def _covered_by_the_bundled_serif() -> frozenset[str]:
    """Latin, Greek and Cyrillic letters, digits and punctuation that Noto Serif draws.
    (The other bundled fonts draw scripts whose shaping reorders or joins letters, so
    text taken back out of a PDF is not the text put in, character for character.)"""
    from fontTools.ttLib import TTFont

    from importune.formats.pdf import SHIPPED_FONTS

    cmap = TTFont(SHIPPED_FONTS / "NotoSerif-Regular.ttf").getBestCmap()
    keep = set()
    for code in cmap:
        char = chr(code)
        category = unicodedata.category(char)
        if category[0] in "LNP" and unicodedata.normalize("NFC", char) == char:
            name = unicodedata.name(char, "")
            if name.startswith(("LATIN", "GREEK", "CYRILLIC", "DIGIT")) or category[0] == "P":
                keep.add(char)
    return frozenset(keep)


def _pdf_alphabet() -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(_covered_by_the_bundled_serif()))


# -- a workspace per example ------------------------------------------------------------------


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty workspace, made once and copied for each example."""
    base = tmp_path_factory.mktemp("blank")
    result = invoke("--db", base / "importune.db", "init", base, "--group", GROUP)
    assert result.exit_code == 0, result.output
    with closing(sqlite3.connect(base / "importune.db")) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return base


class Workspace:
    """A fresh copy of the blank workspace; ``run`` is a command in it."""

    def __init__(self, blank: Path, parent: Path) -> None:
        self.root = Path(tempfile.mkdtemp(dir=parent))
        shutil.copytree(blank, self.root, dirs_exist_ok=True)

    def run(self, *args: object) -> Any:
        return invoke("--db", self.root / "importune.db", "--letters", self.root / "letters",
                      *args)  # fmt: skip

    def ok(self, *args: object) -> Any:
        result = self.run(*args)
        assert result.exit_code == 0, f"{args}: {result.output}"
        return result

    def export(self, kind: str) -> list[dict[str, Any]]:
        return json.loads(self.ok("export", kind, "--format", "json").stdout)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _clean_refusal(result: Any) -> str:
    """A deliberate refusal: status 1, one line, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("importune: "), result.stderr
    return lines[0]


# -- import, export --------------------------------------------------------------------------


def _rows(name: str, address: str, summary: str, tag: str) -> dict[str, list[dict[str, str]]]:
    return {
        "cases": [
            {"name": name, "country": "UZ", "summary": summary, "charges": address,
             "native_name": name, "slug": f"case-{tag}"}
        ],
        "officials": [
            {"name": name, "country": "US", "address": address, "salutation": name,
             "slug": f"official-{tag}"}
        ],
        "members": [{"name": name, "address": address, "slug": f"member-{tag}"}],
    }


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _unguarded(cell: str) -> str | None:
    if cell == "":
        return None
    if cell[:1] == "'" and cell[1:2] and cell[1:2] in (*FORMULA_START, "'"):
        return cell[1:]
    return cell


@settings(max_examples=EXAMPLES["import-export"], **SETTINGS)
@given(name=VALUES["name"], address=VALUES["address"], summary=VALUES["summary"])
def test_any_text_round_trips_through_import_and_export(
    blank: Path, tmp_path: Path, name: str, address: str, summary: str
) -> None:
    space = Workspace(blank, tmp_path)
    try:
        sent = {"csv": _rows(name, address, summary, "csv"),
                "json": _rows(name, address, summary, "json")}  # fmt: skip
        for fmt, kinds in sent.items():
            for kind, rows in kinds.items():
                path = space.root / f"{kind}.{fmt}"
                if fmt == "csv":
                    _write_csv(path, rows)
                else:
                    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
                result = space.run("import", kind, path)
                if result.exit_code == 1 and "looks garbled" in result.stderr:
                    _clean_refusal(result)  # mojibake-looking text is refused on purpose
                    reject()
                assert result.exit_code == 0, result.output
        for kind in KINDS:
            exported = space.export(kind)
            expected = sent["csv"][kind] + sent["json"][kind]
            assert [{k: row[k] for k in expected[0]} for row in exported] == expected
            text = space.ok("export", kind).stdout
            cells = list(csv.DictReader(io.StringIO(text, newline="")))
            assert [{k: _unguarded(row[k]) for k in expected[0]} for row in cells] == expected
    finally:
        space.close()


# -- letters ---------------------------------------------------------------------------------

FACTS = (
    '{% extends "concern.en.txt.j2" %}\n'
    "{% block facts %}\n{{ case.summary }}\n{% endblock %}\n"
)


def _campaign(space: Workspace, name: str, address: str, summary: str) -> None:
    """A case, an official and a member all named ``name``, with ``address`` and ``summary``;
    the case's own template prints the summary."""
    # "--" and "--option=value": a name may start with "-" and is still a name.
    space.ok("case", "add", "--slug=the-case", "--country=UZ", f"--summary={summary}", "--", name)
    space.ok("official", "add", "--slug=the-official", "--country=US", f"--address={address}",
             "--email=official@example.org", "--salutation=Dear Ambassador", "--", name)
    space.ok("member", "add", "--slug=the-member", f"--address={address}",
             "--email=member@example.org", "--", name)
    space.ok("appeal", "add", "the-case", "the-official")
    folder = space.root / "letters" / "cases" / "the-case"
    folder.mkdir(parents=True)
    (folder / "concern.en.txt.j2").write_text(FACTS, encoding="utf-8")


def _letter(space: Workspace, fmt: str) -> bytes:
    space.ok("generate-letters", "--format", fmt, "--out", space.root / "out")
    return (space.root / "out" / "the-case" / f"the-official--the-member.{fmt}").read_bytes()


class _Text(HTMLParser):
    """The text a browser shows, a line per ``<div>`` or ``<p>`` or ``<br>``."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "title", "head"):
            self.hidden += 1
        if tag in ("div", "p", "br", "section"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title", "head"):
            self.hidden -= 1
        if tag in ("div", "p", "section"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def _html_lines(data: bytes) -> set[str]:
    parser = _Text()
    parser.feed(data.decode("utf-8"))
    return {line.strip() for line in "".join(parser.parts).split("\n")}


def _markdown_lines(data: bytes) -> set[str]:
    shown: list[str] = []
    for token in MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(
        data.decode("utf-8")
    ):
        if token.type == "inline":
            for child in token.children or []:
                if child.type in ("softbreak", "hardbreak"):
                    shown.append("\n")
                elif child.type in ("text", "code_inline"):
                    shown.append(child.content)
            shown.append("\n")
        elif token.type not in ("paragraph_open", "paragraph_close"):
            shown.append(f"\n<{token.type}>\n")  # any other block: not what was written
    return {line for line in "".join(shown).split("\n")}


@settings(max_examples=EXAMPLES["letters"], **SETTINGS)
@given(name=VALUES["name"], address=VALUES["address"], summary=VALUES["summary"])
def test_any_text_reaches_every_letter_format_unchanged(
    blank: Path, tmp_path: Path, name: str, address: str, summary: str
) -> None:
    space = Workspace(blank, tmp_path)
    try:
        _campaign(space, name, address, summary)
        every_line = [name, *address.split("\n"), *summary.replace("\n\n", "\n").split("\n")]

        txt = _letter(space, "txt").decode("utf-8")
        assert f"{name}\n{address}\n" in txt  # the member's return address, as typed
        assert f"\n{name}\n{address}\nUNITED STATES\n" in txt  # the official's
        assert f"\n{summary}\n" in txt
        assert txt.endswith(f"\n{name}\n")  # the signature

        md = _markdown_lines(_letter(space, "md"))
        assert set(every_line) <= md

        html = _html_lines(_letter(space, "html"))
        assert set(every_line) <= html

        message = email.message_from_bytes(_letter(space, "eml"), policy=email.policy.default)
        assert message["To"].addresses[0].display_name == name
        assert message["From"].addresses[0].display_name == name
        assert name in message["Subject"]
        body = message.get_content()
        assert f"\n{summary}\n" in body.replace("\r\n", "\n")
    finally:
        space.close()


def _pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "".join(page.extract_text() for page in reader.pages)


def _squeezed(text: str) -> str:
    """Text without its spaces and line breaks, which a PDF places rather than stores."""
    return re.sub(r"\s+", "", text)


@settings(max_examples=EXAMPLES["pdf"], **SETTINGS)
@given(data=st.data())
def test_text_in_the_bundled_fonts_scripts_reaches_the_pdf_unchanged(
    blank: Path, tmp_path: Path, data: st.DataObject
) -> None:
    values = _values(_pdf_alphabet())
    name, address = data.draw(values["name"]), data.draw(values["address"])
    space = Workspace(blank, tmp_path)
    try:
        _campaign(space, name, address, "Held.")
        text = _squeezed(_pdf_text(_letter(space, "pdf")))
        for line in [name, *address.split("\n")]:
            assert _squeezed(line) in text, (line, text)
    finally:
        space.close()


# -- what importune refuses on purpose -------------------------------------------------------

CONTROL = st.characters(
    whitelist_categories=("Cc",), blacklist_characters="\t\n\r"
) | st.sampled_from(["\u2028", "\u2029", "\x85"])


@settings(max_examples=EXAMPLES["refused"], **SETTINGS)
@given(
    before=VALUES["name"],
    control=CONTROL,
    after=VALUES["name"],
    kind=st.sampled_from(KINDS),
    fmt=st.sampled_from(["csv", "json"]),
)
def test_a_control_character_anywhere_is_refused_in_one_line_and_changes_nothing(
    blank: Path, tmp_path: Path, before: str, control: str, after: str, kind: str, fmt: str
) -> None:
    space = Workspace(blank, tmp_path)
    try:
        name = f"{before}{control}{after}"
        rows = _rows(name, "1 Road", "Held.", "x")[kind]
        path = space.root / f"{kind}.{fmt}"
        if fmt == "csv":
            _write_csv(path, rows)
        else:
            path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        state = folder_state(space.root)
        line = _clean_refusal(space.run("import", kind, path))
        assert "control character" in line or "must be one line" in line or "NUL" in line, line
        assert folder_state(space.root) == state
    finally:
        space.close()
