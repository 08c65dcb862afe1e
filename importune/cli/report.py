"""``importune report`` and ``importune case announce``: what the campaign did, told.

``report`` prints the campaign's figures as a table, as JSON, or writes them as one
self-contained HTML page with charts. ``case announce`` writes a released case's
announcement, as the group publishes it. The figures and the words come from
:mod:`importune.report`; this layer only prints.
"""

import sys
from pathlib import Path
from typing import Annotated

import typer

from importune.cli._common import JsonFlag, print_json, say, settings, table, workspace
from importune.wording import count

COLUMNS = {
    "slug": "case",
    "status": "status",
    "detained_on": "detained",
    "released_on": "released",
    "days_detained": "days held",
    "appeals": "appeals",
    "letters_generated": "generated",
    "letters_printed": "printed",
    "letters_sent": "sent",
}


def report(
    ctx: typer.Context,
    json_: JsonFlag = False,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Write the report as one HTML page with charts (no script, nothing fetched).",
        ),
    ] = None,
) -> None:
    """Per case: status, days held, appeals, letters generated, printed and sent; totals."""
    from importune import report as core

    with workspace(ctx) as store:
        if html is not None:
            core.write_html(store, html)
        figures = core.figures(store) if json_ or html is None else None
    if figures is not None and json_:
        print_json(figures)
        return
    if figures is None:
        say(f"Wrote the report to {html}; open it in a browser.")
        return
    rows = [{label: _shown(row[key]) for key, label in COLUMNS.items()} for row in figures["cases"]]
    table(rows, list(COLUMNS.values()), title="Cases",
          empty="No cases. Add one: importune case add NAME --country CC")  # fmt: skip
    totals = figures["totals"]
    if totals["cases"]:
        between = " between them" if totals["cases"] > 1 else ""
        say(
            f"{count(totals['cases'], 'case')}: {totals['detained']:,} held, "
            f"{totals['released']:,} released; {count(totals['days_detained'], 'day')} in "
            f"detention{between}; {count(totals['appeals'], 'active appeal')}; letters: "
            f"{totals['letters_generated']:,} generated, {totals['letters_printed']:,} printed, "
            f"{totals['letters_sent']:,} sent."
        )
        say("Letters are counted once whatever the number of formats. "
            "Charts: importune report --html report.html")  # fmt: skip


def _shown(value: object) -> object:
    return f"{value:,}" if isinstance(value, int) else value


def announce(
    ctx: typer.Context,
    case: Annotated[str, typer.Argument(help="The released case: its id or slug.")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", metavar="FILE", help="Write it to FILE (Markdown)."),
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(
            help="Its language (ISO 639-1 code or English name), from announce.LL.md.j2 "
            "(default: en)."
        ),
    ] = None,
) -> None:
    """Write a released case's announcement, as the group publishes it (Markdown)."""
    from importune import report as core
    from importune.transfer import write_file

    conf = settings(ctx)
    with workspace(ctx) as store:
        made = core.announcement(store, case, conf.letters_path, language=language)
    if made.language != made.asked:
        # On stderr: stdout is the announcement, as it is, for a redirect.
        sys.stderr.write(
            f"No announcement template in {made.asked!r}: written in English, from "
            f"{made.template} (add letters/announce.{made.asked}.md.j2 to write it in "
            f"{made.asked!r}).\n"
        )
    if output is None:
        sys.stdout.write(made.text)
        return
    write_file(output, made.text)
    say(f"Wrote the announcement to {output}.")
