"""``case``, ``official``, ``member`` and ``appeal``: keeping the campaign's records."""

from pathlib import Path
from typing import Annotated, Any

import typer

from importune.cli._common import (
    JsonFlag,
    details,
    none_listed,
    options,
    print_json,
    say,
    settings,
    table,
    workspace,
)
from importune.cli.coordinate import (
    by_their_status,
    say_appeal_removed,
    say_died,
    say_letters_back,
    say_released,
    say_restored,
    say_undone,
)
from importune.errors import InvalidInput
from importune.wording import agree, count

case_app = typer.Typer(
    help="Prisoners of conscience: the cases the group writes for.", no_args_is_help=True
)
official_app = typer.Typer(help="The officials the group writes to.", no_args_is_help=True)
member_app = typer.Typer(help="The members who sign and post the letters.", no_args_is_help=True)
appeal_app = typer.Typer(help="Which official to write to about which case.", no_args_is_help=True)

CASE_FIELDS = [
    "id",
    "slug",
    "name",
    "native_name",
    "reference",
    "country",
    "location",
    "prison",
    "detained_on",
    "charges",
    "summary",
    "sources",
    "language",
    "status",
    "released_on",
]
OFFICIAL_FIELDS = [
    "id",
    "slug",
    "name",
    "title",
    "organization",
    "country",
    "address",
    "salutation",
    "email",
    "fax",
    "language",
]
MEMBER_FIELDS = ["id", "slug", "name", "address", "email", "language", "left_on"]

Ref = Annotated[str, typer.Argument(help="Its id or slug.")]
Country = Annotated[str | None, typer.Option(help="ISO 3166 code (UZ) or English name.")]
Language = Annotated[str | None, typer.Option(help="ISO 639-1 code (en, ru) or English name.")]
Slug = Annotated[str | None, typer.Option(help="The short name used in commands and file names.")]


def _summary(summary: str | None, summary_file: Path | None) -> str | None:
    if summary is not None and summary_file is not None:
        raise InvalidInput("give --summary or --summary-file, not both")
    if summary_file is None:
        return summary
    from importune.records import SUMMARY_MAX
    from importune.transfer import read_at_most

    try:
        # No further than a summary can be (4 bytes a character, and a BOM): a file that
        # never ends (/dev/zero, a pipe) is refused, not read until memory runs out.
        data = read_at_most(summary_file, SUMMARY_MAX * 4 + 3)
    except FileNotFoundError:
        raise InvalidInput(f"{summary_file}: no such file") from None
    if data is None:
        raise InvalidInput(
            f"{summary_file}: larger than a summary can be (at most {SUMMARY_MAX:,} characters)"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{summary_file}: not UTF-8") from None


def _sources(source: list[str] | None) -> str | None:
    return "\n".join(source) if source else None


# -- case ----------------------------------------------------------------------------

NativeName = Annotated[str | None, typer.Option(help="The name in its own script.")]
Reference = Annotated[str | None, typer.Option(help="The group's or an Urgent Action's number.")]
Location = Annotated[str | None, typer.Option(help="Town or region.")]
Prison = Annotated[str | None, typer.Option(help="The place of detention.")]
Source = Annotated[list[str] | None, typer.Option("--source", help="A URL; repeat for several.")]
DetainedOn = Annotated[str | None, typer.Option(help="YYYY-MM-DD.")]
Charges = Annotated[str | None, typer.Option(help="What they are charged with.")]
Summary = Annotated[str | None, typer.Option(help="What happened, in a few sentences.")]
SummaryFile = Annotated[Path | None, typer.Option(help="Read the summary from a UTF-8 file.")]


@case_app.command("add")
def case_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The prisoner's name in Latin letters.")],
    country: Annotated[str, typer.Option(help="Where they are held: ISO code or English name.")],
    native_name: NativeName = None,
    reference: Reference = None,
    location: Location = None,
    prison: Prison = None,
    source: Source = None,
    detained_on: DetainedOn = None,
    charges: Charges = None,
    summary: Summary = None,
    summary_file: SummaryFile = None,
    language: Language = None,
    slug: Slug = None,
) -> None:
    """Add a prisoner of conscience."""
    raw = options(
        name=name, country=country, native_name=native_name, reference=reference,
        location=location, prison=prison, sources=_sources(source), detained_on=detained_on,
        charges=charges, summary=_summary(summary, summary_file), language=language, slug=slug,
    )  # fmt: skip
    with workspace(ctx) as store:
        case = store.add("cases", raw)
    say(f"Added case {case['slug']} (id {case['id']}).")
    say(f"Next: importune appeal add {case['slug']} OFFICIAL")


