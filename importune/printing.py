"""Members print their letters at home: one PDF, envelopes or labels, the printer, packs.

``print`` gathers a member's letters into one print-ready PDF: each letter starts
on a new page, laid out by ``letters/layout.typ`` in ONE Typst compile
(:meth:`PdfLayout.render_many`), optionally followed by an envelope page
(``letters/envelope.typ``) or, at the end, A4 sheets of address labels.

A letter is its identity (case, official, member, template, language); the
``letters`` table holds a row per format of it. Printing lays a letter out from
its words, as composed for its recorded date, and adds no rows of its own; it
marks every format row of each printed letter ``printed``. What may be printed:

- letters ``generated`` or ``printed`` (printing again is allowed: a lost or
  spoiled copy is printed again, and ``printed_at`` becomes the latest time);
- never a letter ``sent`` (in any of its formats: it is in the post already), nor
  one ``withdrawn`` (its prisoner is free, its appeal removed, its member gone), nor
  one whose appeal is paused, past its ``until`` day, or whose case is no longer held;
- letters not generated yet are generated first, in ``txt``, exactly as
  ``generate-letters --member M [--case C]`` would make them.

The PDF is written whole (a temporary name, then a rename). With ``--printer``
it goes to the printer with ``lp`` before it is renamed into place: if ``lp`` is
missing or refuses, nothing is marked printed and no PDF is left behind.

A *pack* carries a campaign to members who are not in the organizer's database:
a zip of the held cases, their officials and appeals, the group's settings and
the letters folder (templates, layouts, fonts), and nothing about members. Its
reader refuses what could harm the member who opens it: a pack from a newer
importune, a damaged zip, paths that climb out of their folder, symlinks,
oversized entries. Its templates render in the same sandbox as the organizer's.

``mark-sent`` records what reached the post: every format of each letter named
becomes ``sent`` with the day it was posted.
"""

from __future__ import annotations

import datetime as dt
import json
import mmap
import os
import re
import shutil
import stat
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from importune import __version__, records
from importune.compose import Composer, Letter
from importune.errors import Conflict, ImportuneError, InvalidInput, NotFound
from importune.forked import forked
from importune.formats.common import WINDOW_ENVELOPES
from importune.formats.pdf import FONT_SUFFIXES, LAYOUT, Encoded, PdfLayout, encode
from importune.generate import (
    HELD,
    Options,
    check_slugs,
    generate,
    in_two,
    member_left,
    printed_before,
)
from importune.store import Store
from importune.wording import count

J = TypeVar("J")

PRINTABLE = ("generated", "printed")
"""Statuses a letter may be printed in (again)."""

ENVELOPE_SIZES = {"DL": "DL", "C5": "C5", "NO10": "No10", "#10": "No10", "10": "No10"}
"""The envelopes importune lays out, as they may be typed (in capitals), and as the layout
names them: DL and C5 (ISO 269), and the US #10 (9 1/2 × 4 1/8 in)."""
LABEL_SHEETS = {"a4": (3, 7), "letter": (3, 10)}
"""Columns and rows of the label sheets on each paper (``envelope.typ``'s ``sheets``)."""
ENVELOPE_LAYOUT = "envelope.typ"
TEMP_SUFFIX = ".importune-tmp"
PRINT_FOLDER = "print"
LP_TIMEOUT_S = 120

PACK_FORMAT = "importune-pack"
PACK_VERSION = 1
"""The pack format this importune writes, and the newest it reads."""
MANIFEST = "manifest.json"
PACK_RECORDS = ("group.json", "cases.json", "officials.json", "appeals.json")
PACK_LETTERS = "letters"
# What a pack may hold, so that opening one cannot fill the member's disk or memory.
PACK_MAX_ENTRIES = 5_000
PACK_MAX_FILE = 64 * 1024 * 1024
PACK_MAX_TOTAL = 256 * 1024 * 1024
_PACK_FILE_SUFFIXES = frozenset({".j2", ".typ", *FONT_SUFFIXES})
_PRINTER_NAME = re.compile(r"^[^\s/#\-][^\s/#]{0,126}$")


# -- the PDF --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Extras:
    """What goes with the letters: an envelope page after each, or label sheets at the end;
    and the paper. ``paper`` None is the group's (:meth:`on`), ``envelope_size`` None the
    paper's own envelope (DL with A4, #10 with US Letter)."""

    envelopes: bool = False
    envelope_size: str | None = None
    labels: bool = False
    paper: str | None = None

    def __post_init__(self) -> None:
        if self.envelopes and self.labels:
            raise InvalidInput("choose --envelopes or --labels, not both")
        if self.envelope_size is not None:
            size = ENVELOPE_SIZES.get(self.envelope_size.strip().upper())
            if size is None:
                raise InvalidInput(
                    f"envelope size {self.envelope_size!r}: use DL, C5 or No10 (the US #10)"
                )
            object.__setattr__(self, "envelope_size", size)
        if self.paper is not None:
            object.__setattr__(self, "paper", records.parse_paper(self.paper))

    @property
    def any(self) -> bool:
        return self.envelopes or self.labels

    def on(self, group: Mapping[str, Any]) -> Extras:
        """These extras on the paper asked for, else the group's, else A4, with the paper's
        own envelope unless another was asked for."""
        paper = self.paper or records.group_paper(group)
        size = self.envelope_size or WINDOW_ENVELOPES[paper]
        return replace(self, paper=paper, envelope_size=size)


