"""``importune demo``: the whole flow on the built-in sample case, with no set-up.

tests/conftest.py gives each test its own folder (and ``refused``); the demo is run
through CliRunner and once as a real process, as a new user would type it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pypdf
import pytest
from typer.testing import CliRunner, Result

from importune.cli import app

Refuse = Callable[..., str]
runner = CliRunner()
LETTERS = [
    "out/yusuf-dzhumaev/ambassador--amelia-hart",
    "out/yusuf-dzhumaev/prosecutor-general--amelia-hart",
]


def ok(*args: str) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"{args}: {result.stdout}{result.stderr}"
    return result


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def check_demo_folder(folder: Path) -> None:
    """The sample workspace: its letters in text and PDF, and records a command can read."""
    for stem in LETTERS:
        text = (folder / f"{stem}.txt").read_text("utf-8")
        pdf = folder / f"{stem}.pdf"
        assert pdf.read_bytes().startswith(b"%PDF-")
        assert text.rstrip().endswith("Amelia Hart")
        printed = pdf_text(pdf)
        assert printed.split()[-2:] == ["Amelia", "Hart"]
        assert "Yusuf Dzhumaev" in printed
    english = (folder / f"{LETTERS[0]}.txt").read_text("utf-8")
    assert "Your Excellency," in english and "UNITED STATES" in english
    assert "Yusuf Dzhumaev (Юсуф Джумаев)" in english
    russian = pdf_text(folder / f"{LETTERS[1]}.pdf")
    assert "Уважаемый Генеральный прокурор!" in russian
    assert "Юсуф Джумаев" in russian and "UZBEKISTAN" in russian
    # The letter to Tashkent is posted abroad: its return address ends with her country.
    assert "14 Elm Street\nSpringfield, IL 62701\nUSA\n" in russian
    assert (folder / "letters" / "concern.en.txt.j2").is_file()

    listed = ok("--db", str(folder / "importune.db"), "letters", "list", "--json").stdout
    letters = json.loads(listed)
    assert sorted((e["official"], e["format"]) for e in letters) == [
        ("ambassador", "pdf"),
        ("ambassador", "txt"),
        ("prosecutor-general", "pdf"),
        ("prosecutor-general", "txt"),
    ]


def test_demo_writes_its_letters_where_asked_and_says_where(tmp_path: Path) -> None:
    result = ok("demo", "--out", "sample")

    check_demo_folder(tmp_path / "sample")
    for stem in LETTERS:
        assert f"{stem}.txt" in result.stdout and f"{stem}.pdf" in result.stdout
    assert "sample/" in result.stdout
    assert "importune case show yusuf-dzhumaev" in result.stdout


def test_demo_without_a_folder_uses_a_new_temporary_one_and_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()

    result = ok("demo")

    named = re.search(r"A sample workspace is in (\S+)/\n", result.stdout)
    assert named, result.stdout
    folder = Path(named[1])
    assert folder.parent == tmp_path / "tmp" and folder.name.startswith("importune-demo-")
    check_demo_folder(folder)
    assert not Path("importune.db").exists()  # the current folder is left alone


def test_demo_refuses_a_folder_that_is_a_workspace_already(refused: Refuse) -> None:
    ok("demo", "--out", "sample")
    line = refused("demo", "--out", "sample")
    assert "already exists" in line


def test_python_m_importune_demo_runs_as_a_new_user_would(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPORTUNE_")}
    done = subprocess.run(
        [sys.executable, "-m", "importune", "demo", "--out", str(tmp_path / "first-look")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    check_demo_folder(tmp_path / "first-look")
    assert f"A sample workspace is in {tmp_path / 'first-look'}/" in done.stdout
    assert "out/yusuf-dzhumaev/prosecutor-general--amelia-hart.pdf" in done.stdout


def test_a_folder_name_with_spaces_and_brackets_is_shown_as_it_is(tmp_path: Path) -> None:
    result = ok("demo", "--out", "demo [1]")
    check_demo_folder(tmp_path / "demo [1]")
    assert "A sample workspace is in demo [1]/" in result.stdout
    # The commands it suggests can be pasted into a shell as they are.
    assert "cat 'demo [1]/out/yusuf-dzhumaev/ambassador--amelia-hart.txt'" in result.stdout
    assert "cd 'demo [1]' && importune case show yusuf-dzhumaev" in result.stdout