@case_app.command("list")
def case_list(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="detained, released, deceased or unknown.")
    ] = None,
    country: Country = None,
    json_: JsonFlag = False,
) -> None:
    """List the cases."""
    from importune import records

    if status is not None and status not in records.CASE_STATUSES:
        raise InvalidInput(f"status {status!r} is not one of {', '.join(records.CASE_STATUSES)}")
    filters: dict[str, Any] = {"status": status}
    if country:
        filters["country"] = records.parse_country(country)
    with workspace(ctx) as store:
        rows = store.list("cases", **filters)
    if json_:
        print_json([_case_json(row) for row in rows])
    else:
        empty = none_listed("cases", "No cases. Add one: importune case add NAME --country CC",
                            status=status, country=filters.get("country"))  # fmt: skip
        table(rows, ["id", "slug", "name", "country", "status", "detained_on", "released_on"],
              empty=empty)  # fmt: skip


def _case_json(row: dict[str, Any]) -> dict[str, Any]:
    return {field: row.get(field) for field in CASE_FIELDS}


@case_app.command("show")
def case_show(ctx: typer.Context, case: Ref, json_: JsonFlag = False) -> None:
    """Show one case, its appeals and its timeline (oldest first)."""
    from importune.coordinate import timeline

    with workspace(ctx) as store:
        row = store.get("cases", case)
        appeals = store.appeals(case=row["slug"])
        events = timeline(store, row["id"])
    if json_:
        print_json({**_case_json(row), "appeals": appeals, "events": events})
        return
    details(row, CASE_FIELDS)
    table(appeals, ["official", "template", "language", "until", "active"], title="Appeals",
          empty="No appeals yet: importune appeal add " + row["slug"] + " OFFICIAL")  # fmt: skip
    table(events, ["date", "kind", "note"], title="Timeline",
          empty=f"No events yet: importune case event {row['slug']} KIND --on DATE")  # fmt: skip


@case_app.command("edit")
def case_edit(
    ctx: typer.Context,
    case: Ref,
    name: Annotated[str | None, typer.Option(help="The prisoner's name in Latin letters.")] = None,
    country: Country = None,
    native_name: NativeName = None,
    reference: Reference = None,
    location: Location = None,
    prison: Prison = None,
    source: Source = None,
    detained_on: DetainedOn = None,
    charges: Charges = None,
    summary: Summary = None,
    summary_file: SummaryFile = None,
    language: Language = None,
    status: Annotated[
        str | None,
        typer.Option(
            help="detained, released, deceased or unknown. released: as case release; "
            "detained or unknown, of a released case: the release undone; deceased: "
            "letters not yet sent withdrawn."
        ),
    ] = None,
    released_on: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD: the day of the release (moves its event).")
    ] = None,
    slug: Slug = None,
) -> None:
    """Change some fields of a case; the others keep their values.

    --status released is a release (as case release: letters not yet sent are
    withdrawn); --status detained of a released case undoes the release;
    --status deceased withdraws the letters not yet sent (detained again brings
    them back).
    """
    from importune.coordinate import edit_case

    raw = options(
        name=name, country=country, native_name=native_name, reference=reference,
        location=location, prison=prison, sources=_sources(source), detained_on=detained_on,
        charges=charges, summary=_summary(summary, summary_file), language=language,
        status=status, released_on=released_on, slug=slug,
    )  # fmt: skip
    with workspace(ctx) as store:
        edited = edit_case(store, case, raw)
    say(f"Updated case {edited.case['slug']}.")
    if edited.released:
        say_released(edited.released)
    if edited.undone:
        say_undone(edited.case["slug"], edited.undone)
    if edited.died:
        say_died(edited.case["slug"], edited.died)
    if edited.revived:
        say_restored(edited.revived)


@case_app.command("remove")
def case_remove(ctx: typer.Context, case: Ref) -> None:
    """Remove a case with its appeals and history (refused once letters exist)."""
    with workspace(ctx) as store:
        row = store.remove("cases", case)
    say(f"Removed case {row['slug']}.")


