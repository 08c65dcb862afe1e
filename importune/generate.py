"""``generate-letters``: every addressed letter of the campaign, written whole or not at all.

One letter per active appeal × member (or one unsigned letter per appeal), in one
format, to ``OUT/<case-slug>/<official-slug>--<member-slug or unsigned>.<ext>``.

How a run stays safe and idempotent:

- Records are read with one query per table, templates compiled once, one
  renderer (one Typst compiler) per process serves every letter.
- A letter on record remembers the sha256 of everything it was made from
  (``source_sha``: its records, its template and the templates that one extends or
  includes, its date, the format and its layout, the group, importune's version).
  When that is unchanged and the file on disk is still the one written (its time is
  still the stamp of the run that wrote it, one stat; else its bytes are read and
  hashed against the sha256 on record), the letter is *unchanged* without being
  rendered. Otherwise it is rendered
  and its sha256 compared with the one on record: the same bytes, still on disk,
  are *unchanged* too (and its sources are remembered for next time). A letter
  keeps the date it was first written on while its words stay the same, so running
  again tomorrow rewrites nothing. A file deleted or edited by hand is written again.
- A letter already printed or sent is never overwritten in place: if its words
  would change it is *skipped* (and so are appeals past their ``until`` day and
  cases no longer held).
- New and changed letters are written to a temporary name beside their final
  one and their rows inserted inside one transaction. Only when every letter has
  rendered are the files renamed into place and the transaction committed. A
  refusal anywhere (a template error, a script no font covers, an e-mail with
  no address) deletes the temporary files and rolls back: no file, no row.
  A case folder that does not exist yet is made whole under a temporary name
  (``OUT/<case-slug>.importune-tmp/``, its letters under their own names) and
  renamed into place in one step: a first run renames one folder per case, not
  one file per letter.
- The work is cut into chunks of letters, in the plan's order; with ``jobs`` above
  one, worker processes render the chunks and stage their files while this process
  alone reads and writes the database, taking their results back in order, so the
  files and rows are the same, byte for byte, whatever the number of processes.
- Nothing holds every letter in memory: the plan is made one letter at a time,
  the letters on record are read one appeal at a time (one query, streamed), a
  bounded window of chunks is in flight, rows go to the database in batches (one
  statement per batch, the rows as one JSON parameter) and the list of renames is
  read back from the database at the end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, Any

from importune import receipts, records
from importune.errors import ImportuneError, InvalidInput, NotFound

if TYPE_CHECKING:
    from importune.store import Store

TEMP_SUFFIX = ".importune-tmp"
OLD_SUFFIX = ".importune-old"
"""A letter moved aside while its replacement is renamed into place (see _rename_all)."""
# O_NOFOLLOW: a symlink planted at a staged letter's name is refused, never written through.
_CREATE = (
    os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOFOLLOW", 0)
)
_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
BATCH = 500
"""Letter rows per INSERT statement (11 parameters each, well under SQLite's 32,766)."""
HELD = ("detained", "unknown")
"""Case statuses that still get letters of concern."""
PAGED = frozenset({"html", "pdf"})
"""Formats laid out on the group's paper."""
_KEPT = "already {}: never overwritten in place"
_CHANGED = "already {}: its words have changed since, and it is never overwritten in place"
_TAKEN = "{} was already {}"
"""Why a letter printed or sent is skipped (its ``reason``), filled in with its status
(_TAKEN: its file and status, when the file is another letter's, in the language the
appeal had before). :func:`printed_before` reads them back."""
_PAUSED = "the appeal is paused"
_ENDED = "the appeal ended on "
_CASE = "the case is "
_NO_EMAIL = "the official has no e-mail address (importune official edit OFFICIAL --email ADDRESS)"
"""Why an appeal's letters are skipped (:func:`_skip`); :func:`skip_kind` reads them back."""


def skip_kind(reason: str) -> str:
    """A skipped letter's reason in a few words, one phrase for each kind of reason (an
    ended appeal's day and a taken file's path left out), for the run's summary:
    "20000 skipped: 15000 case released, 5000 already sent"."""
    if reason == _PAUSED:
        return "appeal paused"
    if reason == _NO_EMAIL:
        return "official without e-mail"
    if reason.startswith(_ENDED):
        return "appeal ended"
    if reason.startswith(_CASE):
        status, _, waiting = reason[len(_CASE) :].partition(":")
        return f"case still {status}" if waiting else f"case {status}"
    for status in ("printed", "sent"):
        if reason == _KEPT.format(status):
            return f"already {status}"
        if reason == _CHANGED.format(status):
            return f"already {status}, words changed since"
        if reason.endswith(_TAKEN.format("", status)):
            return f"file of a letter already {status}"
    return reason


CONCERN = "concern"
THANKS = "thanks"
"""The thank-you letter: made only for a case whose prisoner has been released."""


@dataclass
class Options:
    """What to generate: filters by id or slug, the template, the format, where to."""

    out: Path
    letters_dir: Path
    fmt: str = "txt"
    cases: Sequence[str] = ()
    officials: Sequence[str] = ()
    members: Sequence[str] = ()
    unsigned: bool = False
    template: str | None = None
    force: bool = False
    dry_run: bool = False
    collect: bool = True  # keep every letter's entry, for --json
    jobs: int | None = None  # processes that render; None: every core for a big run
    receipt: bool = True  # leave a receipt for a run again (see importune.receipts)
    today: dt.date = field(default_factory=dt.date.today)


@dataclass
class Outcome:
    """What a run did, letter by letter (``letters``) and in counts."""

    generated: int = 0
    unchanged: int = 0
    skipped: int = 0
    letters: list[dict[str, Any]] = field(default_factory=list)
    skipped_why: Counter[str] = field(default_factory=Counter)
    """The letters skipped, counted by kind of reason (:func:`skip_kind`)."""
    in_english: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """The letters written (or, in a dry run, to be) in English because their template
    has no version in the language asked: counted by (template, language asked, the
    template file used). ``check`` warns of the appeals; the run says how many letters."""

    def as_json(self) -> dict[str, Any]:
        return {
            "generated": self.generated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "letters": self.letters,
        }


@dataclass(frozen=True)
class Job:
    """One letter to make: an appeal, its case and official, a member (or None)."""

    case: dict[str, Any]
    official: dict[str, Any]
    member: dict[str, Any] | None
    appeal: dict[str, Any]
    template: str
    skip: str | None = None  # why it will not be made, when it will not


def _ids(store: Store, kind: str, refs: Sequence[str]) -> set[int] | None:
    return {store.get(kind, ref)["id"] for ref in refs} if refs else None


@dataclass
class Plan:
    """The letters a run would make, in a stable order (case, official, member).

    It holds the appeals and the members, not the letters: iterating makes each
    :class:`Job` as it is needed, so a campaign of any size plans in the same memory.
    """

    appeals: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any], str, str | None]]
    members: list[dict[str, Any] | None]

    def __len__(self) -> int:
        return len(self.appeals) * len(self.members)

    def __iter__(self) -> Iterator[Job]:
        for case, official, appeal, template, skip in self.appeals:
            for member in self.members:
                yield Job(case, official, member, appeal, template, skip)