class PrintLayout(PdfLayout):
    """``layout.typ`` with an envelope page after each letter, or label sheets at the end.

    The envelope and the labels are asked for in each letter's data (``envelope``,
    ``label``); ``layout.typ`` hands them to ``envelope.typ``. A workspace whose own
    ``layout.typ`` was copied before importune printed envelopes is told so,
    rather than given a PDF without them.
    """

    def __init__(self, letters_dir: Path, extras: Extras) -> None:
        extras = extras.on({})  # the paper given, or A4
        # Printed on paper: no accessibility tags (half the file, a fifth of the time).
        super().__init__(letters_dir, tags=False, paper=extras.paper or "a4")
        self.extras = extras
        if extras.any and "envelope-page" not in self.path.read_text(encoding="utf-8"):
            raise NotFound(
                f"{self.path} lays out no envelopes or labels (it predates them): copy "
                f"{LAYOUT} and {ENVELOPE_LAYOUT} from importune's defaults into "
                f"{self.path.parent}/, or print without --envelopes/--labels"
            )

    def data(self, letter: Letter) -> dict[str, Any]:
        data = super().data(letter)
        if self.extras.envelopes:
            data["envelope"] = self.extras.envelope_size
        if self.extras.labels:
            data["label"] = True
        return data

    def pages(self, letters: int) -> int | None:
        """A page per letter, and one per envelope; label sheets are the layout's own
        business (so the pages are unknown: the letters are laid out numbered at once)."""
        if self.extras.labels:
            return None
        return letters * (2 if self.extras.envelopes else 1)


def layout_pdf(letters_dir: Path, letters: Sequence[Letter], extras: Extras) -> bytes:
    """The letters (and their envelopes or labels) as one PDF, in one Typst compile."""
    return PrintLayout(letters_dir, extras).render_many(letters)


_COMPOSER_LOST = (
    "the process composing half of the letters stopped before it was done; nothing was printed"
)

PARALLEL_FROM = 200
"""Letters from which ``print`` composes the second half of a pile in a forked process
while this one composes the first (on a machine with two cores or more)."""

Composed = tuple[Encoded, dt.date]
"""A letter composed and checked for the PDF: its layout data (:meth:`PdfLayout.item`),
encoded, and its date."""


def compose_pdf(
    layout: PrintLayout,
    jobs: Sequence[J],
    compose: Callable[[J], Letter],
    ready: Mapping[int, Composed] | None = None,
) -> tuple[int, bytes]:
    """Compose each job's letter (``compose(job)``), check it and lay them all out as one
    PDF: the number of letters and the PDF. ``ready`` holds letters composed already, by
    their position in ``jobs`` (see :func:`composed_ahead`).

    Composing a letter (Jinja2, dates, the postal address) is Python's work, a tenth of a
    pile's time, and Typst waits for all of it: a big pile is composed by two processes at
    once. Either way the PDF is the same, byte for byte, and so is a refusal (the first
    letter in the pile's order that cannot be composed or printed: a letter composed
    ahead never is one).
    """
    done = dict(ready or {})
    todo = [position for position in range(len(jobs)) if position not in done]

    def part(positions: Sequence[int]) -> list[Composed]:
        return [_composed(layout, compose(jobs[position])) for position in positions]

    if not in_two(len(todo), PARALLEL_FROM):
        made = part(todo)
    else:
        # The first letter is composed before the fork, so that both processes start with
        # its templates compiled and its locale's data loaded (a tenth of a second).
        made = part(todo[:1])
        half = (len(todo) + 1) // 2
        with forked(part, todo[half:], lost=_COMPOSER_LOST) as second:
            made += part(todo[1:half])
            made += second()
    done.update(zip(todo, made, strict=True))
    if not done:
        raise ImportuneError("no letters to lay out")
    letters = [done[position][0] for position in range(len(jobs))]
    return len(letters), layout.render_encoded(letters, max(day for _, day in done.values()))


def _composed(layout: PdfLayout, letter: Letter) -> Composed:
    return encode(layout.item(letter)), letter.date


AHEAD_FROM = 50
"""Letters on record from which ``print`` composes them in a forked process while it
checks that they are generated (see :func:`composed_ahead`)."""


@contextmanager
def composed_ahead(
    layout: PrintLayout,
    rows: Sequence[dict[str, Any]],
    compose: Callable[[dict[str, Any]], Letter],
) -> Iterator[Callable[[Sequence[dict[str, Any]]], dict[int, Composed]]]:
    """Compose the letters on record (``rows``) in a forked process while this one checks
    that they are generated; yields the function that finishes them, with this process's
    help, and hands over those of the letters to print (its argument, rows of the same
    query made after the check) by their position there, for :func:`compose_pdf`.

    Checking a member's letters (as ``generate-letters`` would) takes a tenth of a second
    for a thousand letters, on one core; composing them for the PDF takes longer, and
    needs only the records, which that check never changes. The copy is forked at once
    (it loads its templates and locales while the check runs) and composes from the last
    letter back; once the check is done, this process composes from the first on, until
    the two meet (:class:`_Meeting`).

    Nothing is taken on trust: the letters to print are decided after the check, as
    without this, and each is composed from its records, template and date, which its
    key holds (:func:`_ahead_key`); a letter the check wrote anew (a new date, a new row)
    is composed after. A letter that cannot be composed ends the work of whichever
    process met it: it is composed again in the pile's order and refused as before. With
    a small pile, one core or no fork (or when the copy dies), what is missing is
    composed afterwards.
    """
    if not in_two(len(rows), AHEAD_FROM):
        yield lambda chosen: {}
        return

    meeting = _Meeting(len(rows))

    def compose_while(
        positions: Iterable[int], take: Callable[[int], bool]
    ) -> dict[tuple[Any, ...], Composed]:
        """The letters at ``positions``, in turn, as long as each can be taken."""
        done = {}
        for position in positions:
            if not take(position):
                break
            try:
                done[_ahead_key(rows[position])] = _composed(layout, compose(rows[position]))
            except Exception:  # composed again afterwards, and refused in the pile's order
                break
        return done

    the_copy = partial(compose_while, take=meeting.back)
    with forked(the_copy, range(len(rows) - 1, -1, -1), lost=_COMPOSER_LOST) as result:

        def finish(chosen: Sequence[dict[str, Any]]) -> dict[int, Composed]:
            done = compose_while(range(len(rows)), meeting.front)
            with suppress(ImportuneError):  # the copy died: the rest is composed afterwards
                done.update(result())
            found = (done.get(_ahead_key(row)) for row in chosen)
            return {position: made for position, made in enumerate(found) if made is not None}

        yield finish