# -- official ------------------------------------------------------------------------

Title = Annotated[str | None, typer.Option(help="e.g. Prosecutor General.")]
Organization = Annotated[str | None, typer.Option(help="e.g. Prosecutor General's Office.")]
Salutation = Annotated[str | None, typer.Option(help="e.g. Dear Prosecutor General.")]
Email = Annotated[str | None, typer.Option(help="E-mail address.")]
Fax = Annotated[str | None, typer.Option(help="Fax number.")]


@official_app.command("add")
def official_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The official's name, or their office.")],
    country: Annotated[str, typer.Option(help="Their country: ISO code or English name.")],
    address: Annotated[str, typer.Option(help="Postal address; lines separated by newlines.")],
    title: Title = None,
    organization: Organization = None,
    salutation: Salutation = None,
    email: Email = None,
    fax: Fax = None,
    language: Language = None,
    slug: Slug = None,
) -> None:
    """Add an official to write to."""
    raw = options(
        name=name, country=country, address=address, title=title, organization=organization,
        salutation=salutation, email=email, fax=fax, language=language, slug=slug,
    )  # fmt: skip
    with workspace(ctx) as store:
        row = store.add("officials", raw)
    say(f"Added official {row['slug']} (id {row['id']}).")
    say(f"Next: importune appeal add CASE {row['slug']}")


@official_app.command("list")
def official_list(ctx: typer.Context, country: Country = None, json_: JsonFlag = False) -> None:
    """List the officials."""
    from importune import records

    code = records.parse_country(country) if country else None
    with workspace(ctx) as store:
        rows = store.list("officials", country=code)
    if json_:
        print_json(rows)
    else:
        hint = "No officials. Add one: importune official add NAME --country CC --address TEXT"
        empty = none_listed("officials", hint, country=code)
        table(rows, ["id", "slug", "name", "title", "country", "language", "email"], empty=empty)


@official_app.command("show")
def official_show(ctx: typer.Context, official: Ref, json_: JsonFlag = False) -> None:
    """Show one official and the cases the group writes to them about."""
    with workspace(ctx) as store:
        row = store.get("officials", official)
        appeals = store.appeals(official=row["slug"])
    if json_:
        print_json({**row, "appeals": appeals})
        return
    details(row, OFFICIAL_FIELDS)
    table(appeals, ["case", "template", "language", "until", "active"], title="Appeals",
          empty="No appeals to this official yet.")  # fmt: skip


@official_app.command("edit")
def official_edit(
    ctx: typer.Context,
    official: Ref,
    name: Annotated[str | None, typer.Option(help="The official's name.")] = None,
    country: Country = None,
    address: Annotated[str | None, typer.Option(help="Postal address.")] = None,
    title: Title = None,
    organization: Organization = None,
    salutation: Salutation = None,
    email: Email = None,
    fax: Fax = None,
    language: Language = None,
    slug: Slug = None,
) -> None:
    """Change some fields of an official."""
    raw = options(
        name=name, country=country, address=address, title=title, organization=organization,
        salutation=salutation, email=email, fax=fax, language=language, slug=slug,
    )  # fmt: skip
    with workspace(ctx) as store:
        row = store.edit("officials", official, raw)
    say(f"Updated official {row['slug']}.")


@official_app.command("remove")
def official_remove(ctx: typer.Context, official: Ref) -> None:
    """Remove an official and the appeals to them (refused once letters exist)."""
    with workspace(ctx) as store:
        row = store.remove("officials", official)
    say(f"Removed official {row['slug']}.")


# -- member --------------------------------------------------------------------------

MemberAddress = Annotated[
    str | None, typer.Option(help="Return address; lines separated by newlines.")
]


@member_app.command("add")
def member_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The member's name, as they sign.")],
    address: MemberAddress = None,
    email: Email = None,
    language: Language = None,
    slug: Slug = None,
) -> None:
    """Add a member who signs letters."""
    raw = options(name=name, address=address, email=email, language=language, slug=slug)
    with workspace(ctx) as store:
        row = store.add("members", raw)
    say(f"Added member {row['slug']} (id {row['id']}).")


