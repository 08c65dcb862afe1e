"""``importune check``, the data doctor: what would spoil a letter or a campaign.

:func:`examine` reads the workspace with a few queries (one per table, not one
per record), renders the templates against sample records and every letter due
against its real records (nothing is written), and returns :class:`Finding`\\ s.
It never prints; the command prints them and exits 1 when one is an error.

What is an error and what a warning follows one rule: an **error** is what would
put a wrong or broken letter in the post (a letter with no address, a template
that cannot render, letters still waiting to be posted for a prisoner already
free); a **warning** is what deserves a look but spoils no letter (a case with
no one to write to, an appeal that has ended, a member whose letters will lack
a return address, an appeal to another country's official, which the seed
page's group did on purpose).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importune.wording import agree, count

if TYPE_CHECKING:
    from importune.compose import Composer
    from importune.store import Store

ERROR = "error"
WARNING = "warning"

KINDS = (
    "missing-record",
    "bad-date",
    "pending-after-release",
    "no-address",
    "long-address",
    "template",
    "letter",
    "no-appeal",
    "no-active-appeal",
    "pending-without-appeal",
    "appeal-ended",
    "other-country",
    "language",
    "no-detained-on",
    "no-released-on",
    "no-return-address",
    "printed-not-sent",
    "pending-of-member-who-left",
    "no-group-name",
    "bad-paper",
    "bad-english",
)
"""Every kind of finding; a record's findings are listed in this order."""

UNSENT_DAYS = 30
"""Days after which a letter printed and not marked sent is asked about (``printed-not-sent``):
a month is long enough to have posted it."""

_RELEASED = ("released", "deceased")
_TABLES = ("templates", "settings", "cases", "officials", "appeals", "members")
"""The order findings are listed in, within each severity."""


@dataclass(frozen=True)
class Finding:
    """One problem: how bad, what kind, the record and field to blame, and what to do.

    ``table`` and ``record`` name the record as commands take it: a slug for a
    case, official or member; ``CASE/OFFICIAL`` (slugs) for an appeal; a path
    for a template; ``group`` for the workspace's settings.
    """

    severity: str
    kind: str
    table: str
    record: str
    field: str | None
    message: str
    fix: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def where(self) -> str:
        """``case yusuf-dzhumaev, status``: the record and field, as a person reads them."""
        noun = {"cases": "case", "officials": "official", "appeals": "appeal",
                "members": "member", "templates": "template"}  # fmt: skip
        name = f"{noun[self.table]} {self.record}" if self.table in noun else self.record
        return f"{name}, {self.field}" if self.field else name


def _blank(value: Any) -> bool:
    return value is None or not str(value).strip()