def plan(store: Store, options: Options) -> Plan:
    """The letters a run would make, in a stable order (case, official, member).

    One query per table; filters are resolved first so that a mistyped slug is
    refused before anything else happens.
    """
    from importune.records import check_template_name

    template = check_template_name(options.template) if options.template else None
    case_ids = _ids(store, "cases", options.cases)
    official_ids = _ids(store, "officials", options.officials)
    member_ids = _ids(store, "members", options.members)
    if options.unsigned and options.members:
        raise ImportuneError("--unsigned and --member exclude each other")
    cases = {row["id"]: row for row in store.list("cases")}
    officials = {row["id"]: row for row in store.list("officials")}
    current: list[dict[str, Any] | None] = []
    for row in store.list("members"):
        if member_ids is not None and row["id"] not in member_ids:
            continue
        if row["left_on"]:
            if member_ids is not None:
                raise InvalidInput(member_left(row))
            continue
        current.append(row)
    current.sort(key=_member_slug)
    # Unsigned when the group has no members (or none left in it).
    members = [None] if options.unsigned or not current else current
    today = options.today.isoformat()
    # A group writes by e-mail to the officials it has an address for, by post to the
    # others: an e-mail run skips those without one. One named with --official is refused
    # instead, when its e-mail is made (formats.eml.check).
    emails_only = options.fmt == "eml" and official_ids is None
    appeals = []
    for appeal in store.query("SELECT * FROM appeals ORDER BY case_id, official_id"):
        if case_ids is not None and appeal["case_id"] not in case_ids:
            continue
        if official_ids is not None and appeal["official_id"] not in official_ids:
            continue
        case, official = cases[appeal["case_id"]], officials[appeal["official_id"]]
        name = template or appeal["template"]
        skip = _skip(case, appeal, name, template, today)
        if skip is None and emails_only and not (official["email"] or "").strip():
            skip = _NO_EMAIL
        appeals.append((case, official, appeal, name, skip))
    appeals.sort(key=lambda a: (a[0]["slug"], a[1]["slug"]))
    check_slugs("case", {id(a[0]): a[0] for a in appeals}.values())
    check_slugs("official", {id(a[1]): a[1] for a in appeals}.values())
    check_slugs("member", [m for m in members if m is not None])
    return Plan(appeals, members)


def printed_before(entry: Mapping[str, Any]) -> str | None:
    """For a letter a run skipped because it was printed before (an entry of
    :attr:`Outcome.letters`): ``"same"`` when its words are those printed (its file gone
    or edited by hand), ``"changed"`` when they would read otherwise now (its records
    edited, or the appeal now in another language, whose letter would take its file);
    None for any other letter."""
    reason = entry.get("reason")
    if reason == _KEPT.format("printed"):
        return "same"
    if reason in (_CHANGED.format("printed"), _TAKEN.format(entry["path"], "printed")):
        return "changed"
    return None


def check_slugs(kind: str, records: Iterable[dict[str, Any]]) -> None:
    """Each record's slug is checked again before it names a path, once per record.

    Input is checked when added through importune, but a slug edited in Datasette is
    not, and ``../../x`` would put a letter outside the output folder.
    """
    from importune.records import SLUG_RE  # not loaded by a run again answered at once

    for record in records:
        if not SLUG_RE.match(record["slug"]):
            raise InvalidInput(
                f"{kind} slug {record['slug']!r} is not a slug (changed outside importune?); "
                f"give it a plain one: importune {kind} edit {record['id']} --slug NEW"
            )


def _skip(
    case: dict[str, Any], appeal: dict[str, Any], name: str, asked: str | None, today: str
) -> str | None:
    """Why an appeal's letters will not be made this time, or None when they will.

    A letter of concern is for a prisoner still held; a thank-you letter only for
    one released (never "thank you for the release" to someone still in prison).
    Another template asked for by name with ``--template`` is made whatever the
    case's status: the organizer chose it.
    """
    if not appeal["active"]:
        return _PAUSED
    if appeal["until"] and appeal["until"] < today:
        return f"{_ENDED}{appeal['until']}"
    if name == THANKS:
        if case["status"] != "released":
            return f"{_CASE}{case['status']}: a thank-you letter waits for the release"
        return None
    if case["status"] not in HELD and (asked is None or name == CONCERN):
        return f"{_CASE}{case['status']}"
    return None


def member_left(member: Mapping[str, Any]) -> str:
    """Why nothing is written or printed in the name of a member who left the group."""
    slug = member["slug"]
    return (
        f"member {slug!r} left the group on {member['left_on']}: no letter is written in "
        f"their name (if they are back: importune member edit {slug} --back)"
    )


def _member_slug(member: dict[str, Any] | None) -> str:
    return member["slug"] if member else "unsigned"


def relative_path(job: Job, extension: str) -> str:
    """``<case-slug>/<official-slug>--<member-slug or unsigned><ext>`` (see :func:`file_name`)."""
    return f"{job.case['slug']}/{file_name(job.official, job.member, job.template, extension)}"


def file_name(
    official: Mapping[str, Any], member: Mapping[str, Any] | None, template: str, extension: str
) -> str:
    """``<official-slug>--<member-slug or unsigned><ext>``, with the template's name before
    the extension when it is not the letter of concern (``.thanks.txt``), so a thank-you
    letter never takes a letter of concern's place. Slugs and template names are checked
    ASCII words, so the path cannot climb out of the output folder."""
    kind = "" if template == CONCERN else f".{template}"
    return f"{official['slug']}--{_member_slug(member)}{kind}{extension}"


def _stored_prefix(out: Path, base: Path) -> str:
    """What the letters table puts before a letter's relative path: the output folder
    relative to the workspace when it is inside it (``out/``), else its absolute path.
    Resolved once per run, not once per letter."""
    folder = out.resolve()
    try:
        text = folder.relative_to(base.resolve()).as_posix()
    except ValueError:
        text = folder.as_posix()
    return "" if text == "." else text.rstrip("/") + "/"


