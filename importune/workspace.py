"""Where a workspace's pieces are: its database, its letters folder, its output folder.

A workspace is a folder like a git checkout: ``importune.db``, ``letters/`` (the
group's own templates) and ``out/``. The database is found by ``--db``, else
``$IMPORTUNE_DB``, else ``./importune.db``; templates come from ``--letters``,
else ``$IMPORTUNE_LETTERS``, else ``./letters/`` when it exists, else the
defaults shipped inside the package.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

DB_NAME = "importune.db"
LETTERS_DIR = "letters"
OUT_DIR = "out"


def default_letters() -> Path:
    """The templates shipped with importune.

    In a wheel they are ``importune/letters`` (declared in pyproject.toml); in a
    source checkout or an editable install they are the repository's ``letters/``.
    """
    package = Path(__file__).resolve().parent
    for candidate in (package / LETTERS_DIR, package.parent / LETTERS_DIR):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("importune's default letters/ folder is missing from this install")


def db_path(option: Path | None = None) -> Path:
    """The database: ``--db``, else ``$IMPORTUNE_DB``, else ``./importune.db``."""
    if option is not None:
        return option
    env = os.environ.get("IMPORTUNE_DB")
    return Path(env) if env else Path(DB_NAME)


def letters_path(option: Path | None = None, db: Path | None = None) -> Path:
    """The templates: ``--letters``, else ``$IMPORTUNE_LETTERS``, else the workspace's
    ``letters/`` (beside the database, or in the current folder), else the defaults."""
    if option is not None:
        return option
    env = os.environ.get("IMPORTUNE_LETTERS")
    if env:
        return Path(env)
    for folder in ([db.parent] if db is not None else []) + [Path.cwd()]:
        if (folder / LETTERS_DIR).is_dir():
            return folder / LETTERS_DIR
    return default_letters()


def copy_default_letters(target: Path) -> bool:
    """Copy the default templates into a new workspace; an existing folder is left alone."""
    if target.exists():
        return False
    shutil.copytree(default_letters(), target, ignore=shutil.ignore_patterns("__pycache__"))
    return True
