"""``print``, ``pack export`` and ``mark-sent``: members print, sign and post their letters."""

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from importune.cli._common import say, settings, workspace
from importune.errors import InvalidInput
from importune.wording import agree, count

pack_app = typer.Typer(
    help="Packs: the campaign for members who are not in the database.", no_args_is_help=True
)


class PrintCommand(TyperCommand):
    """``print``, whose ``--printer`` takes an optional queue name: ``--printer`` alone is
    the default printer, ``--printer NAME`` that queue. (Typer's options always need a
    value, so a bare ``--printer`` is read as ``--printer=``.)"""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        given = list(args)
        for i, arg in enumerate(given):
            if arg == "--":
                break
            if arg == "--printer" and (i + 1 == len(given) or given[i + 1].startswith("-")):
                given[i] = "--printer="
        return super().parse_args(ctx, given)


def print_letters(
    ctx: typer.Context,
    member: Annotated[
        str | None,
        typer.Option(help="Whose letters (id or slug) (default: the only member)."),
    ] = None,
    case: Annotated[str | None, typer.Option(help="Only this case's letters.")] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="The PDF (default: out/print/MEMBER.pdf, or ./NAME.pdf from a pack).",
        ),
    ] = None,
    envelopes: Annotated[
        bool, typer.Option("--envelopes", help="An envelope page after each letter.")
    ] = False,
    envelope_size: Annotated[
        str | None,
        typer.Option(
            "--envelope-size",
            metavar="DL|C5|NO10",
            help="DL (220×110 mm, the default on A4), C5 (229×162 mm) or No10 (the US #10, "
            "9.5×4.125 in, the default on Letter).",
        ),
    ] = None,
    labels: Annotated[
        bool,
        typer.Option(
            "--labels",
            help="Address labels instead: sheets of 3×7 on A4 (70×42.3 mm), of 3×10 on Letter "
            "(2.625×1 in).",
        ),
    ] = False,
    paper: Annotated[
        str | None,
        typer.Option(
            metavar="A4|LETTER",
            help="a4 or letter (US Letter, for #10 window envelopes) (default: the group's, "
            "else A4).",
        ),
    ] = None,
    printer: Annotated[
        str | None,
        typer.Option(
            "--printer",
            metavar="[NAME]",
            help="Send the PDF to this printer with lp (alone: the default printer).",
        ),
    ] = None,
    pack: Annotated[
        Path | None,
        typer.Option("--pack", help="Print from a pack, with no workspace (needs --as)."),
    ] = None,
    as_: Annotated[
        str | None, typer.Option("--as", help="With --pack: the name to sign the letters with.")
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(help="With --pack: your return address (lines separated by newlines)."),
    ] = None,
) -> None:
    """Print a member's letters as one PDF, ready to sign and post."""
    from importune.formats.common import ENVELOPE_NAMES, PAPER_NAMES
    from importune.printing import LABEL_SHEETS, Extras, print_member, print_pack, shown

    extras = Extras(
        envelopes=envelopes or envelope_size is not None,
        envelope_size=envelope_size,
        labels=labels,
        paper=paper,
    )
    if pack is not None:
        if member is not None:
            raise InvalidInput("--member reads the workspace; with --pack, sign with --as NAME")
        done = print_pack(
            pack,
            name=as_,
            address=address,
            case=case,
            output=output,
            extras=extras,
            printer=printer,
        )
    else:
        if as_ is not None or address is not None:
            raise InvalidInput("--as and --address go with --pack FILE (a member's own print)")
        conf = settings(ctx)
        with workspace(ctx) as store:
            done = print_member(
                store,
                letters_dir=conf.letters_path,
                out=conf.db_path.parent / "out",
                member=member,
                case=case,
                output=output,
                extras=extras,
                printer=printer,
            )
    if done.generated:
        were = agree(done.generated, "was", "were")
        say(f"Generated {count(done.generated, 'letter')} that {were} not made yet.")
    if done.left_out:
        named = ", ".join(done.left_out[:3])
        if len(done.left_out) > 3:
            named += f" and {len(done.left_out) - 3} more"
        say(
            f"Left out {count(len(done.left_out), 'letter')} printed before whose words have "
            f"changed since ({named}): a printed letter is never written again."
        )
    extras = done.extras  # on the paper printed on, with its envelope
    extra = ""
    if extras.envelopes:
        each = agree(done.letters, "", "each ")
        envelope = ENVELOPE_NAMES[extras.envelope_size or "DL"]
        extra = f", {each}followed by a {envelope} envelope"
    elif extras.labels:
        columns, rows = LABEL_SHEETS[extras.paper or "a4"]
        sheets = -(-done.letters // (columns * rows))
        extra = f", then {count(sheets, 'sheet')} of address labels ({columns}×{rows})"
    # A4 goes without saying.
    paper = f" on {PAPER_NAMES[extras.paper]}" if extras.paper and extras.paper != "a4" else ""
    say(f"Printed {count(done.letters, 'letter')} signed by {done.signer} to {shown(done.path)}"
        f"{paper}{extra}.")
    if done.printer is not None:
        queue = done.printer or "the default printer"
        say(f"Sent to {queue}" + (f": {done.lp}" if done.lp else "."))
    them = agree(done.letters, "it", "them")
    if not done.return_address:
        # An official's reply, or the post's return of an undeliverable letter, needs one.
        how = (
            f"print {them} again with --address 'Your address'"
            if pack is not None
            else f"importune member edit {done.signer} --address ADDRESS, then print again"
        )
        they = agree(done.letters, "It carries", "They carry")
        say(f"{they} no return address: {how}.")
    if done.pack_made is not None:
        import datetime as dt

        days = (dt.date.today() - done.pack_made).days
        say(f"This pack was made {days} days ago, on {done.pack_made}: a prisoner may have "
            "been freed since. Before posting, ask your organizer for a newer pack.")  # fmt: skip
    if pack is None:
        say(f"Next: sign {them}, post {them}, then: importune mark-sent --member {done.signer}")
    else:
        say(f"Next: sign {them} and post {them}; tell your organizer how many you sent.")


@pack_app.command("export")
def pack_export(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The pack to write (a .zip).")],
    case: Annotated[
        list[str] | None, typer.Option("--case", help="Only this case (repeat).")
    ] = None,
) -> None:
    """Write a pack: held cases, officials, appeals and templates; never members."""
    from importune.printing import export_pack

    conf = settings(ctx)
    with workspace(ctx) as store:
        packed = export_pack(store, conf.letters_path, file, case or ())
    say(
        f"Packed {count(packed.cases, 'case')}, {count(packed.officials, 'official')}, "
        f"{count(packed.appeals, 'appeal')} and "
        f"{count(packed.files, 'template, layout and font file')} into {packed.path}: "
        "nothing about members is in it."
    )
    say(
        f"Next: share it; a member prints from it with: importune print --pack {packed.path.name} "
        "--as 'Their Name' --address 'Their address'"
    )


def mark_sent(
    ctx: typer.Context,
    letter_ids: Annotated[
        list[str] | None,
        typer.Argument(metavar="[LETTER_ID]...", help="Letters by id (importune letters list)."),
    ] = None,
    member: Annotated[str | None, typer.Option(help="Every letter of this member.")] = None,
    case: Annotated[str | None, typer.Option(help="Every letter of this case.")] = None,
    on: Annotated[
        str | None, typer.Option(help="The day they were posted, YYYY-MM-DD (default: today).")
    ] = None,
) -> None:
    """Record letters as posted (every format of each)."""
    from importune.printing import mark_sent as mark

    with workspace(ctx) as store:
        done = mark(store, letter_ids or (), member=member, case=case, on=on)
    left = [
        f"{n} {what}"
        for what, n in (
            ("already sent", done.already),
            ("withdrawn, left alone", done.withdrawn),
            ("of a paused appeal, never printed, left alone", done.paused),
        )
        if n
    ]
    note = f" ({', '.join(left)})" if left else ""
    say(f"Marked {count(done.marked, 'letter')} sent on {done.on}{note}.")
