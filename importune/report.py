"""The campaign's figures: days held, appeals and letters per case, the release tally,
and the HTML report with its charts.

Plain Python over the store: nothing here prints or exits. The figures come from a
handful of queries whatever the number of cases (cases, active appeals, letters,
events), never one query per case.

A *letter* is counted once, whatever the number of formats it was written in: the
``letters`` table holds a row per (case, official, member, template, language,
format) and a letter's status is shared by its formats, so the figures group the
rows by everything but the format. A letter is

- *generated* when it is on record at all (printed, sent and withdrawn ones too:
  they were written);
- *printed* when ``importune print`` printed it (any format has ``printed_at``),
  whatever became of it after;
- *sent* when it was marked sent (it reached the post);
- *withdrawn* when it was stopped before it went out: its prisoner freed (or dead), its
  appeal removed, or its member gone from the group before printing it.

A case is held from ``detained_on`` to ``released_on``; while it is held (status
``detained`` or ``unknown``, no release recorded) to today. A case that ended
otherwise (``deceased``) with no release date is held to its last recorded event,
when there is one after the detention; without a ``detained_on`` the days held are
unknown (None).

The HTML report is one self-contained page: inline CSS, inline SVG charts whose
geometry is computed here, no script and nothing fetched. It is rendered from
``importune/templates/report.html.j2`` with autoescaping on, so a name such as
``<script>`` is shown as text.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importune import records
from importune.errors import InvalidInput
from importune.wording import count

if TYPE_CHECKING:
    from importune.store import Store

COUNTED = (
    "letters: one per case, official, member, template and language, whatever the number "
    "of formats; generated = every letter on record, printed = printed with importune print "
    "(whatever followed), sent = marked sent, withdrawn = stopped before it was sent (a "
    "release, a death, its appeal removed, or its member gone before printing it)"
)
"""What the report counts, said in its JSON so that nobody has to guess."""

STATUS_ORDER = ("detained", "released", "deceased", "unknown")

# Every letter on record, one row per letter (its formats grouped), for the cases asked.
_LETTERS = """
    SELECT case_id, official_id, member_id,
           min(dated) AS dated,
           substr(min(generated_at), 1, 10) AS generated_on,
           substr(max(printed_at), 1, 10) AS printed_on,
           substr(max(sent_at), 1, 10) AS sent_on,
           max(printed_at IS NOT NULL) AS printed,
           max(status = 'sent' OR sent_at IS NOT NULL) AS sent,
           max(status = 'withdrawn') AND NOT max(status = 'sent' OR sent_at IS NOT NULL)
               AS withdrawn
    FROM letters {where}
    GROUP BY case_id, official_id, coalesce(member_id, 0), template, language
"""


def _day(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(str(value)[:10]) if value else None


def held_until(
    case: Mapping[str, Any], today: dt.date, last_event: str | None = None
) -> dt.date | None:
    """The last day a case was (or is) held, by the rules in the module's docstring."""
    if not case.get("detained_on"):
        return None
    if case.get("released_on"):
        return _day(case["released_on"])
    if case.get("status") in ("detained", "unknown"):
        return today
    if last_event and last_event >= case["detained_on"]:
        return _day(last_event)
    return None


def days_detained(
    case: Mapping[str, Any], today: dt.date, last_event: str | None = None
) -> int | None:
    """Days from ``detained_on`` to the release, or to today while held.

    Held from 2001-10-23 to 2011-12-29 is 3,719 days. None without ``detained_on``.
    """
    end = held_until(case, today, last_event)
    if end is None:
        return None
    return max((end - _day(case["detained_on"])).days, 0)  # type: ignore[operator]


# -- the figures -----------------------------------------------------------------------------


def _cases(store: Store) -> list[dict[str, Any]]:
    """Every case, oldest detention first (cases without a date last), in one query."""
    return store.query(
        "SELECT id, slug, name, native_name, country, location, status, detained_on, "
        "released_on FROM cases ORDER BY detained_on IS NULL, detained_on, slug"
    )


def _last_events(store: Store) -> dict[int, str]:
    return {
        row["case_id"]: row["last"]
        for row in store.query("SELECT case_id, max(date) AS last FROM events GROUP BY case_id")
    }