class _Meeting:
    """Two processes working through one list from either end, each telling the other how
    far it got in a few bytes of memory they share (a fork keeps an anonymous shared
    mapping shared). Each takes a position only while the other has not reached it. A
    position both pass over at the same moment is taken by neither: whatever is missing
    is done afterwards (:func:`compose_pdf`), so the meeting needs no lock."""

    def __init__(self, length: int) -> None:
        self._memory = mmap.mmap(-1, 16)
        self._ends = memoryview(self._memory).cast("q")
        self._ends[0], self._ends[1] = 0, length

    def front(self, position: int) -> bool:
        """Take ``position`` from the front, unless the back has reached it."""
        self._ends[0] = position + 1
        return position < self._ends[1]

    def back(self, position: int) -> bool:
        """Take ``position`` from the back, unless the front has reached it."""
        self._ends[1] = position
        return position >= self._ends[0]


def _ahead_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a letter on record is composed from, besides the records: its case, official,
    template and date (the member is the one printing)."""
    return row["case_id"], row["official_id"], row["template"], row["dated"]


# -- the printer ----------------------------------------------------------------------------


def shown(path: Path) -> Path:
    """A path as a person would type it: relative to the current folder when inside it."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return Path(path)


def find_lp(pdf: Path) -> str:
    """The ``lp`` command, or a refusal that says how to print ``pdf`` without it."""
    lp = shutil.which("lp")
    if lp is None:
        raise NotFound(
            f"no 'lp' command on this machine to send the PDF to a printer (it comes with CUPS): "
            f"leave out --printer and print {shown(pdf)} from a PDF viewer"
        )
    return lp


def check_printer_name(name: str) -> str:
    """A CUPS queue name: no spaces, '/' or '#', and not an option (no leading '-')."""
    if not _PRINTER_NAME.match(name):
        raise InvalidInput(f"printer name {name!r} is not a printer queue name (see: lpstat -p)")
    return name


def send_to_printer(lp: str, pdf: Path, printer: str, title: str) -> str:
    """Hand ``pdf`` to ``lp`` (``-d printer`` unless it is empty: the default printer);
    what ``lp`` said (its request id), or a refusal with its first line of complaint."""
    command = [lp, *(["-d", printer] if printer else []), "-t", title, str(pdf.resolve())]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=LP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise ImportuneError(
            f"lp did not answer in {LP_TIMEOUT_S} s; nothing was printed"
        ) from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        why = said[0] if said else f"exit status {done.returncode}"
        raise ImportuneError(f"lp could not print: {why}")
    return done.stdout.strip()


# -- writing the PDF whole ------------------------------------------------------------------


@dataclass
class Printed:
    """What one ``print`` did."""

    path: Path
    letters: int
    signer: str
    generated: int = 0  # letters generated first
    left_out: tuple[str, ...] = ()  # "case to official": printed before, words changed since
    printer: str | None = None  # the queue it went to ("" for the default)
    lp: str = ""  # what lp said
    extras: Extras = field(default_factory=Extras)
    return_address: bool = True  # whether the letters carry the signer's return address
    pack_made: dt.date | None = None  # the day the pack was made, if over PACK_FRESH_DAYS ago


PACK_FRESH_DAYS = 30
"""A pack older than this is printed from with a note: a prisoner may have been freed, an
appeal ended, since the organizer made it, and the pack cannot know."""


