"""``importune search``: a case found by any spelling of a name, a place, a charge.

Through the real CLI on a workspace made by ``init``: what a person types, what
they read back (``--json`` for the exact answer). The index is the FTS5 table
``cases_fts`` that the triggers of migration m002 keep in step; the tests make
every change the triggers must follow (add, edit, remove, import) and search
after each.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Run

pytestmark = pytest.mark.usefixtures("workspace")

CASE_KEYS = {"id", "slug", "name", "native_name", "country", "status", "detained_on", "released_on"}


def found(ok: Run, *query: str) -> list[dict[str, Any]]:
    """The cases a search finds, from its --json (which must be JSON only)."""
    return json.loads(ok("search", *query, "--json").stdout)


def slugs(ok: Run, *query: str) -> list[str]:
    return [hit["slug"] for hit in found(ok, *query)]


@pytest.fixture
def cases(workspace: Path, ok: Run) -> None:
    """The seed page's poet, a case in Cyrillic only, one with accents, one named in a summary."""
    ok("case", "add", "Yusuf Dzhumaev", "--country", "Uzbekistan", "--native-name", "Юсуф Джумаев",
       "--reference", "UA 123/21", "--location", "Karakul", "--prison", "SNB detention facility",
       "--charges", "undermining the constitutional order",
       "--summary", "An Uzbek poet arrested at home after his poems were confiscated.")  # fmt: skip
    ok("case", "add", "Ольга Петрова", "--country", "RU", "--summary", "A journalist in Perm.")
    ok("case", "add", "Şükrü Çelik", "--country", "TR", "--summary", "A teacher.")
    ok("case", "add", "Ali Karimov", "--country", "UZ",
       "--summary", "Held with Dzhumaev in Bukhara; a poet too.")  # fmt: skip


SPELLINGS = [
    ("Dzhum", "yusuf-dzhumaev"),  # a prefix
    ("dzhumaev", "yusuf-dzhumaev"),  # any case
    ("YUSUF DZHUMAEV", "yusuf-dzhumaev"),
    ("Джумаев", "yusuf-dzhumaev"),  # the native name
    ("юсуф", "yusuf-dzhumaev"),
    ("UA 123/21", "yusuf-dzhumaev"),  # the reference
    ("Karakul", "yusuf-dzhumaev"),  # the place
    ("constitutional order", "yusuf-dzhumaev"),  # the charges
    ("SNB", "yusuf-dzhumaev"),  # the prison
    ("Петрова", "olga-petrova"),  # a name in Cyrillic only
    ("петр", "olga-petrova"),
    ("sukru celik", "sukru-celik"),  # accents folded, both ways
    ("ŞÜKRÜ", "sukru-celik"),
    ("Çelík", "sukru-celik"),
    ("Каримов", "ali-karimov"),  # Cyrillic for a name in Latin letters only
    ("Али Каримов", "ali-karimov"),
    ("ＫＡＲＩＭＯＶ", "ali-karimov"),  # full-width letters, as some keyboards type them
    ("Jumaev", "yusuf-dzhumaev"),  # other romanisations of the name
    ("Djoumaev", "yusuf-dzhumaev"),
    ("Dschumajew", "yusuf-dzhumaev"),
    ("Iusuf", "yusuf-dzhumaev"),
    ("Youssouf Djumaev", "yusuf-dzhumaev"),
    ("Petrova", "olga-petrova"),  # Latin letters for a name in Cyrillic only
    ("Olga", "olga-petrova"),
]
"""A query and the case it must find first (one workspace for all: each search is cheap)."""


@pytest.mark.usefixtures("cases")
def test_a_case_is_found_by_any_spelling(ok: Run) -> None:
    missed = [(query, slug) for query, slug in SPELLINGS if slugs(ok, query)[:1] != [slug]]
    assert missed == []


@pytest.mark.usefixtures("cases")
def test_every_word_must_match(ok: Run) -> None:
    assert slugs(ok, "yusuf", "karakul") == ["yusuf-dzhumaev"]  # words as separate arguments
    assert slugs(ok, "yusuf karakul") == ["yusuf-dzhumaev"]
    assert slugs(ok, "yusuf perm") == []


@pytest.mark.usefixtures("cases")
def test_a_name_ranks_above_a_mention_and_the_snippet_shows_where(ok: Run) -> None:
    hits = found(ok, "dzhumaev")
    assert [hit["slug"] for hit in hits] == ["yusuf-dzhumaev", "ali-karimov"]
    assert "[Dzhumaev]" in hits[0]["snippet"]
    assert hits[1]["snippet"] == "Held with [Dzhumaev] in Bukhara; a poet too."
    assert {hit["matched"] for hit in hits} == {"text"}
    poets = found(ok, "poet")
    assert {hit["slug"] for hit in poets} == {"yusuf-dzhumaev", "ali-karimov"}
    assert all("[poet]" in hit["snippet"] for hit in poets)


@pytest.mark.usefixtures("cases")
def test_json_has_the_case_list_keys_and_a_snippet(ok: Run) -> None:
    (hit,) = found(ok, "Jumaev")
    assert set(hit) == CASE_KEYS | {"snippet", "matched"}
    assert hit["name"] == "Yusuf Dzhumaev" and hit["native_name"] == "Юсуф Джумаев"
    assert hit["country"] == "UZ" and hit["status"] == "detained"
    assert hit["matched"] == "spelling"
    assert hit["snippet"] == "Yusuf [Dzhumaev] (Юсуф [Джумаев])"


