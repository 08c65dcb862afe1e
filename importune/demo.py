"""The built-in sample: the case the project grew from, and a workspace to show it.

Yusuf Dzhumaev, an Uzbek poet from Karakul, was arrested on 23 October 2001 and
released on 29 December 2011 after years of letters (see the seed page in the
project's shared folder). The demo shows him as the group first wrote for him:
detained, with two officials to write to and one member to sign.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from importune import workspace as ws
from importune.generate import Options, generate
from importune.store import open_store

GROUP = {"name": "Global Importune", "address": "PO Box 1\nSpringfield", "email": None}

CASE = {
    "name": "Yusuf Dzhumaev",
    "native_name": "Юсуф Джумаев",
    "country": "UZ",
    "location": "Karakul, Bukhara region",
    "prison": "National Security Service detention facility, Bukhara",
    "detained_on": "2001-10-23",
    "charges": "undermining the constitutional order",
    "summary": (
        "An Uzbek poet and father of six, arrested at his home in Karakul on 23 October 2001 "
        "by officers of the National Security Service (SNB), who confiscated his poems, his "
        "daughter's poems and books by Uzbek writers. He was reportedly tortured in the "
        "basement of the SNB detention facility in Bukhara. Human rights defenders in "
        "Uzbekistan believe he was arrested for openly criticising local officials in the "
        "Karakul district and accusing some of them of corruption."
    ),
    "language": "uz",
}

OFFICIALS = [
    {
        "name": "Prosecutor General of the Republic of Uzbekistan",
        "slug": "prosecutor-general",
        "organization": "General Prosecutor's Office of the Republic of Uzbekistan",
        "country": "UZ",
        "address": "ul. Gulyamova 66\nTashkent 100047",
        "salutation": "Уважаемый Генеральный прокурор",
        "language": "ru",
    },
    {
        "name": "Ambassador of the Republic of Uzbekistan",
        "slug": "ambassador",
        "organization": "Embassy of the Republic of Uzbekistan",
        "country": "US",
        "address": "1746 Massachusetts Avenue NW\nWashington, DC 20036",
        "salutation": "Your Excellency",
        "email": "info@uzbekistan.org",
        "language": "en",
    },
]

# Her country ends her return address: her letter to Tashkent is posted abroad.
MEMBER = {"name": "Amelia Hart", "address": "14 Elm Street\nSpringfield, IL 62701\nUSA"}


@dataclass
class Demo:
    """Where the demo put everything."""

    folder: Path
    db: Path
    letters_dir: Path
    out: Path
    files: dict[str, list[Path]] = field(default_factory=dict)


def build(folder: Path, today: dt.date | None = None) -> Demo:
    """Build the sample workspace in ``folder`` and write its letters as text and PDF."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / ws.DB_NAME
    letters_dir = folder / ws.LETTERS_DIR
    out = folder / ws.OUT_DIR
    with open_store(db, create=True) as store:
        store.set_group(**GROUP)
        case = store.add("cases", CASE)
        for official in OFFICIALS:
            store.add("officials", official)
            store.add("appeals", {"case": case["slug"], "official": official["slug"]})
        store.add("members", MEMBER)
        ws.copy_default_letters(letters_dir)
        demo = Demo(folder, db, letters_dir, out)
        for fmt in ("txt", "pdf"):
            day = today or dt.date.today()
            options = Options(out=out, letters_dir=letters_dir, fmt=fmt, today=day)
            outcome = generate(store, options)
            demo.files[fmt] = [folder / entry["path"] for entry in outcome.letters]
    return demo
