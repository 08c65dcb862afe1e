"""How fast ``importune generate-letters`` writes a campaign, and how much memory it takes.

    python benchmarks/generate.py [--cases 20] [--officials 10] [--members 100]
                                  [--format txt] [--jobs N] [--in DIR] [--core] [--profile]

Builds a synthetic workspace of that size (every case appealed to every official,
so cases × officials × members letters) straight through ``importune.store``,
with names and addresses in Latin, Cyrillic, Arabic-script, Vietnamese, Georgian
and Armenian letters, then runs ``importune generate-letters`` twice as a child
process: the first run writes every letter, the second finds nothing changed.
For each run it prints the wall time (start-up included), letters per second and
the child's peak resident memory (``ru_maxrss`` from ``os.wait4``). It also
measures how many new files a second the workspace's file system creates on its
own, since a first run makes one file per letter and cannot be faster than that.

``--in /dev/shm`` puts the workspace on tmpfs, to measure importune rather than the
disk. ``--core`` runs generate-letters in this process instead (no start-up cost;
the peak is then this process's), and ``--profile`` prints where each run spends
its time (cProfile, in-process). ``--jobs`` is passed to ``generate-letters`` when
it has that option; until then a run uses one core.
"""

from __future__ import annotations

import argparse
import compileall
import cProfile
import datetime as dt
import io
import os
import pstats
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from itertools import cycle, islice, product
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from importune import workspace as ws  # noqa: E402
from importune.store import open_store  # noqa: E402

# First names and family names per script, comma-separated; a member's name is one of each.
NAMES = [
    ("Anna,Jonas,Marie,Lukas,Sofia,Pierre,Inês,Søren,Zofia,Malik",
     "Schmidt,Dubois,Kowalski,Rossi,García,Jensen,O'Brien,Novák,Ferreira,Müller"),
    ("Ольга,Иван,Наталья,Сергей,Мария,Алексей,Елена,Дмитрий",
     "Петрова,Иванов,Смирнова,Кузнецов,Попова,Соколов,Волкова,Морозов"),
    ("أحمد,فاطمة,محمد,مريم,علي,زينب", "منصور,الحسيني,حداد,خوري,نصر,سليمان"),
    ("Nguyễn,Trần,Lê,Phạm,Hoàng", "Văn Đài,Thị Hương,Minh Châu,Quốc Bảo"),
    ("ნინო,გიორგი,თამარ", "ბერიძე,კაპანაძე,გელაშვილი"),
    ("Անի,Արամ,Նարե", "Հակոբյան,Պետրոսյան,Սարգսյան"),
]  # fmt: skip
STREETS = [
    "Hauptstraße 5\n10115 Berlin\nGermany",
    "ul. Lenina 1\nMoscow 101000\nRussia",
    "12 Elm Street\nSpringfield, IL 62701\nUSA",
    "Rue de la Paix 3\n75002 Paris\nFrance",
    "Calle Mayor 7\n28013 Madrid\nSpain",
]
COUNTRIES = [
    ("UZ", "ru"),
    ("AZ", "en"),
    ("IR", "en"),
    ("VN", "en"),
    ("BY", "ru"),
    ("EG", "en"),
    ("RU", "ru"),
    ("TR", "en"),
    ("SA", "en"),
    ("ER", "en"),
]
PRISONERS = [
    ("Yusuf Dzhumaev", "Юсуф Джумаев"),
    ("Narges Mohammadi", "نرگس محمدی"),
    ("Nguyen Van Dai", "Nguyễn Văn Đài"),
    ("Ales Bialiatski", "Алесь Бяляцкі"),
    ("Alaa Abd El-Fattah", "علاء عبد الفتاح"),
    ("Osman Kavala", None),
    ("Salma al-Shehab", "سلمى الشهاب"),
    ("Maria Kalesnikava", "Марыя Калеснікава"),
]


