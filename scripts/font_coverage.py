"""Write ``importune/fonts/coverage.json``: the characters of each font importune ships.

    python scripts/font_coverage.py

Run it after adding, removing or updating a font in ``importune/fonts/``. A run then
knows what those fonts can print without loading fontTools (see
``importune.formats.pdf.COVERAGE``); ``tests/test_pdf_layout.py`` reads every font
again and fails while the file is out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from importune.formats.pdf import COVERAGE, FONT_SUFFIXES, SHIPPED_FONTS, ranges, read_cmap


def main() -> None:
    fonts = sorted(p for p in SHIPPED_FONTS.iterdir() if p.suffix.lower() in FONT_SUFFIXES)
    coverage = {
        path.name: {"size": path.stat().st_size, "ranges": ranges(read_cmap(path))}
        for path in fonts
    }
    target = SHIPPED_FONTS / COVERAGE
    target.write_text(json.dumps(coverage, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{target}: {len(coverage)} fonts")


if __name__ == "__main__":
    main()