def _deliver(pdf: bytes, path: Path, printer: str | None, lp: str | None, title: str) -> str:
    """Write ``pdf`` to ``path`` whole; with a printer, ``lp`` gets it before the rename,
    and when ``lp`` refuses no file is left. Returns what ``lp`` said."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}{TEMP_SUFFIX}")
    said = ""
    try:
        with open(temp, "wb") as handle:
            handle.write(pdf)
            handle.flush()
            os.fsync(handle.fileno())
        if printer is not None and lp is not None:
            said = send_to_printer(lp, temp, printer, title)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return said


def _output(path: Path) -> Path:
    if path.suffix.lower() != ".pdf":
        raise InvalidInput(f"{path}: print writes a PDF; give a file name ending in .pdf")
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder; give a file name ending in .pdf")
    return path


# -- printing a member's letters from the workspace ----------------------------------------


def resolve_member(store: Store, ref: str | None) -> dict[str, Any]:
    """The member named, or the only one; with several, the caller must say whose. A
    member who left the group prints nothing: their letters not yet printed were
    withdrawn."""
    if ref is not None:
        member = store.get("members", ref)
        if member["left_on"]:
            raise InvalidInput(member_left(member))
        return member
    everyone = store.list("members")
    members = [member for member in everyone if not member["left_on"]]
    if len(members) == 1:
        return members[0]
    if not members:
        gone = f" ({len(everyone)} left the group)" if everyone else ""
        raise NotFound(
            f"this workspace has no members{gone}: add one (importune member add NAME "
            "--address ...), or print from a pack with --pack FILE --as NAME"
        )
    names = ", ".join(m["slug"] for m in members[:5]) + (", ..." if len(members) > 5 else "")
    raise InvalidInput(
        f"{len(members)} members: say whose letters to print with --member ({names})"
    )


_IDENTITY = (
    "s.case_id = l.case_id AND s.official_id = l.official_id "
    "AND coalesce(s.member_id, 0) = coalesce(l.member_id, 0) "
    "AND s.template = l.template AND s.language = l.language"
)


def print_member(
    store: Store,
    *,
    letters_dir: Path,
    out: Path,
    member: str | None = None,
    case: str | None = None,
    output: Path | None = None,
    extras: Extras | None = None,
    printer: str | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Printed:
    """Print one member's letters (of one case, with ``case``) as one PDF; see the module."""
    group = store.group()
    extras = (extras or Extras()).on(group)
    today = today or dt.date.today()
    person = resolve_member(store, member)
    case_row = store.get("cases", case) if case is not None else None
    if output is None:
        # The default place is importune's own: never through a link to elsewhere, and
        # never under a slug edited outside importune.
        folder = out / PRINT_FOLDER
        if folder.is_symlink():
            raise ImportuneError(
                f"{folder} is a symbolic link; print writes only into a real folder there "
                "(remove the link, or name the file with -o)"
            )
        check_slugs("member", [person])
    path = _output(output or out / PRINT_FOLDER / f"{person['slug']}.pdf")
    lp = None
    if printer is not None:
        if printer:
            check_printer_name(printer)
        lp = find_lp(path)

    # The layout first: one that cannot lay out what was asked is refused before any
    # letter is generated.
    layout = PrintLayout(letters_dir, extras)
    cases = {r["id"]: r for r in store.list("cases")}
    officials = {r["id"]: r for r in store.list("officials")}
    appeals = {(a["case_id"], a["official_id"]): a for a in store.query("SELECT * FROM appeals")}
    composer = Composer(letters_dir, group, today)

    def compose(r: dict[str, Any]) -> Letter:
        return composer.compose(
            cases[r["case_id"]],
            officials[r["official_id"]],
            person,
            {**appeals[(r["case_id"], r["official_id"])], "template": r["template"]},
            on=dt.date.fromisoformat(r["dated"]),
        )

    on_record = [r for r in _member_letters(store, person, case_row) if _printable(r)]
    with composed_ahead(layout, on_record, compose) as ahead:
        # Letters not generated yet are generated first (as generate-letters would).
        outcome = generate(
            store,
            Options(
                out=out,
                letters_dir=letters_dir,
                fmt="txt",
                cases=[case_row["slug"]] if case_row else (),
                members=[person["slug"]],
                today=today,
                collect=True,
                receipt=False,  # print marks letters printed next, which voids any receipt
            ),
        )
        # A letter printed before whose file is gone or was edited by hand, its words
        # the same, is skipped by the check (never written over) and printed all the same:
        # the PDF is laid out from the records, which still give those words. One whose
        # words would read otherwise now keeps the words it was printed with, and is
        # named as left out of this pile.
        current = {
            (e["case"], e["official"], e["template"], e["language"])
            for e in outcome.letters
            if e["state"] in ("generated", "unchanged") or printed_before(e) == "same"
        }
        left_out = tuple(
            f"{e['case']} to {e['official']}"
            for e in outcome.letters
            if printed_before(e) == "changed"
        )
        rows = _member_letters(store, person, case_row)
        chosen = [
            r
            for r in rows
            if _printable(r)
            and (r["case_slug"], r["official_slug"], r["template"], r["language"]) in current
        ]
        if not chosen:
            of = f" for case {case_row['slug']!r}" if case_row else ""
            held = {s: sum(1 for r in rows if r["status"] == s) for s in ("sent", "withdrawn")}
            told = ", ".join(f"{n} {s}" for s, n in held.items() if n)
            if left_out:
                changed_since = f"{len(left_out)} printed before, with words changed since"
                told = ", ".join(filter(None, [told, changed_since]))
            raise NotFound(
                f"member {person['slug']!r} has no letters to print{of}"
                + (f" ({told})" if told else ": are there appeals? (importune appeal list)")
            )
        count, pdf = compose_pdf(layout, chosen, compose, ahead(chosen))

    stamp = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    keys = [
        (stamp, r["case_id"], r["official_id"], r["member_id"], r["template"], r["language"])
        for r in chosen
    ]
    # The letters are marked first, then the PDF is put in place, in one transaction: a
    # database that is busy, read-only or full is refused before any PDF (or printer)
    # sees the letters, and a PDF that cannot be written takes the marks back.
    with store.atomic():
        store.conn.executemany(
            "UPDATE letters SET status = 'printed', printed_at = ? WHERE case_id = ? "
            "AND official_id = ? AND member_id = ? AND template = ? AND language = ? "
            "AND status IN ('generated', 'printed')",
            keys,
        )
        said = _deliver(pdf, path, printer, lp, f"importune: letters of {person['name']}")
    return Printed(
        path=path,
        letters=count,
        signer=person["slug"],
        generated=outcome.generated,
        left_out=left_out,
        printer=printer,
        lp=said,
        extras=extras,
        return_address=bool(person["address"]),
    )


