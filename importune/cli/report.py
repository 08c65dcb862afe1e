"""``importune report``: the campaign's figures, as a table, JSON or one HTML page.

(Being built in issue 5.)
"""

from __future__ import annotations

import typer

from importune.errors import ImportuneError


def report(ctx: typer.Context) -> None:
    """Per case: status, days held, appeals, letters generated, printed and sent."""
    raise ImportuneError("report is not built yet")
