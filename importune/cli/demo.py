"""``demo``: the whole flow on the built-in sample case, with no set-up and no network."""

from pathlib import Path
from typing import Annotated

import typer

from importune.cli._common import say


def demo(
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the sample workspace (default: a new temporary folder)."),
    ] = None,
) -> None:
    """Build a sample workspace (the case of Yusuf Dzhumaev) and write its letters."""
    import shlex
    import tempfile

    from importune.demo import build

    folder = out or Path(tempfile.mkdtemp(prefix="importune-demo-"))
    result = build(folder)
    say(f"A sample workspace is in {result.folder}/")
    say(f"  {result.db.name:<14} the records: 1 case, 2 officials, 2 appeals, 1 member")
    say(f"  {'letters/':<14} the templates, yours to edit")
    say(f"  {'out/':<14} the letters:")
    for files in result.files.values():
        for file in files:
            say(f"    {file.relative_to(result.folder)}")
    first = result.files["txt"][0]
    say(f"Read one: cat {shlex.quote(str(first))}")
    say(
        f"Look around: cd {shlex.quote(str(result.folder))} "
        "&& importune case show yusuf-dzhumaev"
    )

