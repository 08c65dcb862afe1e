"""``importune check`` (the data doctor) and ``importune search``.

Thin commands over :mod:`importune.doctor` and :mod:`importune.search`: open the
workspace, call the core, print. ``check`` exits 1 when it finds an error (its
findings still go to stdout: they are its answer, not a refusal).
"""

import sys
from typing import Annotated

import typer

from importune.cli._common import JsonFlag, print_json, say, settings, show, workspace
from importune.wording import count

_OPEN, _CLOSE = "\x02", "\x03"  # marks around a matched word, turned bold on the terminal


def check(ctx: typer.Context, json_: JsonFlag = False) -> None:
    """List what would spoil a letter or a campaign; warnings exit 0, errors exit 1.

    One line a problem: its severity, the record (slug) and field, what is wrong
    and what to do. Errors would put a wrong or broken letter in the post (no
    address, a template that fails, letters pending for a prisoner already free);
    warnings deserve a look (a case with no appeal, an appeal ended or to another
    country's official, a member with no return address). Nothing is written.
    """
    from importune.doctor import ERROR, examine

    with workspace(ctx) as store:
        findings = examine(store, settings(ctx).letters_path)
    errors = sum(finding.severity == ERROR for finding in findings)
    if json_:
        print_json([finding.as_json() for finding in findings])
    else:
        _print_findings(findings)
        warnings = len(findings) - errors
        if not findings:
            say("Nothing to fix.")
        else:
            say(
                f"{count(errors, 'error')}, {count(warnings, 'warning')}."
                + (
                    " Errors would put a wrong letter in the post: fix them before"
                    " generate-letters or print."
                    if errors
                    else " Nothing that stops a letter."
                )
            )
    if errors:
        raise typer.Exit(1)


def _print_findings(findings: list) -> None:  # type: ignore[type-arg]
    """One line a finding: severity, record and field, what is wrong, what to do.

    On a terminal the severity is coloured; piped, the lines are written as
    they are (rich would take seconds over the thousands a big campaign can have).
    """
    lines = [f"{f.severity:<8}{f.where}: {f.message} → {f.fix}" for f in findings]
    if not sys.stdout.isatty():
        sys.stdout.write("".join(line + "\n" for line in lines))
        return
    from rich.console import Console
    from rich.text import Text

    text = Text()
    for finding, line in zip(findings, lines, strict=True):
        style = "bold red" if finding.severity == "error" else "yellow"
        text.append(line[:8], style=style)
        text.append(line[8:] + "\n")
    Console(highlight=False, soft_wrap=True).print(text, end="")


def search(
    ctx: typer.Context,
    query: Annotated[
        list[str],
        typer.Argument(metavar="QUERY", help="Words of a name (any spelling), place, charge..."),
    ],
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many cases.")] = 20,
    json_: JsonFlag = False,
) -> None:
    """Find cases by a name in any spelling or script, a place, a charge, a reference.

    Every word must match, as the start of a word, whatever its case or accents:
    Dzhum finds Dzhumaev, Джумаев finds it too, and so do Jumaev or Djoumaev.
    Best matches first, with the words around the match.
    """
    from importune.search import MARK
    from importune.search import search as find

    text = " ".join(query)
    marks = MARK if json_ or not sys.stdout.isatty() else (_OPEN, _CLOSE)
    with workspace(ctx) as store:
        hits = find(store, text, mark=marks)
    shown = hits[:limit]
    if json_:
        print_json([hit.as_json() for hit in shown])
        return
    if not hits:
        say(f"No case matches {text!r}. (importune case list shows them all.)")
        return
    _print_hits(shown)
    more = f"; the first {limit} shown (--limit to see more)" if len(hits) > limit else ""
    say(f"{count(len(hits), 'case')}{more}. Next: importune case show SLUG")


def _print_hits(hits: list) -> None:  # type: ignore[type-arg]
    """A table of cases found, with the words around the match (matched words in bold)."""
    from rich.table import Table
    from rich.text import Text

    grid = Table(title_justify="left")
    for column in ("id", "slug", "country", "status", "name"):
        grid.add_column(column, no_wrap=column != "name", overflow="fold")
    grid.add_column("where it matched", overflow="fold")
    for hit in hits:
        case = hit.case
        name = case["name"] + (f" ({case['native_name']})" if case["native_name"] else "")
        grid.add_row(
            str(case["id"]),
            case["slug"],
            case["country"],
            case["status"],
            Text(name),
            _highlighted(hit.snippet),
        )
    show(grid)


def _highlighted(snippet: str) -> object:
    """The snippet as rich Text, the words between the marks in bold (no markup parsed)."""
    from rich.text import Text

    text = Text()
    bold = False
    for part in snippet.replace(_CLOSE, _OPEN).split(_OPEN):
        if part:
            text.append(part, style="bold" if bold else None)
        bold = not bold
    return text
