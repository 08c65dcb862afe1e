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
- Nothing holds every letter in memory: rows go to the database in batches and
  the list of renames is read back from the database at the end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importune.errors import ImportuneError, NotFound
from importune.store import Store

TEMP_SUFFIX = ".importune-tmp"
BATCH = 500
HELD = ("detained", "unknown")
"""Case statuses that still get letters of concern."""


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


def plan(store: Store, options: Options) -> list[Job]:
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
    if options.unsigned or not store.count("members"):
        members = [None]
    appeals = store.query("SELECT * FROM appeals ORDER BY case_id, official_id")
    today = options.today.isoformat()
    jobs: list[Job] = []
    for appeal in appeals:
        if case_ids is not None and appeal["case_id"] not in case_ids:
            continue
        if official_ids is not None and appeal["official_id"] not in official_ids:
            continue
        case, official = cases[appeal["case_id"]], officials[appeal["official_id"]]
        name = template or appeal["template"]
        skip = None
        if not appeal["active"]:
            skip = "the appeal is paused"
        elif appeal["until"] and appeal["until"] < today:
            skip = f"the appeal ended on {appeal['until']}"
        elif case["status"] not in HELD and (template is None or template == "concern"):
            skip = f"the case is {case['status']}"
        for member in members:
            jobs.append(Job(case, official, member, appeal, name, skip))
    jobs.sort(key=lambda j: (j.case["slug"], j.official["slug"], _member_slug(j.member)))
    return jobs


def _member_slug(member: dict[str, Any] | None) -> str:
    return member["slug"] if member else "unsigned"


def relative_path(job: Job, extension: str) -> str:
    """``<case-slug>/<official-slug>--<member-slug or unsigned><ext>``, with the template's
    name before the extension when it is not the letter of concern (``.thanks.txt``), so a
    thank-you letter never takes a letter of concern's place. Slugs and template names are
    checked ASCII words, so the path cannot climb out of the output folder."""
    kind = "" if job.template == "concern" else f".{job.template}"
    return f"{job.case['slug']}/{job.official['slug']}--{_member_slug(job.member)}{kind}{extension}"


def _stored_path(out: Path, relative: str, base: Path) -> str:
    """The path as the letters table records it: relative to the workspace when inside it."""
    path = out / relative
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path.resolve())


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
    _sweep(options.out)
    try:
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
        for temp in run.temps:
            temp.unlink(missing_ok=True)
        raise
    if not options.dry_run:
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
        self.existing = _existing(store, options.fmt)
        self.stamp = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        self.writes: list[tuple[Any, ...]] = []
        self.superseded: list[int] = []
        self.temps: list[Path] = []

    def render(self, job: Job, appeal: dict[str, Any], on: dt.date) -> tuple[bytes, str]:
        letter = self.composer.compose(job.case, job.official, job.member, appeal, on=on)
        self.renderer.check(letter)
        content = self.renderer.render(letter)
        return content, hashlib.sha256(content).hexdigest()

    def one(self, job: Job) -> dict[str, Any]:
        """Render one letter, decide whether it changed, stage its file and row."""
        options = self.options
        relative = relative_path(job, self.renderer.extension)
        entry: dict[str, Any] = {
            "id": None,
            "case": job.case["slug"],
            "official": job.official["slug"],
            "member": job.member["slug"] if job.member else None,
            "format": options.fmt,
            "path": _stored_path(options.out, relative, self.base),
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
        key = (job.case["id"], job.official["id"], job.member["id"] if job.member else 0,
               job.template, language)  # fmt: skip
        row = self.existing.get(key)
        if row is not None:
            entry["id"] = row["id"]
        appeal = {**job.appeal, "template": job.template}
        dated = dt.date.fromisoformat(row["dated"]) if row else options.today
        content, digest = self.render(job, appeal, dated)
        same = row is not None and row["sha256"] == digest and row["path"] == entry["path"]
        if same and not options.force and (self.base / row["path"]).is_file():
            entry["state"] = "unchanged"
            return entry
        if row is not None and row["status"] in ("printed", "sent"):
            entry["reason"] = f"already {row['status']}: never overwritten in place"
            return entry
        if not same and dated != options.today:
            # The words changed: the letter is written anew, and dated today.
            dated = options.today
            content, digest = self.render(job, appeal, dated)
        holder = self.existing.get(("path", entry["path"]))
        if holder is not None and holder is not row:
            # Another letter has this file (the same one, in the language the appeal
            # had before): it is superseded, unless it has gone to print.
            if holder["status"] in ("printed", "sent"):
                entry["reason"] = f"{entry['path']} was already {holder['status']}"
                return entry
            self.superseded.append(holder["id"])
        entry["state"] = "generated"
        if options.dry_run:
            return entry
        final = options.out / relative
        temp = final.with_name(final.name + TEMP_SUFFIX)
        final.parent.mkdir(parents=True, exist_ok=True)
        self.temps.append(temp)
        with open(temp, "wb") as handle:
            handle.write(content)
        self.writes.append(
            (job.case["id"], job.official["id"], job.member["id"] if job.member else None,
             job.template, language, options.fmt, entry["path"], digest, dated.isoformat(),
             self.stamp)
        )  # fmt: skip
        return entry

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


def _existing(store: Store, fmt: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The letters on record in this format, by their unique key: one query."""
    rows = store.query(
        "SELECT id, case_id, official_id, coalesce(member_id, 0) AS member, template, language, "
        "path, sha256, status, dated FROM letters WHERE format = ?",
        [fmt],
    )
    index: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        index[(r["case_id"], r["official_id"], r["member"], r["template"], r["language"])] = r
        index[("path", r["path"])] = r
    return index


def _rename_all(store: Store, options: Options, stamp: str, base: Path) -> None:
    """Move every staged file into place; the rows name them, so nothing is held in memory."""
    rows = store.db.conn.execute(
        "SELECT path FROM letters WHERE generated_at = ? AND format = ?", [stamp, options.fmt]
    )
    for (path,) in rows:
        final = base / path
        os.replace(final.with_name(final.name + TEMP_SUFFIX), final)


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
            for item in os.scandir(folder.path):
                if item.name.endswith(TEMP_SUFFIX):
                    os.unlink(item.path)


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
