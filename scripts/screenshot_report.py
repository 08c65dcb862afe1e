"""Build a sample campaign, write its HTML report and screenshot it, to look at the report.

    python scripts/screenshot_report.py [--cases 8] [--out DIR] [--width 1200] [--height 1600]
                                        [--no-screenshot]

The sample workspace (``DIR/importune.db``, default a new temporary folder) holds
``--cases`` cases (the first is Yusuf Dzhumaev, held from 2001-10-23 to 2011-12-29),
held, released, deceased or of unknown fate, each with its events (arrested,
charged, sentenced, transferred, hunger strike, released, notes), officials,
appeals, members, and letters generated, printed and sent over the years.
Records go in through ``importune.store``; the letters' and events' rows are
written straight into the file with past dates, since a campaign's history cannot
be made today through the commands (the report only reads those tables).

It then runs ``importune report --html DIR/report.html`` as a child process and,
when Chromium (or Chrome) is installed, takes a headless screenshot of the page to
``DIR/report.png``. Open the PNG (or the HTML) and look: the detention timeline,
letters over time, the table. Try ``--cases 1`` and ``--cases 40`` too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from importune import workspace as ws  # noqa: E402
from importune.store import open_store  # noqa: E402

# The seed page's case, then invented people: the sample gives its cases invented
# dates and fates, which must never be read as a real prisoner's.
PRISONERS = [
    ("Yusuf Dzhumaev", "UZ", "Karakul"),
    ("Parisa Karimi", "IR", "Tehran"),
    ("Tran Van Minh", "VN", "Hanoi"),
    ("Andrei Sakovich", "BY", "Minsk"),
    ("Omar Hassan Fathy", "EG", "Cairo"),
    ("Mehmet Yildiz", "TR", "Istanbul"),
    ("Noura al-Harbi", "SA", "Riyadh"),
    ("Volha Miklashevich", "BY", "Gomel"),
    ("Tesfaye Haile", "ER", "Asmara"),
    ("Adil Tursun", "CN", "Urumqi"),
    ("Dilnoza Yusupova-Karimova, poet and teacher of the Samarkand region", "UZ", "Samarkand"),
]
STATUSES = ["detained", "released", "detained", "released", "detained", "unknown", "deceased"]
NOTES = {
    "transferred": ["to a prison colony far from the family", "to the capital's pre-trial centre"],
    "hunger-strike": ["refusing food to protest the conditions of detention", None],
    "note": ["appeal hearing postponed again", "family allowed a first visit in two years"],
}


def build(folder: Path, cases: int, seed: int = 5, today: dt.date | None = None) -> Path:
    """The sample workspace in ``folder``; its database's path."""
    rng = random.Random(seed)
    today = today or dt.date.today()
    db = folder / ws.DB_NAME
    with open_store(db, create=True) as store:
        store.set_group(name="Global Importune", address="PO Box 1\nSpringfield")
        rows = []
        for i in range(cases):
            name, country, town = PRISONERS[i % len(PRISONERS)]
            if i >= len(PRISONERS):
                name = f"{name} {i // len(PRISONERS) + 1}"
            if i == 0:
                detained, status, released = dt.date(2001, 10, 23), "released", "2011-12-29"
            else:
                detained = today - dt.timedelta(days=rng.randint(200, 365 * 14))
                status = STATUSES[i % len(STATUSES)]
                released = None
                if status == "released":
                    days = rng.randint(150, max((today - detained).days - 30, 151))
                    released = min(detained + dt.timedelta(days=days), today).isoformat()
            rows.append(
                {
                    "name": name,
                    "country": country,
                    "location": town,
                    "slug": f"case-{i:02d}",
                    "detained_on": detained.isoformat(),
                    "status": status,
                    "released_on": released,
                    "charges": "undermining the constitutional order",
                }
            )
        store.add_many("cases", rows)
        store.add_many(
            "officials",
            [
                {
                    "name": f"Official {i}",
                    "slug": f"official-{i}",
                    "country": country,
                    "address": f"Independence Avenue {i}\nCapital City",
                    "title": "Prosecutor General",
                }
                for i, country in enumerate(sorted({r["country"] for r in rows}))
            ],
        )
        officials = {o["country"]: o["id"] for o in store.list("officials")}
        members = store.add_many(
            "members",
            [{"name": f"Member {i}", "address": f"{i} Elm Street\nSpringfield"} for i in range(6)],
        )
        cases_made = store.list("cases")
        store.add_many(
            "appeals",
            [{"case": c["slug"], "official": str(officials[c["country"]])} for c in cases_made],
        )
        with store.atomic():
            for case in cases_made:
                _history(store, case, rng, today)
                _letters(store, case, officials[case["country"]], members, rng, today)
    ws.copy_default_letters(folder / ws.LETTERS_DIR)
    return db


