"""How fast ``importune import cases`` takes a large spreadsheet, and that it is one transaction.

    .venv/bin/python benchmarks/import_cases.py [--rows 10000] [--seed 1] [--keep DIR]

It writes a CSV of N cases as Excel saves it (byte-order mark, CRLF, quoted
multi-line cells), with names in Latin (with diacritics), Cyrillic, Arabic,
Persian, Chinese, Vietnamese and Georgian, countries given as codes and as
English names, and imports it with the real command line, in a new process,
into a new workspace. It prints the wall time of that process and the rows per
second, next to the time of a command that does no work (Python starting,
Typer building its commands, the database opened), and checks the count.

One transaction, shown from outside: the benchmark holds a read snapshot of
the workspace while importune writes, so SQLite keeps importune's whole
write-ahead log. Every transaction ends in exactly one "commit frame" of that
log (a frame whose header records the database size after the commit); the
benchmark reads the log and counts them.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from slugify import slugify

IMPORTUNE = [sys.executable, "-m", "importune"]

# (country as written in the file, first names, family names, native first, native family)
PEOPLE = [
    ("Uzbekistan", ["Yusuf", "Dilnoza", "Rustam", "Gulnora", "Azamat", "Nodira", "Bakhtiyor",
                    "Mukhabbat", "Sanjar", "Zulfiya"],
     ["Dzhumaev", "Karimova", "Yuldashev", "Rakhimova", "Tursunov", "Saidova", "Ergashev"],
     None, None),
    ("RU", ["Ольга", "Алексей", "Мария", "Дмитрий", "Наталья", "Сергей", "Екатерина", "Игорь",
            "Людмила", "Владимир"],
     ["Петрова", "Навальный", "Алехина", "Кара-Мурза", "Горинов", "Скочиленко", "Яшин"],
     None, None),
    ("Iran", ["Narges", "Nasrin", "Toomaj", "Sepideh", "Reza", "Mahvash", "Fariba", "Behnam"],
     ["Mohammadi", "Sotoudeh", "Salehi", "Gholian", "Khandan", "Sabet", "Adelkhah"],
     ["نرگس", "نسرین", "توماج", "سپیده", "رضا", "مهوش", "فریبا", "بهنام"],
     ["محمدی", "ستوده", "صالحی", "قلیان", "خندان", "ثابت", "عادلخواه"]),
    ("EG", ["Alaa", "Ahmed", "Mahienour", "Sanaa", "Mohamed", "Esraa", "Ibrahim"],
     ["Abd El-Fattah", "Douma", "El-Massry", "Seif", "Oxygen", "Abdelfattah", "Ezz El-Din"],
     ["علاء", "أحمد", "ماهينور", "سناء", "محمد", "إسراء", "إبراهيم"],
     ["عبد الفتاح", "دومة", "المصري", "سيف", "أكسجين", "عبد الفتاح", "عز الدين"]),
    ("China", ["Zhang", "Ilham", "Xu", "Ding", "Huang", "Li", "Wang", "Chen"],
     ["Zhan", "Tohti", "Zhiyong", "Jiaxi", "Qi", "Yuhan", "Quanzhang", "Qiushi"],
     ["张", "伊力哈木", "许", "丁", "黄", "李", "王", "陈"],
     ["展", "土赫提", "志永", "家喜", "琦", "昱函", "全璋", "秋实"]),
    ("Viet Nam", ["Phạm Đoan", "Nguyễn Văn", "Trần Huỳnh Duy", "Lê Đình", "Đỗ Thị", "Huỳnh Thục"],
     ["Trang", "Đài", "Thức", "Lượng", "Minh Hạnh", "Vy", "Hùng"],
     None, None),
    ("GE", ["Mzia", "Nika", "Tamar", "Giorgi", "Nino", "Levan"],
     ["Amaglobeli", "Melia", "Kordzaia", "Gakharia", "Burjanadze", "Khabeishvili"],
     ["მზია", "ნიკა", "თამარ", "გიორგი", "ნინო", "ლევან"],
     ["ამაღლობელი", "მელია", "კორძაია", "გახარია", "ბურჯანაძე", "ხაბეიშვილი"]),
    ("Belarus", ["Aliaksandr", "Maria", "Ales", "Ihar", "Maryna", "Mikalai", "Katsiaryna"],
     ["Bialiatski", "Kalesnikava", "Losik", "Statkevich", "Zolatava", "Babaryka", "Andreyeva"],
     None, None),
]  # fmt: skip

PRISONS = ["SNB detention facility", "Evin Prison", "Penal Colony No. 6", "Tora Prison",
           "Jaslyk prison colony", "Pre-trial detention centre No. 1",
           "Shanghai Women's Prison"]  # fmt: skip
CHARGES = ["undermining the constitutional order", "spreading propaganda against the state",
           "extremism", "picking quarrels and provoking trouble", "separatism",
           "spreading false information", "organising mass unrest"]  # fmt: skip


def make_rows(count: int, seed: int) -> list[list[str]]:
    """``count`` cases whose names give distinct slugs, as an organizer's sheet holds them."""
    rng = random.Random(seed)
    rows, slugs = [], set()
    while len(rows) < count:
        country, firsts, lasts, native_firsts, native_lasts = rng.choice(PEOPLE)
        i, j = rng.randrange(len(firsts)), rng.randrange(len(lasts))
        n = len(slugs)
        # A middle name (as a Latin initial or a number) keeps thousands of names distinct.
        name = f"{firsts[i]} {chr(65 + n % 26)}. {lasts[j]} {n // 26 + 1}"
        if slugify(name) in slugs:
            continue
        slugs.add(slugify(name))
        native = ""
        if native_firsts and native_lasts:
            first, last = native_firsts[i % len(native_firsts)], native_lasts[j % len(native_lasts)]
            native = f"{first} {last}"
        year = rng.randrange(1995, 2025)
        rows.append([
            name, native, f"UA {rng.randrange(1, 300)}/{year % 100:02d}", country,
            rng.choice(PRISONS), f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            rng.choice(CHARGES),
            f"{name} was arrested in {year}.\nHeld for peaceful expression; please write.",
            f"https://example.org/cases/{n}\nhttps://news.example/{n}",
        ])  # fmt: skip
    return rows


