"""Output piped into a reader that stops early (``importune case show --help | head -2``).

The reader closing its end is not a refusal: importune stops quietly, without "importune:
Broken pipe" or a traceback on the terminal, and a listing that was cut changes nothing.
The pipe's reading end is closed before importune starts, so that every write fails
(a reader that stops later depends on timing).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def into_closed_pipe(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m importune ARGS`` with stdout a pipe nobody will ever read."""
    read, write = os.pipe()
    os.close(read)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPORTUNE_")}
    try:
        return subprocess.run(
            [sys.executable, "-m", "importune", *args],
            cwd=cwd,
            env=env,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write)


@pytest.mark.parametrize(
    "args",
    [("case", "show", "--help"), ("--help",), ("case", "list"), ("case", "list", "--json")],
    ids=["command help", "help", "listing", "json"],
)
def test_a_reader_that_stops_is_not_a_refusal(args: tuple[str, ...], tmp_path: Path) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "importune", "init", "--group", "G"], cwd=tmp_path,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    subprocess.run(
        [sys.executable, "-m", "importune", "case", "add", "Yusuf Dzhumaev", "--country", "UZ"],
        cwd=tmp_path, capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    before = (tmp_path / "importune.db").read_bytes()

    done = into_closed_pipe(*args, cwd=tmp_path)

    assert done.stderr == ""  # no "importune: Broken pipe", no traceback
    assert done.returncode == 1  # as Click ends a command whose output went nowhere
    assert (tmp_path / "importune.db").read_bytes() == before
