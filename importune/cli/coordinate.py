"""Coordinators' case commands: ``case event`` and ``case release``.

Registered on the ``case`` sub-app by :mod:`importune.cli` (``case announce`` lives
in :mod:`importune.cli.report`, beside the tally it reads). The work is done by
:mod:`importune.coordinate`; these commands parse, call it once and say what
happened, with the next step.
"""

from typing import TYPE_CHECKING, Annotated

import typer

from importune.cli._common import say, workspace
from importune.wording import agree, count

if TYPE_CHECKING:
    from importune.coordinate import Letters, Release, Undo

Case = Annotated[str, typer.Argument(help="The case: id or slug.")]
Kind = Annotated[
    str,
    typer.Argument(
        help="arrested, charged, sentenced, transferred, hunger-strike or note "
        "(a release: importune case release; a death in custody: importune case edit CASE "
        "--status deceased).",
        show_default=False,
    ),
]
On = Annotated[str | None, typer.Option(help="The day it happened, YYYY-MM-DD (default today).")]
Note = Annotated[str | None, typer.Option(help="What happened, in one line.")]
ReleasedOn = Annotated[
    str | None, typer.Option(help="The day they were freed, YYYY-MM-DD (default today).")
]
ReleaseNote = Annotated[
    str | None, typer.Option(help="The release event's note, in one line (e.g. pardoned).")
]


def event(ctx: typer.Context, case: Case, kind: Kind, on: On = None, note: Note = None) -> None:
    """Record what happened to a case: it joins the case's timeline (case show)."""
    from importune.coordinate import add_event

    with workspace(ctx) as store:
        done = add_event(store, case, kind, on=on, note=note)
    say(f"Recorded for case {done['case']}: {done['date']} {done['kind']}.")
    say(f"Timeline: importune case show {done['case']}")


def release(
    ctx: typer.Context, case: Case, on: ReleasedOn = None, note: ReleaseNote = None
) -> None:
    """Mark a prisoner released: every letter not yet sent is withdrawn, in one go.

    A mistaken release is undone with: importune case edit CASE --status detained
    """
    from importune.coordinate import release as release_case

    with workspace(ctx) as store:
        done = release_case(store, case, on=on, note=note)
    say_released(done)


def say_released(done: "Release") -> None:
    """What a release did, and what the group does next (also after ``case edit``)."""
    slug = done.case["slug"]
    after = f", after {done.days:,} days in detention" if done.days is not None else ""
    say(f"Released case {slug} on {done.on}{after}.")
    say(_letters_withdrawn(done.letters))
    say(f"Next: importune case announce {slug}  (the release post)")
    say(f"      importune generate-letters --case {slug} --template thanks  (thank the officials)")


def say_undone(slug: str, undone: "Undo") -> None:
    """What undoing a release did (``case edit CASE --status detained``)."""
    letters = undone.letters
    say(f"Release of {undone.released_on or 'an unknown day'} undone: "
        "released_on cleared, the released event removed from the timeline.")  # fmt: skip
    say_restored(letters)
    say(f"Letters go on: importune letters list --case {slug}")


def say_died(slug: str, letters: "Letters") -> None:
    """What marking a case deceased did to its letters (``case edit CASE --status deceased``)."""
    say(_letters_withdrawn(letters, "not yet sent, never to be printed"))
    say(f"A mistake? importune case edit {slug} --status detained  (the letters come back)")


def say_restored(letters: "Letters") -> None:
    """The letters pending again after an undo (of a release, or of a death recorded by
    mistake), those left as they were, and the thank-you letters withdrawn."""
    if letters.restored_total:
        by_status = by_their_status(letters.restored)
        say(f"{count(letters.restored_total, 'letter')} pending again ({by_status}).")
    else:
        say("No letters to bring back.")
    if letters.sent:
        say(f"{_stay_sent(letters.sent)}.")
    if letters.thanks_withdrawn:
        say(f"{count(letters.thanks_withdrawn, 'thank-you letter')} withdrawn.")


def _stay_sent(sent: int) -> str:
    """Letters sent before a release or a withdrawal: the tally keeps them."""
    return f"{count(sent, 'letter')} already sent {agree(sent, 'stays', 'stay')} sent"


def by_their_status(counts: dict[str, int]) -> str:
    """``1 generated, 2 printed``: letters counted by their status."""
    return ", ".join(f"{n:,} {status}" for status, n in sorted(counts.items()))


def say_appeal_removed(letters: "Letters") -> None:
    """What stopping an appeal did to its letters (``appeal remove``)."""
    if letters.withdrawn_total or letters.sent:
        say(_letters_withdrawn(letters))
    if letters.withdrawn_total:
        say("print and mark-sent leave them out; adding the appeal again brings them back.")


def say_letters_back(letters: "Letters") -> None:
    """The withdrawn letters of appeals added again (``appeal add``, ``import appeals``)."""
    if letters.restored_total:
        by_status = by_their_status(letters.restored)
        say(f"Brought back {count(letters.restored_total, 'letter')} withdrawn by an earlier "
            f"appeal remove ({by_status}).")  # fmt: skip
    if letters.thanks_restored:
        say(f"Brought back {count(letters.thanks_restored, 'thank-you letter')} withdrawn by an "
            "earlier appeal remove.")  # fmt: skip


def _letters_withdrawn(letters: "Letters", which: str = "not yet sent") -> str:
    if letters.withdrawn_total:
        by_status = by_their_status(letters.withdrawn)
        line = f"Withdrew {count(letters.withdrawn_total, 'letter')} {which} ({by_status})"
    else:
        line = "No letters were pending"
    if letters.sent:
        line += f"; {_stay_sent(letters.sent)}"
    if letters.thanks_restored:
        line += f"; {count(letters.thanks_restored, 'thank-you letter')} back"
    return line + "."