def letter_counts(store: Store) -> list[dict[str, Any]]:
    """Letters counted by case and by the months they were generated, printed and sent.

    The one pass over the ``letters`` table that the figures and the chart share: rows
    of ``case_id, generated, printed, sent`` (months, ``YYYY-MM``, or None),
    ``is_printed, is_sent, is_withdrawn`` and ``n``, the number of letters.
    """
    return store.query(
        "SELECT case_id, substr(generated_on, 1, 7) AS generated, "
        "substr(printed_on, 1, 7) AS printed, substr(sent_on, 1, 7) AS sent, "
        "printed AS is_printed, sent AS is_sent, withdrawn AS is_withdrawn, count(*) AS n "
        f"FROM ({_LETTERS.format(where='')}) GROUP BY 1, 2, 3, 4, 5, 6, 7"
    )


def figures(
    store: Store, today: dt.date | None = None, counts: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The report: ``{"cases": [...], "totals": {...}}`` with what is counted and when.

    Five queries, whatever the number of cases; ``counts`` (from :func:`letter_counts`)
    saves the one over the letters when the caller has it already.
    """
    today = today or dt.date.today()
    cases = _cases(store)
    appeals = {
        row["case_id"]: row["n"]
        for row in store.query(
            "SELECT case_id, count(*) AS n FROM appeals WHERE active GROUP BY case_id"
        )
    }
    letters: dict[int, dict[str, int]] = {}
    for row in letter_counts(store) if counts is None else counts:
        sums = letters.setdefault(
            row["case_id"], {"generated": 0, "printed": 0, "sent": 0, "withdrawn": 0}
        )
        sums["generated"] += row["n"]
        sums["printed"] += row["n"] if row["is_printed"] else 0
        sums["sent"] += row["n"] if row["is_sent"] else 0
        sums["withdrawn"] += row["n"] if row["is_withdrawn"] else 0
    last_events = _last_events(store)
    rows = []
    for case in cases:
        counts = letters.get(case["id"], {})
        end = held_until(case, today, last_events.get(case["id"]))
        rows.append(
            {
                "slug": case["slug"],
                "name": case["name"],
                "country": case["country"],
                "status": case["status"],
                "detained_on": case["detained_on"],
                "released_on": case["released_on"],
                "held_until": end.isoformat() if end else None,
                "days_detained": days_detained(case, today, last_events.get(case["id"])),
                "appeals": appeals.get(case["id"], 0),
                "letters_generated": counts.get("generated", 0),
                "letters_printed": counts.get("printed", 0),
                "letters_sent": counts.get("sent", 0),
                "letters_withdrawn": counts.get("withdrawn", 0),
            }
        )
    written_to = store.query("SELECT count(DISTINCT official_id) AS n FROM letters")[0]["n"]
    return {
        "today": today.isoformat(),
        "counted": COUNTED,
        "cases": rows,
        "totals": totals(rows, officials=written_to),
    }


def totals(rows: Sequence[Mapping[str, Any]], *, officials: int = 0) -> dict[str, Any]:
    """The campaign's totals: cases by status, days held, appeals and letters."""
    result: dict[str, Any] = {"cases": len(rows)}
    for status in STATUS_ORDER:
        result[status] = sum(1 for row in rows if row["status"] == status)
    result["days_detained"] = sum(row["days_detained"] or 0 for row in rows)
    for key in ("appeals", "letters_generated", "letters_printed", "letters_sent",
                "letters_withdrawn"):  # fmt: skip
        result[key] = sum(row[key] for row in rows)
    result["officials_written_to"] = officials
    return result


def tally(store: Store, case: Mapping[str, Any]) -> dict[str, Any]:
    """What the group did for one case, as the release announcement tells it.

    Letters generated, printed and sent; ``officials``: how many officials the letters
    went to (those of the letters sent, once any was sent, else of every letter), and
    ``countries`` where those officials sit; ``members`` who signed the letters sent;
    ``days_detained``; ``years``:
    whole years from the first letter's date to the release (or today), and
    ``first_letter``, that date.
    """
    from importune.compose import years_between

    letters = store.query(
        "SELECT l.*, o.country FROM ("
        + _LETTERS.format(where="WHERE case_id = ?")
        + ") l JOIN officials o ON o.id = l.official_id ORDER BY l.dated",
        [case["id"]],
    )
    sent = [row for row in letters if row["sent"]]
    counted = sent or letters
    first = min((row["dated"] for row in letters), default=None)
    end = _day(case.get("released_on")) or dt.date.today()
    countries = sorted({row["country"] for row in counted if row["country"]})
    return {
        "letters_generated": len(letters),
        "letters_printed": sum(1 for row in letters if row["printed"]),
        "letters_sent": len(sent),
        "officials": len({row["official_id"] for row in counted}),
        "countries": countries,
        "members": len({row["member_id"] for row in sent if row["member_id"] is not None}),
        "first_letter": first,
        "days_detained": days_detained(case, dt.date.today()),
        "years": years_between(_day(first), end) if first else 0,  # type: ignore[arg-type]
    }


def events(store: Store, case_id: int | None = None) -> list[dict[str, Any]]:
    """A case's history (or every case's), oldest first."""
    where = "WHERE case_id = ? " if case_id is not None else ""
    return store.query(
        f"SELECT id, case_id, date, kind, note FROM events {where}ORDER BY date, id",
        [case_id] if case_id is not None else [],
    )


def letters_over_time(
    store: Store, counts: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Letters generated, printed and sent per month: ``{"month": "2002-01", ...}``, in order.

    A letter counts in the month it was (last) generated, printed and sent.
    """
    months: dict[str, dict[str, Any]] = {}
    for row in letter_counts(store) if counts is None else counts:
        for what in ("generated", "printed", "sent"):
            month = row[what]
            if month is None or (what == "sent" and not row["is_sent"]):
                continue
            bucket = months.setdefault(
                month, {"month": month, "generated": 0, "printed": 0, "sent": 0}
            )
            bucket[what] += row["n"]
    return [months[key] for key in sorted(months)]


# -- the charts ------------------------------------------------------------------------------

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

STATUS_COLOURS = {
    "detained": "#c2410c",
    "released": "#0f766e",
    "deceased": "#44403c",
    "unknown": "#a8a29e",
}
STATUS_LABELS = {
    "detained": "held (to today)",
    "released": "held, then released",
    "deceased": "held, died in detention",
    "unknown": "fate unknown (to today)",
}
# Event marks: a colour and a shape per kind (a kind the list does not know is a note).
EVENT_STYLES = {
    "arrested": ("#7f1d1d", "square"),
    "charged": ("#b45309", "diamond"),
    "sentenced": ("#111827", "diamond"),
    "transferred": ("#1d4ed8", "circle"),
    "hunger-strike": ("#be185d", "triangle"),
    "released": ("#15803d", "circle"),
    "note": ("#6b7280", "circle"),
}
LETTER_COLOURS = {"generated": "#cbd5e1", "printed": "#60a5fa", "sent": "#0f766e"}

WIDTH = 1000
LABEL_WIDTH = 250
RIGHT_WIDTH = 140  # room for "(no detention date)"
ROW_HEIGHT = 36
AXIS_HEIGHT = 28


@dataclass
class Tick:
    x: float
    label: str
    major: bool = True


@dataclass
class Mark:
    x: float
    y: float
    colour: str
    shape: str
    kind: str
    title: str


@dataclass
class Row:
    y: float
    name: str
    full_name: str
    sub: str
    status: str
    colour: str
    x0: float | None = None
    x1: float | None = None
    ongoing: bool = False
    days: str = ""
    years: str = ""
    title: str = ""
    marks: list[Mark] = field(default_factory=list)


@dataclass
class Timeline:
    width: int
    height: int
    plot_left: float
    plot_right: float
    top: float
    bottom: float
    ticks: list[Tick]
    rows: list[Row]
    today_x: float | None
    legend_statuses: list[tuple[str, str]]
    legend_events: list[tuple[str, str, str]]


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass
class LetterChart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    top: float
    bottom: float
    y_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str, str]]
    bars: list[Bar]
    by: str
    legend: list[tuple[str, str, int]]


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def time_ticks(start: dt.date, end: dt.date, most: int = 12) -> list[tuple[dt.date, str]]:
    """Dates for a time axis from ``start`` to ``end``: whole years, or months for short spans.

    The step is the smallest of 1, 2, 3 or 6 months, or 1, 2, 5, 10 or 20 years,
    that gives at most ``most`` ticks; labels are ``2005`` for years, ``Mar 2005``
    (the year only at January and the first tick) for months.
    """
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    step = next((s for s in (1, 2, 3, 6, 12, 24, 60, 120, 240) if months / s <= most), 480)
    first = dt.date(start.year, start.month, 1)
    if step >= 12:
        first = dt.date(start.year - start.year % (step // 12), 1, 1)
    else:
        first = _add_months(first, -((first.month - 1) % step))
    ticks = []
    day = first
    while day <= end:
        if day >= start:
            if step >= 12:
                label = str(day.year)
            elif day.month == 1 or not ticks:
                label = f"{MONTHS[day.month - 1]} {day.year}"
            else:
                label = MONTHS[day.month - 1]
            ticks.append((day, label))
        day = _add_months(day, step)
    return ticks


def nice_ceiling(value: float) -> tuple[int, int]:
    """An axis maximum at or above ``value`` and its step: 1, 2 or 5 times a power of ten,
    four or five steps up."""
    if value <= 0:
        return 1, 1
    for power in range(0, 12):
        for base in (1, 2, 5):
            step = base * 10**power
            if step * 5 >= value:
                return int(step * math.ceil(value / step)), step
    return int(value), int(value)


def _shorten(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def _duration(days: int | None) -> tuple[str, str]:
    """``("3,719 days", "10 y 2 m")``: the days held, and in years and months past a year."""
    if days is None:
        return "", ""
    years, rest = divmod(days, 365.25)
    months = min(round(rest / 30.44), 11)
    return count(days, "day"), (
        f"{years:.0f} yr {months} mo" if years >= 1 else ""
    )


def timeline(
    rows: Sequence[Mapping[str, Any]],
    history: Sequence[Mapping[str, Any]],
    cases: Mapping[str, Mapping[str, Any]],
    today: dt.date,
) -> Timeline:
    """The detention timeline: a row per case, a bar from detention to release (or
    today), a mark per event; dates to x by one linear scale over every case."""
    by_case: dict[int, list[Mapping[str, Any]]] = {}
    for event in history:
        by_case.setdefault(event["case_id"], []).append(event)
    dates = [_day(r["detained_on"]) for r in rows if r["detained_on"]]
    dates += [_day(r["held_until"]) for r in rows if r["held_until"]]
    dates += [_day(e["date"]) for e in history]
    dates = [d for d in dates if d is not None]
    # Today is on the axis while a case is held (its bar runs to today), not otherwise:
    # a campaign that ended years ago keeps its whole width for its bars.
    ongoing = any(r["detained_on"] and r["held_until"] == today.isoformat() for r in rows)
    if ongoing or not dates:
        dates.append(today)
    start = min(dates, default=today - dt.timedelta(days=365))
    end = max(dates)
    # A margin of 2% each side, and at least a month in all: one case held for a day still
    # shows a bar.
    span = max((end - start).days, 30)
    pad = max(round(span * 0.02), 3)
    start, end = start - dt.timedelta(days=pad), end + dt.timedelta(days=pad)
    plot_left, plot_right = LABEL_WIDTH, WIDTH - RIGHT_WIDTH
    top = AXIS_HEIGHT + 8

    def x(day: dt.date) -> float:
        return round(
            plot_left + (day - start).days / (end - start).days * (plot_right - plot_left), 1
        )

    chart_rows = []
    for i, row in enumerate(rows):
        case = cases[row["slug"]]
        y = top + i * ROW_HEIGHT
        country = records.country_name(row["country"]) if row["country"] else ""
        sub = " · ".join(p for p in (country, row["status"]) if p)
        item = Row(
            y=y,
            name=_shorten(row["name"], 32),
            full_name=row["name"],
            sub=sub,
            status=row["status"],
            colour=STATUS_COLOURS.get(row["status"], STATUS_COLOURS["unknown"]),
        )
        item.days, item.years = _duration(row["days_detained"])
        if row["detained_on"] and row["held_until"]:
            item.x0 = x(_day(row["detained_on"]))  # type: ignore[arg-type]
            item.x1 = max(x(_day(row["held_until"])), item.x0 + 2)  # type: ignore[arg-type]
            item.ongoing = not row["released_on"] and row["status"] in ("detained", "unknown")
            until = "today" if item.ongoing else row["held_until"]
            item.title = f"{row['name']}: held from {row['detained_on']} to {until}"
        elif not row["detained_on"]:
            item.days, item.years = "not known", "(no detention date)"
        for event in by_case.get(case["id"], []):
            colour, shape = EVENT_STYLES.get(event["kind"], EVENT_STYLES["note"])
            note = f": {event['note']}" if event["note"] else ""
            item.marks.append(
                Mark(
                    x=x(_day(event["date"])),  # type: ignore[arg-type]
                    y=y + ROW_HEIGHT / 2,
                    colour=colour,
                    shape=shape,
                    kind=event["kind"],
                    title=f"{event['date']} {event['kind'].replace('-', ' ')}{note}",
                )
            )
        chart_rows.append(item)
    bottom = top + max(len(rows), 1) * ROW_HEIGHT
    kinds = [e["kind"] for e in history]
    legend_events = [
        (kind.replace("-", " "), *EVENT_STYLES[kind]) for kind in EVENT_STYLES if kind in kinds
    ]
    if any(k not in EVENT_STYLES for k in kinds) and not any(k == "note" for k in kinds):
        legend_events.append(("other", *EVENT_STYLES["note"]))
    statuses = {r["status"] for r in rows}
    return Timeline(
        width=WIDTH,
        height=int(bottom + AXIS_HEIGHT + 4),
        plot_left=plot_left,
        plot_right=plot_right,
        top=top,
        bottom=bottom,
        ticks=[Tick(x(day), label) for day, label in time_ticks(start, end)],
        rows=chart_rows,
        today_x=x(today) if ongoing else None,
        legend_statuses=[
            (STATUS_LABELS[s], STATUS_COLOURS[s]) for s in STATUS_ORDER if s in statuses
        ],
        legend_events=legend_events,
    )


def letter_chart(months: Sequence[Mapping[str, Any]]) -> LetterChart | None:
    """Letters generated, printed and sent per month (per year over more than two years),
    as grouped bars; None when there are no letters."""
    if not months:
        return None
    first = dt.date.fromisoformat(months[0]["month"] + "-01")
    last = dt.date.fromisoformat(months[-1]["month"] + "-01")
    span = (last.year - first.year) * 12 + last.month - first.month + 1
    by = "month" if span <= 24 else "year"
    if span < 6:  # a few months at least, so that one month's letters look like a month's
        first = _add_months(last, -5)
    periods: dict[str, dict[str, int]] = {}
    if by == "month":
        day = first
        while day <= last:
            periods[day.strftime("%Y-%m")] = {"generated": 0, "printed": 0, "sent": 0}
            day = _add_months(day, 1)
    else:
        for year in range(first.year, last.year + 1):
            periods[str(year)] = {"generated": 0, "printed": 0, "sent": 0}
    for month in months:
        key = month["month"] if by == "month" else month["month"][:4]
        for what in ("generated", "printed", "sent"):
            periods[key][what] += month[what]
    peak = max(max(p.values()) for p in periods.values())
    top_value, step = nice_ceiling(max(peak, 4))
    height = 300
    top, bottom = 16.0, height - 44.0
    plot_left, plot_right = 70.0, WIDTH - 20.0
    slot = (plot_right - plot_left) / len(periods)
    bar_width = min(slot * 0.8 / 3, 28.0)

    def y(value: int) -> float:
        return round(bottom - value / top_value * (bottom - top), 1)

    bars, labels = [], []
    every = max(1, math.ceil(len(periods) / 16))
    for i, (key, counts) in enumerate(periods.items()):
        centre = plot_left + slot * (i + 0.5)
        for j, what in enumerate(("generated", "printed", "sent")):
            value = counts[what]
            left = centre + (j - 1.5) * bar_width
            bars.append(
                Bar(
                    x=round(left, 1),
                    y=y(value),
                    width=round(bar_width - 1, 1),
                    height=round(bottom - y(value), 1),
                    colour=LETTER_COLOURS[what],
                    title=f"{key}: {value:,} {what}",
                )
            )
        if i % every == 0:
            if by == "month":
                year, month = key.split("-")
                show_year = i == 0 or month == "01"
                labels.append((round(centre, 1), MONTHS[int(month) - 1], year if show_year else ""))
            else:
                labels.append((round(centre, 1), key, ""))
    totals = {w: sum(p[w] for p in periods.values()) for w in ("generated", "printed", "sent")}
    return LetterChart(
        width=WIDTH,
        height=height,
        plot_left=plot_left,
        plot_right=plot_right,
        top=top,
        bottom=bottom,
        y_ticks=[(y(v), f"{v:,}") for v in range(0, top_value + 1, step)],
        x_labels=labels,
        bars=bars,
        by=by,
        legend=[(w, LETTER_COLOURS[w], totals[w]) for w in ("generated", "printed", "sent")],
    )


# -- the page -------------------------------------------------------------------------------


def html(store: Store, today: dt.date | None = None) -> str:
    """The whole HTML report: summary, detention timeline, letters over time, the table."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    today = today or dt.date.today()
    counts = letter_counts(store)
    report = figures(store, today, counts)
    cases = {case["slug"]: case for case in _cases(store)}
    history = events(store)
    names = {case["id"]: case["name"] for case in cases.values()}
    env = Environment(
        loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = lambda n: f"{n:,}" if isinstance(n, int) else ("" if n is None else n)
    group = store.group()
    return env.get_template("report.html.j2").render(
        group=group,
        today=today.isoformat(),
        report=report,
        totals=report["totals"],
        timeline=timeline(report["cases"], history, cases, today),
        letters=letter_chart(letters_over_time(store, counts)),
        history=[dict(event, case=names.get(event["case_id"], "")) for event in history],
        years=round(report["totals"]["days_detained"] / 365.25),
        status_colours=STATUS_COLOURS,
    )


def write_html(store: Store, path: Path, today: dt.date | None = None) -> None:
    """Write the HTML report to ``path`` whole or not at all."""
    from importune.transfer import write_file

    path = Path(path)
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder: give a file name, e.g. {path / 'report.html'}")
    write_file(path, html(store, today))


def check_released(case: Mapping[str, Any]) -> None:
    """Only a released case has a release to announce."""
    if case["status"] != "released":
        raise InvalidInput(
            f"case {case['slug']!r} is not released (status {case['status']}): "
            f"record the release first: importune case release {case['slug']} --on DATE"
        )


@dataclass
class Announcement:
    """A case's release announcement: its text, and the language it is written in (the
    one asked for, else English when the letters folder has no template in it)."""

    text: str
    language: str
    template: str  # the template it was rendered from, relative to the letters folder
    asked: str  # the language asked for


def announcement(
    store: Store,
    ref: str,
    letters_dir: Path,
    today: dt.date | None = None,
    language: str | None = None,
) -> Announcement:
    """The release announcement of one case, rendered from ``announce`` in the letters
    folder, in ``language`` (``announce.<language>.md.j2``, else the English one).

    The template gets the case, its events (oldest first), the tally and the group.
    """
    from importune.compose import DEFAULT_LANGUAGE, Composer

    case = store.get("cases", ref)
    check_released(case)
    group = store.group()
    if not group.get("name"):
        raise InvalidInput(
            "the announcement is signed with the group's name, which is not set: "
            "run 'importune group set --name NAME'"
        )
    composer = Composer(letters_dir, group, today or dt.date.today())
    asked = records.parse_language(language, "--language") if language else DEFAULT_LANGUAGE
    template, found = composer.find_named("announce", asked, case["slug"])
    context = {"case": case, "events": events(store, case["id"]), "tally": tally(store, case),
               "language": found}  # fmt: skip
    return Announcement(composer.render_named(template, context), found, template, asked)