def generate(
    store: Store,
    options: Options,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> Outcome:
    """Make the letters ``options`` asks for; see the module's docstring for the guarantees."""
    jobs = plan(store, options)
    if on_total:
        on_total(len(jobs))
    outer = store.conn.in_transaction  # a caller's transaction, with writes of its own
    receipt = options.receipt and not options.dry_run
    if receipt:
        # What the letters are made from outside the database, as the run starts: a file
        # changed while it runs makes its receipt unlike the next run's.
        asked, inputs = receipts.key(options), receipts.inputs(options.letters_dir, options.fmt)
    outcome = Outcome()
    run: _Run | None = None
    results: Generator[_Done, None, None] | None = None
    try:
        with contextlib.ExitStack() as after_commit, store.atomic():
            if not options.dry_run:
                # The write lock before anything else: a second run waits here (or says
                # the workspace is busy) and never sweeps away the files this one stages.
                store.conn.execute(LOCK)
            run = _Run(store, options, jobs, shared=outer)
            results = run.results()
            if not options.dry_run:
                _sweep(options.out)
            run.make_folders()
            for done in results:
                outcome.generated += done.generated
                outcome.unchanged += done.unchanged
                outcome.skipped += done.skipped
                outcome.skipped_why.update(done.skipped_why)
                outcome.in_english.update(done.in_english)
                if options.collect:
                    outcome.letters.extend(done.entries)
                run.take(done)
                if progress:
                    progress(done.generated + done.unchanged + done.skipped)
            run.flush()
            if not options.dry_run:
                # Ctrl-C from here waits until the files are in place and the rows
                # committed: all of the run is kept, never half of it.
                after_commit.enter_context(_interrupts_deferred())
                _rename_all(store, options, run.stamp, run.base, run.fresh_ids())
            if receipt:
                # Last, after every row: the triggers void receipts on each letter written.
                receipts.write(
                    store.conn, asked, inputs,
                    unchanged=outcome.generated + outcome.unchanged, skipped=outcome.skipped_why,
                    made_at=run.stamp,
                )  # fmt: skip
    except BaseException:
        if results is not None:
            results.close()  # the workers stop before their files are swept away
        if run is not None:
            run.discard()
        raise
    finally:
        if results is not None:
            results.close()
        if run is not None:
            run.close()
    assert run is not None
    run.tidy()
    if not options.dry_run and options.collect:
        _fill_ids(store, outcome, options.fmt)
    return outcome


def rerun(db: Path, options: Options) -> Outcome | None:
    """The outcome of a run again that changes nothing, known from the last run's receipt
    without rendering a letter; None when the run must be decided the long way.

    With a receipt for the same question and inputs (see :mod:`importune.receipts`),
    nothing a letter is made from changed since that run; then no run may have left
    files to sweep, and every letter file under the output folder must still be the one
    written (one stat each, as :meth:`_Maker.untouched`). It reads the database with
    plain sqlite3 and writes nothing: a run again costs the time to read the letters'
    paths and stat their files, not the time to load Jinja2 and sqlite-utils.
    """
    if options.force or options.dry_run or options.collect:
        return None
    db = Path(db)
    try:
        # mode=rw: never creates a missing file (the long way says what is wrong).
        conn = sqlite3.connect(f"{db.absolute().as_uri()}?mode=rw", uri=True)
    except sqlite3.Error:
        return None
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.execute("BEGIN")  # one snapshot: the receipt and the letters it vouches for
        receipt = receipts.read(conn, receipts.key(options))
        if receipt is None or receipt[0] != receipts.inputs(options.letters_dir, options.fmt):
            return None
        # The letters under the output folder, as the long way names it from the same.
        prefix = _stored_prefix(options.out, db.parent)
        rows = conn.execute(
            "SELECT path, generated_at FROM letters WHERE format = ? AND substr(path, 1, ?) = ?",
            (options.fmt, len(prefix), prefix),
        ).fetchall()
    except sqlite3.Error:  # no receipts table yet (an older schema), a busy or damaged file
        return None
    finally:
        conn.close()
    # Every letter the receipt counts unchanged has its row under the output folder: fewer
    # means the paths are not the ones this run would check.
    if len(rows) < receipt[1] or not _as_left(options.out, prefix, rows):
        return None
    why = receipt[2]
    return Outcome(unchanged=receipt[1], skipped=sum(why.values()), skipped_why=Counter(why))


def _as_left(out: Path, prefix: str, rows: list[tuple[str, str]]) -> bool:
    """Whether the output folder is as the last run left it: no killed run left anything
    for the sweep (:func:`_leftovers`), and every letter under it (``rows``: its path on
    record, starting with ``prefix``, and its ``generated_at``) is there with its stamp
    (:func:`_stamped`). Checking a file is a system call and most of a run again's own
    time: many are checked, most of them by a forked copy of this process on the other core."""
    if not in_two(len(rows), STAT_IN_TWO_FROM):
        return _swept(out) and _all_stamped((f"{out}/", prefix, rows))
    from importune.forked import forked  # and pickle: only for a run again this big

    # This process also lists the folders (about a fifth of the time statting every
    # file takes): it checks two files in five, the copy three.
    split = len(rows) * 2 // 5
    mine, theirs = (f"{out}/", prefix, rows[:split]), (f"{out}/", prefix, rows[split:])
    try:
        with forked(_all_stamped, theirs, lost="a file check stopped") as other:
            return _swept(out) and _all_stamped(mine) and other()
    except ImportuneError:  # the copy died: the long way decides
        return False


def _swept(out: Path) -> bool:
    """Whether nothing is left in ``out`` for the sweep (the long way sweeps it first)."""
    try:
        return next(_leftovers(out), None) is None
    except OSError:  # out/ cannot be read: the long way says so
        return False


def _all_stamped(files: tuple[str, str, list[tuple[str, str]]]) -> bool:
    """:func:`_stamped` for each letter under the output folder (the part a forked copy
    can do alone): ``files`` is the folder (``out/``), the prefix of the paths on record
    that it stands for, and the letters' rows under it (path on record, ``generated_at``)."""
    out, prefix, rows = files
    cut = len(prefix)
    return all(_stamped(out + path[cut:], _stamp_ns(stamp)) for path, stamp in rows)


STAT_IN_TWO_FROM = 4000
"""Letter files from which a run again checks them in two processes (a fork costs a few
milliseconds, about what checking 1,000 files does)."""


LOCK = "DELETE FROM letters WHERE 0"
"""A write that changes nothing: it takes the database's write lock for the run."""


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Ctrl-C (SIGINT) inside the block is held back and raised when the block is done."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread can set a handler
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
    if caught:
        raise KeyboardInterrupt


def cores() -> int:
    """The cores this process may run on (what ``--jobs`` defaults to)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def in_two(count: int, from_: int) -> bool:
    """Whether a job of ``count`` items is split with a forked copy of this process
    (:mod:`importune.forked`): from ``from_`` items on, with a second core to run on and
    ``os.fork`` to make the copy."""
    return count >= from_ and cores() >= 2 and hasattr(os, "fork")


def _workers(options: Options, letters: int) -> int:
    """How many processes render: ``--jobs`` when given, else every core for a run big
    enough to repay starting them (a handful of letters renders faster than a process
    starts). Never more than there are chunks of work."""
    if options.jobs is not None and options.jobs < 0:
        raise ImportuneError(f"--jobs {options.jobs}: give a number of processes, 1 or more")
    big = letters >= PARALLEL_FROM.get(options.fmt, 2000)
    wanted = options.jobs or (cores() if big else 1)
    return max(1, min(wanted, -(-letters // _chunk_size(options.fmt)) if letters else 1))


def _chunk_size(fmt: str) -> int:
    return CHUNK.get(fmt, 200)


PARALLEL_FROM = {"pdf": 48}
"""Letters from which a run uses every core by default (2,000 for the other formats)."""
CHUNK = {"pdf": 16}
"""Letters handed to a worker at a time (200 for the other formats)."""


@dataclass
class _Setup:
    """What a process needs to make letters: handed to each worker when it starts."""

    options: Options
    plan: Plan
    prefix: str
    stamp: str
    group: dict[str, Any]
    run_key: str
    paper: str = "a4"
    """The paper PDF and HTML letters are laid out on (the group's, checked)."""
    fresh: frozenset[str] = frozenset()
    """Case folders made whole under a temporary name (see :meth:`_Run.make_folders`)."""


@dataclass
class _Done:
    """One chunk's letters made: counts, entries (with ``collect``) and rows to write."""

    generated: int = 0
    unchanged: int = 0
    skipped: int = 0
    entries: list[dict[str, Any]] = field(default_factory=list)
    writes: list[tuple[Any, ...]] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)
    refreshed: list[tuple[int, str]] = field(default_factory=list)
    skipped_why: Counter[str] = field(default_factory=Counter)
    in_english: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """As :attr:`Outcome.in_english`, for this chunk."""

    def add(self, entry: dict[str, Any], collect: bool) -> None:
        state = entry["state"]
        setattr(self, state, getattr(self, state) + 1)
        if state == "skipped":
            self.skipped_why[skip_kind(entry["reason"])] += 1
        if collect:
            self.entries.append(entry)


Row = tuple[Any, ...]
"""A letter on record, as :class:`_OnRecord` reads it."""
Chunk = list[tuple[int, Sequence[int]]]
"""Work for one worker: (an appeal's index in the plan, the positions of its members)."""


class _Run:
    """The parent's side of a run: the plan cut into chunks, the letters on record handed
    out with them, the rows written back in batches, the folders it made."""

    def __init__(self, store: Store, options: Options, jobs: Plan, shared: bool) -> None:
        self.store = store
        self.options = options
        self.plan = jobs
        self.base = store.path.parent
        self.out = str(options.out)
        self.stamp = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        group = store.group()
        self.setup = _Setup(
            options=options,
            plan=jobs,
            prefix=_stored_prefix(options.out, self.base),
            stamp=self.stamp,
            group=group,
            run_key=_run_key(options, group),
            paper=records.group_paper(group) if options.fmt in PAGED else "a4",
        )
        self.workers = _workers(options, len(jobs))
        self.writes: list[tuple[Any, ...]] = []
        self.superseded: list[int] = []
        self.refreshed: list[tuple[int, str]] = []
        self.created: list[str] = []  # folders this run made (out/ among them), to take back
        self._record = _OnRecord(store, options.fmt, shared)
        self._thaw: Callable[[], None] = lambda: None  # gives the workers' shared objects back

    def close(self) -> None:
        self._record.close()

    def chunks(self) -> Iterator[tuple[Chunk, list[list[Row]]]]:
        """The plan in chunks of about :data:`CHUNK` letters, in the plan's order, each with
        the letters on record for its appeals (read as the run reaches them)."""
        size = _chunk_size(self.options.fmt)
        members = len(self.plan.members)
        chunk: Chunk = []
        rows: list[list[Row]] = []
        count = 0
        for index, (case, official, *_rest) in enumerate(self.plan.appeals):
            on_record = self._record.take(
                case["id"], official["id"], (case["slug"], official["slug"])
            )
            for low in range(0, members, size):
                high = min(low + size, members)
                chunk.append((index, range(low, high)))
                rows.append(on_record)
                count += high - low
                if count >= size:
                    yield chunk, rows
                    chunk, rows, count = [], [], 0
        if chunk:
            yield chunk, rows

    def results(self) -> Generator[_Done, None, None]:
        """Each chunk made, in the plan's order: here, or by a pool of worker processes."""
        if self.workers == 1:
            maker = _Maker(self.setup)
            for chunk, rows in self.chunks():
                yield maker.make(chunk, rows)
            return
        # This process finds the letters that are unchanged (their sources and files say
        # so: no rendering) and hands only the others to the workers, started when the
        # first such letter comes: a run with nothing changed starts no process at all.
        checker: _Maker | None = None  # made for the first letter on record (not on a first run)
        collect = self.options.collect
        plan = self.plan
        pool = None
        # A window of chunks in flight, read back in order: memory stays flat however
        # far the workers get ahead of the database.
        window: deque[tuple[_Done, list[dict[str, Any] | None], Any]] = deque()
        try:
            for chunk, rows in self.chunks():
                done = _Done()
                slots: list[dict[str, Any] | None] = []
                pending: Chunk = []
                pending_rows: list[list[Row]] = []
                for (index, positions), on_record in zip(chunk, rows, strict=True):
                    case, official, appeal, template, skip = plan.appeals[index]
                    if not on_record and not skip:  # every letter of it is new: render all
                        pending.append((index, positions))
                        pending_rows.append(on_record)
                        if collect:
                            slots.extend([None] * len(positions))
                        continue
                    existing = _Existing(on_record)
                    checker = checker or _Maker(self.setup, render=False)
                    todo = []
                    for position in positions:
                        member = plan.members[position]
                        if not skip and checker.unchanged(index, member, existing, done):
                            if collect:
                                slots.append(done.entries.pop())
                            continue
                        job = Job(case, official, member, appeal, template, skip)
                        entry = checker.one(job, index, existing, done, render=False)
                        if entry is None:
                            todo.append(position)
                        else:
                            done.add(entry, collect=False)
                        if collect:
                            slots.append(entry)
                    if todo:
                        pending.append((index, todo))
                        pending_rows.append(on_record)
                future = None
                if pending:
                    pool = pool or self._pool()
                    future = pool.apply_async(_work, (pending, pending_rows))
                window.append((done, slots, future))
                while window and (window[0][2] is None or len(window) > 3 * self.workers):
                    yield _merge(*window.popleft())
            while window:
                yield _merge(*window.popleft())
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
                self._thaw()

    def _pool(self) -> Any:
        """The worker processes. Forked, they share this process's objects until they
        write to them: the objects move out of the garbage collector's sight first
        (:func:`importune.forked.freeze_heap`), given back by ``self._thaw`` once the
        workers are done."""
        import multiprocessing

        from importune.forked import freeze_heap

        method = _start_method(self.options.fmt)
        if method == "fork":
            import importune.compose  # noqa: F401  (loaded once, here, for every worker)
        context = multiprocessing.get_context(method)
        self._thaw = freeze_heap()
        try:
            return context.Pool(
                self.workers, initializer=_start_worker, initargs=(self.setup, os.getpid())
            )
        except BaseException:
            self._thaw()
            raise

    def make_folders(self) -> None:
        """Make out/ and the case folders letters will go to, before any worker writes.

        A case folder not there yet is made as ``<case-slug>.importune-tmp`` and its
        letters are staged in it under their own names: the folder is renamed into place
        whole (one rename for all its letters) when the run is done.
        """
        if self.options.dry_run:
            return
        folders = dict.fromkeys(case["slug"] for case, _o, _a, _t, skip in self.plan.appeals
                                if not skip)  # fmt: skip
        paths = [self.out, *(os.path.join(self.out, f) for f in folders)] if folders else []
        for path in paths:
            if path != self.out and os.path.islink(path):
                # A letter is never written through a link to somewhere else.
                raise ImportuneError(
                    f"{path} is a symbolic link; letters are written only into real "
                    "folders: remove the link and run again"
                )
            if os.path.lexists(path) and not os.path.isdir(path):
                raise ImportuneError(
                    f"{path} is a file, not a folder: move it away, or write the letters "
                    "elsewhere with --out"
                )
        if folders and not os.path.isdir(self.out):
            os.makedirs(self.out)
            self.created.append(self.out)
        fresh = []
        for folder in folders:
            directory = os.path.join(self.out, folder)
            if not os.path.isdir(directory):
                os.mkdir(directory + TEMP_SUFFIX)  # the sweep removed any killed run left
                fresh.append(folder)
        self.setup.fresh = frozenset(fresh)

    def fresh_ids(self) -> dict[str, int]:
        """The new case folders by slug, with their case's id."""
        ids = {case["slug"]: case["id"] for case, *_rest in self.plan.appeals}
        return {slug: ids[slug] for slug in self.setup.fresh}

    def take(self, done: _Done) -> None:
        self.writes += done.writes
        self.superseded += done.superseded
        self.refreshed += done.refreshed
        if len(self.writes) + len(self.refreshed) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the staged rows: one statement per kind, each row a JSON array item."""
        conn = self.store.conn
        if self.superseded:
            conn.execute(DELETE, [json.dumps(self.superseded)])
            self.superseded.clear()
        for start in range(0, len(self.writes), BATCH):
            batch = self.writes[start : start + BATCH]
            conn.execute(upsert(len(batch)), [value for row in batch for value in row])
        self.writes.clear()
        if self.refreshed:
            conn.execute(REFRESH, [json.dumps(self.refreshed)])
            self.refreshed.clear()

    def discard(self) -> None:
        """After a refusal: the staged files and the folders this run made are removed."""
        _sweep(self.options.out)
        for directory in reversed(self.created):
            with contextlib.suppress(OSError):  # not empty: something else lives there
                os.rmdir(directory)

    def tidy(self) -> None:
        """A folder made for letters that all turned out skipped is not left empty."""
        for directory in reversed(self.created):
            with contextlib.suppress(OSError):
                os.rmdir(directory)


def _start_method(fmt: str) -> str:
    """How worker processes start: forked (they share the plan and the modules already
    loaded, and start in milliseconds) unless this process runs threads of its own.

    Typst lays out a PDF with threads of its own (not Python's) that a forked child
    would not have; a process that has laid one out (``print`` after generating, a
    test suite) starts its PDF workers afresh instead (spawn: a new interpreter, half
    a second each). Before any PDF, ``generate-letters`` has none, and forks.
    """
    if fmt != "pdf":
        return "fork"
    import threading

    try:
        native = len(os.listdir("/proc/self/task")) - len(threading.enumerate())
    except OSError:  # not Linux: no way to know, so the safe way
        native = 1
    return "fork" if native <= 0 else "spawn"


def _merge(done: _Done, slots: list[dict[str, Any] | None], future: Any) -> _Done:
    """A chunk's letters checked here and those a worker made, back in the plan's order."""
    if future is None:
        done.entries = [entry for entry in slots if entry is not None]
        return done
    made: _Done = future.get()
    done.generated += made.generated
    done.unchanged += made.unchanged
    done.skipped += made.skipped
    done.skipped_why.update(made.skipped_why)
    done.in_english.update(made.in_english)
    done.writes, done.superseded, done.refreshed = made.writes, made.superseded, made.refreshed
    entries = iter(made.entries)
    done.entries = [entry if entry is not None else next(entries) for entry in slots]
    return done


class _Existing:
    """An appeal's letters on record, by key (member id or 0, template, language) and by
    path. Rows stay tuples of :attr:`_OnRecord.FIELDS` (a run again reads them by
    position); a letter that goes the long way gets its row as a dict."""

    __slots__ = ("_by_path", "by_key", "rows")

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows
        self.by_key = {(row[3], row[4], row[5]): row for row in rows}
        self._by_path: dict[str, Row] | None = None

    def __bool__(self) -> bool:
        return bool(self.rows)

    def row(self, key: tuple[Any, ...]) -> dict[str, Any] | None:
        found = self.by_key.get(key)
        return None if found is None else dict(zip(_OnRecord.FIELDS, found, strict=True))

    def at(self, path: str) -> dict[str, Any] | None:
        """The letter on record whose file is ``path``."""
        if self._by_path is None:
            self._by_path = {row[6]: row for row in self.rows}
        found = self._by_path.get(path)
        return None if found is None else dict(zip(_OnRecord.FIELDS, found, strict=True))


_MAKER: _Maker | BaseException | None = None
"""A worker process's maker, or why it could not be made (raised with its first chunk)."""


def _start_worker(setup: _Setup, parent: int) -> None:
    """A worker starts: Ctrl-C is the parent's to handle; it dies with its parent; the
    maker is built once."""
    global _MAKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)
    try:
        _MAKER = _Maker(setup)
    except BaseException as error:  # a pool would restart a worker whose start raised, forever
        _MAKER = error


def _die_with(parent: int) -> None:
    """Have Linux kill this worker when the run's process dies, even by SIGKILL: a worker
    left behind would go on staging letters beside the next run's."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the pool's own end stops its workers
        return
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def _work(chunk: Chunk, rows: list[list[Row]]) -> _Done:
    if isinstance(_MAKER, BaseException):
        raise _MAKER
    assert _MAKER is not None
    return _MAKER.make(chunk, rows)


class _Maker:
    """Renders letters and stages their files: in the run's own process or in a worker."""

    def __init__(self, setup: _Setup, render: bool = True) -> None:
        from importune.compose import Composer
        from importune.formats import EXTENSIONS, Renderer

        self.setup = setup
        options = self.options = setup.options
        self.composer = Composer(options.letters_dir, setup.group, options.today)
        # The renderer (for PDF, a Typst compiler) only where letters are rendered.
        self.renderer = Renderer(options.letters_dir, options.fmt, setup.paper) if render else None
        self.extension = EXTENSIONS[options.fmt]
        self.out = str(options.out)
        self.fresh = setup.fresh
        self._members: dict[int, str] = {}
        self._records: dict[int, tuple[dict[str, Any], bytes]] = {}
        self._known: _Known | None = None
        self._buffer = bytearray(1 << 16)
        self.stamp_ns = _stamp_ns(setup.stamp) or 0

    def make(self, chunk: Chunk, rows: list[list[Row]]) -> _Done:
        done = _Done()
        plan = self.setup.plan
        collect = self.options.collect
        for (index, positions), on_record in zip(chunk, rows, strict=True):
            case, official, appeal, template, skip = plan.appeals[index]
            existing = _Existing(on_record)
            if not existing and not skip:  # nothing on record: every letter is new
                for position in positions:
                    self.new(index, plan.members[position], done)
                continue
            for position in positions:
                member = plan.members[position]
                if existing and not skip and self.unchanged(index, member, existing, done):
                    continue
                job = Job(case, official, member, appeal, template, skip)
                entry = self.one(job, index, existing, done)
                assert entry is not None
                done.add(entry, collect)
        return done

    def known(self, index: int) -> _Known:
        """What every letter of the plan's appeal ``index`` shares (kept for the last one)."""
        known = self._known
        if known is None or known.index != index:
            case, official, appeal, template, _skip = self.setup.plan.appeals[index]
            asked = self.composer.letter_language(appeal, official)
            template_file, language = self.composer.resolve(template, asked, case["slug"])
            rest = (template, template_file, language, self.composer.source_digest(template_file))
            sources = _canonical_list(
                self._canonical(case), self._canonical(official), _canonical(appeal),
                _canonical_items(rest),
            )  # fmt: skip
            appeal_sha = hashlib.sha256(sources).hexdigest()
            known = self._known = _Known(
                index=index,
                case=case,
                official=official,
                case_slug=case["slug"],
                official_slug=official["slug"],
                stored=f"{self.setup.prefix}{case['slug']}/",
                template=template,
                template_file=template_file,
                language=language,
                in_english=(template, asked, template_file) if language != asked else None,
                source=f"{self.setup.run_key}{appeal_sha}",
                appeal={**appeal, "template": template},
            )
        return known

    def _canonical(self, record: dict[str, Any]) -> bytes:
        """:func:`_canonical` of a case or an official, once per run: each is part of the
        digest of every one of its appeals."""
        known = self._records.get(id(record))
        if known is None:  # the record is kept with its bytes: its id stays its own
            known = self._records[id(record)] = (record, _canonical(record))
        return known[1]

    def member_digest(self, member: dict[str, Any] | None) -> str:
        """The sha256 of a member's record (once per member and process)."""
        member_id = member["id"] if member else 0
        digest = self._members.get(member_id)
        if digest is None:
            digest = self._members[member_id] = hashlib.sha256(_canonical(member)).hexdigest()
        return digest

    def new(self, index: int, member: dict[str, Any] | None, done: _Done) -> None:
        """A letter with nothing on record for its appeal: rendered, staged and its row
        kept, by the shortest way (what :meth:`one` does for such a letter, in the same
        order, less the decisions that only letters on record need)."""
        known = self.known(index)
        options = self.options
        name = file_name(known.official, member, known.template, self.extension)
        today = options.today
        letter = self.composer.compose(
            known.case, known.official, member, known.appeal, on=today
        )
        assert self.renderer is not None
        self.renderer.check(letter)
        content = self.renderer.render(letter)
        done.generated += 1
        if known.in_english:
            done.in_english[known.in_english] += 1
        if options.collect:
            done.entries.append({
                "id": None, "case": known.case_slug, "official": known.official_slug,
                "member": member["slug"] if member else None, "format": options.fmt,
                "path": known.stored + name, "template": known.template,
                "language": known.language, "state": "generated",
            })  # fmt: skip
        if options.dry_run:
            return
        self._stage(known.case_slug, name, content)
        done.writes.append(
            (known.case["id"], known.official["id"], member["id"] if member else None,
             known.template, known.language, options.fmt, known.stored + name,
             hashlib.sha256(content).hexdigest(), today.isoformat(), self.setup.stamp,
             self.source(index, member, today))
        )  # fmt: skip

    def unchanged(
        self,
        index: int,
        member: dict[str, Any] | None,
        existing: _Existing,
        done: _Done,
    ) -> bool:
        """The common case of a run again, found in a few microseconds a letter: the letter
        is on record where it belongs, nothing it is made from changed and its file is the
        one written (one stat). Counted unchanged then; False sends it the long way
        (:meth:`one`), which decides every other case."""
        if self.options.force:
            return False
        known = self.known(index)
        row = existing.by_key.get((member["id"] if member else 0, known.template, known.language))
        if row is None:
            return False
        name = file_name(known.official, member, known.template, self.extension)
        if row[6] != known.stored + name:  # path
            return False
        if row[10] != self.source(index, member, row[9]):  # source_sha, from the date on record
            return False
        if not self.untouched(known.case_slug, name, row[11]):  # generated_at
            return False
        done.unchanged += 1
        if self.options.collect:
            done.entries.append({
                "id": row[0], "case": known.case_slug, "official": known.official_slug,
                "member": member["slug"] if member else None, "format": self.options.fmt,
                "path": row[6], "template": known.template, "language": known.language,
                "state": "unchanged",
            })  # fmt: skip
        return True

    def render(self, job: Job, appeal: dict[str, Any], on: dt.date) -> tuple[bytes, str]:
        letter = self.composer.compose(job.case, job.official, job.member, appeal, on=on)
        assert self.renderer is not None
        self.renderer.check(letter)
        content = self.renderer.render(letter)
        return content, hashlib.sha256(content).hexdigest()

    def source(self, index: int, member: dict[str, Any] | None, on: dt.date | str) -> str:
        """The sha256 of everything a letter is rendered from (see :func:`_run_key`): the
        run's key, the appeal's records and template, the member, the date."""
        day = on if isinstance(on, str) else on.isoformat()
        text = f"{self.known(index).source}{self.member_digest(member)}{day}"
        return hashlib.sha256(text.encode()).hexdigest()

    def untouched(self, folder: str, name: str, stamp: str | None) -> bool:
        """Whether the file is still the one the run that recorded it wrote: a run sets
        each letter's modification time to its own stamp (``generated_at``, to the
        microsecond), and anything that writes the file after (an editor, a script)
        moves it. One stat, no read."""
        return _stamped(f"{self.out}/{folder}/{name}", _stamp_ns(stamp))

    def restamped(self, folder: str, name: str, row: Mapping[str, Any]) -> bool:
        """Whether the file holds the bytes on record under another time (copied without
        its times, restored from a backup, synced); if so it gets its run's stamp back
        (not in a dry run), so the next run knows it with one stat again, or from the
        run's receipt (see :func:`rerun`)."""
        if not self.holds(folder, name, row["sha256"]):
            return False
        stamp_ns = _stamp_ns(row["generated_at"])
        if stamp_ns is not None and not self.options.dry_run:
            with contextlib.suppress(OSError):
                os.utime(
                    f"{self.out}/{folder}/{name}", ns=(time.time_ns(), stamp_ns),
                    follow_symlinks=False,
                )  # fmt: skip
        return True

    def holds(self, folder: str, name: str, digest: str) -> bool:
        """Whether the file on disk is there and has exactly the bytes on record (read and
        hashed: a hand edit is found and undone)."""
        try:
            fd = os.open(f"{self.out}/{folder}/{name}", _READ)
        except OSError:
            return False
        try:
            sha = hashlib.sha256()
            size = len(self._buffer)
            while True:
                count = os.readv(fd, [self._buffer])
                sha.update(memoryview(self._buffer)[:count])
                if count < size:  # a regular file gives less than asked only at its end
                    break
        except OSError:
            return False
        finally:
            os.close(fd)
        return sha.hexdigest() == digest

    def one(
        self,
        job: Job,
        index: int,
        existing: _Existing,
        done: _Done,
        render: bool = True,
    ) -> dict[str, Any] | None:
        """Decide whether one letter changed (from its sources, else by rendering it) and
        stage its file and row when it did. With ``render`` false, None for a letter that
        only rendering can decide."""
        options = self.options
        relative = relative_path(job, self.extension)
        stored = self.setup.prefix + relative
        entry: dict[str, Any] = {
            "id": None,
            "case": job.case["slug"],
            "official": job.official["slug"],
            "member": job.member["slug"] if job.member else None,
            "format": options.fmt,
            "path": stored,
            "template": job.template,
            "language": None,
            "state": "skipped",
        }
        if job.skip:
            entry["reason"] = job.skip
            return entry
        known = self.known(index)
        language = known.language
        entry["language"] = language
        row = existing.row((job.member["id"] if job.member else 0, job.template, language))
        if row is not None:
            entry["id"] = row["id"]
        elif not render:
            return None  # a new letter: only rendering makes it
        dated = dt.date.fromisoformat(row["dated"]) if row else options.today
        source = self.source(index, job.member, dated)
        folder, name = relative.split("/", 1)
        placed = row is not None and row["path"] == stored
        if placed and row["source_sha"] == source and not options.force:
            # Nothing it is made from changed: the file on disk decides, not a render.
            stamp = row["generated_at"]
            if self.untouched(folder, name, stamp) or self.restamped(folder, name, row):
                entry["state"] = "unchanged"
                return entry
            on_disk: bool | None = False
        else:
            on_disk = None
        if not render:
            return None
        appeal = known.appeal
        content, digest = self.render(job, appeal, dated)
        same = placed and row["sha256"] == digest
        if same and not options.force:
            if on_disk is None:
                on_disk = self.holds(folder, name, digest)
            if on_disk:
                entry["state"] = "unchanged"
                if row["source_sha"] != source:
                    done.refreshed.append((row["id"], source))
                return entry
        if row is not None and row["status"] in ("printed", "sent"):
            # Its words, not its place: a letter written to another --out reads the same.
            words = _KEPT if row["sha256"] == digest else _CHANGED
            entry["reason"] = words.format(row["status"])
            return entry
        if not same and dated != options.today:
            # The words changed: the letter is written anew, and dated today.
            dated = options.today
            source = self.source(index, job.member, dated)
            content, digest = self.render(job, appeal, dated)
        holder = existing.at(stored)  # another letter with this file, if any
        if holder is not None and row is not None and holder["id"] == row["id"]:
            holder = None
        if holder is not None and holder["status"] in ("printed", "sent"):
            # Another letter has this file (the same one, in the language the appeal
            # had before) and it has gone to print: it is not replaced.
            entry["reason"] = _TAKEN.format(stored, holder["status"])
            return entry
        entry["state"] = "generated"
        if known.in_english:
            done.in_english[known.in_english] += 1
        if options.dry_run:
            return entry
        if holder is not None:
            done.superseded.append(holder["id"])
        self._stage(folder, name, content)
        done.writes.append(
            (job.case["id"], job.official["id"], job.member["id"] if job.member else None,
             job.template, language, options.fmt, stored, digest, dated.isoformat(),
             self.setup.stamp, source)
        )  # fmt: skip
        return entry

    def _stage(self, folder: str, name: str, content: bytes) -> None:
        """Write the letter whole under its temporary name, beside its final one (the run
        made the folder before any letter)."""
        # os.open, not open(): a letter is one write, and the buffered file object's
        # isatty, seek and stat calls cost more than the write itself.
        if folder in self.fresh:  # a new case folder, renamed into place whole
            path = f"{self.out}/{folder}{TEMP_SUFFIX}/{name}"
        else:
            path = f"{self.out}/{folder}/{name}{TEMP_SUFFIX}"
        try:
            fd = os.open(path, _CREATE, 0o666)
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view) :]
                # Its time is the run's stamp (kept by the rename): see :meth:`untouched`.
                os.utime(fd, ns=(self.stamp_ns, self.stamp_ns))
            finally:
                os.close(fd)
        except OSError as error:
            # Named as the letter it was to be ("out/case/official--member.txt: No space
            # left on device"), not as its temporary name, nor as nothing (a write names
            # no file).
            raise OSError(error.errno, error.strerror, f"{self.out}/{folder}/{name}") from None