@pytest.mark.usefixtures("cases")
def test_the_terminal_shows_a_table_and_the_next_step(ok: Run) -> None:
    out = ok("search", "Karakul").stdout
    assert "yusuf-dzhumaev" in out and "Yusuf Dzhumaev (Юсуф Джумаев)" in out
    assert "1 case. Next: importune case show SLUG" in out


@pytest.mark.usefixtures("cases")
def test_no_match_is_not_an_error(ok: Run) -> None:
    assert "No case matches 'Nobody'" in ok("search", "Nobody").stdout
    assert found(ok, "Nobody") == []


@pytest.mark.usefixtures("cases")
def test_fts_syntax_in_a_query_is_read_as_words(ok: Run) -> None:
    """Nothing a person types raises an SQLite error: every word is quoted."""
    for query in ['Dzh"um', "Dzh*", "-Dzhumaev", "NEAR(yusuf karakul)", "name:Yusuf", "yusuf OR",
                  "AND", "NOT poet", "^yusuf", "yusuf)", "{name}: x", "O'Brien", "a + b",
                  "Dzhumaev -- '"]:  # fmt: skip
        result = ok("search", "--json", "--", query)
        assert isinstance(json.loads(result.stdout), list), query


@pytest.mark.usefixtures("cases")
def test_syntax_characters_around_words_still_find_them(ok: Run) -> None:
    assert slugs(ok, "Dzhumaev*") == ["yusuf-dzhumaev", "ali-karimov"]
    assert slugs(ok, '"Yusuf"') == ["yusuf-dzhumaev"]
    assert slugs(ok, "NEAR") == []  # a word like any other, found nowhere


@pytest.mark.parametrize("query", ["", "   ", "*", '" -', "(", "'", "\\", "- + : ^"])
def test_a_query_with_no_word_is_refused(refused: Callable[..., str], query: str) -> None:
    assert "nothing to search for" in refused("search", "--", query)


def test_search_with_no_query_is_a_usage_error(run: Run) -> None:
    assert run("search").exit_code == 2


@pytest.mark.usefixtures("cases")
def test_limit_keeps_the_best_and_says_there_are_more(ok: Run) -> None:
    out = ok("search", "poet", "--limit", "1").stdout
    assert "2 cases; the first 1 shown (--limit to see more)" in out
    assert len(found(ok, "poet", "--limit", "1")) == 1


def test_the_index_follows_every_add_edit_and_removal(ok: Run, tmp_path: Path) -> None:
    """The triggers of m002 keep cases_fts in step, whatever changed the table."""
    assert slugs(ok, "Dzhumaev") == []
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ")
    assert slugs(ok, "Dzhumaev") == ["yusuf-dzhumaev"]

    ok("case", "edit", "yusuf-dzhumaev", "--name", "Yusuf Rakhimov", "--summary", "Poet of Karakul")
    assert slugs(ok, "Dzhumaev") == []  # the old spelling is forgotten...
    assert slugs(ok, "Rakhim") == ["yusuf-dzhumaev"]  # ...the new one learnt
    assert slugs(ok, "karakul") == ["yusuf-dzhumaev"]

    ok("case", "remove", "yusuf-dzhumaev")
    assert slugs(ok, "Rakhimov") == [] and slugs(ok, "karakul") == []

    people = tmp_path / "cases.csv"
    people.write_text(
        "name,native_name,country,charges\n"
        "Yusuf Dzhumaev,Юсуф Джумаев,UZ,undermining the constitutional order\n"
        "Ольга Петрова,,RU,\n",
        encoding="utf-8",
    )
    ok("import", "cases", people)
    assert slugs(ok, "джумаев") == ["yusuf-dzhumaev"]
    assert slugs(ok, "constitutional") == ["yusuf-dzhumaev"]
    assert slugs(ok, "Петрова") == ["olga-petrova"]


def test_a_refused_import_leaves_nothing_in_the_index(ok: Run, run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "cases.csv"
    bad.write_text("name,country\nYusuf Dzhumaev,UZ\nNobody,Atlantis\n", encoding="utf-8")
    assert run("import", "cases", bad).exit_code == 1
    assert slugs(ok, "Dzhumaev") == []


def test_the_index_is_what_datasette_recognises(ok: Run, tmp_path: Path) -> None:
    """sqlite-utils (and so Datasette) sees cases_fts as the cases table's search index."""
    import sqlite_utils

    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ")
    db = sqlite_utils.Database(tmp_path / "importune.db")
    try:
        assert db["cases"].detect_fts() == "cases_fts"
        rows = list(db["cases"].search("dzhumaev"))
        assert [row["slug"] for row in rows] == ["yusuf-dzhumaev"]
    finally:
        db.close()


@pytest.mark.usefixtures("cases")
def test_as_a_real_process_piped_each_case_is_one_row(tmp_path: Path) -> None:
    """Piped (to grep, a file), the table does not fold a case over several lines."""
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "importune", "search", "Джумаев"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60,
                          env={**os.environ, "COLUMNS": "40"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if "yusuf-dzhumaev" in line]
    assert len(rows) == 1
    assert "Yusuf Dzhumaev (Юсуф Джумаев)" in rows[0] and "[Dzhumaev]" in rows[0]


def test_the_index_is_asked_for_quoted_prefixes_in_both_scripts() -> None:
    """What the FTS5 index is asked: each word a quoted prefix, quotes doubled, and a word
    in another script also in Latin letters (the soft sign dropped: Ольга is Olga)."""
    from importune.search import fts_query

    assert fts_query("Ольга") == '("Ольга"* OR "Olga"*)'
    assert fts_query('Dzh"um NEAR') == '("Dzh""um"*) AND ("NEAR"*)'
