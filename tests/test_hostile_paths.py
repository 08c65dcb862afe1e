"""Hostile paths: slugs edited outside importune, symlinks inside out/, a template
power tower, a summary file that never ends. Fixtures come from tests/test_hostile.py."""

# ruff: noqa: F811  (the fixtures of test_hostile are imported by name, then requested)
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_hostile import _built, campaign, elsewhere, letter_files, no_letters_made, ok  # noqa: F401


def test_a_case_folder_in_out_symlinked_elsewhere_is_never_written_through(
    campaign: Path, elsewhere: Path, refused
) -> None:
    Path("out").mkdir()
    Path("out/yusuf-dzhumaev").symlink_to(elsewhere, target_is_directory=True)
    line = refused("generate-letters")
    assert "out/yusuf-dzhumaev is a symbolic link" in line
    assert query_letters() == 0
    # ``elsewhere`` checks on teardown that nothing was written into it.


@pytest.mark.parametrize("table", ["officials", "members"])
@pytest.mark.parametrize("slug", ["../../evil", "/tmp/evil", "a/b", "..", "x\n"])
def test_a_slug_edited_outside_importune_cannot_climb_out_of_out(
    campaign: Path, refused, table: str, slug: str
) -> None:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect("importune.db")) as conn, conn:
        conn.execute(f"UPDATE {table} SET slug = ?", (slug,))
    line = refused("generate-letters")
    assert f"slug {slug!r} is not a slug" in line
    no_letters_made()
    assert not list(Path(campaign).rglob("evil*"))
    assert not Path("/tmp/evil--anna-schmidt.txt").exists()


def test_the_print_folder_symlinked_elsewhere_is_never_written_through(
    campaign: Path, elsewhere: Path, refused
) -> None:
    ok("generate-letters")
    Path("out/print").symlink_to(elsewhere, target_is_directory=True)
    line = refused("print")
    assert "out/print is a symbolic link" in line
    # ``elsewhere`` checks on teardown that no PDF was written into it.


def test_a_tower_of_powers_is_refused_not_computed(campaign: Path) -> None:
    """Each exponent is under the limit of 100, but ((10**100)**100)**100)**100 has
    10**8 digits: computing it takes minutes. A real process, so that a hang is a failure."""
    Path("letters/concern.en.txt.j2").write_text(
        "Subject: x\n\nDear,\n{{ ((((10**100)**100)**100)**100) > 1 }}\n", encoding="utf-8"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-m", "importune", "generate-letters"],
            capture_output=True, text=True, timeout=30, env={**os.environ},
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("rendering a tower of powers did not finish in 30 s")
    assert done.returncode == 1
    assert "too large" in done.stderr
    assert letter_files() == []


def query_letters() -> int:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect("importune.db")) as conn:
        return conn.execute("SELECT count(*) FROM letters").fetchone()[0]


def test_a_summary_file_that_never_ends_is_refused_not_read_whole(campaign: Path) -> None:
    """``--summary-file /dev/zero`` (or a pipe that never closes): read no further than a
    summary can be. A real process with 1 GB of address space, so a hang is a failure."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    try:
        done = subprocess.run(
            [sys.executable, "-m", "importune", "case", "add", "Ali Karimov", "--country", "UZ",
             "--summary-file", "/dev/zero"],
            capture_output=True, text=True, timeout=60, env={**os.environ}, preexec_fn=limit,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("reading /dev/zero as a summary did not stop")
    assert done.returncode == 1, done.stderr
    assert "at most 100,000" in done.stderr or "larger than" in done.stderr
    assert "Traceback" not in done.stderr
