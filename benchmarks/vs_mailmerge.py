"""importune side by side with mailmerge, and the figures of issue 6, from one run.

    pip install -e '.[bench]'          # mailmerge, for the comparison only
    python benchmarks/vs_mailmerge.py [--cases 20] [--officials 10] [--members 100]
        [--rounds 3] [--jobs N] [--in DIR] [--big-members 500] [--pdf-letters 1000]
        [--pdf-rounds 5] [--skip-memory] [--skip-pdf]

What it prints, each figure with the ratio issue 6 sets a target for:

1. ``generate-letters --format txt`` over cases × officials × members letters
   (20,000 by default: files written, rows committed, start-up included) against
   ``mailmerge --dry-run --no-limit`` rendering the same letters from a CSV of the
   same records with a template of the same words, to /dev/null. The two run
   alternately, ``--rounds`` times, importune in a fresh workspace each round;
   medians and the ratio of their throughputs (target: at least 3).
2. importune run again with nothing changed, as a share of its first run
   (target: at most 15%).
3. ``importune --version`` against ``python -c "import typer"``, medians of many
   fresh processes each (target: at most 1.5×).
4. Peak memory (the largest process's ``ru_maxrss``) of a first run at 20,000 and at
   cases × officials × ``--big-members`` letters (100,000 by default): target at
   most 150 MiB, and within 10% of each other.
5. PDF letters a second: ``generate-letters --format pdf`` (one file a letter, every
   core) and ``print`` (one member's letters as one PDF, the median of ``--pdf-rounds``
   prints of the same pile); target at least 500.

``--in /dev/shm`` puts the workspaces on tmpfs: the figures are then importune's
own, not the disk's (a first run creates one file a letter; this prints how many
new files a second the file system takes on its own, the ceiling for a first run).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import generate as bench  # noqa: E402  (benchmarks/generate.py: the synthetic campaign)

from importune import workspace as ws  # noqa: E402
from importune.store import open_store  # noqa: E402

MIB = 1024  # ru_maxrss is in KiB

# The letter of concern's words (letters/concern.en.txt.j2), as a mailmerge template:
# mailmerge has no filters, so what importune computes (dates in words, the country's
# name, the salutation, which wording a member gets) comes precomputed in the CSV.
MAILMERGE_TEMPLATE = """\
TO: {{official_email}}
SUBJECT: Please release {{name}}, prisoner of conscience, {{country}} ({{reference}})
FROM: {{member_name}} <{{member_email}}>

{{sender}}

{{recipient}}

{{date}}

{{salutation}}

{% if opening == 0 %}I am writing to express my deep concern for {{full_name}}, who I believe \
is a prisoner of conscience, held solely for the peaceful exercise of fundamental human rights.\
{% elif opening == 1 %}I am writing to you on behalf of {{full_name}}, whose continued detention \
troubles me greatly: I believe {{name}} is held solely for peacefully exercising fundamental \
human rights.{% elif opening == 2 %}Please allow me to draw your attention to the case of \
{{full_name}}, a prisoner of conscience whose only offence, I believe, was the peaceful exercise \
of fundamental human rights.{% else %}I write to you with respect, and with grave concern, about \
{{full_name}}, whom I consider a prisoner of conscience, deprived of liberty solely for the \
peaceful exercise of fundamental human rights.{% endif %}

{{name}} has been held in {{held_in}}, since {{detained_on}}{% if years|int >= 1 %}: {{years}} \
years deprived of liberty{% endif %}. {{name}} was charged with {{charges}}.

Please release {{name}} immediately and unconditionally. No one should be imprisoned for the \
peaceful exercise of their human rights.

Until {{name}} is released, please ensure that {{name}} is not subjected to torture or any other \
ill-treatment, and has regular access to family, to a lawyer of their own choosing and to any \
medical care they need.

{% if closing == 0 %}Thank you for your attention to this case. I look forward to your reply.\
{% elif closing == 1 %}I am grateful for your attention to this matter, and I will continue to \
follow the case of {{name}} closely.{% elif closing == 2 %}Thank you for considering this appeal. \
I hope to hear from you and, above all, to learn that {{name}} is free.{% else %}I would be \
grateful for a reply telling me what steps you have taken in this case. Thank you for your \
time.{% endif %}

