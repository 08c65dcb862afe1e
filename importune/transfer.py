"""Import files in and export files out: CSV, TSV, JSON and JSON Lines.

Import files use the ``add`` options' names as columns, read as spreadsheets
write them (a UTF-8 byte-order mark, CRLF line ends). A file that is not UTF-8
is refused rather than guessed at, and so is a cell that is plainly mojibake
(UTF-8 once decoded as Windows-1252: ``Ã©`` for ``é``): a wrong name on a
letter to a head of state is worse than a refused file.

CSV exports guard cells that a spreadsheet would run as a formula (a leading
``=``, ``+``, ``-`` or ``@``) with a leading apostrophe, which import removes,
so an export read back in gives the same records.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importune import records
from importune.errors import InvalidInput, NotFound

IMPORT_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl")
IMPORT_MAX_BYTES = 256 * 1024 * 1024
"""An import file is read whole; past this it is refused, not read (10,000 cases take ~5 MB)."""
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MOJIBAKE_HINT = re.compile(
    "[ÃÂÐÑØÙâ][\u0080-\u00bf\u2018-\u203a\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc]"
)


@dataclass
class ImportFile:
    """The rows of an import file, each with the label that names it in messages."""

    path: Path
    labels: list[str]
    rows: list[dict[str, Any]]


def read_import(path: Path) -> ImportFile:
    """Read every row of an import file, refusing anything that is not plainly readable."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMPORT_SUFFIXES:
        raise InvalidInput(
            f"{path}: cannot import {suffix or 'a file without an extension'}: "
            f"use {', '.join(IMPORT_SUFFIXES)}"
        )
    try:
        data = read_at_most(path, IMPORT_MAX_BYTES)
    except FileNotFoundError:
        raise NotFound(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path}: is a folder, not a file") from None
    if data is None:
        raise InvalidInput(
            f"{path}: larger than {IMPORT_MAX_BYTES:,} bytes; split it into several files"
        )
    text = _decode(path, data)
    if suffix in (".csv", ".tsv"):
        labels, rows = _read_delimited(path, text, _delimiter(suffix, text))
    elif suffix == ".json":
        labels, rows = _read_json(path, text)
    else:
        labels, rows = _read_jsonl(path, text)
    if not rows:
        raise InvalidInput(f"{path}: holds no records")
    labels = [f"{path}, {label}" for label in labels]
    for label, row in zip(labels, rows, strict=True):
        _refuse_mojibake(label, row)
    return ImportFile(path, labels, rows)


def read_at_most(path: Path, limit: int) -> bytes | None:
    """The file's bytes, or None when it holds more than ``limit``: read in chunks, so that
    neither a huge file nor an endless one (a device, a pipe) is read whole first."""
    chunks: list[bytes] = []
    total = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            total += len(chunk)
            if total > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start]
        raise InvalidInput(
            f"{path}: not UTF-8 (byte 0x{byte:02X} on line {line}); "
            "save it as UTF-8 ('CSV UTF-8' in a spreadsheet) and import it again"
        ) from None


def _cell(value: str) -> str | None:
    """A spreadsheet cell as a value: empty means absent; a formula guard comes off.

    The guard is the apostrophe export puts before a cell that starts with a
    formula character, or with an apostrophe of its own (so that a value that
    really starts with one survives the round trip).
    """
    if value == "":
        return None
    if value[:1] == "'" and value[1:2] and value[1:2] in (*FORMULA_START, "'"):
        return value[1:]
    return value


def _delimiter(suffix: str, text: str) -> str:
    """Tab for .tsv; for .csv a comma, or a semicolon when the header holds only those.

    Spreadsheets in much of Europe save "CSV" with semicolons, because the comma
    is their decimal mark.
    """
    if suffix == ".tsv":
        return "\t"
    header = text.split("\n", 1)[0]
    return ";" if ";" in header and "," not in header else ","


_HEADING_SPACES = re.compile(r"[\s_-]+")
_HEADING_ALIASES = {"e_mail": "email"}
_COLUMNS = frozenset(field.name for fields in records.FIELDS.values() for field in fields)
"""Every column an import of any kind reads."""


def _heading(name: str) -> str:
    """A spreadsheet's column heading as importune names the column, when it is one of
    them written as people write headings ("Name", "Detained on", "Native-name",
    "E-mail"); any other heading as it is, so that a refusal names it as typed."""
    key = _HEADING_SPACES.sub("_", name.strip().casefold()).strip("_")
    key = _HEADING_ALIASES.get(key, key)
    return key if key in _COLUMNS else name.strip()