def people(count: int) -> list[str]:
    """``count`` names, cycling through every script's combinations."""
    combos = [
        f"{first} {last}"
        for firsts, lasts in NAMES
        for first, last in product(firsts.split(","), lasts.split(","))
    ]
    return list(islice(cycle(combos), count))


def build(folder: Path, cases: int, officials: int, members: int) -> int:
    """A workspace in ``folder`` with every case appealed to every official; the letter count."""
    with open_store(folder / ws.DB_NAME, create=True) as store:
        store.set_group(
            name="Global Importune", address="PO Box 1\nSpringfield", email="letters@example.org"
        )
        store.add_many(
            "cases",
            [
                {
                    "name": f"{PRISONERS[i % len(PRISONERS)][0]} {i}",
                    "slug": f"case-{i:04d}",
                    "native_name": PRISONERS[i % len(PRISONERS)][1],
                    "country": COUNTRIES[i % len(COUNTRIES)][0],
                    "location": "the capital",
                    "prison": f"Prison No. {i % 7 + 1}",
                    "reference": f"UA {i}/24",
                    "detained_on": (dt.date(2001, 10, 23) + dt.timedelta(days=97 * i)).isoformat(),
                    "charges": "undermining the constitutional order",
                }
                for i in range(cases)
            ],
        )
        store.add_many(
            "officials",
            [
                {
                    "name": f"Official {i}",
                    "slug": f"official-{i:04d}",
                    "title": "Prosecutor General" if i % 2 else "Minister of Justice",
                    "organization": "Office of the Prosecutor General",
                    "country": COUNTRIES[i % len(COUNTRIES)][0],
                    "address": f"Independence Avenue {i + 1}\nCapital City 1000{i % 10}",
                    "language": COUNTRIES[i % len(COUNTRIES)][1],
                    "email": f"official{i}@example.gov",
                }
                for i in range(officials)
            ],
        )
        store.add_many(
            "appeals",
            [
                {"case": f"case-{c:04d}", "official": f"official-{o:04d}"}
                for c in range(cases)
                for o in range(officials)
            ],
        )
        store.add_many(
            "members",
            [
                {
                    "name": name,
                    "slug": f"member-{i:05d}",
                    "address": STREETS[i % len(STREETS)],
                    "email": f"member{i}@example.org",
                }
                for i, name in enumerate(people(members))
            ],
        )
    ws.copy_default_letters(folder / ws.LETTERS_DIR)
    return cases * officials * max(members, 1)


def run_child(folder: Path, fmt: str, jobs: int | None) -> tuple[float, int, str]:
    """One ``importune generate-letters`` as a child process: seconds, peak RSS in KiB, stdout.

    The child's own peak comes from ``os.wait4`` (its rusage alone, not the maximum
    over every child this process has had)."""
    command = [
        sys.executable,
        "-m",
        "importune",
        "--db",
        str(folder / ws.DB_NAME),
        "--letters",
        str(folder / ws.LETTERS_DIR),
        "generate-letters",
        "--format",
        fmt,
        "--out",
        str(folder / ws.OUT_DIR),
    ]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=folder)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        if child.returncode != 0:
            sys.exit(f"generate-letters failed ({child.returncode}): {stderr.read().decode()}")
        return seconds, usage.ru_maxrss, stdout.read().decode()


def run_core(folder: Path, fmt: str, profile: bool = False) -> tuple[float, int, str]:
    """The same run in this process, through the core."""
    from importune.generate import Options, generate

    options = Options(
        out=folder / ws.OUT_DIR, letters_dir=folder / ws.LETTERS_DIR, fmt=fmt, collect=False
    )
    profiler = cProfile.Profile() if profile else None
    with open_store(folder / ws.DB_NAME) as store:
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        outcome = generate(store, options)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
        print(text.getvalue())
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
        print(text.getvalue())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    summary = f"{outcome.generated} generated, {outcome.unchanged} unchanged"
    return seconds, peak, summary