def _member_letters(
    store: Store, person: Mapping[str, Any], case_row: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """The member's letters on record in txt (of one case, with ``case_row``), in the
    pile's order, with their slugs and whether any format of each was sent."""
    where = "l.format = 'txt' AND l.member_id = ?"
    params: list[Any] = [person["id"]]
    if case_row:
        where += " AND l.case_id = ?"
        params.append(case_row["id"])
    return store.query(
        "SELECT l.id, l.case_id, l.official_id, l.member_id, l.template, l.language, l.dated, "
        "l.status, c.slug AS case_slug, o.slug AS official_slug, "
        f"EXISTS (SELECT 1 FROM letters s WHERE {_IDENTITY} AND s.status = 'sent') AS sent "
        "FROM letters l JOIN cases c ON c.id = l.case_id JOIN officials o ON o.id = l.official_id "
        f"WHERE {where} ORDER BY c.slug, o.slug, l.template, l.language",
        params,
    )


def _printable(row: Mapping[str, Any]) -> bool:
    return row["status"] in PRINTABLE and not row["sent"]


# -- mark-sent ----------------------------------------------------------------------------


@dataclass
class Sent:
    """What ``mark-sent`` did: letters marked, and those left as they were."""

    on: str
    marked: int = 0
    already: int = 0  # sent before
    withdrawn: int = 0  # left alone: withdrawn letters are never marked sent
    paused: int = 0  # left alone: never printed, their appeal paused


def mark_sent(
    store: Store,
    ids: Sequence[str] = (),
    *,
    member: str | None = None,
    case: str | None = None,
    on: str | None = None,
    today: dt.date | None = None,
) -> Sent:
    """Mark letters sent (every format of each): those named by id, else every letter of
    ``member`` and/or ``case`` that is generated or printed, but for one never printed
    whose appeal is paused (``print`` left it out).

    A withdrawn letter is never marked sent: its prisoner was released (or the case
    closed), its appeal removed, or its member gone before printing it, before it went
    out; named by id, it is a refusal.
    ``on`` is the day the letters were posted, ISO 8601, not in the future and not before
    a letter's date.
    """
    today = today or dt.date.today()
    if not ids and member is None and case is None:
        raise InvalidInput(
            "say which letters were posted: their ids (importune letters list), --member or --case"
        )
    day = records.parse_date(on, "--on") if on is not None else today.isoformat()
    if day > today.isoformat():
        raise InvalidInput(f"--on {day} is in the future: mark letters sent once posted")
    where, params = [], []
    person = store.get("members", member) if member is not None else None
    case_row = store.get("cases", case) if case is not None else None
    if person:
        where.append("l.member_id = ?")
        params.append(person["id"])
    if case_row:
        where.append("l.case_id = ?")
        params.append(case_row["id"])
    numbers = []
    for ref in ids:
        if not str(ref).strip().isdigit():
            raise InvalidInput(f"letter id {ref!r} is not a number (see importune letters list)")
        numbers.append(int(ref))
    if numbers:
        found = {
            r["id"]: r
            for r in store.query(
                f"SELECT l.* FROM letters l WHERE l.id IN ({','.join('?' * len(numbers))})",
                numbers,
            )
        }
        for number in numbers:
            row = found.get(number)
            if row is None:
                raise NotFound(f"no letter {number} (see importune letters list)")
            if person and row["member_id"] != person["id"]:
                raise Conflict(f"letter {number} is not signed by {person['slug']!r}")
            if case_row and row["case_id"] != case_row["id"]:
                raise Conflict(f"letter {number} is not about case {case_row['slug']!r}")
        where.append(
            f"EXISTS (SELECT 1 FROM letters s WHERE {_IDENTITY} "
            f"AND s.id IN ({','.join('?' * len(numbers))}))"
        )
        params.extend(numbers)
    # Every row of every letter selected, grouped by the letter's identity.
    rows = store.query(
        "SELECT l.id, l.case_id, l.official_id, l.member_id, l.template, l.language, "
        "l.status, l.dated, NOT coalesce((SELECT a.active FROM appeals a WHERE a.case_id = "
        "l.case_id AND a.official_id = l.official_id), 1) AS paused FROM letters l WHERE "
        + " AND ".join(where) + " ORDER BY l.id",
        params,
    )
    letters: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        key = (row["case_id"], row["official_id"], row["member_id"], row["template"],
               row["language"])  # fmt: skip
        letters.setdefault(key, []).append(row)
    outcome = Sent(on=day)
    chosen = []
    for key, group in letters.items():
        statuses = {r["status"] for r in group}
        if statuses == {"generated"} and group[0]["paused"] and not numbers:
            # Never printed, its appeal paused: print left it out, so it was not posted
            # with the rest. Named by id, it is marked: the organizer knows.
            outcome.paused += 1
        elif statuses & set(PRINTABLE):
            written = max(r["dated"] for r in group)
            if day < written:
                first = min(r["id"] for r in group)
                raise InvalidInput(f"--on {day} is before letter {first} was written ({written})")
            chosen.append(key)
        elif "sent" in statuses:
            outcome.already += 1
        else:
            withdrawn = [r["id"] for r in group if r["id"] in numbers]
            if withdrawn:
                raise Conflict(
                    f"letter {withdrawn[0]} was withdrawn (its case is no longer held, its "
                    "appeal was removed, or its member left before printing it): it is not "
                    "marked sent"
                )
            outcome.withdrawn += 1
    if not chosen and not outcome.already:
        whose = " and ".join(
            part
            for part in (
                f"member {person['slug']!r}" if person else "",
                f"case {case_row['slug']!r}" if case_row else "",
            )
            if part
        )
        held = [f"{outcome.withdrawn} withdrawn" if outcome.withdrawn else "",
                f"{outcome.paused} of a paused appeal" if outcome.paused else ""]  # fmt: skip
        extra = f" ({', '.join(filter(None, held))})" if any(held) else ""
        raise NotFound(f"no letters of {whose or 'those ids'} to mark sent{extra}")
    with store.atomic():
        store.conn.executemany(
            "UPDATE letters SET status = 'sent', sent_at = ? WHERE case_id = ? "
            "AND official_id = ? AND coalesce(member_id, 0) = coalesce(?, 0) AND template = ? "
            "AND language = ? AND status IN ('generated', 'printed')",
            [(day, *key) for key in chosen],
        )
    outcome.marked = len(chosen)
    return outcome


# -- packs: exporting -----------------------------------------------------------------------


@dataclass
class Packed:
    """What went into a pack."""

    path: Path
    cases: int
    officials: int
    appeals: int
    files: int


def _pack_appeals(store: Store, case_refs: Sequence[str], today: dt.date) -> list[dict[str, Any]]:
    """The appeals a member can write for now: active, not past their day, case held."""
    wanted = None
    if case_refs:
        wanted = {}
        for ref in case_refs:
            row = store.get("cases", ref)
            if row["status"] not in HELD:
                raise Conflict(f"case {row['slug']!r} is {row['status']}: no letters to write")
            wanted[row["id"]] = row
    rows = store.query(
        "SELECT a.* FROM appeals a JOIN cases c ON c.id = a.case_id "
        "JOIN officials o ON o.id = a.official_id "
        f"WHERE a.active AND (a.until IS NULL OR a.until >= ?) "
        f"AND c.status IN ({','.join('?' * len(HELD))}) ORDER BY c.slug, o.slug",
        [today.isoformat(), *HELD],
    )
    chosen = [a for a in rows if wanted is None or a["case_id"] in wanted]
    if wanted:
        empty = [
            row["slug"] for cid, row in wanted.items() if all(a["case_id"] != cid for a in chosen)
        ]
        if empty:
            raise NotFound(f"case {empty[0]!r} has no active appeal to pack (importune appeal add)")
    if not chosen:
        raise NotFound(f"no active appeals to pack{_why_no_appeals(store)}")
    return chosen


def _why_no_appeals(store: Store) -> str:
    """Why no appeal is packed, in words: none at all, or those there and why each is out
    (the case is no longer held, the appeal is paused or past its day), so that an
    organizer whose only prisoner was released is not told to add an appeal."""
    rows = store.query(
        f"SELECT c.status IN ({','.join('?' * len(HELD))}) AS held "
        "FROM appeals a JOIN cases c ON c.id = a.case_id",
        HELD,
    )
    if not rows:
        return ": add some (importune appeal add CASE OFFICIAL)"
    # None was chosen, so an appeal whose case is held is paused or past its day.
    freed = sum(1 for r in rows if not r["held"])
    paused = len(rows) - freed
    its = "its" if paused == 1 else "their"
    parts = [
        f"{freed} for a case no longer held (released or deceased)" if freed else "",
        f"{paused} paused or past {its} --until date" if paused else "",
    ]
    return f": of {count(len(rows), 'appeal')}, " + " and ".join(filter(None, parts))


def _pack_files(letters_dir: Path, case_slugs: set[str]) -> list[tuple[str, Path]]:
    """The letters folder's templates, layouts and fonts, as (name in the pack, file).

    Other cases' own templates stay out, and so does anything that is not a
    template, a layout or a font; symlinks are never followed (one could lead to
    a private file).
    """
    root = Path(letters_dir)
    found: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        relative = here.relative_to(root)
        parts = relative.parts
        dirs[:] = sorted(d for d in dirs if not (here / d).is_symlink() and not d.startswith("."))
        if parts[:1] == ("cases",) and len(parts) >= 2 and parts[1] not in case_slugs:
            dirs[:] = []
            continue
        in_fonts = parts[:1] == ("fonts",)
        for name in sorted(files):
            path = here / name
            if path.is_symlink() or not path.is_file() or name.startswith("."):
                continue
            if path.suffix.lower() in _PACK_FILE_SUFFIXES or (in_fonts and name.endswith(".txt")):
                found.append(((relative / name).as_posix(), path))
    return found


def export_pack(
    store: Store,
    letters_dir: Path,
    target: Path,
    cases: Sequence[str] = (),
    today: dt.date | None = None,
) -> Packed:
    """Write the pack for the held cases (or those named) to ``target``, whole.

    Members are never read: the pack is made from cases, officials, appeals, the
    group's settings and the letters folder alone.
    """
    today = today or dt.date.today()
    appeals = _pack_appeals(store, cases, today)
    case_ids = {a["case_id"] for a in appeals}
    official_ids = {a["official_id"] for a in appeals}
    case_rows = [r for r in store.list("cases") if r["id"] in case_ids]
    official_rows = [r for r in store.list("officials") if r["id"] in official_ids]
    files = _pack_files(letters_dir, {r["slug"] for r in case_rows})
    if not any(name.endswith(".txt.j2") for name, _ in files):
        raise NotFound(f"{letters_dir}: no letter templates to pack")
    manifest = {
        "format": PACK_FORMAT,
        "version": PACK_VERSION,
        "importune": __version__,
        "made": today.isoformat(),
        "cases": [r["slug"] for r in case_rows],
    }
    documents = {
        MANIFEST: manifest,
        "group.json": store.group(),
        "cases.json": case_rows,
        "officials.json": official_rows,
        "appeals.json": appeals,
    }
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}{TEMP_SUFFIX}")
    fixed = (today.year, today.month, today.day, 12, 0, 0)
    try:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as pack:
            for name, document in documents.items():
                text = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True)
                pack.writestr(zipfile.ZipInfo(name, fixed), text + "\n", zipfile.ZIP_DEFLATED)
            for name, path in files:
                info = zipfile.ZipInfo(f"{PACK_LETTERS}/{name}", fixed)
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                pack.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return Packed(target, len(case_rows), len(official_rows), len(appeals), len(files))