def _read_delimited(path: Path, text: str, delimiter: str) -> tuple[list[str], list[dict]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidInput(f"{path}: is empty; the first row must name the columns")
        header = [_heading(name) for name in header]
        blank = [i for i, name in enumerate(header) if not name]
        if blank:
            raise InvalidInput(f"{path}, row 1: column {blank[0] + 1} has no name")
        doubled = sorted({name for name in header if header.count(name) > 1})
        if doubled:
            raise InvalidInput(f"{path}, row 1: column {doubled[0]!r} appears twice")
        labels, rows = [], []
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                raise InvalidInput(
                    f"{path}, row {number}: {len(cells)} cells but {len(header)} columns"
                )
            cells = cells + [""] * (len(header) - len(cells))
            labels.append(f"row {number}")
            rows.append({name: _cell(cell) for name, cell in zip(header, cells, strict=True)})
    except csv.Error as error:
        raise InvalidInput(f"{path}, row {reader.line_num}: {error}") from None
    return labels, rows


def _json_row(path: Path, label: str, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidInput(f"{path}, {label}: is {type(item).__name__}, not an object")
    row: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "\n".join(value)  # sources may be given as a list
        elif isinstance(value, dict | list):
            raise InvalidInput(f"{path}, {label}, column {key!r}: must be text")
        row[key] = value
    return row


def _read_json(path: Path, text: str) -> tuple[list[str], list[dict]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"{path}: not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    except RecursionError:
        raise InvalidInput(f"{path}: not records: arrays or objects nested too deeply") from None
    if not isinstance(data, list):
        raise InvalidInput(f"{path}: must hold a JSON array of objects")
    labels = [f"record {i}" for i in range(1, len(data) + 1)]
    return labels, [_json_row(path, label, item) for label, item in zip(labels, data, strict=True)]


def _read_jsonl(path: Path, text: str) -> tuple[list[str], list[dict]]:
    labels, rows = [], []
    # Split on newlines only: str.splitlines() would also split inside a JSON
    # string at U+2028 or U+0085, which JSON allows unescaped.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        label = f"line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise InvalidInput(f"{path}, {label}: not valid JSON: {error.msg}") from None
        except RecursionError:
            raise InvalidInput(f"{path}, {label}: arrays or objects nested too deeply") from None
        labels.append(label)
        rows.append(_json_row(path, label, item))
    return labels, rows


def _refuse_mojibake(label: str, row: dict[str, Any]) -> None:
    """Refuse text that is UTF-8 read once as Windows-1252 or Latin-1 and saved again."""
    for column, value in row.items():
        if not isinstance(value, str) or not _MOJIBAKE_HINT.search(value):
            continue
        for codec in ("cp1252", "latin-1"):
            try:
                repaired = value.encode(codec).decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
            if repaired != value:
                raise InvalidInput(
                    f"{label}, column {column!r}: {value[:40]!r} looks garbled (mojibake of "
                    f"{repaired[:40]!r}); the file was saved with the wrong encoding",
                    column,
                )


# -- export ---------------------------------------------------------------------------


def export_rows(kind: str, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records as import files carry them: the import columns, in order."""
    names = records.columns(kind)
    out = []
    for row in rows:
        record = {name: row.get(name) for name in names}
        if kind == "appeals":
            record["active"] = bool(row.get("active"))
        out.append(record)
    return out


def _guard(value: Any) -> str:
    """A value as a CSV cell that a spreadsheet shows and never runs.

    A cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
    return) is a formula to Excel and LibreOffice: ``=HYPERLINK(...)`` in a
    prisoner's name would run on an organizer's machine. A leading apostrophe
    makes it text; import takes it off again.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return "'" + text if text.startswith((*FORMULA_START, "'")) else text


def to_csv(kind: str, rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    names = records.columns(kind)
    writer.writerow(names)
    for row in rows:
        writer.writerow([_guard(row.get(name)) for name in names])
    return buffer.getvalue()


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"


def write_file(path: Path, text: str, *, private: bool = False, bom: bool = False) -> None:
    """Write whole or not at all: a temporary file beside the target, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as out:
            out.write(text)
        os.chmod(temp, 0o600 if private else 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
