"""Coordinators' case commands: ``case event``, ``case release``, ``case announce``.

Registered on the ``case`` sub-app by :mod:`importune.cli`. (Being built in issue 5.)
"""

from __future__ import annotations

import typer

from importune.errors import ImportuneError


def event(ctx: typer.Context) -> None:
    """Record what happened to a case (arrested, charged, sentenced, transferred, ...)."""
    raise ImportuneError("case event is not built yet")


def release(ctx: typer.Context) -> None:
    """Mark a prisoner released: every letter not yet sent is withdrawn."""
    raise ImportuneError("case release is not built yet")


def announce(ctx: typer.Context) -> None:
    """Write the release announcement, as the group publishes it."""
    raise ImportuneError("case announce is not built yet")
