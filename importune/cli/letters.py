"""``generate-letters``, ``letters list`` and ``templates``: the organizer's main job."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from importune.cli._common import (
    JsonFlag,
    none_listed,
    print_json,
    say,
    settings,
    table,
    workspace,
)
from importune.wording import agree, count

letters_app = typer.Typer(help="The letters generated so far.", no_args_is_help=True)
templates_app = typer.Typer(help="The group's letter templates.", no_args_is_help=True)

FORMAT_HELP = "txt, md, html, pdf or eml."


def generate_letters(
    ctx: typer.Context,
    case: Annotated[
        list[str] | None, typer.Option("--case", help="Only this case (repeat).")
    ] = None,
    official: Annotated[
        list[str] | None, typer.Option("--official", help="Only this official (repeat).")
    ] = None,
    member: Annotated[
        list[str] | None, typer.Option("--member", help="Only this member (repeat).")
    ] = None,
    unsigned: Annotated[
        bool, typer.Option(help="One letter per appeal, signed by the group, not per member.")
    ] = False,
    template: Annotated[
        str | None, typer.Option(help="Use this template for every appeal (e.g. thanks).")
    ] = None,
    format_: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "txt",
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: out/ beside the database).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Rewrite letters even when unchanged.")] = False,
    dry_run: Annotated[
        bool, typer.Option(help="Count what would be written; write nothing.")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Processes that render letters (default: every core, for a run big enough).",
        ),
    ] = None,
    json_: JsonFlag = False,
) -> None:
    """Write every letter of the campaign: one per active appeal and member."""
    from importune.formats import FORMATS
    from importune.generate import Options, generate, rerun

    if format_ not in FORMATS:
        raise typer.BadParameter(
            f"{format_!r} is not one of {', '.join(FORMATS)}", param_hint="--format"
        )
    conf = settings(ctx)
    options = Options(
        out=out or conf.db_path.parent / "out",
        letters_dir=conf.letters_path,
        fmt=format_,
        cases=case or (),
        officials=official or (),
        members=member or (),
        unsigned=unsigned,
        template=template,
        force=force,
        dry_run=dry_run,
        collect=json_,
        jobs=jobs,
    )
    outcome = rerun(conf.db_path, options)  # nothing changed since the last run: known at once
    if outcome is None:
        with workspace(ctx) as store:
            if json_ or not sys.stdout.isatty():
                outcome = generate(store, options)
            else:
                outcome = _with_progress(store, options)
    if json_:
        print_json(outcome.as_json())
        return
    verb = "Would write" if dry_run else "Wrote"
    # The most common reason first; --json gives each letter's own.
    kinds = sorted(outcome.skipped_why.items(), key=lambda kind: (-kind[1], kind[0]))
    why = ": " + ", ".join(f"{n:,} {kind}" for kind, n in kinds) if kinds else ""
    say(
        f"{verb} {count(outcome.generated, 'letter')} to {options.out}/; "
        f"{outcome.unchanged:,} unchanged, {outcome.skipped:,} skipped{why}."
    )
    for (name, asked, used), n in sorted(outcome.in_english.items()):
        # check warns of these appeals; a run that writes such letters says so too.
        them = "It" if outcome.generated == 1 else f"{n:,} of them"
        be = "would be" if dry_run else agree(n, "is", "are")
        say(f"{them} {be} in English, from {used}: there is no {name}.{asked}.txt.j2 for "
            f"{asked!r}, the language asked. Add one to write in {asked!r}; importune check "
            "names the appeals.")
    if outcome.generated and not dry_run:
        if format_ == "eml":
            say("Next: open the .eml files in a mail program and send them, each from its "
                "signer's address, then: importune mark-sent --member MEMBER")  # fmt: skip
        else:
            say("Next: importune letters list, then print them and post them.")
    if not (outcome.generated or outcome.unchanged or outcome.skipped):
        # Every appeal in the run counts a letter or a skip: there was none.
        which = " for the --case or --official given" if case or official else ""
        say(f"No appeal{which}: nothing to write. Add one: importune appeal add CASE OFFICIAL")


def _with_progress(store, options):  # type: ignore[no-untyped-def]
    """The run with a rich progress bar: only on a terminal, never in --json output."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from importune.generate import generate

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("letters", total=None)
        pending = [0]

        def advance(n: int) -> None:
            # Refreshing per letter would cost more than the letter: every 200.
            pending[0] += n
            if pending[0] >= 200:
                bar.advance(task, pending[0])
                pending[0] = 0

        return generate(
            store, options, progress=advance, on_total=lambda n: bar.update(task, total=n)
        )


