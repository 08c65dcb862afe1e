"""``templates list|show|check``: the group's own letters/ folder, through the real CLI.

tests/conftest.py gives each test its own folder (IMPORTUNE_DB and IMPORTUNE_LETTERS
point there), and ``refused``, which also proves that a refusal changed nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from importune.cli import app
from importune.workspace import default_letters

Refuse = Callable[..., str]
runner = CliRunner()


def ok(*args: str) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"{args}: {result.stdout}{result.stderr}"
    return result


@pytest.fixture
def letters() -> Path:
    """A workspace whose letters/ holds the default templates, as ``init`` copies them."""
    ok("init", "--group", "Global Importune")
    return Path("letters")


def test_list_shows_every_template_with_its_language_and_case(letters: Path) -> None:
    own = letters / "cases" / "yusuf-dzhumaev"
    own.mkdir(parents=True)
    (own / "concern.en.txt.j2").write_text('{% extends "concern.en.txt.j2" %}\n', "utf-8")

    rows = json.loads(ok("templates", "list", "--json").stdout)

    found = {(r["template"], r["language"], r["case"]) for r in rows}
    assert {
        ("concern", "en", None),
        ("concern", "ru", None),
        ("thanks", "en", None),
        ("thanks", "ru", None),
        ("announce", "en", None),
        ("concern", "en", "yusuf-dzhumaev"),
    } <= found
    assert {"template", "language", "case", "path"} <= set(rows[0])
    assert "cases/yusuf-dzhumaev/concern.en.txt.j2" in {r["path"] for r in rows}

    table = ok("templates", "list").stdout
    assert f"Templates in {os.environ['IMPORTUNE_LETTERS']}/" in table
    assert "concern.ru.txt.j2" in table


def test_list_without_a_workspace_shows_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMPORTUNE_LETTERS")
    rows = json.loads(ok("templates", "list", "--json").stdout)
    shipped = sorted(p.name for p in default_letters().glob("*.j2"))
    assert sorted(r["path"] for r in rows) == shipped


def test_show_prints_the_file_a_letter_would_use(letters: Path) -> None:
    russian = (letters / "concern.ru.txt.j2").read_text("utf-8")
    english = (letters / "concern.en.txt.j2").read_text("utf-8")

    assert ok("templates", "show", "concern", "--language", "ru").stdout == russian
    assert ok("templates", "show", "concern").stdout == english
    # No French template: a French letter would be written in English.
    shown = ok("templates", "show", "concern", "--language", "fr")
    assert shown.stdout == english
    assert shown.stderr == (
        "No 'concern' template in 'fr': a letter in 'fr' is written in English ('en'), "
        "from concern.en.txt.j2.\n"
    )
    assert ok("templates", "show", "concern", "--language", "ru").stderr == ""
    assert ok("templates", "show", "concern.ru.txt.j2").stdout == russian

    own = letters / "cases" / "yusuf-dzhumaev"
    own.mkdir(parents=True)
    text = '{% extends "concern.en.txt.j2" %}\n{% block facts %}His own words.{% endblock %}\n'
    (own / "concern.en.txt.j2").write_text(text, "utf-8")
    assert ok("templates", "show", "concern", "--case", "yusuf-dzhumaev").stdout == text
    # His case has no Russian letter of its own: the general one is used.
    shown = ok("templates", "show", "concern", "--case", "yusuf-dzhumaev", "--language", "ru")
    assert shown.stdout == russian


@pytest.mark.usefixtures("letters")
@pytest.mark.parametrize(
    "name",
    ["../importune.db", "/etc/passwd", "nothing", "nothing.en.txt.j2", "cases/../../x.j2"],
)
def test_show_refuses_a_name_outside_letters(refused: Refuse, name: str) -> None:
    line = refused("templates", "show", name)
    assert repr(name) in line or name in line


def test_check_passes_on_the_default_templates(letters: Path) -> None:
    result = ok("templates", "check")
    count = len(list(letters.rglob("*.j2")))
    where = os.environ["IMPORTUNE_LETTERS"]
    assert f"All {count} templates in {where}/ render." in result.stdout
    assert result.stderr == ""


def test_check_of_a_folder_with_one_template_says_so_in_the_singular(letters: Path) -> None:
    for template in letters.rglob("*.j2"):
        if template.name != "concern.en.txt.j2":
            template.unlink()
    where = os.environ["IMPORTUNE_LETTERS"]
    assert ok("templates", "check").stdout == f"The one template in {where}/ renders.\n"


def test_check_reports_every_broken_template_at_once(letters: Path) -> None:
    own = letters / "cases" / "yusuf-dzhumaev"
    own.mkdir(parents=True)
    (own / "concern.en.txt.j2").write_text(
        '{% extends "concern.en.txt.j2" %}\n{% block facts %}\n{{ case.prisn }}\n{% endblock %}\n',
        "utf-8",
    )
    (letters / "urgent.en.txt.j2").write_text(
        "Subject: Urgent\n\n{{ salutation }}\n{{ case.__class__.__mro__ }}\n", "utf-8"
    )
    (letters / "appeal.en.txt.j2").write_text("Subject: x\n\n{% if case.name %}\nopen\n", "utf-8")
    before = {p: p.read_bytes() for p in letters.rglob("*") if p.is_file()}

    result = runner.invoke(app, ["templates", "check"])

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("importune: letters/") for line in lines), lines
    text = result.stderr
    assert "letters/cases/yusuf-dzhumaev/concern.en.txt.j2, line 3" in text and "'prisn'" in text
    assert "letters/urgent.en.txt.j2, line 4" in text and "__class__" in text
    assert "letters/appeal.en.txt.j2" in text and "syntax error" in text
    # The good templates are not reported, and checking wrote nothing.
    assert "concern.ru.txt.j2" not in text
    assert {p: p.read_bytes() for p in letters.rglob("*") if p.is_file()} == before
    assert not Path("out").exists()