def examine(store: Store, letters_dir: Path, today: dt.date | None = None) -> list[Finding]:
    """Every finding in the workspace: errors first, then record by record."""
    from importune import postal, records
    from importune.errors import ImportuneError, InvalidInput
    from importune.formats.common import (
        SMALLEST_EMS,
        SMALLEST_LINES,
        window_envelope,
        wrapped_lines,
    )
    from importune.generate import THANKS, _skip

    today = today or dt.date.today()
    iso_today = today.isoformat()
    cases = {row["id"]: row for row in store.query("SELECT * FROM cases")}
    officials = {row["id"]: row for row in store.query("SELECT * FROM officials")}
    appeals = store.query("SELECT * FROM appeals ORDER BY case_id, official_id")
    members = store.query("SELECT * FROM members ORDER BY slug")
    group = store.group()
    found: list[Finding] = []
    countries: dict[str, str] = {}

    def country(code: str) -> str:
        """``Uzbekistan (UZ)``: each country's name looked up once, not once per appeal."""
        if code not in countries:
            # CLDR's "Myanmar (Burma)" keeps its first name here: "Myanmar (MM)".
            name = records.country_name(code).split(" (")[0]
            countries[code] = f"{name} ({code})"
        return countries[code]

    def add(
        severity: str, kind: str, table: str, record: str, field: str | None, message: str, fix: str
    ) -> None:
        found.append(Finding(severity, kind, table, record, field, message, fix))

    # -- dates another program wrote (Datasette, a script): compared as text, they mislead --
    def bad_dates(table: str, row: dict, fields: tuple[str, ...], record: str) -> bool:
        """A finding per date of ``row`` not in YYYY-MM-DD; whether there was one."""
        bad = False
        for field in fields:
            if row[field] is None:
                continue
            try:
                records.parse_date(str(row[field]), field)
            except ImportuneError as error:
                bad = True
                message = f"{error}: letters and the report would read it wrongly"
                add(ERROR, "bad-date", table, record, field, message,
                    _date_fix(table, record, field))  # fmt: skip
        return bad

    for case in cases.values():
        bad_dates("cases", case, ("detained_on", "released_on"), case["slug"])

    # -- appeals: which letters are due, which have ended, which cross a border -----------
    due: list[tuple[dict, dict, dict]] = []
    by_case: dict[int, list[dict]] = defaultdict(list)
    for appeal in appeals:
        case, official = cases.get(appeal["case_id"]), officials.get(appeal["official_id"])
        if case is None or official is None:
            # Removed by a program that does not enforce foreign keys: generate-letters
            # would stumble on it.
            column, ref = (
                ("case_id", appeal["case_id"])
                if case is None
                else ("official_id", appeal["official_id"])
            )
            sql = f"DELETE FROM appeals WHERE id = {appeal['id']}"
            add(ERROR, "missing-record", "appeals", f"id {appeal['id']}", column,
                f"names {column.removesuffix('_id')} id {ref}, which does not exist",
                f"delete it: sqlite3 importune.db '{sql}'")  # fmt: skip
            continue
        by_case[case["id"]].append(appeal)
        name = f"{case['slug']}/{official['slug']}"
        remove = f"importune appeal remove {case['slug']} {official['slug']}"
        if bad_dates("appeals", appeal, ("until",), name):
            continue
        if appeal["active"] and appeal["until"] and appeal["until"] < iso_today:
            add(
                WARNING,
                "appeal-ended",
                "appeals",
                name,
                "until",
                f"ended on {appeal['until']}: no letter is made for it any more",
                f"if the campaign goes on, {remove}, then add it again with a later --until",
            )
        if official["country"] != case["country"]:
            add(
                WARNING,
                "other-country",
                "appeals",
                name,
                "country",
                f"the case is in {country(case['country'])}, "
                f"the official in {country(official['country'])}",
                f"nothing, if writing to another government is meant; else {remove}",
            )
        if _skip(case, appeal, appeal["template"], None, iso_today) is None:
            due.append((case, official, appeal))

    # -- cases ------------------------------------------------------------------------------
    due_cases = {case["id"] for case, _, _ in due}
    for case in sorted(cases.values(), key=lambda c: c["slug"]):
        slug = case["slug"]
        held = case["status"] in ("detained", "unknown")
        if held and not by_case[case["id"]]:
            add(
                WARNING,
                "no-appeal",
                "cases",
                slug,
                None,
                f"{case['status']}, and no appeal: no letter is written for them",
                f"importune appeal add {slug} OFFICIAL",
            )
        elif held and case["id"] not in due_cases:
            add(
                WARNING,
                "no-active-appeal",
                "cases",
                slug,
                None,
                f"{case['status']}, but every appeal is paused or has ended: "
                "no letter is written for them",
                f"importune appeal add {slug} OFFICIAL, or renew an appeal "
                f"(importune appeal list --case {slug})",
            )
        if held and _blank(case["detained_on"]):
            add(
                WARNING,
                "no-detained-on",
                "cases",
                slug,
                "detained_on",
                "no date of arrest: letters and the report cannot say how long they are held",
                f"importune case edit {slug} --detained-on YYYY-MM-DD",
            )
        if case["status"] == "released" and _blank(case["released_on"]):
            add(
                WARNING,
                "no-released-on",
                "cases",
                slug,
                "released_on",
                "released, but on no date: the report cannot count the days held",
                f"importune case edit {slug} --released-on YYYY-MM-DD",
            )

    # Letters still to print or post for a prisoner no longer held: a letter of
    # concern for someone already free (or dead) must not go out. A thank-you
    # letter is what a release calls for: it may wait. One query.
    pending = store.query(
        "SELECT case_id, count(DISTINCT official_id || '/' || coalesce(member_id, 0) || '/' "
        "|| template || '/' || language) AS n FROM letters "
        "WHERE status IN ('generated', 'printed') AND template != ? GROUP BY case_id",
        [THANKS],
    )
    for row in pending:
        case = cases.get(row["case_id"])
        if case is None or case["status"] not in _RELEASED:
            continue
        slug = case["slug"]
        on = f" on {case['released_on']}" if case["released_on"] else ""
        if case["status"] == "released":
            # Released behind importune's back (SQL, Datasette): undo and release
            # again, which withdraws every letter not yet sent.
            fix = (
                f"withdraw them: importune case edit {slug} --status detained, then "
                f"importune case release {slug}" + (f" --on {case['released_on']}" if on else "")
            )
        else:
            # Marked deceased behind importune's back: marking it again withdraws them.
            fix = (
                f"withdraw them: importune case edit {slug} --status detained, then "
                f"importune case edit {slug} --status deceased"
            )
        add(
            ERROR,
            "pending-after-release",
            "cases",
            slug,
            "status",
            f"{case['status']}{on}, yet {count(row['n'], 'letter')} {agree(row['n'], 'is', 'are')} "
            "still to be printed or posted",
            fix,
        )

    # Letters still to print or post for an appeal removed (before appeal remove withdrew
    # them, or by another program): print leaves them out, but mark-sent --member would
    # count them posted. A released case's letters of concern are found above.
    orphans = store.query(
        "SELECT l.case_id, l.official_id, count(DISTINCT coalesce(l.member_id, 0) || '/' "
        "|| l.template || '/' || l.language) AS n FROM letters l "
        "WHERE l.status IN ('generated', 'printed') AND NOT EXISTS (SELECT 1 FROM appeals a "
        "WHERE a.case_id = l.case_id AND a.official_id = l.official_id) "
        "AND (l.template = ? OR l.case_id NOT IN "
        f"(SELECT id FROM cases WHERE status IN ({','.join('?' * len(_RELEASED))}))) "
        "GROUP BY l.case_id, l.official_id",
        [THANKS, *_RELEASED],
    )
    for row in orphans:
        case, official = cases.get(row["case_id"]), officials.get(row["official_id"])
        if case is None or official is None:
            continue
        pair = f"{case['slug']} {official['slug']}"
        them = agree(row["n"], "it", "them")
        add(
            WARNING,
            "pending-without-appeal",
            "appeals",
            f"{case['slug']}/{official['slug']}",
            None,
            f"no appeal, yet {count(row['n'], 'letter')} of it "
            f"{agree(row['n'], 'is', 'are')} still to be printed or posted: "
            f"print leaves {them} out, but mark-sent --member would count {them} posted",
            f"withdraw {them}: importune appeal add {pair}, then importune appeal remove {pair}",
        )

    # -- officials ------------------------------------------------------------------------------
    written_to = {official["id"] for _, official, _ in due}
    # Settings another program wrote, read through the check `group set` makes: a paper
    # refuses every PDF, an English that is not one leaves English dates American.
    for key, severity, fix in (
        ("paper", ERROR, "importune group set --paper a4 (or letter)"),
        ("english", WARNING, "importune group set --english en-GB (or another English)"),
    ):
        if not _blank(group.get(key)):
            try:
                records.check_group({key: str(group[key])})
            except InvalidInput as error:
                add(severity, f"bad-{key}", "settings", "group", key, f"the group's {error}", fix)
    try:
        paper = records.group_paper(group)
    except InvalidInput:  # named just above
        paper = "a4"
    for official in sorted(officials.values(), key=lambda o: o["slug"]):
        slug = official["slug"]
        if _blank(official["address"]):
            unreachable = _blank(official["email"]) and _blank(official["fax"])
            how = "; no email or fax either: no way to reach them" if unreachable else ""
            if official["id"] in written_to:
                add(
                    ERROR,
                    "no-address",
                    "officials",
                    slug,
                    "address",
                    f"no postal address, and letters are due to them: they would go out "
                    f"unaddressed{how}",
                    f"importune official edit {slug} --address ADDRESS",
                )
            else:
                add(
                    WARNING,
                    "no-address",
                    "officials",
                    slug,
                    "address",
                    f"no postal address (no letter is due to them yet){how}",
                    f"importune official edit {slug} --address ADDRESS",
                )
            continue
        # As the letters lay it out: name, title, organization, the address, the country.
        block = postal.layout_recipient(
            official["name"] or "", official["title"], official["organization"],
            official["address"], official["country"] or "",
        )  # fmt: skip
        lines = math.ceil(wrapped_lines(block, SMALLEST_EMS[paper]))
        if lines > SMALLEST_LINES[paper]:
            add(
                WARNING,
                "long-address",
                "officials",
                slug,
                "address",
                f"name, title, organization and address take about {lines} lines: a "
                f"{window_envelope(paper)} envelope's window shows {SMALLEST_LINES[paper]} at "
                "8 pt, the smallest print, and the last ones (the country) would be hidden",
                f"importune official edit {slug} with a shorter --title, --organization or "
                "--address",
            )

    # -- members and the group ------------------------------------------------------------------
    for member in members:
        if _blank(member["address"]) and not member["left_on"]:
            add(
                WARNING,
                "no-return-address",
                "members",
                member["slug"],
                "address",
                "no return address: their letters will carry none",
                f"importune member edit {member['slug']} --address ADDRESS",
            )
    # Members' letters still waiting, in one query. A member who left: their printed
    # letters wait for mark-sent if they were posted (the tally is short until then), and
    # letters never printed, left pending by another program that set left_on, would wait
    # for ever. A member still here: letters printed more than UNSENT_DAYS ago and never
    # marked sent were posted, the tally short of them until mark-sent, or forgotten in a
    # drawer; either way, someone should ask.
    by_id = {member["id"]: member for member in members}
    waiting = store.query(
        "SELECT member_id, status, count(DISTINCT case_id || '/' || official_id || '/' || "
        "template || '/' || language) AS n, min(substr(printed_at, 1, 10)) AS first "
        "FROM letters WHERE status IN ('generated', 'printed') AND (member_id IN "
        "(SELECT id FROM members WHERE left_on IS NOT NULL) OR (status = 'printed' AND "
        "substr(printed_at, 1, 10) < ?)) GROUP BY member_id, status ORDER BY member_id, status",
        [(today - dt.timedelta(days=UNSENT_DAYS)).isoformat()],
    )
    for row in waiting:
        member = by_id.get(row["member_id"])
        if member is None:
            continue
        slug, left = member["slug"], member["left_on"]
        them, are = agree(row["n"], "it", "them"), agree(row["n"], "it is", "they are")
        if not left:
            message = (
                f"{count(row['n'], 'letter')} printed more than {UNSENT_DAYS} days ago (the "
                f"first on {row['first']}) {agree(row['n'], 'is', 'are')} not marked sent: the "
                f"tally counts {them} once {are}"
            )
            fix = f"ask them; if they posted {them}: importune mark-sent --member {slug}"
            add(WARNING, "printed-not-sent", "members", slug, None, message, fix)
            continue
        theirs = f"{count(row['n'], 'letter')} of theirs {agree(row['n'], 'is', 'are')}"
        if row["status"] == "printed":
            message = (f"left the group on {left}, yet {theirs} printed and not marked "
                       f"sent: the tally counts {them} once {are}")
            fix = f"if they posted {them}: importune mark-sent --member {slug}"
        else:
            message = f"left the group on {left}, yet {theirs} generated: no one will print {them}"
            fix = (f"withdraw {them}: importune member edit {slug} --back, then importune "
                   f"member remove {slug}")
        add(WARNING, "pending-of-member-who-left", "members", slug, None, message, fix)
    if _blank(group.get("name")) and members:
        add(
            WARNING,
            "no-group-name",
            "settings",
            "group",
            "name",
            "the group has no name: unsigned letters (--unsigned) cannot be signed",
            "importune group set --name NAME",
        )
    if _blank(group.get("address")) and not members and due:
        add(
            WARNING,
            "no-return-address",
            "settings",
            "group",
            "address",
            "no members, so every letter is unsigned and carries the group's return address, "
            "which is not set",
            "importune group set --address ADDRESS",
        )

    # -- templates and the letters due ----------------------------------------------------------
    found.extend(_letters(letters_dir, group, today, due, members[0] if members else None))

    # Errors first; then record by record (a case's findings together), as one fixes them.
    rank = {kind: i for i, kind in enumerate(KINDS)}
    tables = {table: i for i, table in enumerate(_TABLES)}
    found.sort(key=lambda f: (f.severity != ERROR, tables[f.table], f.record, rank[f.kind]))
    return found