@dataclass(frozen=True, slots=True)
class _Known:
    """What the letters of one appeal share, for :meth:`_Maker.unchanged`."""

    index: int
    case: dict[str, Any]
    official: dict[str, Any]
    case_slug: str  # the case's folder
    official_slug: str
    stored: str  # the letters table's path up to the file name
    template: str
    template_file: str  # the template's path in the letters folder
    language: str
    in_english: tuple[str, str, str] | None  # see Outcome.in_english; None when as asked
    source: str  # the run's key and the appeal's digest, as source_sha begins
    appeal: dict[str, Any]  # the appeal as its letters are composed (with the template)


def _stamped(path: str, stamp_ns: int | None) -> bool:
    """Whether ``path`` is a file whose time is ``stamp_ns`` (see :meth:`_Maker.untouched`)."""
    try:
        stat = os.stat(path)
    except OSError:
        return False
    return stat.st_mtime_ns == stamp_ns and S_ISREG(stat.st_mode)


@lru_cache(maxsize=64)
def _stamp_ns(stamp: str | None) -> int | None:
    """A run's stamp (``generated_at``, ISO 8601 UTC to the microsecond) in nanoseconds
    since the epoch, exactly, as file times count them."""
    if not stamp:
        return None
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - _EPOCH) // dt.timedelta(microseconds=1) * 1000


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _canonical(value: Any) -> bytes:
    """A record as bytes that change exactly when one of its values does."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()


def _canonical_list(*items: bytes) -> bytes:
    """:func:`_canonical` of a list, from its items' (JSON joins them with ", ")."""
    return b"[" + b", ".join(items) + b"]"