Yours respectfully,
{{member_name}}
"""

MAILMERGE_CONFIG = "[smtp_server]\nhost = localhost\nport = 25\n"


def mailmerge_inputs(folder: Path, db: Path) -> tuple[Path, Path, Path]:
    """The CSV (a row a letter, from the workspace's records), template and config."""
    from importune.compose import country_in, salutation_for, variant_index, write_date

    today = dt.date.today()
    with open_store(db) as store:
        cases = store.list("cases")
        officials = store.list("officials")
        members = store.list("members")
    template = folder / "concern.txt"
    template.write_text(MAILMERGE_TEMPLATE, encoding="utf-8")
    config = folder / "mailmerge_server.conf"
    config.write_text(MAILMERGE_CONFIG, encoding="utf-8")
    database = folder / "letters.csv"
    columns = ["official_email", "name", "full_name", "country", "reference", "member_name",
               "member_email", "sender", "recipient", "date", "salutation", "opening",
               "held_in", "detained_on", "years", "charges", "closing"]  # fmt: skip
    with database.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        for case in cases:
            country = country_in(case["country"], "en")
            native = case["native_name"]
            full_name = case["name"] + (f" ({native})" if native else "")
            detained = dt.date.fromisoformat(case["detained_on"])
            years = today.year - detained.year
            for official in officials:
                parts = [official[k] for k in ("name", "title", "organization", "address")]
                recipient = "\n".join(filter(None, parts))
                salutation = salutation_for(None, official["title"], official["name"], "en")
                for member in members:
                    slugs = (member["slug"], case["slug"], official["slug"])
                    writer.writerow([
                        official["email"], case["name"], full_name, country, case["reference"],
                        member["name"], member["email"], f"{member['name']}\n{member['address']}",
                        recipient, write_date(today, "en"), salutation,
                        variant_index(*slugs, 0, 4),
                        ", ".join([case["prison"], case["location"], country]),
                        write_date(detained, "en"), years, case["charges"],
                        variant_index(*slugs, 1, 4),
                    ])  # fmt: skip
    return template, database, config


def timed(command: list[str], cwd: Path, stdout: int | None = None) -> tuple[float, int, float]:
    """Seconds, the peak RSS (KiB) and the CPU seconds of one child process (from
    ``os.wait4``: Linux counts in the children it waited for, i.e. its workers, and
    reports the largest of their peaks). CPU time is what other work on a shared
    machine skews least."""
    started = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=cwd, stdout=stdout if stdout is not None else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        assert child.stderr is not None
        sys.exit(f"{' '.join(command[:4])}... failed: {child.stderr.read().decode()[-2000:]}")
    if child.stderr is not None:
        child.stderr.close()
    return seconds, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def importune(folder: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "importune", "--db", str(folder / ws.DB_NAME),
            "--letters", str(folder / ws.LETTERS_DIR), *args]  # fmt: skip


def fresh_copy(pristine: Path, parent: Path) -> Path:
    """A new workspace: the pristine database (no letters yet) and letters, no out/."""
    folder = Path(tempfile.mkdtemp(prefix="round-", dir=parent))
    shutil.copy2(pristine / ws.DB_NAME, folder / ws.DB_NAME)
    shutil.copytree(pristine / ws.LETTERS_DIR, folder / ws.LETTERS_DIR)
    return folder


def generate_args(fmt: str, folder: Path, jobs: int | None) -> list[str]:
    args = ["generate-letters", "--format", fmt, "--out", str(folder / ws.OUT_DIR)]
    return args + (["--jobs", str(jobs)] if jobs else [])


def median(values: list[float]) -> float:
    return statistics.median(values)


def compare(args: argparse.Namespace, parent: Path) -> None:
    pristine = Path(tempfile.mkdtemp(prefix="pristine-", dir=parent))
    letters = bench.build(pristine, args.cases, args.officials, args.members)
    mailmerge = shutil.which("mailmerge", path=str(Path(sys.executable).parent)) or shutil.which(
        "mailmerge"
    )
    if mailmerge is None:
        sys.exit("mailmerge is not installed: pip install -e '.[bench]'")
    template, database, config = mailmerge_inputs(pristine, pristine / ws.DB_NAME)
    print(f"{letters:,} letters: {args.cases} cases × {args.officials} officials × "
          f"{args.members} members, in {parent}")  # fmt: skip
    print(f"this file system creates {bench.file_creation_rate(pristine):,.0f} new files/s")
    first: list[float] = []
    again: list[float] = []
    shares: list[float] = []
    theirs: list[float] = []
    for round_ in range(1, args.rounds + 1):
        folder = fresh_copy(pristine, parent)
        seconds, _, cpu = timed(importune(folder, *generate_args("txt", folder, args.jobs)), folder)
        rerun, _, _ = timed(importune(folder, *generate_args("txt", folder, args.jobs)), folder)
        made = sum(len(files) for _, _, files in os.walk(folder / ws.OUT_DIR))
        if made != letters:
            sys.exit(f"importune made {made} files, not {letters}")
        mm, _, mm_cpu = timed(
            [mailmerge, "--dry-run", "--no-limit", "--template", str(template),
             "--database", str(database), "--config", str(config)],
            pristine,
        )  # fmt: skip
        first.append(seconds)
        again.append(rerun)
        shares.append(rerun / seconds)
        theirs.append(mm)
        print(f"  round {round_}: importune {seconds:6.2f} s ({cpu:5.2f} s CPU), again "
              f"{rerun:5.2f} s ({rerun / seconds:4.0%}); mailmerge {mm:6.2f} s "
              f"({mm_cpu:5.2f} s CPU)")  # fmt: skip
    ours_rate = letters / median(first)
    their_rate = letters / median(theirs)
    print(f"txt, first run   importune {median(first):6.2f} s = {ours_rate:8,.0f} letters/s "
          f"(median of {args.rounds})")  # fmt: skip
    print(f"                 mailmerge {median(theirs):6.2f} s = {their_rate:8,.0f} letters/s")
    print(f"  ratio          {ours_rate / their_rate:.2f}× mailmerge   (target ≥ 3×)")
    print(f"re-run, nothing changed: {median(again):.2f} s = {median(shares):.1%} of the first run"
          "   (target ≤ 15%)")  # fmt: skip


def startup(args: argparse.Namespace, parent: Path) -> None:
    ours: list[float] = []
    typer: list[float] = []
    for _ in range(args.startup_runs):
        ours.append(timed([sys.executable, "-m", "importune", "--version"], parent)[0])
        typer.append(timed([sys.executable, "-c", "import typer"], parent)[0])
    a, b = median(ours), median(typer)
    print(
        f"start-up: importune --version {a * 1000:5.0f} ms, python -c 'import typer' "
        f"{b * 1000:5.0f} ms (medians of {args.startup_runs}): {a / b:.2f}×   (target ≤ 1.5×)"
    )


def memory(args: argparse.Namespace, parent: Path) -> None:
    peaks = {}
    for members in (args.members, args.big_members):
        folder = Path(tempfile.mkdtemp(prefix="memory-", dir=parent))
        letters = bench.build(folder, args.cases, args.officials, members)
        seconds, peak, _ = timed(
            importune(folder, *generate_args("txt", folder, args.jobs)), folder
        )
        peaks[letters] = peak
        print(f"memory: {letters:>7,} letters in {seconds:6.2f} s, peak RSS {peak / MIB:6.1f} MiB")
    small, big = peaks.values()
    print(
        f"  {max(peaks):,} letters: {big / MIB:.1f} MiB (target ≤ 150), "
        f"{big / small - 1:+.1%} against {min(peaks):,}   (target within ±10%)"
    )


def pdf(args: argparse.Namespace, parent: Path) -> None:
    # One member, so that print lays out the same letters generate-letters makes.
    cases = max(1, args.pdf_letters // args.officials)
    folder = Path(tempfile.mkdtemp(prefix="pdf-", dir=parent))
    letters = bench.build(folder, cases, args.officials, 1)
    seconds, _, cpu = timed(importune(folder, *generate_args("pdf", folder, args.jobs)), folder)
    print(
        f"pdf: generate-letters --format pdf, {letters:,} letters (one file each): "
        f"{seconds:.2f} s ({cpu:.2f} s CPU) = {letters / seconds:,.0f} letters/s"
        "   (target ≥ 500 through this or print)"
    )
    first = timed(importune(folder, "print", "--member", "member-00000"), folder)[0]
    # The same pile printed again, --pdf-rounds times: one run of a 2-second command on a
    # shared machine is at the mercy of the minute.
    prints = [
        timed(importune(folder, "print", "--member", "member-00000"), folder)[0]
        for _ in range(args.pdf_rounds)
    ]
    again = median(prints)
    print(
        f"pdf: print (one PDF of {letters:,} letters, one Typst compile): {again:.2f} s = "
        f"{letters / again:,.0f} letters/s (median of {len(prints)}: "
        f"{', '.join(f'{letters / s:,.0f}' for s in prints)}/s; first print, generating "
        f"them too: {first:.2f} s)   (target ≥ 500 through this or generate-letters)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--officials", type=int, default=10)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="alternate runs of each (median)")
    parser.add_argument("--jobs", type=int, default=None, help="generate-letters --jobs")
    parser.add_argument("--big-members", type=int, default=500, help="members for the big run")
    parser.add_argument("--pdf-letters", type=int, default=1000)
    parser.add_argument("--pdf-rounds", type=int, default=5, help="prints of the pile (median)")
    parser.add_argument("--startup-runs", type=int, default=21)
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-pdf", action="store_true")
    parser.add_argument("--in", dest="parent", type=Path, default=None,
                        help="make the workspaces in this folder (e.g. /dev/shm)")  # fmt: skip
    args = parser.parse_args()
    bench.byte_compile()  # as pip left mailmerge, and would leave importune
    parent = Path(tempfile.mkdtemp(prefix="importune-vs-", dir=args.parent))
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at the start")
    try:
        if not args.skip_compare:
            compare(args, parent)
        if not args.skip_startup:
            startup(args, parent)
        if not args.skip_memory:
            memory(args, parent)
        if not args.skip_pdf:
            pdf(args, parent)
    finally:
        # Only now: on a disk mounted with `discard`, removing tens of thousands of files
        # slows whatever creates files next, so no round cleans up before the next runs.
        shutil.rmtree(parent, ignore_errors=True)
    print(
        f"load average {os.getloadavg()[0]:.2f} at the end (other work on the machine skews "
        "every figure: ratios come from runs taken in turn)"
    )


if __name__ == "__main__":
    main()