@member_app.command("list")
def member_list(ctx: typer.Context, json_: JsonFlag = False) -> None:
    """List the members (their addresses stay off the screen: see member show)."""
    with workspace(ctx) as store:
        rows = store.list("members")
    if json_:
        print_json(rows)
        return
    for row in rows:
        row["return address"] = bool(row.get("address"))
        row["left"] = row["left_on"]
    columns = ["id", "slug", "name", "email", "language", "return address"]
    if any(row["left"] for row in rows):  # a column for members who left, when there are
        columns.append("left")
    table(rows, columns, empty="No members. Add one: importune member add NAME --address TEXT")


@member_app.command("show")
def member_show(ctx: typer.Context, member: Ref, json_: JsonFlag = False) -> None:
    """Show one member."""
    with workspace(ctx) as store:
        row = store.get("members", member)
    if json_:
        print_json(row)
    else:
        details(row, MEMBER_FIELDS)


@member_app.command("edit")
def member_edit(
    ctx: typer.Context,
    member: Ref,
    name: Annotated[str | None, typer.Option(help="The member's name.")] = None,
    address: MemberAddress = None,
    email: Email = None,
    language: Language = None,
    slug: Slug = None,
    back: Annotated[
        bool,
        typer.Option("--back", help="A member who left belongs to the group again."),
    ] = False,
) -> None:
    """Change some fields of a member."""
    raw = options(name=name, address=address, email=email, language=language, slug=slug)
    with workspace(ctx) as store:
        if not back:
            row = store.edit("members", member, raw)
            say(f"Updated member {row['slug']}.")
            return
        from importune.coordinate import member_back

        with store.atomic():  # back and the fields given, or neither
            row, letters = member_back(store, member)
            if raw:
                row = store.edit("members", row["id"], raw)
    say(f"Member {row['slug']} belongs to the group again: letters are written in their name.")
    if letters.restored_total:
        say(f"Brought back {count(letters.restored_total, 'letter')} of theirs withdrawn when they "
            f"left ({by_their_status(letters.restored)}).")  # fmt: skip
    if not row["address"]:
        say(f"Their return address: importune member edit {row['slug']} --address ADDRESS")


@member_app.command("remove")
def member_remove(ctx: typer.Context, member: Ref) -> None:
    """Remove a member; one whom letters name is kept as a member who left."""
    from importune.coordinate import remove_member

    with workspace(ctx) as store:
        removed = remove_member(store, member)
    slug = removed.member["slug"]
    if not removed.left:
        say(f"Removed member {slug}.")
        return
    say(f"Member {slug} left the group on {removed.member['left_on']}: letters carry their "
        "name, so they stay in the records, without their address and e-mail (erased). "
        "No letter is written in their name from now on.")  # fmt: skip
    if removed.withdrawn:
        say(f"Withdrew {count(removed.withdrawn, 'letter')} not yet printed.")
    if removed.printed:
        say(f"{count(removed.printed, 'printed letter')} {agree(removed.printed, 'stays', 'stay')} "
            f"printed: if they posted {agree(removed.printed, 'it', 'them')}, "
            f"importune mark-sent --member {slug}")  # fmt: skip
    if removed.sent:
        stay = agree(removed.sent, "stays", "stay")
        say(f"{count(removed.sent, 'letter')} sent {stay} in the tally.")
    say(f"If they come back: importune member edit {slug} --back")


# -- appeal --------------------------------------------------------------------------


def no_template(ctx: typer.Context, template: str, case: str) -> str | None:
    """What to say when the letters folder has no template of that name yet: the appeal is
    kept (the template may be written next), but generate-letters would refuse it. Files
    are looked for, not compiled: a one-off command need not load Jinja2."""
    letters = settings(ctx).letters_path
    folders = [letters / "cases" / case, letters]
    if any(next(folder.glob(f"{template}.*.txt.j2"), None) for folder in folders):
        return None
    return (
        f"No {template!r} template in {letters}/ yet: generate-letters refuses this appeal "
        f"until there is one. Start from the letter of concern: importune templates show "
        f"concern > {letters}/{template}.en.txt.j2"
    )