@lru_cache(maxsize=256)
def _canonical_items(items: tuple[str, ...]) -> bytes:
    """:func:`_canonical` of a list's items, without the brackets (for :func:`_canonical_list`):
    a template, its file, language and digest are the same for many appeals."""
    return _canonical(list(items))[1:-1]


def _run_key(options: Options, group: Mapping[str, Any]) -> str:
    """What every letter of a run is made from besides its own records and template: the
    format and its layout files, the group, importune's version and the libraries that
    write a letter's words, dates and addresses, as installed (a new version may write
    them differently; a reinstall of the same one has each letter decided by rendering it
    once, and found unchanged)."""
    from importune import __version__
    from importune.formats import source_digest

    key = [__version__, receipts.installed(options.fmt), options.fmt,
           source_digest(options.letters_dir, options.fmt), dict(group)]  # fmt: skip
    return hashlib.sha256(_canonical(key)).hexdigest()


_COLUMNS = ("case_id, official_id, member_id, template, language, format, path, sha256, dated, "
            "generated_at, source_sha")


@lru_cache(maxsize=4)
def upsert(rows: int) -> str:
    """A batch of letter rows in one statement: ``INSERT ... VALUES (...), (...)`` with
    11 parameters a row. (Faster than rows as JSON, which SQLite 3.40 parses again for
    every field, and one statement per batch, not per row as executemany sends.)"""
    values = ",".join(["(?,?,?,?,?,?,?,?,?,?,?,'generated')"] * rows)
    return f"""
    INSERT INTO letters ({_COLUMNS}, status) VALUES {values}
    ON CONFLICT (case_id, official_id, coalesce(member_id, 0), template, language, format)
    DO UPDATE SET path = excluded.path, sha256 = excluded.sha256, dated = excluded.dated,
                  generated_at = excluded.generated_at, source_sha = excluded.source_sha,
                  status = 'generated', withdrawn_at = NULL
"""