def write_csv(path: Path, rows: list[list[str]]) -> None:
    """As Excel's "CSV UTF-8" saves it: a byte-order mark, CRLF, quoted multi-line cells."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["name", "native_name", "reference", "country", "prison", "detained_on",
                     "charges", "summary", "sources"])  # fmt: skip
    writer.writerows([[cell.replace("\n", "\r\n") for cell in row] for row in rows])
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))


def run(args: list[str], cwd: Path) -> float:
    """Run importune in a new process; its wall time in seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPORTUNE_")}
    started = time.perf_counter()
    result = subprocess.run(IMPORTUNE + args, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"importune {' '.join(args)} failed:\n{result.stderr}")
    return elapsed


def commit_frames(wal: Path) -> int:
    """How many transactions the write-ahead log holds: its valid frames that end a commit."""
    data = wal.read_bytes()
    if len(data) < 32:
        return 0
    page_size = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    commits, offset = 0, 32
    while offset + 24 + page_size <= len(data):
        header = data[offset : offset + 24]
        if header[8:16] != salts:
            break  # a frame left over from before the log was restarted
        if struct.unpack(">I", header[4:8])[0]:
            commits += 1
        offset += 24 + page_size
    return commits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="cases in the file (10,000)")
    parser.add_argument("--seed", type=int, default=1, help="for the generated names")
    parser.add_argument("--keep", type=Path, help="build the workspace here and keep it")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="importune-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        measure(folder, args.rows, args.seed)
    finally:
        if args.keep is None:
            shutil.rmtree(folder)


def measure(folder: Path, rows: int, seed: int) -> None:
    """Write the file, import it in a new process, and check what the database holds."""
    csv_path = folder / "cases.csv"
    write_csv(csv_path, make_rows(rows, seed))
    print(f"{rows:,} cases, {csv_path.stat().st_size / 1e6:.1f} MB of CSV in {folder}")

    run(["init", "--group", "Benchmark"], folder)
    db = folder / "importune.db"
    baseline = run(["case", "list", "--status", "released", "--json"], folder)

    # A reader holding a snapshot from before the import keeps importune's whole
    # write-ahead log: SQLite can neither delete it when importune exits nor
    # restart it over frames the reader might need.
    watcher = sqlite3.connect(db, isolation_level=None)
    watcher.execute("BEGIN")
    assert watcher.execute("SELECT count(*) FROM cases").fetchone()[0] == 0
    seconds = run(["import", "cases", csv_path.name], folder)
    transactions = commit_frames(folder / "importune.db-wal")
    watcher.execute("COMMIT")
    imported = watcher.execute("SELECT count(*) FROM cases").fetchone()[0]
    watcher.close()

    if imported != rows:
        sys.exit(f"expected {rows:,} cases, found {imported:,}")
    print(f"import: {seconds:.2f} s in all, {rows / seconds:,.0f} rows/s")
    print(f"  a command that does no work takes {baseline:.2f} s of that (start-up)")
    work = seconds - baseline
    print(f"  without it: {work:.2f} s, {rows / work:,.0f} rows/s")
    print(f"  {imported:,} cases in the database; transactions committed: {transactions}")
    if transactions != 1:
        sys.exit("the import was not one transaction")


if __name__ == "__main__":
    main()