def _history(store, case, rng: random.Random, today: dt.date) -> None:  # type: ignore[no-untyped-def]
    start = dt.date.fromisoformat(case["detained_on"])
    end = dt.date.fromisoformat(case["released_on"]) if case["released_on"] else today
    span = (end - start).days
    events = [(start, "arrested", "arrested at home by security officers")]
    if span > 60:
        events.append((start + dt.timedelta(days=rng.randint(20, 60)), "charged", None))
    if span > 300:
        events.append((start + dt.timedelta(days=rng.randint(120, 300)), "sentenced", None))
    for _ in range(rng.randint(0, 3)):
        if span > 400:
            kind = rng.choice(["transferred", "hunger-strike", "note"])
            day = start + dt.timedelta(days=rng.randint(300, span - 30))
            events.append((day, kind, rng.choice(NOTES[kind])))
    if case["released_on"]:
        events.append((end, "released", None))
    store.db.conn.executemany(
        "INSERT INTO events (case_id, date, kind, note) VALUES (?, ?, ?, ?)",
        [(case["id"], day.isoformat(), kind, note) for day, kind, note in events],
    )


def _letters(store, case, official: int, members, rng: random.Random, today: dt.date) -> None:  # type: ignore[no-untyped-def]
    """A round of letters every few months from the detention to the release (or today)."""
    start = dt.date.fromisoformat(case["detained_on"]) + dt.timedelta(days=70)
    end = dt.date.fromisoformat(case["released_on"]) if case["released_on"] else today
    day, rows = start, []
    while day < end:
        for member in members:
            if rng.random() < 0.35:
                continue
            printed = day + dt.timedelta(days=rng.randint(1, 20))
            sent = printed + dt.timedelta(days=rng.randint(0, 10))
            status = rng.choice(["sent", "sent", "sent", "printed", "generated"])
            if printed > today:
                status = "generated"
            elif sent > today and status == "sent":
                status = "printed"
            template = f"round-{day.isoformat()}"  # one letter per round and member
            rows.append(
                (
                    case["id"],
                    official,
                    member["id"],
                    template,
                    "en",
                    "txt",
                    f"out/{case['slug']}/{template}.txt",
                    "0" * 64,
                    day.isoformat(),
                    status,
                    f"{day.isoformat()}T10:00:00+00:00",
                    f"{printed.isoformat()}T18:00:00+00:00" if status != "generated" else None,
                    sent.isoformat() if status == "sent" else None,
                )
            )
        day += dt.timedelta(days=rng.randint(60, 150))
    store.db.conn.executemany(
        "INSERT INTO letters (case_id, official_id, member_id, template, language, format, path, "
        "sha256, dated, status, generated_at, printed_at, sent_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--out", type=Path, help="A new folder (default: a temporary one).")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=1600)
    parser.add_argument("--no-screenshot", action="store_true")
    args = parser.parse_args()
    folder = args.out or Path(tempfile.mkdtemp(prefix="importune-report-"))
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / ws.DB_NAME).exists():
        sys.exit(f"{folder / ws.DB_NAME} exists already: give a new --out folder")
    db = build(folder, args.cases)
    page = folder / "report.html"
    subprocess.run(
        [sys.executable, "-m", "importune", "--db", str(db), "report", "--html", str(page)],
        check=True,
        cwd=ROOT,
    )
    print(f"report: {page}")
    browser = None if args.no_screenshot else chromium()
    if browser is None:
        if not args.no_screenshot:
            print("no chromium found: open the HTML file in a browser instead")
        return
    png = folder / "report.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={png}",
            f"--window-size={args.width},{args.height}",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    print(f"screenshot: {png}")


if __name__ == "__main__":
    main()