DELETE = "DELETE FROM letters WHERE id IN (SELECT value FROM json_each(?))"
REFRESH = (
    "UPDATE letters SET source_sha = j.value ->> 1 FROM json_each(?) AS j "
    "WHERE letters.id = j.value ->> 0"
)
"""Letters found unchanged by rendering them: their sources are remembered for next time."""


class _OnRecord:
    """The letters on record in one format as the run began, handed out one appeal at a time.

    One query, read as a stream through a second connection to the workspace: its
    snapshot (the database is in WAL mode) does not move while the run writes, and
    its rows come in the plan's order (case slug, official slug), so only one
    appeal's letters are in memory at a time, however many the campaign has.
    """

    SQL = (
        "SELECT c.slug, o.slug, l.id, l.case_id, l.official_id, coalesce(l.member_id, 0), "
        "l.template, l.language, l.path, l.sha256, l.status, l.dated, l.source_sha, "
        "l.generated_at "
        "FROM letters l JOIN cases c ON c.id = l.case_id "
        "JOIN officials o ON o.id = l.official_id WHERE l.format = ? ORDER BY c.slug, o.slug"
    )
    FIELDS = ("id", "case_id", "official_id", "member", "template", "language", "path",
              "sha256", "status", "dated", "source_sha", "generated_at")  # fmt: skip

    def __init__(self, store: Store, fmt: str, shared: bool) -> None:
        from importune.store import BUSY_TIMEOUT_MS

        self.conn: sqlite3.Connection | None = None
        self.cursor: sqlite3.Cursor | None = None
        if shared:
            # A caller's open transaction holds writes a second connection cannot see:
            # read through the caller's own connection, all at once.
            self.rows: Iterator[tuple[Any, ...]] = iter(
                store.conn.execute(self.SQL, [fmt]).fetchall()
            )
        else:
            self.conn = sqlite3.connect(str(store.path), timeout=BUSY_TIMEOUT_MS / 1000)
            self.rows = self.cursor = self.conn.execute(self.SQL, [fmt])
        self.head: tuple[Any, ...] | None = next(self.rows, None)

    def take(self, case_id: int, official_id: int, slugs: tuple[str, str]) -> list[Row]:
        """This appeal's letters on record, as tuples of :data:`FIELDS` (cheap to hand to
        a worker). Appeals must be asked for in the plan's order."""
        found: list[Row] = []
        while self.head is not None and self.head[:2] < slugs:
            self.head = next(self.rows, None)
        while self.head is not None and self.head[:2] == slugs:
            if self.head[3:5] == (case_id, official_id):
                found.append(self.head[2:])
            self.head = next(self.rows, None)
        return found

    def close(self) -> None:
        # The statement first: a connection closed with one unfinished stays open
        # (a zombie, holding the -wal file) until the statement is collected.
        if self.cursor is not None:
            self.cursor.close()
        if self.conn is not None:
            self.conn.close()