# -- packs: reading -----------------------------------------------------------------------


@dataclass
class Pack:
    """A pack opened: its records, and its letters folder extracted to a temporary folder."""

    path: Path
    manifest: dict[str, Any]
    group: dict[str, Any]
    cases: dict[int, dict[str, Any]]
    officials: dict[int, dict[str, Any]]
    appeals: list[dict[str, Any]]
    letters_dir: Path


def _damaged(path: Path, why: str) -> InvalidInput:
    return InvalidInput(f"{path}: the pack is damaged ({why}); ask for a new one")


def _safe_name(path: Path, info: zipfile.ZipInfo) -> PurePosixPath:
    """An entry's name as a relative path that stays inside the folder, or a refusal."""
    name = info.filename
    pure = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or "\x00" in name
        or name.startswith("/")
        or re.match(r"^[A-Za-z]:", name)
        or any(part in ("..", ".", "") for part in name.rstrip("/").split("/"))
    ):
        raise InvalidInput(f"{path}: refused: the pack holds a path outside its folder ({name!r})")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise InvalidInput(f"{path}: refused: the pack holds a symbolic link ({name!r})")
    return pure


def _read_entry(
    path: Path, pack: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int]
) -> bytes:
    """An entry's bytes, read no further than the limits (a zip can lie about its sizes)."""
    if info.file_size > PACK_MAX_FILE:
        raise InvalidInput(
            f"{path}: refused: {info.filename!r} is {info.file_size:,} bytes "
            f"(at most {PACK_MAX_FILE:,})"
        )
    limit = min(PACK_MAX_FILE, budget[0])
    try:
        with pack.open(info) as handle:
            data = handle.read(limit + 1)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        NotImplementedError,
    ) as error:
        raise _damaged(path, f"{info.filename}: {error}") from None
    if len(data) > limit:
        raise InvalidInput(f"{path}: refused: {info.filename!r} unpacks to more than allowed")
    budget[0] -= len(data)
    return data


