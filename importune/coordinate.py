"""A case's history and its release: what a coordinator records.

A case's **timeline** is its events (arrested, charged, sentenced, transferred,
hunger-strike, released, note), oldest first. Events are things that happened:
a day in the future is refused, and so is an event that contradicts the
detention it belongs to (a transfer before the prisoner was detained, anything
but a note after the release).

A **release** is more than a status: in one transaction the case becomes
``released`` with its ``released_on`` day and a ``released`` event, and every
letter of the case not yet sent is ``withdrawn``, so that no member prints or
posts a letter of concern for someone already free. Letters already sent stay
sent: they are the group's part in the release, counted in the announcement.
That is why ``case event CASE released`` is refused: it would record the event
and leave the letters pending.

A mistaken release is **undone** by setting the case back to a held status
(``case edit CASE --status detained``): ``released_on`` is cleared, the
``released`` event is removed from the timeline (it did not happen; the
announcement and the report read the timeline, and a note "release undone"
would end up in a public post), the letters the release withdrew go back to
the status they had (``printed`` when they were printed, else ``generated``),
and thank-you letters made since, which would thank an official for a release
that did not happen, are withdrawn in their turn. Releasing again brings those
back: release and undo are each other's inverse on the letters.

**Stopping an appeal** (``appeal remove``) withdraws its letters not yet sent in the
same transaction, as a release withdraws a case's: a member no longer prints them, and
``mark-sent --member`` no longer counts them posted. Adding the appeal again (``appeal
add`` or an import) brings them back as they were, while the case is held (for a
released case, its thank-you letters). A release undone brings back only the letters
of appeals still there.

**A member who leaves** (``member remove`` of a member whom letters name) stays in the
records as one who left: their letters not yet printed are withdrawn, their address and
e-mail erased, and no letter is written in their name from then on. Their return
(``member edit --back``) brings back their withdrawn letters that would be written now.
Nothing else brings those back while they are away.

Nothing here prints or exits. Every refusal is an :class:`ImportuneError`, raised
before anything is written or, when ``case edit`` edits other fields along with a
release, inside the one transaction, which it takes back whole.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from importune import records
from importune.errors import Conflict, InvalidInput
from importune.generate import HELD, THANKS
from importune.store import Store

PENDING = ("generated", "printed")
"""Letter statuses not yet in the post: what a release withdraws."""

_DEATH = frozenset({"died", "dead", "death", "deceased", "died-in-custody", "death-in-custody"})
"""Kinds a coordinator may type for a death: not an event, a status (see :func:`parse_kind`)."""

IN_CUSTODY = ("transferred", "hunger-strike")
"""Events that can only happen to someone held: none before the detention began."""

NOTE_MAX = records.SINGLE_LINE_MAX


# -- reading -------------------------------------------------------------------------------


def timeline(store: Store, case_id: int) -> list[dict[str, Any]]:
    """The case's events, oldest first (events of one day in the order recorded)."""
    return store.query("SELECT * FROM events WHERE case_id = ? ORDER BY date, id", [case_id])


def days_held(case: Mapping[str, Any], today: dt.date | None = None) -> int | None:
    """Days from detention to the release (or to today while held); None without a date."""
    if not case.get("detained_on"):
        return None
    end = case.get("released_on") or (today or dt.date.today()).isoformat()
    return (dt.date.fromisoformat(end) - dt.date.fromisoformat(case["detained_on"])).days


# -- events ----------------------------------------------------------------------------------


def parse_kind(text: str, case: str = "CASE") -> str:
    """An event kind as typed: ``Hunger strike`` and ``hunger_strike`` are ``hunger-strike``.
    (``case``: the slug a refusal's commands name.)"""
    kind = "-".join(text.strip().lower().replace("_", " ").split())
    if kind in _DEATH:
        raise InvalidInput(
            f"a death in custody changes the case, not only its timeline: importune case edit "
            f"{case} --status deceased (it withdraws the letters not yet sent), and its day: "
            f"importune case event {case} note --on DATE --note 'Died in custody'",
            "kind",
        )
    if kind not in records.EVENT_KINDS:
        recordable = ", ".join(k for k in records.EVENT_KINDS if k != "released")
        raise InvalidInput(
            f"event kind {text.strip()!r} is not one of {recordable} "
            "(a release: importune case release)",
            "kind",
        )
    return kind