def _rename_all(
    store: Store, options: Options, stamp: str, base: Path, fresh: Mapping[str, int]
) -> None:
    """Move every staged letter into place, all of them or none.

    New case folders (``fresh``: slug to case id) go first, each in one rename. Then the
    letters staged beside their final names, which the rows name, so nothing is held
    in memory. A letter a file replaces is first moved aside (``.importune-old``); if
    any rename fails (a full disk, an I/O error), every folder and letter already
    placed is taken back and the old ones are put back, so the files agree with the
    rows the failed transaction leaves. Once all are in place the old letters are
    removed, before the commit: a run killed in between leaves ``.importune-old``
    files that the next run's sweep puts back.
    """
    sql = (
        "SELECT path FROM letters WHERE generated_at = ? AND format = ? "
        "AND case_id NOT IN (SELECT value FROM json_each(?))"
    )
    params = [stamp, options.fmt, json.dumps(sorted(fresh.values()))]
    root = str(base)
    out = str(options.out)

    def paths() -> Iterator[str]:
        for (path,) in store.conn.execute(sql, params):
            yield os.path.join(root, path)

    folders: list[str] = []
    placed = moved = 0
    try:
        for slug in sorted(fresh):
            final = os.path.join(out, slug)
            try:
                os.rmdir(final + TEMP_SUFFIX)  # every letter for it was skipped
            except OSError:
                os.rename(final + TEMP_SUFFIX, final)
                folders.append(final)
        for final in paths():
            try:
                os.replace(final, final + OLD_SUFFIX)
                moved += 1
            except FileNotFoundError:
                pass
            os.replace(final + TEMP_SUFFIX, final)
            placed += 1
    except BaseException:
        for number, final in enumerate(paths()):
            if number > placed:
                break
            _put_back(final)
        for final in reversed(folders):
            with contextlib.suppress(OSError):
                os.rename(final, final + TEMP_SUFFIX)  # the sweep removes it
        raise
    if moved:
        for final in paths():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(final + OLD_SUFFIX)


