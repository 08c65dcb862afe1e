"""``generate-letters``: every addressed letter of the campaign, written whole or not at all.

One letter per active appeal × member (or one unsigned letter per appeal), in one
format, to ``OUT/<case-slug>/<official-slug>--<member-slug or unsigned>.<ext>``.

How a run stays safe and idempotent:

- Records are read with one query per table, templates compiled once, one
  renderer (one Typst compiler) serves every letter.
- Each letter is rendered and its sha256 compared with the one on record. A
  letter whose bytes are the same and whose file is there is *unchanged*: it is
  not written. A letter keeps the date it was first written on while its words
  stay the same, so running again tomorrow rewrites nothing.
- A letter already printed or sent is never overwritten in place: if its words
  would change it is *skipped* (and so are appeals past their ``until`` day and
  cases no longer held).
- New and changed letters are written to a temporary name beside their final
  one and their rows inserted inside one transaction. Only when every letter has
  rendered are the files renamed into place and the transaction committed. A
  refusal anywhere (a template error, a script no font covers, an e-mail with
  no address) deletes the temporary files and rolls back: no file, no row.
- Nothing holds every letter in memory: the plan is made one letter at a time,
  the letters on record are read one appeal at a time (one query, streamed),
  rows go to the database in batches and the list of renames is read back from
  the database at the end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importune.errors import ImportuneError, NotFound
from importune.store import Store

TEMP_SUFFIX = ".importune-tmp"
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
BATCH = 500
HELD = ("detained", "unknown")
"""Case statuses that still get letters of concern."""
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
    today: dt.date = field(default_factory=dt.date.today)


@dataclass
class Outcome:
    """What a run did, letter by letter (``letters``) and in counts."""

    generated: int = 0
    unchanged: int = 0
    skipped: int = 0
    letters: list[dict[str, Any]] = field(default_factory=list)

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
    members: list[dict[str, Any] | None] = [
        row for row in store.list("members") if member_ids is None or row["id"] in member_ids
    ]
    members.sort(key=_member_slug)
    if options.unsigned or not store.count("members"):
        members = [None]
    today = options.today.isoformat()
    appeals = []
    for appeal in store.query("SELECT * FROM appeals ORDER BY case_id, official_id"):
        if case_ids is not None and appeal["case_id"] not in case_ids:
            continue
        if official_ids is not None and appeal["official_id"] not in official_ids:
            continue
        case, official = cases[appeal["case_id"]], officials[appeal["official_id"]]
        name = template or appeal["template"]
        appeals.append((case, official, appeal, name, _skip(case, appeal, name, template, today)))
    appeals.sort(key=lambda a: (a[0]["slug"], a[1]["slug"]))
    return Plan(appeals, members)


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
        return "the appeal is paused"
    if appeal["until"] and appeal["until"] < today:
        return f"the appeal ended on {appeal['until']}"
    if name == THANKS:
        if case["status"] != "released":
            return f"the case is {case['status']}: a thank-you letter waits for the release"
        return None
    if case["status"] not in HELD and (asked is None or name == CONCERN):
        return f"the case is {case['status']}"
    return None


def _member_slug(member: dict[str, Any] | None) -> str:
    return member["slug"] if member else "unsigned"


def relative_path(job: Job, extension: str) -> str:
    """``<case-slug>/<official-slug>--<member-slug or unsigned><ext>``, with the template's
    name before the extension when it is not the letter of concern (``.thanks.txt``), so a
    thank-you letter never takes a letter of concern's place. Slugs and template names are
    checked ASCII words, so the path cannot climb out of the output folder."""
    kind = "" if job.template == CONCERN else f".{job.template}"
    return f"{job.case['slug']}/{job.official['slug']}--{_member_slug(job.member)}{kind}{extension}"


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
    run = _Run(store, options)
    outcome = Outcome()
    try:
        _sweep(options.out)
        with store.atomic():
            for job in jobs:
                entry = run.one(job)
                setattr(outcome, entry["state"], getattr(outcome, entry["state"]) + 1)
                if options.collect:
                    outcome.letters.append(entry)
                if len(run.writes) >= BATCH:
                    run.flush()
                if progress:
                    progress(1)
            run.flush()
            if not options.dry_run:
                _rename_all(store, options, run.stamp, run.base)
    except BaseException:
        run.discard()
        raise
    finally:
        run.close()
    if not options.dry_run and options.collect:
        _fill_ids(store, outcome, options.fmt)
    return outcome


class _Run:
    """The state of one run: the composer and renderer, the letters on record, what is staged."""

    def __init__(self, store: Store, options: Options) -> None:
        from importune.compose import Composer
        from importune.formats import Renderer

        self.store = store
        self.options = options
        self.composer = Composer(options.letters_dir, store.group(), options.today)
        self.renderer = Renderer(options.letters_dir, options.fmt)
        self.base = store.path.parent
        self.out = str(options.out)
        self.prefix = _stored_prefix(options.out, self.base)
        self.stamp = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        self.writes: list[tuple[Any, ...]] = []
        self.superseded: list[int] = []
        # What this run made on disk, so that a refusal can take it all away again:
        # the case folders it wrote into, and the folders it created (out/ among them).
        self.touched: set[str] = set()
        self.created: list[str] = []
        self._record = _OnRecord(store, options.fmt)
        self._appeal: tuple[str, str] | None = None
        self._existing: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._listed: tuple[str, set[str]] | None = None

    def close(self) -> None:
        self._record.close()

    def render(self, job: Job, appeal: dict[str, Any], on: dt.date) -> tuple[bytes, str]:
        letter = self.composer.compose(job.case, job.official, job.member, appeal, on=on)
        self.renderer.check(letter)
        content = self.renderer.render(letter)
        return content, hashlib.sha256(content).hexdigest()

    def existing(self, job: Job) -> dict[tuple[Any, ...], dict[str, Any]]:
        """The letters on record for this job's appeal (read when the run reaches it)."""
        key = (job.case["slug"], job.official["slug"])
        if key != self._appeal:
            self._appeal = key
            self._existing = self._record.take(job.case["id"], job.official["id"], key)
        return self._existing

    def on_disk(self, case_slug: str, name: str) -> bool:
        """Whether ``OUT/<case_slug>/<name>`` is a file, from one listing of the case's
        folder (a run reaches the cases one after the other) rather than a stat a letter."""
        if self._listed is None or self._listed[0] != case_slug:
            names: set[str] = set()
            try:
                with os.scandir(os.path.join(self.out, case_slug)) as entries:
                    names = {e.name for e in entries if e.is_file(follow_symlinks=False)}
            except (FileNotFoundError, NotADirectoryError):
                pass
            self._listed = (case_slug, names)
        return name in self._listed[1]

    def one(self, job: Job) -> dict[str, Any]:
        """Render one letter, decide whether it changed, stage its file and row."""
        options = self.options
        relative = relative_path(job, self.renderer.extension)
        stored = self.prefix + relative
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
        language = self.composer.letter_language(job.appeal, job.official)
        _, language = self.composer.resolve(job.template, language, job.case["slug"])
        entry["language"] = language
        existing = self.existing(job)
        row = existing.get((job.member["id"] if job.member else 0, job.template, language))
        if row is not None:
            entry["id"] = row["id"]
        appeal = {**job.appeal, "template": job.template}
        dated = dt.date.fromisoformat(row["dated"]) if row else options.today
        content, digest = self.render(job, appeal, dated)
        same = row is not None and row["sha256"] == digest and row["path"] == stored
        folder, name = relative.split("/", 1)
        if same and not options.force and self.on_disk(folder, name):
            entry["state"] = "unchanged"
            return entry
        if row is not None and row["status"] in ("printed", "sent"):
            entry["reason"] = f"already {row['status']}: never overwritten in place"
            return entry
        if not same and dated != options.today:
            # The words changed: the letter is written anew, and dated today.
            dated = options.today
            content, digest = self.render(job, appeal, dated)
        holder = existing.get(("path", stored))
        if holder is not None and holder is not row and holder["status"] in ("printed", "sent"):
            # Another letter has this file (the same one, in the language the appeal
            # had before) and it has gone to print: it is not replaced.
            entry["reason"] = f"{stored} was already {holder['status']}"
            return entry
        entry["state"] = "generated"
        if options.dry_run:
            return entry
        if holder is not None and holder is not row:
            self.superseded.append(holder["id"])
        self._stage(folder, name, content)
        self.writes.append(
            (job.case["id"], job.official["id"], job.member["id"] if job.member else None,
             job.template, language, options.fmt, stored, digest, dated.isoformat(),
             self.stamp)
        )  # fmt: skip
        return entry

    def _stage(self, folder: str, name: str, content: bytes) -> None:
        """Write the letter whole under its temporary name, beside its final one."""
        directory = os.path.join(self.out, folder)
        if folder not in self.touched:
            if not os.path.isdir(self.out):
                os.makedirs(self.out)
                self.created.append(self.out)
            if not os.path.isdir(directory):
                os.mkdir(directory)
                self.created.append(directory)
            self.touched.add(folder)
        # os.open, not open(): a letter is one write, and the buffered file object's
        # isatty, seek and stat calls cost more than the write itself.
        fd = os.open(os.path.join(directory, name + TEMP_SUFFIX), _CREATE, 0o666)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    def discard(self) -> None:
        """After a refusal: the staged files and the folders this run made are removed."""
        for folder in self.touched:
            _sweep_folder(os.path.join(self.out, folder))
        for directory in reversed(self.created):
            with contextlib.suppress(OSError):  # not empty: something else lives there
                os.rmdir(directory)

    def flush(self) -> None:
        """Insert or refresh the staged letter rows (status back to generated)."""
        conn = self.store.db.conn
        if self.superseded:
            conn.executemany("DELETE FROM letters WHERE id = ?", [(i,) for i in self.superseded])
            self.superseded.clear()
        if self.writes:
            conn.executemany(UPSERT, self.writes)
            self.writes.clear()