def _day(on: str | None, today: dt.date, what: str) -> str:
    """``--on`` as an ISO day (default today), never in the future: events have happened."""
    day = records.parse_date(on, "--on") if on is not None else today.isoformat()
    if day > today.isoformat():
        raise InvalidInput(f"--on {day} is in the future: record {what} once it has happened")
    return day


def _note(note: str | None) -> str | None:
    if note is None:
        return None
    return records.clean_text(note, "--note", multiline=False, limit=NOTE_MAX)


def add_event(
    store: Store,
    ref: str | int,
    kind: str,
    *,
    on: str | None = None,
    note: str | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Record one event of a case; the event's row, with the case's slug as ``case``."""
    today = today or dt.date.today()
    case = store.get("cases", ref)
    slug = case["slug"]
    kind = parse_kind(kind, slug)
    if kind == "released":
        raise InvalidInput(
            f"a release does more than an event: importune case release {slug} [--on DATE] "
            "(it also withdraws the letters not yet sent)",
            "kind",
        )
    day = _day(on, today, "an event")
    text = _note(note)
    if kind == "note" and not text:
        raise InvalidInput("a note needs its text: --note TEXT", "note")
    released = case["released_on"] if case["status"] == "released" else None
    if released and day > released and kind != "note":
        raise InvalidInput(
            f"case {slug!r} was released on {released}: after that only a note can be recorded"
        )
    if kind in IN_CUSTODY and case["detained_on"] and day < case["detained_on"]:
        raise InvalidInput(
            f"a {kind} event on {day} is before case {slug!r} was detained ({case['detained_on']})"
        )
    twin = store.query(
        "SELECT id FROM events WHERE case_id = ? AND date = ? AND kind = ? "
        "AND coalesce(note, '') = ?",
        [case["id"], day, kind, text or ""],
    )
    if twin:
        raise Conflict(f"case {slug!r} already has this {kind} event on {day}")
    event = {"case_id": case["id"], "date": day, "kind": kind, "note": text}
    with store.atomic():
        event_id = store.db.table("events").insert(event).last_pk
    return {"id": event_id, **event, "case": slug}


# -- letters ---------------------------------------------------------------------------------


@dataclass
class Letters:
    """A case's letters, each counted once whatever its formats, by what became of it."""

    withdrawn: dict[str, int] = field(default_factory=dict)  # by the status it had
    restored: dict[str, int] = field(default_factory=dict)  # by the status it has again
    thanks_withdrawn: int = 0
    thanks_restored: int = 0
    sent: int = 0  # letters in the post: left as they are

    @property
    def withdrawn_total(self) -> int:
        return sum(self.withdrawn.values())

    @property
    def restored_total(self) -> int:
        return sum(self.restored.values())


def _identity(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """A letter is its case (when the rows are of several), official, member, template
    and language; the table has a row per format of it, and its status is the same in
    all of them."""
    return (row.get("case_id"), row["official_id"], row["member_id"], row["template"],
            row["language"])  # fmt: skip


def _written_now(case_status: str, template: str) -> bool:
    """Whether a letter of this template is one to write for a case in this status: of
    concern while the prisoner is held, of thanks once released, none after a death."""
    return (case_status in HELD) == (template != THANKS) and case_status != "deceased"


def _may_come_back(row: Mapping[str, Any]) -> bool:
    """A withdrawn letter that an undone release, an appeal added again or its member's
    return may bring back: never one signed by a member who left the group (their
    return brings back theirs)."""
    return row["status"] == "withdrawn" and not row["member_left"]


def _restored_status(row: Mapping[str, Any]) -> str:
    return "printed" if row["printed_at"] else "generated"


def _letter_rows(
    store: Store, case_id: int, official_id: int | None = None
) -> list[dict[str, Any]]:
    """A case's letter rows (to one official, when given)."""
    to = " AND official_id = ?" if official_id is not None else ""
    return store.query(
        "SELECT id, official_id, member_id, template, language, status, printed_at, "
        "(SELECT left_on FROM members WHERE members.id = letters.member_id) AS member_left "
        f"FROM letters WHERE case_id = ?{to} ORDER BY id",
        [case_id] if official_id is None else [case_id, official_id],
    )


def _appealed(store: Store, case_id: int) -> set[int]:
    """The officials a case has an appeal to: only their letters come back when a
    release is undone or made again (an appeal removed keeps its letters withdrawn)."""
    rows = store.query("SELECT official_id FROM appeals WHERE case_id = ?", [case_id])
    return {row["official_id"] for row in rows}


def _count(
    rows: list[dict[str, Any]], status_of: Callable[[Mapping[str, Any]], str]
) -> dict[str, int]:
    """How many letters (not rows) of ``rows``, by ``status_of(row)``."""
    letters: dict[tuple[Any, ...], str] = {}
    for row in rows:
        status = status_of(row)
        # A letter printed in one format counts as printed.
        if letters.get(_identity(row)) != "printed":
            letters[_identity(row)] = status
    counted: dict[str, int] = {}
    for status in letters.values():
        counted[status] = counted.get(status, 0) + 1
    return counted


def _withdraw_and_restore(
    store: Store, *, withdraw: list[dict[str, Any]], restore: list[dict[str, Any]], stamp: str
) -> None:
    """Withdraw some letter rows (stamped) and give others back the status they had."""
    conn = store.conn
    conn.executemany(
        "UPDATE letters SET status = 'withdrawn', withdrawn_at = ? WHERE id = ?",
        [(stamp, row["id"]) for row in withdraw],
    )
    conn.executemany(
        "UPDATE letters SET status = ?, withdrawn_at = NULL WHERE id = ?",
        [(_restored_status(row), row["id"]) for row in restore],
    )


def _sent(rows: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {_identity(row) for row in rows if row["status"] == "sent"}


def _how_many(rows: list[dict[str, Any]]) -> int:
    """How many letters the rows are, whatever their formats."""
    return len({_identity(row) for row in rows})


def _on_release(store: Store, case_id: int, stamp: str, thanks_back: bool = True) -> Letters:
    """Withdraw every letter not yet sent; bring back thank-you letters an undo withdrew
    (unless ``thanks_back`` is false: a prisoner who died is thanked for by no one)."""
    rows = _letter_rows(store, case_id)
    sent = _sent(rows)
    withdraw = [row for row in rows if row["status"] in PENDING]
    appealed = _appealed(store, case_id) if thanks_back else set()
    restore = [
        row for row in rows
        if _may_come_back(row) and row["template"] == THANKS and row["official_id"] in appealed
    ]  # fmt: skip
    _withdraw_and_restore(store, withdraw=withdraw, restore=restore, stamp=stamp)
    unsent = [row for row in withdraw if _identity(row) not in sent]
    return Letters(
        withdrawn=_count(unsent, lambda row: row["status"]),
        thanks_restored=_how_many(restore),
        sent=len(sent),
    )


def _on_undo(store: Store, case_id: int, stamp: str) -> Letters:
    """Bring back the letters the release withdrew; withdraw the thank-you letters."""
    rows = _letter_rows(store, case_id)
    sent = _sent(rows)
    appealed = _appealed(store, case_id)
    restore = [
        row for row in rows
        if _may_come_back(row) and row["template"] != THANKS and row["official_id"] in appealed
    ]  # fmt: skip
    withdraw = [row for row in rows if row["status"] in PENDING and row["template"] == THANKS]
    _withdraw_and_restore(store, withdraw=withdraw, restore=restore, stamp=stamp)
    return Letters(
        restored=_count([r for r in restore if _identity(r) not in sent], _restored_status),
        thanks_withdrawn=_how_many(withdraw),
        sent=len(sent),
    )


# -- appeals ---------------------------------------------------------------------------------


@dataclass
class Appeal:
    """What ``appeal remove`` did: the appeal removed, and what became of its letters."""

    appeal: dict[str, Any]
    letters: Letters


def remove_appeal(
    store: Store, case: str, official: str, now: dt.datetime | None = None
) -> Appeal:
    """Stop writing to ``official`` about ``case``: the appeal goes and, in the same
    transaction, its letters not yet sent are withdrawn (letters sent stay sent)."""
    with store.atomic():
        appeal = store.remove_appeal(case, official)
        rows = _letter_rows(store, appeal["case_id"], appeal["official_id"])
        sent = _sent(rows)
        withdraw = [row for row in rows if row["status"] in PENDING]
        _withdraw_and_restore(store, withdraw=withdraw, restore=[], stamp=_stamp(now))
    unsent = [row for row in withdraw if _identity(row) not in sent]
    return Appeal(appeal, Letters(withdrawn=_count(unsent, lambda row: row["status"]),
                                  sent=len(sent)))  # fmt: skip


def add_appeals(
    store: Store, rows: list[dict[str, Any]], where: list[str] | None = None
) -> tuple[list[dict[str, Any]], Letters]:
    """Add appeals (all or none, as :meth:`Store.add_many`) and, in the same transaction,
    bring back the letters a removal of the same appeal withdrew: while the case is held,
    its letters of concern, as they were (printed, or generated); for a released case,
    its thank-you letters. A dead prisoner's letters stay withdrawn."""
    with store.atomic():
        added = store.add_many("appeals", rows, where=where)
        letters = _letters_back(store, {(a["case_id"], a["official_id"]) for a in added})
    return added, letters


def _letters_back(store: Store, pairs: set[tuple[int, int]]) -> Letters:
    """Inside the caller's transaction: the withdrawn letters of appeals added again."""
    status = {
        row["id"]: row["status"]
        for row in store.query(
            "SELECT id, status FROM cases WHERE id IN (SELECT value FROM json_each(?))",
            [json.dumps(sorted({case_id for case_id, _ in pairs}))],
        )
    }
    back = Letters()
    for case_id, official_id in sorted(pairs):
        held = status[case_id] in HELD
        # Held: its letters of concern; released: its thank-you letters.
        restore = [
            row for row in _letter_rows(store, case_id, official_id)
            if _may_come_back(row) and _written_now(status[case_id], row["template"])
        ]  # fmt: skip
        _withdraw_and_restore(store, withdraw=[], restore=restore, stamp="")
        # Counted appeal by appeal: a letter is known by its official, member,
        # template and language within its case.
        if held:
            for restored, n in _count(restore, _restored_status).items():
                back.restored[restored] = back.restored.get(restored, 0) + n
        else:
            back.thanks_restored += _how_many(restore)
    return back


# -- members ---------------------------------------------------------------------------------


@dataclass
class Removed:
    """What ``member remove`` did: the member deleted (``left`` false: no letter named
    them), or kept as one who left, and what became of their letters."""

    member: dict[str, Any]
    left: bool = False
    withdrawn: int = 0  # letters not yet printed: no one will print them now
    printed: int = 0  # left printed: the member may have posted them
    sent: int = 0


_LETTER_COLUMNS = (
    "l.id, l.case_id, l.official_id, l.member_id, l.template, l.language, l.status, "
    "l.printed_at"
)
"""What a member's letters are read with: enough to count them (:func:`_identity`) and
to give them back the status they had (:func:`_restored_status`)."""


def remove_member(
    store: Store, ref: str | int, today: dt.date | None = None, now: dt.datetime | None = None
) -> Removed:
    """Remove a member. One whom letters name stays, as a member who left on ``today``:
    the letters would lose their history. In the same transaction their letters not yet
    printed are withdrawn (printed ones stay printed, for ``mark-sent`` if they were
    posted; sent ones stay sent), and their address and e-mail are erased: nothing is
    written in their name any more, and personal data that nothing needs is not kept."""
    with store.atomic():
        member = store.get("members", ref)
        rows = store.query(
            f"SELECT {_LETTER_COLUMNS} FROM letters AS l WHERE l.member_id = ? ORDER BY l.id",
            [member["id"]],
        )
        if not rows:
            return Removed(store.remove("members", member["id"]))
        if member["left_on"]:
            raise Conflict(f"member {member['slug']!r} left the group on {member['left_on']}")
        day = (today or dt.date.today()).isoformat()
        withdraw = [row for row in rows if row["status"] == "generated"]
        _withdraw_and_restore(store, withdraw=withdraw, restore=[], stamp=_stamp(now))
        store.conn.execute(
            "UPDATE members SET left_on = ?, address = NULL, email = NULL WHERE id = ?",
            [day, member["id"]],
        )
    kept = {status: _how_many([r for r in rows if r["status"] == status])
            for status in ("printed", "sent")}  # fmt: skip
    member = {**member, "left_on": day, "address": None, "email": None}
    return Removed(member, True, _how_many(withdraw), kept["printed"], kept["sent"])


def member_back(store: Store, ref: str | int) -> tuple[dict[str, Any], Letters]:
    """A member who left belongs to the group again. In the same transaction their
    withdrawn letters that would be written now come back as they were (printed, or
    generated): those of an appeal still there, of concern while the case is held, of
    thanks once it is released. Their address and e-mail are theirs to give again."""
    with store.atomic():
        member = store.get("members", ref)
        if not member["left_on"]:
            raise Conflict(f"member {member['slug']!r} has not left the group")
        rows = store.query(
            f"SELECT {_LETTER_COLUMNS}, c.status AS case_status FROM letters AS l "
            "JOIN cases AS c ON c.id = l.case_id WHERE l.member_id = ? "
            "AND l.status = 'withdrawn' AND EXISTS (SELECT 1 FROM appeals AS a "
            "WHERE a.case_id = l.case_id AND a.official_id = l.official_id)",
            [member["id"]],
        )
        restore = [row for row in rows if _written_now(row["case_status"], row["template"])]
        _withdraw_and_restore(store, withdraw=[], restore=restore, stamp="")
        store.conn.execute("UPDATE members SET left_on = NULL WHERE id = ?", [member["id"]])
    return {**member, "left_on": None}, Letters(restored=_count(restore, _restored_status))


# -- release ---------------------------------------------------------------------------------


@dataclass
class Release:
    """What ``case release`` did."""

    case: dict[str, Any]
    on: str
    letters: Letters
    days: int | None  # days held, when the detention's first day is known


def _check_release_day(store: Store, case: Mapping[str, Any], day: str, today: dt.date) -> None:
    """A release ends the detention: not in the future, not before it began, not before
    anything in the timeline that needs the prisoner held."""
    slug = case["slug"]
    if day > today.isoformat():
        raise InvalidInput(
            f"the release date {day} is in the future: record a release once it has happened; "
            "until then the letters go on"
        )
    if case["detained_on"] and day < case["detained_on"]:
        raise InvalidInput(
            f"the release date {day} is before case {slug!r} was detained ({case['detained_on']})"
        )
    later = store.query(
        "SELECT date, kind FROM events WHERE case_id = ? AND date > ? "
        "AND kind NOT IN ('note', 'released') ORDER BY date DESC LIMIT 1",
        [case["id"], day],
    )
    if later:
        raise InvalidInput(
            f"the release date {day} is before the {later[0]['kind']} event of "
            f"{later[0]['date']} in case {slug!r}'s timeline"
        )


def _stamp(now: dt.datetime | None) -> str:
    return (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")


def release(
    store: Store,
    ref: str | int,
    *,
    on: str | None = None,
    note: str | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Release:
    """Mark a case released on ``on`` (default today), in one transaction with its event
    and the withdrawal of every letter not yet sent. Refused for a case released already."""
    today = today or dt.date.today()
    case = store.get("cases", ref)
    slug = case["slug"]
    if case["status"] == "released":
        raise Conflict(
            f"case {slug!r} was already released on {case['released_on'] or 'an unknown day'} "
            f"(to change the day: importune case edit {slug} --released-on DATE)"
        )
    day = records.parse_date(on, "--on") if on is not None else today.isoformat()
    _check_release_day(store, case, day, today)
    text = _note(note)
    with store.atomic():
        store.db.table("cases").update(case["id"], {"status": "released", "released_on": day})
        store.db.table("events").insert(
            {"case_id": case["id"], "date": day, "kind": "released", "note": text}
        )
        letters = _on_release(store, case["id"], _stamp(now))
    freed = {**case, "status": "released", "released_on": day}
    return Release(case=freed, on=day, letters=letters, days=days_held(freed))


@dataclass
class Undo:
    """What undoing a mistaken release did."""

    released_on: str | None  # the day the release had said
    letters: Letters


def _undo_release(store: Store, case: Mapping[str, Any], stamp: str) -> Undo:
    """Inside the caller's transaction: the case is no longer released, its letters pending."""
    store.db.table("cases").update(case["id"], {"released_on": None})
    store.conn.execute("DELETE FROM events WHERE case_id = ? AND kind = 'released'", [case["id"]])
    return Undo(released_on=case["released_on"], letters=_on_undo(store, case["id"], stamp))


# -- editing a case --------------------------------------------------------------------------


@dataclass
class Edited:
    """What ``case edit`` did: the case as it is now, and a release made or undone."""

    case: dict[str, Any]
    released: Release | None = None
    undone: Undo | None = None
    died: Letters | None = None  # marked deceased: the letters it withdrew
    revived: Letters | None = None  # deceased by mistake: the letters pending again


def edit_case(
    store: Store,
    ref: str | int,
    raw: Mapping[str, Any],
    *,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Edited:
    """``case edit``, with the status changes that touch letters done as a whole.

    - to ``released`` (from any other status): a release, exactly as ``case release``
      (``released_on`` is its day, default today), with the other fields edited in the
      same transaction;
    - from ``released`` back to a held status (detained, unknown): the release undone;
    - ``released_on`` of a released case: the day moves, its ``released`` event too
      (recorded if it was missing: a case imported as released, or released by SQL);
    - ``released_on`` of a case not released: refused, pointing to ``case release``;
    - to ``deceased`` from a held status: every letter not yet sent is withdrawn (never
      printed or marked sent), and back to a held status they are pending again.
    """
    today = today or dt.date.today()
    current = store.get("cases", ref)
    given = {key: value for key, value in raw.items() if value is not None}
    changes = records.normalise("cases", given, partial=True) if given else {}
    was = current["status"]
    becomes = changes.get("status", was)
    day = changes.get("released_on")
    undoing = was == "released" and becomes in HELD
    # Undone, the release's day goes: it cannot clash with a new detained_on.
    records.check_dates({**current, **changes, **({"released_on": None} if undoing else {})})
    rest = {key: value for key, value in given.items() if key not in ("status", "released_on")}
    slug = current["slug"]

    if was != "released" and becomes == "released":
        with store.atomic():
            if rest:
                store.edit("cases", current["id"], rest)
            done = release(store, current["id"], on=day, today=today, now=now)
        return Edited(case=store.get("cases", current["id"]), released=done)

    if undoing:
        if day is not None:
            raise InvalidInput(
                f"case {slug!r} goes back to {becomes}: a case held has no release date "
                "(leave out --released-on)"
            )
        with store.atomic():
            undone = _undo_release(store, current, _stamp(now))
            store.edit("cases", current["id"], given)
        return Edited(case=store.get("cases", current["id"]), undone=undone)

    if day is not None and was != "released":
        raise InvalidInput(
            f"case {slug!r} is {was}: a release is recorded with "
            f"importune case release {slug} --on {day}"
        )
    dying = was in HELD and becomes == "deceased"
    # A death recorded by mistake on a case that was held: what it withdrew comes back. (One
    # released before it died keeps the release's withdrawals: those were no mistake.)
    reviving = was == "deceased" and becomes in HELD and not current["released_on"]
    if dying or reviving:
        with store.atomic():
            if dying:  # no official asked to free, or thanked for freeing, the dead
                letters = _on_release(store, current["id"], _stamp(now), thanks_back=False)
            else:  # a death recorded by mistake: the letters it withdrew come back
                letters = _on_undo(store, current["id"], _stamp(now))
            edited = store.edit("cases", current["id"], given)
        if dying:
            return Edited(case=edited, died=letters)
        return Edited(case=edited, revived=letters)
    if day is not None and day != current["released_on"]:
        _check_release_day(store, {**current, **changes}, day, today)
        with store.atomic():
            edited = store.edit("cases", current["id"], given)
            moved = store.conn.execute(
                "UPDATE events SET date = ? WHERE case_id = ? AND kind = 'released'",
                [day, current["id"]],
            ).rowcount
            if not moved:  # released outside importune (an import, SQL): the timeline gets it
                store.db.table("events").insert(
                    {"case_id": current["id"], "date": day, "kind": "released", "note": None}
                )
        return Edited(case=edited)
    return Edited(case=store.edit("cases", current["id"], given))