def _put_back(final: str) -> None:
    """The letter that was at ``final`` before a run that did not finish, or none."""
    try:
        os.replace(final + OLD_SUFFIX, final)
    except FileNotFoundError:
        # No letter was there before; remove a placed one (the staged copy, if the
        # rename never happened, is removed by the sweep).
        if not os.path.exists(final + TEMP_SUFFIX):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(final)


def _fill_ids(store: Store, outcome: Outcome, fmt: str) -> None:
    """Give newly made letters their row ids for the JSON report."""
    missing = [e for e in outcome.letters if e["id"] is None and e["state"] != "skipped"]
    if not missing:
        return
    ids = {
        (r["case"], r["official"], r["member"], r["template"], r["language"]): r["id"]
        for r in store.query(
            "SELECT l.id, c.slug AS [case], o.slug AS official, m.slug AS member, l.template, "
            "l.language FROM letters l "
            "JOIN cases c ON c.id = l.case_id JOIN officials o ON o.id = l.official_id "
            "LEFT JOIN members m ON m.id = l.member_id WHERE l.format = ?",
            [fmt],
        )
    }
    for entry in missing:
        key = (entry["case"], entry["official"], entry["member"], entry["template"],
               entry["language"])  # fmt: skip
        entry["id"] = ids.get(key)


def _sweep(out: Path) -> None:
    """Remove temporary files and folders a killed or refused run left behind (they
    were never recorded), and put back letters it had moved aside before its rows were
    committed."""
    if not out.is_dir():
        return
    for path in list(_leftovers(out)):
        with contextlib.suppress(FileNotFoundError):
            if path.endswith(OLD_SUFFIX):
                os.replace(path, path[: -len(OLD_SUFFIX)])
            elif os.path.isdir(path) and not os.path.islink(path):  # a staged case folder
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)


def _leftovers(out: Path) -> Iterator[str]:
    """What a killed or refused run left in ``out``: case folders staged whole
    (``out/<case>.importune-tmp``), letters staged in folders already there
    (``<name>.importune-tmp``) and letters moved aside (``<name>.importune-old``).
    Nothing when ``out`` is not there."""
    try:
        folders = [entry.path for entry in os.scandir(out) if entry.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return
    for folder in folders:
        if folder.endswith(TEMP_SUFFIX):
            yield folder
            continue
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            continue
        for name in names:
            if name.endswith((TEMP_SUFFIX, OLD_SUFFIX)):
                yield os.path.join(folder, name)


def iter_letters(
    store: Store,
    *,
    case: str | None = None,
    official: str | None = None,
    member: str | None = None,
    status: str | None = None,
) -> Iterator[dict[str, Any]]:
    """The letters on record, as ``letters list`` shows them."""
    where, params = [], []
    if case:
        where.append("l.case_id = ?")
        params.append(store.get("cases", case)["id"])
    if official:
        where.append("l.official_id = ?")
        params.append(store.get("officials", official)["id"])
    if member:
        where.append("l.member_id = ?")
        params.append(store.get("members", member)["id"])
    if status:
        statuses = ("generated", "printed", "sent", "withdrawn")
        if status not in statuses:
            raise NotFound(f"no letter status {status!r}: use {', '.join(statuses)}")
        where.append("l.status = ?")
        params.append(status)
    sql = (
        "SELECT l.id, c.slug AS [case], o.slug AS official, m.slug AS member, l.template, "
        "l.language, l.format, l.path, l.status, l.dated, l.generated_at, l.printed_at, "
        "l.sent_at FROM letters l JOIN cases c ON c.id = l.case_id "
        "JOIN officials o ON o.id = l.official_id LEFT JOIN members m ON m.id = l.member_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY c.slug, o.slug, m.slug, l.format"
    )
    yield from store.iter_query(sql, params)