UPSERT = """
    INSERT INTO letters (case_id, official_id, member_id, template, language, format,
                         path, sha256, dated, generated_at, status)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'generated')
    ON CONFLICT (case_id, official_id, coalesce(member_id, 0), template, language, format)
    DO UPDATE SET path = excluded.path, sha256 = excluded.sha256, dated = excluded.dated,
                  generated_at = excluded.generated_at, status = 'generated',
                  withdrawn_at = NULL
"""


class _OnRecord:
    """The letters on record in one format as the run began, handed out one appeal at a time.

    One query, read as a stream through a second connection to the workspace: its
    snapshot (the database is in WAL mode) does not move while the run writes, and
    its rows come in the plan's order (case slug, official slug), so only one
    appeal's letters are in memory at a time, however many the campaign has.
    """

    SQL = (
        "SELECT c.slug, o.slug, l.id, l.case_id, l.official_id, coalesce(l.member_id, 0), "
        "l.template, l.language, l.path, l.sha256, l.status, l.dated "
        "FROM letters l JOIN cases c ON c.id = l.case_id "
        "JOIN officials o ON o.id = l.official_id WHERE l.format = ? ORDER BY c.slug, o.slug"
    )
    FIELDS = ("id", "case_id", "official_id", "member", "template", "language", "path",
              "sha256", "status", "dated")  # fmt: skip

    def __init__(self, store: Store, fmt: str) -> None:
        from importune.store import BUSY_TIMEOUT_MS

        self.conn: sqlite3.Connection | None = None
        self.cursor: sqlite3.Cursor | None = None
        if store.db.conn.in_transaction:
            # A caller's open transaction holds writes a second connection cannot see:
            # read through the caller's own connection, all at once.
            self.rows: Iterator[tuple[Any, ...]] = iter(
                store.db.conn.execute(self.SQL, [fmt]).fetchall()
            )
        else:
            self.conn = sqlite3.connect(str(store.path), timeout=BUSY_TIMEOUT_MS / 1000)
            self.rows = self.cursor = self.conn.execute(self.SQL, [fmt])
        self.head: tuple[Any, ...] | None = next(self.rows, None)

    def take(
        self, case_id: int, official_id: int, slugs: tuple[str, str]
    ) -> dict[tuple[Any, ...], dict[str, Any]]:
        """This appeal's letters by their key (member id or 0, template, language) and by
        ``("path", path)``. Appeals must be asked for in the plan's order."""
        index: dict[tuple[Any, ...], dict[str, Any]] = {}
        while self.head is not None and self.head[:2] < slugs:
            self.head = next(self.rows, None)
        while self.head is not None and self.head[:2] == slugs:
            row = dict(zip(self.FIELDS, self.head[2:], strict=True))
            if (row["case_id"], row["official_id"]) == (case_id, official_id):
                index[(row["member"], row["template"], row["language"])] = row
                index[("path", row["path"])] = row
            self.head = next(self.rows, None)
        return index

    def close(self) -> None:
        # The statement first: a connection closed with one unfinished stays open
        # (a zombie, holding the -wal file) until the statement is collected.
        if self.cursor is not None:
            self.cursor.close()
        if self.conn is not None:
            self.conn.close()