def has_jobs_option() -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "importune", "generate-letters", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    return "--jobs" in result.stdout


def file_creation_rate(folder: Path, count: int = 2000) -> float:
    """New files a second in ``folder`` (create, write 2 KB, close), as a run makes letters."""
    scratch = Path(tempfile.mkdtemp(prefix="creation-", dir=folder))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    started = time.perf_counter()
    for i in range(count):
        fd = os.open(scratch / f"{i}.txt", flags, 0o666)
        os.write(fd, b"x" * 2048)
        os.close(fd)
    seconds = time.perf_counter() - started
    shutil.rmtree(scratch)
    return count / seconds


def count_files(folder: Path) -> tuple[int, int]:
    out = folder / ws.OUT_DIR
    on_disk = sum(len(files) for _, _, files in os.walk(out))
    with sqlite3.connect(folder / ws.DB_NAME) as conn:
        rows = conn.execute("SELECT count(*) FROM letters").fetchone()[0]
    return on_disk, rows


def byte_compile() -> None:
    """importune's modules byte-compiled, as pip leaves an installed package: a process
    then loads them rather than compiling them again (which an editable checkout does in
    every process where PYTHONDONTWRITEBYTECODE is set).

    Forced: compileall keeps a compiled file whose source has the same time to the second,
    but Python also compares its size, and compiles a source rewritten within that second
    again in every process (``importune/postal.py`` was, here: 8 million instructions, a
    few milliseconds, of every ``print``)."""
    compileall.compile_dir(ROOT / "importune", quiet=1, force=True)


def main() -> None:
    byte_compile()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--officials", type=int, default=10)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--format", default="txt", choices=["txt", "md", "html", "pdf", "eml"])
    parser.add_argument("--jobs", type=int, default=None, help="passed to generate-letters")
    parser.add_argument("--core", action="store_true", help="run in this process, not a child")
    parser.add_argument("--profile", action="store_true", help="cProfile both runs (in-process)")
    parser.add_argument("--keep", type=Path, default=None, help="build the workspace here, keep it")
    parser.add_argument(
        "--in",
        dest="parent",
        type=Path,
        default=None,
        help="make the temporary workspace in this folder (e.g. /dev/shm, to leave the disk out)",
    )
    args = parser.parse_args()

    jobs = args.jobs
    if jobs is not None and not args.core and not has_jobs_option():
        print(f"note: generate-letters has no --jobs yet; running on one core (not {jobs})")
        jobs = None
    folder = args.keep or Path(tempfile.mkdtemp(prefix="importune-bench-", dir=args.parent))
    try:
        started = time.perf_counter()
        letters = build(folder, args.cases, args.officials, args.members)
        built = time.perf_counter() - started
        print(
            f"workspace: {args.cases} cases × {args.officials} officials × {args.members} "
            f"members = {letters:,} {args.format} letters, built in {built:.2f} s "
            f"({folder})"
        )
        print(f"this file system creates {file_creation_rate(folder):,.0f} new files/s on its own")
        first = None
        for label in ("first run", "re-run (nothing changed)"):
            if args.profile:
                print(f"-- {label}")
                seconds, peak, summary = run_core(folder, args.format, profile=True)
            elif args.core:
                seconds, peak, summary = run_core(folder, args.format)
            else:
                seconds, peak, summary = run_child(folder, args.format, jobs)
            share = f"  ({seconds / first:.0%} of the first)" if first else ""
            first = first or seconds
            print(
                f"{label:<26} {seconds:7.2f} s  {letters / seconds:9,.0f} letters/s  "
                f"peak RSS {peak / 1024:6.1f} MiB{share}"
            )
            print(f"{'':<26} [{' '.join(summary.split())}]")
        on_disk, rows = count_files(folder)
        print(f"check: {on_disk:,} files in out/, {rows:,} rows in letters")
        if on_disk != letters or rows != letters:
            sys.exit("the run did not make every letter")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