@letters_app.command("list")
def letters_list(
    ctx: typer.Context,
    case: Annotated[str | None, typer.Option(help="Only this case's letters.")] = None,
    official: Annotated[str | None, typer.Option(help="Only the letters to this official.")] = None,
    member: Annotated[str | None, typer.Option(help="Only this member's letters.")] = None,
    status: Annotated[
        str | None, typer.Option(help="generated, printed, sent or withdrawn.")
    ] = None,
    json_: JsonFlag = False,
) -> None:
    """List the letters on record and what became of them."""
    from importune.generate import iter_letters

    with workspace(ctx) as store:
        rows = list(iter_letters(store, case=case, official=official, member=member,
                                 status=status))  # fmt: skip
    if json_:
        print_json(rows)
    else:
        empty = none_listed("letters", "No letters. Make them: importune generate-letters",
                            case=case, official=official, member=member,
                            status=status)  # fmt: skip
        table(rows, ["id", "case", "official", "member", "format", "status", "path"],
              empty=empty)  # fmt: skip


def _composer(ctx: typer.Context):  # type: ignore[no-untyped-def]
    import datetime as dt

    from importune.compose import SAMPLES, Composer

    return Composer(settings(ctx).letters_path, SAMPLES["group"], dt.date.today())


@templates_app.command("list")
def templates_list(ctx: typer.Context, json_: JsonFlag = False) -> None:
    """List the templates in use (the workspace's letters/, else the defaults)."""
    composer = _composer(ctx)
    rows = []
    for relative in composer.template_files():
        parts = relative.split("/")
        name = parts[-1].split(".")
        rows.append(
            {
                "template": name[0],
                "language": name[1] if len(name) > 3 else None,
                "case": parts[1] if parts[0] == "cases" and len(parts) > 2 else None,
                "path": relative,
            }
        )
    if json_:
        print_json(rows)
    else:
        say(f"Templates in {composer.letters_dir}/")
        table(rows, ["template", "language", "case", "path"])


@templates_app.command("show")
def templates_show(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(help="A template (concern) or a file (concern.ru.txt.j2).")
    ],
    language: Annotated[str, typer.Option(help="The language to look for.")] = "en",
    case: Annotated[
        str | None, typer.Option(help="The case whose own template to look for.")
    ] = None,
) -> None:
    """Print a template's source: the file a letter of that name would use."""
    composer = _composer(ctx)
    if name.endswith(".j2") or name.endswith(".typ"):
        relative = composer._safe_relative(name)
    else:
        relative, found = composer.resolve(name, language, case)
        if found != language:
            # On stderr: stdout is the file, as it is, for a redirect.
            sys.stderr.write(
                f"No {name!r} template in {language!r}: a letter in {language!r} is written "
                f"in English ({found!r}), from {relative}.\n"
            )
    sys.stdout.write((composer.letters_dir / relative).read_text(encoding="utf-8"))


@templates_app.command("check")
def templates_check(ctx: typer.Context) -> None:
    """Render every template against sample records and report every error at once."""
    composer = _composer(ctx)
    problems = composer.check()
    if problems:
        for problem in problems:
            sys.stderr.write(f"importune: {problem}\n")
        raise typer.Exit(1)
    files = len(composer.template_files())
    if files == 1:
        say(f"The one template in {composer.letters_dir}/ renders.")
    else:
        say(f"All {count(files, 'template')} in {composer.letters_dir}/ render.")