def _json(path: Path, name: str, data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _damaged(path, f"{name}: {error}") from None


def _records(path: Path, name: str, value: Any, required: Sequence[str]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise _damaged(path, f"{name} is not a list of records")
    for row in value:
        for key in required:
            if key not in row:
                raise _damaged(path, f"a record in {name} has no {key!r}")
        for key, item in row.items():
            if item is not None and not isinstance(item, str | int | float):
                raise _damaged(path, f"{name}: {key!r} holds a {type(item).__name__}")
    return value


@contextmanager
def open_pack(path: Path) -> Iterator[Pack]:
    """Open a pack: check it whole, read its records, extract its letters folder to a
    temporary folder (removed on leaving). Refuses what is not a pack, a pack from a
    newer importune, a damaged one, and one that would write outside its folder."""
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    try:
        pack = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InvalidInput(f"{path} is not an importune pack (not a zip file)") from None
    except (zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, ValueError) as error:
        raise _damaged(path, str(error)) from None
    with pack, tempfile.TemporaryDirectory(prefix="importune-pack-") as temp:
        infos = pack.infolist()
        if len(infos) > PACK_MAX_ENTRIES:
            raise InvalidInput(
                f"{path}: refused: {len(infos):,} entries (at most {PACK_MAX_ENTRIES:,})"
            )
        names = {info.filename: info for info in infos}
        if MANIFEST not in names:
            raise InvalidInput(f"{path} is not an importune pack (it has no {MANIFEST})")
        budget = [PACK_MAX_TOTAL]
        manifest = _json(path, MANIFEST, _read_entry(path, pack, names[MANIFEST], budget))
        if not isinstance(manifest, dict) or manifest.get("format") != PACK_FORMAT:
            raise InvalidInput(f"{path} is not an importune pack ({MANIFEST} is not a pack's)")
        version = manifest.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _damaged(path, f"{MANIFEST}: version {version!r}")
        if version > PACK_VERSION:
            made = manifest.get("importune") or "a newer version"
            raise InvalidInput(
                f"{path} was made by importune {made} (pack format {version}); this importune "
                f"{__version__} reads format {PACK_VERSION}: upgrade importune to print it"
            )
        for info in infos:
            _safe_name(path, info)
        documents = {}
        for name in PACK_RECORDS:
            if name not in names:
                raise _damaged(path, f"no {name}")
            documents[name] = _json(path, name, _read_entry(path, pack, names[name], budget))
        group = documents["group.json"]
        if not isinstance(group, dict):
            raise _damaged(path, "group.json is not a record")
        cases = _records(path, "cases.json", documents["cases.json"], ("id", "slug", "name"))
        officials = _records(
            path, "officials.json", documents["officials.json"], ("id", "slug", "name", "address")
        )
        appeals = _records(
            path, "appeals.json", documents["appeals.json"], ("case_id", "official_id", "template")
        )
        for row in [*cases, *officials]:
            if not isinstance(row["slug"], str) or not records.SLUG_RE.match(row["slug"]):
                raise _damaged(path, f"slug {row['slug']!r} is not a slug")
        case_index = {row["id"]: row for row in cases}
        official_index = {row["id"]: row for row in officials}
        for appeal in appeals:
            if appeal["case_id"] not in case_index or appeal["official_id"] not in official_index:
                raise _damaged(path, "an appeal names a case or official the pack does not hold")

        root = Path(temp) / PACK_LETTERS
        root.mkdir()
        prefix = PACK_LETTERS + "/"
        for info in infos:
            if not info.filename.startswith(prefix) or info.is_dir():
                continue
            relative = PurePosixPath(info.filename[len(prefix) :])
            target = root.joinpath(*relative.parts)
            if not target.resolve().is_relative_to(root.resolve()):
                raise InvalidInput(f"{path}: refused: {info.filename!r} leads outside its folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_read_entry(path, pack, info, budget))
        yield Pack(path, manifest, group, case_index, official_index, appeals, root)


def pack_member(name: str | None, address: str | None) -> dict[str, Any]:
    """The signer of a pack's letters, who is in no database: a name and a return address."""
    text = records.clean_text(name or "", "--as", multiline=False, limit=records.SINGLE_LINE_MAX)
    if not text:
        raise InvalidInput("--as: give the name to sign the letters with (--as 'Your Name')")
    lines = records.clean_text(
        address or "", "--address", multiline=True, limit=records.MULTI_LINE_MAX
    )
    return {
        "id": None,
        "slug": records.make_slug(text) or "member",
        "name": text,
        "address": lines,
        "email": None,
        "language": None,
    }


def print_pack(
    path: Path,
    *,
    name: str | None,
    address: str | None = None,
    case: str | None = None,
    output: Path | None = None,
    extras: Extras | None = None,
    printer: str | None = None,
    today: dt.date | None = None,
) -> Printed:
    """Print every letter of a pack (of one case, with ``case``) signed by ``name``, with
    no workspace and no database: the letters are composed from the pack's records."""
    extras = extras or Extras()
    today = today or dt.date.today()
    person = pack_member(name, address)
    target = _output(output or Path(f"{person['slug']}.pdf"))
    lp = None
    if printer is not None:
        if printer:
            check_printer_name(printer)
        lp = find_lp(target)
    with open_pack(path) as pack:
        wanted = None
        if case is not None:
            ref = case.strip()
            matches = [c for c in pack.cases.values() if c["slug"] == ref or str(c["id"]) == ref]
            if not matches:
                raise NotFound(f"no case {ref!r} in {path} (it holds {_slugs(pack.cases)})")
            wanted = matches[0]["id"]
        jobs = sorted(
            (
                a
                for a in pack.appeals
                if (wanted is None or a["case_id"] == wanted)
                and a.get("active", 1)
                and not (a.get("until") and str(a["until"]) < today.isoformat())
                and pack.cases[a["case_id"]].get("status", "detained") in HELD
            ),
            key=lambda a: (
                pack.cases[a["case_id"]]["slug"],
                pack.officials[a["official_id"]]["slug"],
            ),
        )
        if not jobs:
            raise NotFound(f"{path} holds no letters to write today (its appeals have ended)")
        composer = Composer(pack.letters_dir, pack.group, today)

        def compose(a: dict[str, Any]) -> Letter:
            try:
                return composer.compose(
                    dict(pack.cases[a["case_id"]]),
                    dict(pack.officials[a["official_id"]]),
                    person,
                    dict(a),
                    on=today,
                )
            except (TypeError, AttributeError, KeyError, ValueError) as error:
                raise _damaged(path, f"{type(error).__name__}: {error}") from None

        extras = extras.on(pack.group)
        count, pdf = compose_pdf(PrintLayout(pack.letters_dir, extras), jobs, compose)
        made = _made(pack.manifest)
    said = _deliver(pdf, target, printer, lp, f"importune: letters of {person['name']}")
    return Printed(
        path=target,
        letters=count,
        signer=person["name"],
        printer=printer,
        lp=said,
        extras=extras,
        return_address=bool(person["address"]),
        pack_made=made if made and (today - made).days > PACK_FRESH_DAYS else None,
    )


def _made(manifest: Mapping[str, Any]) -> dt.date | None:
    """The day the pack was made, from its manifest (None when it does not say)."""
    try:
        return dt.date.fromisoformat(str(manifest.get("made")))
    except ValueError:
        return None


def _slugs(rows: Mapping[int, Mapping[str, Any]]) -> str:
    return ", ".join(str(row["slug"]) for row in rows.values()) or "no cases"