def _letters(
    letters_dir: Path,
    group: dict[str, Any],
    today: dt.date,
    due: list[tuple[dict, dict, dict]],
    member: dict | None,
) -> list[Finding]:
    """Templates that fail against samples, then the letters due rendered from their records.

    A letter due is rendered as generate-letters would make it (signed by the
    first member, or unsigned when there are none), so a field a template
    prints that a real record leaves empty is found before a run is refused.
    Not every pair is rendered: every case, every official and every template
    file in at least one letter due, which finds what a record lacks at a
    fraction of the cost (a campaign of 2,000 cases and 10 officials renders
    about 2,000 letters, not 20,000). The same problem in many appeals is one
    finding, naming the first.
    """
    from importune.compose import SAMPLES, Composer, TemplateError
    from importune.errors import ImportuneError

    found: list[Finding] = []
    try:
        composer: Composer = Composer(letters_dir, group, today)
    except TemplateError as error:
        fix = "pass --letters DIR, or run importune init to copy the defaults"
        return [Finding(ERROR, "template", "templates", str(letters_dir), None, str(error), fix)]
    samples = {"group": group} if not _blank(group.get("name")) else {}
    seen: set[str] = set()
    for problem in composer.check({**SAMPLES, **samples}):
        seen.add(problem)
        found.append(
            Finding(
                ERROR,
                "template",
                "templates",
                _template_of(problem, composer),
                None,
                problem,
                "fix the template, then: importune templates check",
            )
        )

    failures: dict[str, list[str]] = defaultdict(list)
    fallbacks: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    rendered: set[tuple[str, Any]] = set()
    for case, official, appeal in due:
        name = f"{case['slug']}/{official['slug']}"
        wanted = Composer.letter_language(appeal, official)
        try:
            relative, language = composer.resolve(appeal["template"], wanted, case["slug"])
            if language != wanted:
                fallbacks[(appeal["template"], wanted, relative)].append(name)
            seen_before = {("case", case["id"]), ("official", official["id"]), ("file", relative)}
            if seen_before <= rendered:
                continue
            rendered |= seen_before
            composer.compose(case, official, member, appeal)
        except ImportuneError as error:  # a template's, or a record the letter cannot lay out
            failures[str(error)].append(name)
    for problem, names in failures.items():
        if problem in seen:
            continue
        more = f" (and {count(len(names) - 1, 'other appeal')})" if len(names) > 1 else ""
        found.append(
            Finding(
                ERROR,
                "letter",
                "appeals",
                names[0],
                "template",
                f"its letter cannot be made{more}: {problem}",
                "fix the record or the template it names, then run importune check",
            )
        )
    for (template, wanted, relative), names in fallbacks.items():
        more = f" (and {count(len(names) - 1, 'other appeal')})" if len(names) > 1 else ""
        found.append(
            Finding(
                WARNING,
                "language",
                "appeals",
                names[0],
                "language",
                f"to be written in {wanted!r}, but there is no "
                f"{template}.{wanted}.txt.j2: the letter will use {relative}{more}",
                f"write {composer.display}/{template}.{wanted}.txt.j2, "
                "or give the appeal the language it will be written in",
            )
        )
    return found


def _date_fix(table: str, record: str, field: str) -> str:
    """The command that sets a date again (an appeal's ``until``: removed and added again)."""
    if table == "appeals":
        case, official = record.split("/")
        return (f"importune appeal remove {case} {official}, then add it again with "
                "--until YYYY-MM-DD")  # fmt: skip
    if field == "released_on":
        return f"importune case edit {record} --released-on YYYY-MM-DD"
    return f"importune case edit {record} --{field.replace('_', '-')} YYYY-MM-DD"


def _template_of(problem: str, composer: Composer) -> str:
    """The template a problem names (``letters/concern.en.txt.j2, line 3: ...``)."""
    prefix = f"{composer.display}/"
    if problem.startswith(prefix):
        head = problem[len(prefix) :]
        for stop in (", line", ":"):
            head = head.split(stop, 1)[0]
        return head
    return composer.display