@appeal_app.command("add")
def appeal_add(
    ctx: typer.Context,
    case: Annotated[str, typer.Argument(help="The case: id or slug.")],
    official: Annotated[str, typer.Argument(help="The official: id or slug.")],
    template: Annotated[
        str | None, typer.Option(help="The letter's template (default concern).")
    ] = None,
    language: Language = None,
    until: Annotated[
        str | None, typer.Option(help="No letter after this day (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Write to OFFICIAL about CASE."""
    import datetime as dt

    from importune.coordinate import HELD, add_appeals

    raw = options(case=case, official=official, template=template, language=language, until=until)
    with workspace(ctx) as store:
        _added, back = add_appeals(store, [raw])
        row = store.appeals(case, official)[0]
        status = store.get("cases", row["case"])["status"]
    added = f"Appeal added: {row['case']} → {row['official']} ({row['template']})."
    missing = no_template(ctx, row["template"], row["case"])
    # The next step, unless the appeal makes no letter of concern now, or cannot yet.
    if status not in HELD:
        say(f"{added} Case {row['case']!r} is {status}: no letter of concern is made for it.")
    elif row["until"] and row["until"] < dt.date.today().isoformat():
        say(f"{added} Its --until day, {row['until']}, has passed: it makes no letters.")
    else:
        say(added if missing else f"{added} Next: importune generate-letters")
    if missing:
        say(missing)
    say_letters_back(back)
    if status == "released":
        say(f"Thank the official: importune generate-letters --case {row['case']} "
            "--template thanks")  # fmt: skip


@appeal_app.command("list")
def appeal_list(
    ctx: typer.Context,
    case: Annotated[str | None, typer.Option(help="Only this case's appeals.")] = None,
    json_: JsonFlag = False,
) -> None:
    """List the appeals."""
    with workspace(ctx) as store:
        rows = store.appeals(case=case)
    for row in rows:
        row["active"] = bool(row["active"])
    if json_:
        print_json(rows)
    else:
        empty = none_listed("appeals", "No appeals. Add one: importune appeal add CASE OFFICIAL",
                            case=case)  # fmt: skip
        table(rows, ["id", "case", "official", "template", "language", "until", "active"],
              empty=empty)  # fmt: skip


@appeal_app.command("edit")
def appeal_edit(
    ctx: typer.Context,
    case: Annotated[str, typer.Argument(help="The case: id or slug.")],
    official: Annotated[str, typer.Argument(help="The official: id or slug.")],
    template: Annotated[str | None, typer.Option(help="The letter's template.")] = None,
    language: Annotated[
        str | None,
        typer.Option(help="ISO 639-1 code (en, ru) or English name; '' for the official's."),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="No letter after this day (YYYY-MM-DD); '' for none.")
    ] = None,
    pause: Annotated[
        bool, typer.Option("--pause", help="No letters until --resume (print leaves them out).")
    ] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Letters again.")] = False,
) -> None:
    """Change how OFFICIAL is written to about CASE: template, language, last day, pause."""
    if pause and resume:
        raise InvalidInput("--pause and --resume exclude each other")
    active = False if pause else True if resume else None
    raw = {"template": template, "language": language, "until": until, "active": active}
    with workspace(ctx) as store:
        row = store.edit_appeal(case, official, raw)
    state = "active" if row["active"] else "paused"
    until_text = f", until {row['until']}" if row["until"] else ""
    in_language = f", in {row['language']!r}" if row["language"] else ""
    say(f"Appeal updated: {row['case']} → {row['official']} ({row['template']}{in_language}"
        f"{until_text}, {state}).")  # fmt: skip
    missing = no_template(ctx, row["template"], row["case"])
    if not row["active"]:
        say(f"Its letters are skipped and left out of print until: importune appeal edit "
            f"{row['case']} {row['official']} --resume")  # fmt: skip
    elif not missing:
        say("Next: importune generate-letters")
    if missing:
        say(missing)


@appeal_app.command("remove")
def appeal_remove(
    ctx: typer.Context,
    case: Annotated[str, typer.Argument(help="The case: id or slug.")],
    official: Annotated[str, typer.Argument(help="The official: id or slug.")],
) -> None:
    """Stop writing to OFFICIAL about CASE: its letters not yet sent are withdrawn."""
    from importune.coordinate import remove_appeal

    with workspace(ctx) as store:
        removed = remove_appeal(store, case, official)
    row = removed.appeal
    say(f"Appeal removed: {row['case']} → {row['official']}.")
    say_appeal_removed(removed.letters)
