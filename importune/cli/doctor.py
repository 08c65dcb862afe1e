"""``importune check`` (the data doctor) and ``importune search``.

(Being built in issue 5.)
"""

from __future__ import annotations

import typer

from importune.errors import ImportuneError


def check(ctx: typer.Context) -> None:
    """List what would spoil a letter or a campaign; warnings exit 0, errors 1."""
    raise ImportuneError("check is not built yet")


def search(ctx: typer.Context) -> None:
    """Full-text search over cases: names in every spelling, summary, charges, place."""
    raise ImportuneError("search is not built yet")