def _rename_all(store: Store, options: Options, stamp: str, base: Path) -> None:
    """Move every staged file into place; the rows name them, so nothing is held in memory."""
    rows = store.db.conn.execute(
        "SELECT path FROM letters WHERE generated_at = ? AND format = ?", [stamp, options.fmt]
    )
    root = str(base)
    for (path,) in rows:
        final = os.path.join(root, path)
        os.replace(final + TEMP_SUFFIX, final)


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
    """Remove temporary files a killed run left behind: they were never recorded."""
    if not out.is_dir():
        return
    for folder in os.scandir(out):
        if folder.is_dir(follow_symlinks=False):
            _sweep_folder(folder.path)


def _sweep_folder(folder: str) -> None:
    try:
        with os.scandir(folder) as items:
            for item in items:
                if item.name.endswith(TEMP_SUFFIX):
                    os.unlink(item.path)
    except FileNotFoundError:
        pass


def iter_letters(
    store: Store,
    *,
    case: str | None = None,
    member: str | None = None,
    status: str | None = None,
) -> Iterator[dict[str, Any]]:
    """The letters on record, as ``letters list`` shows them."""
    where, params = [], []
    if case:
        where.append("l.case_id = ?")
        params.append(store.get("cases", case)["id"])
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
    yield from store.db.query(sql, params)
