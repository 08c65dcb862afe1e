"""The words of a letter: the default templates rendered from records, and every refusal.

Records are plain dicts shaped like store rows; the templates are the real ones in
the repository's letters/ folder (copied to tmp_path when a test adds its own).
"""


from __future__ import annotations

import datetime as dt
import errno
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from importune.compose import Composer, Letter, TemplateError
from importune.errors import ImportuneError

LETTERS = Path(__file__).resolve().parents[1] / "letters"
TODAY = dt.date(2009, 5, 4)

CASE = {
    "id": 1,
    "slug": "yusuf-dzhumaev",
    "name": "Yusuf Dzhumaev",
    "native_name": "Юсуф Джумаев",
    "reference": None,
    "country": "UZ",
    "location": "Karakul",
    "prison": None,
    "detained_on": "2001-10-23",
    "charges": "undermining the constitutional order",
    "summary": "An Uzbek poet, arrested at home after his poems were confiscated.",
    "sources": None,
    "language": "uz",
    "status": "detained",
    "released_on": None,
}
OFFICIAL = {
    "id": 1,
    "slug": "jasur-rakhimov",
    "name": "Jasur Rakhimov",
    "title": "Prosecutor General of the Republic of Uzbekistan",
    "organization": "General Prosecutor's Office",
    "country": "UZ",
    "address": "ul. Gulyamova 66\nTashkent 100047",
    "salutation": None,
    "email": None,
    "fax": None,
    "language": None,
}
OFFICIAL_RU = {
    **OFFICIAL,
    "id": 2,
    "slug": "generalnyi-prokuror",
    "name": "Джасур Рахимов",
    "title": "Генеральный прокурор Республики Узбекистан",
    "organization": "Генеральная прокуратура",
    "salutation": "Уважаемый господин Генеральный прокурор",
    "language": "ru",
}
MEMBER = {
    "id": 1,
    "slug": "mark-konrad",
    "name": "Mark Konrad",
    "address": "12 Elm Street\nSpringfield, IL 62701",
    "email": None,
    "language": None,
}
APPEAL = {
    "id": 1,
    "case_id": 1,
    "official_id": 1,
    "template": "concern",
    "language": None,
    "until": None,
    "active": 1,
}
GROUP = {"name": "Global Importune", "address": "PO Box 7\nPortland, OR 97201", "email": None}


@pytest.fixture
def composer() -> Composer:
    return Composer(LETTERS, GROUP, TODAY)


@pytest.fixture
def letters(tmp_path: Path) -> Path:
    """A copy of the default letters folder that a test may add templates to."""
    folder = tmp_path / "letters"
    shutil.copytree(LETTERS, folder)
    return folder


def write(folder: Path, relative: str, text: str) -> None:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def paragraphs(letter: Letter) -> list[str]:
    return letter.body.strip().split("\n\n")


# -- the English letter of concern ------------------------------------------------------


def test_english_letter_names_the_prisoner_the_place_the_date_and_the_charges(composer):
    letter = composer.compose(CASE, OFFICIAL, MEMBER, APPEAL)

    assert letter.language == "en"
    assert letter.template == "concern"
    assert letter.template_path == "concern.en.txt.j2"
    assert "Yusuf Dzhumaev" in letter.subject
    assert "Uzbekistan" in letter.subject
    assert "Yusuf Dzhumaev (Юсуф Джумаев)" in letter.body
    assert "Karakul, Uzbekistan" in letter.body
    assert "since October 23, 2001" in letter.body
    assert "7 years" in letter.body  # 2001-10-23 to 2009-05-04
    assert "charged with undermining the constitutional order." in letter.body


def test_english_letter_makes_the_whole_request(composer):
    body = composer.compose(CASE, OFFICIAL, MEMBER, APPEAL).body

    assert "release Yusuf Dzhumaev immediately and unconditionally" in body
    assert "not subjected to torture or any other ill-treatment" in body
    assert "access to family" in body
    assert "a lawyer of their own choosing" in body
    assert "medical care" in body


def test_english_letter_runs_from_salutation_to_signature(composer):
    letter = composer.compose(CASE, OFFICIAL, MEMBER, APPEAL)
    parts = paragraphs(letter)

    assert parts[0] == "Dear Prosecutor General,"  # the office, from the title
    assert parts[-2] == "Yours respectfully,"
    assert parts[-1] == "Mark Konrad"
    assert letter.body.endswith("Mark Konrad\n")
    assert "Subject:" not in letter.body
    assert "None" not in letter.body
    # The address blocks and the date are the format layer's, not the template's.
    assert "Tashkent" not in letter.body
    assert "May 4, 2009" not in letter.body


def test_the_officials_own_salutation_is_used(composer):
    official = {**OFFICIAL, "salutation": "Dear Mr Rakhimov"}
    letter = composer.compose(CASE, official, MEMBER, APPEAL)

    assert paragraphs(letter)[0] == "Dear Mr Rakhimov,"


def test_without_a_title_the_salutation_uses_the_name(composer):
    official = {**OFFICIAL, "title": None}
    letter = composer.compose(CASE, official, MEMBER, APPEAL)

    assert paragraphs(letter)[0] == "Dear Jasur Rakhimov,"


def test_the_reference_and_the_prison_appear_when_recorded(composer):
    case = {**CASE, "reference": "UA 123/01", "prison": "SNB detention facility, Bukhara"}
    letter = composer.compose(case, OFFICIAL, MEMBER, APPEAL)

    assert "(UA 123/01)" in letter.subject
    assert "SNB detention facility, Bukhara, Karakul, Uzbekistan" in letter.body


def test_a_case_without_native_name_date_or_charges_still_reads_well(composer):
    case = {**CASE, "native_name": None, "detained_on": None, "charges": None, "location": None}
    letter = composer.compose(case, OFFICIAL, MEMBER, APPEAL)

    assert "has been held in Uzbekistan." in letter.body
    assert "()" not in letter.body
    assert "charged" not in letter.body
    assert "None" not in letter.body


def test_letter_carries_date_addresses_and_records(composer):
    letter = composer.compose(CASE, OFFICIAL, MEMBER, APPEAL)

    assert letter.date == TODAY
    assert letter.date_text == "May 4, 2009"
    assert letter.recipient_lines == [
        "Jasur Rakhimov",
        "Prosecutor General of the Republic of Uzbekistan",
        "General Prosecutor's Office",
        "ul. Gulyamova 66",
        "Tashkent 100047",
        "UZBEKISTAN",
    ]
    assert letter.sender_lines == ["Mark Konrad", "12 Elm Street", "Springfield, IL 62701"]
    assert letter.case is CASE and letter.official is OFFICIAL and letter.member is MEMBER
    assert letter.appeal is APPEAL and letter.group == GROUP


# -- the Russian letter ------------------------------------------------------------------


def test_russian_letter_in_formal_russian(composer):
    letter = composer.compose(CASE, OFFICIAL_RU, MEMBER, APPEAL)
    parts = paragraphs(letter)

    assert letter.language == "ru"
    assert letter.template_path == "concern.ru.txt.j2"
    assert letter.date_text == "4 мая 2009 г."
    assert "Юсуф Джумаев" in letter.subject
    assert parts[0] == "Уважаемый господин Генеральный прокурор!"
    assert "Юсуф Джумаев (Yusuf Dzhumaev) находится под стражей с 23 октября 2001 г." in letter.body
    assert "уже 7 лет" in letter.body
    assert "Karakul, Узбекистан" in letter.body
    assert "«undermining the constitutional order»" in letter.body
    assert "Прошу Вас немедленно и безоговорочно освободить" in letter.body
    assert "не будет подвергаться пыткам" in letter.body
    assert "к адвокату по своему выбору" in letter.body
    assert "медицинской помощи" in letter.body
    assert parts[-2] == "С уважением,"
    assert parts[-1] == "Mark Konrad"


def test_russian_salutation_from_a_russian_title(composer):
    official = {**OFFICIAL_RU, "salutation": None}
    letter = composer.compose(CASE, official, MEMBER, APPEAL)

    assert paragraphs(letter)[0] == "Уважаемый Генеральный прокурор Республики Узбекистан!"


def test_russian_years_take_the_right_plural(composer):
    one = composer.compose({**CASE, "detained_on": "2008-01-01"}, OFFICIAL_RU, MEMBER, APPEAL)
    few = composer.compose({**CASE, "detained_on": "2006-01-01"}, OFFICIAL_RU, MEMBER, APPEAL)

    assert "уже 1 год." in one.body
    assert "уже 3 года." in few.body


# -- unsigned letters ---------------------------------------------------------------------


def test_unsigned_letter_is_signed_by_the_group_and_written_as_we(composer):
    letter = composer.compose(CASE, OFFICIAL, None, APPEAL)

    assert letter.member is None
    assert paragraphs(letter)[-1] == "Global Importune"
    assert paragraphs(letter)[1].startswith(("We ", "Please allow us"))
    assert " I " not in letter.body
    assert letter.sender_lines == ["Global Importune", "PO Box 7", "Portland, OR 97201"]


def test_unsigned_russian_letter_asks_in_the_plural(composer):
    letter = composer.compose(CASE, OFFICIAL_RU, None, APPEAL)

    assert "Просим Вас немедленно и безоговорочно освободить" in letter.body
    assert paragraphs(letter)[-1] == "Global Importune"


def test_unsigned_letter_needs_the_groups_name():
    composer = Composer(LETTERS, {"name": None, "address": None, "email": None}, TODAY)

    with pytest.raises(TemplateError, match="group set --name"):
        composer.compose(CASE, OFFICIAL, None, APPEAL)


# -- which template, which language ------------------------------------------------------


def test_language_is_the_appeals_then_the_officials_then_english(composer):
    assert composer.letter_language({"language": "de"}, {"language": "ru"}) == "de"
    assert composer.letter_language({"language": None}, {"language": "ru"}) == "ru"
    assert composer.letter_language({"language": None}, {"language": None}) == "en"


def test_appeal_language_overrides_the_officials(composer):
    letter = composer.compose(CASE, OFFICIAL_RU, MEMBER, {**APPEAL, "language": "en"})

    assert letter.language == "en"
    assert "Yours respectfully," in letter.body


def test_a_language_without_templates_falls_back_to_english(composer):
    letter = composer.compose(CASE, OFFICIAL, MEMBER, {**APPEAL, "language": "uz"})

    assert letter.language == "en"
    assert letter.template_path == "concern.en.txt.j2"
    assert letter.date_text == "May 4, 2009"  # written in the language actually used


def test_resolve_prefers_the_cases_own_template_then_the_general_one(letters):
    write(letters, "cases/yusuf-dzhumaev/concern.ru.txt.j2", '{% extends "concern.ru.txt.j2" %}\n')
    composer = Composer(letters, GROUP, TODAY)

    assert composer.resolve("concern", "ru", "yusuf-dzhumaev") == (
        "cases/yusuf-dzhumaev/concern.ru.txt.j2",
        "ru",
    )
    assert composer.resolve("concern", "ru", "other-case") == ("concern.ru.txt.j2", "ru")
    assert composer.resolve("concern", "uz", "yusuf-dzhumaev") == ("concern.en.txt.j2", "en")


def test_a_cases_own_template_extends_the_general_one(letters):
    write(
        letters,
        "cases/yusuf-dzhumaev/concern.en.txt.j2",
        '{% extends "concern.en.txt.j2" %}\n'
        "{% block facts %}\n"
        "{{ name }}, a poet and father of six, was arrested at home in {{ case.location }} "
        "on {{ case.detained_on | date }} after officers confiscated his poems.\n"
        "{% endblock %}\n",
    )
    composer = Composer(letters, GROUP, TODAY)

    own = composer.compose(CASE, OFFICIAL, MEMBER, APPEAL)
    other = composer.compose({**CASE, "id": 2, "slug": "olga-petrova"}, OFFICIAL, MEMBER, APPEAL)

    assert own.template_path == "cases/yusuf-dzhumaev/concern.en.txt.j2"
    assert (
        "a poet and father of six, was arrested at home in Karakul on October 23, 2001" in own.body
    )
    assert "immediately and unconditionally" in own.body  # the general template's request
    assert own.body.endswith("Mark Konrad\n")
    assert other.template_path == "concern.en.txt.j2"
    assert "father of six" not in other.body


def test_a_thanks_letter_after_release(composer):
    case = {**CASE, "status": "released", "released_on": "2011-12-29"}
    english = composer.compose(case, OFFICIAL, MEMBER, {**APPEAL, "template": "thanks"})
    russian = composer.compose(case, OFFICIAL_RU, MEMBER, {**APPEAL, "template": "thanks"})

    assert english.subject == "Thank you for the release of Yusuf Dzhumaev"
    assert "December 29, 2011" in english.body
    assert "10 years" in english.body
    assert "Освобождение состоялось 29 декабря 2011 г. — после 10 лет под стражей." in russian.body
    assert paragraphs(russian)[-2:] == ["С уважением,", "Mark Konrad"]


def test_no_template_by_that_name(composer):
    with pytest.raises(TemplateError, match="no template 'appeal-letter'"):
        composer.compose(CASE, OFFICIAL, MEMBER, {**APPEAL, "template": "appeal-letter"})


# -- variation ---------------------------------------------------------------------------


def members(count: int) -> list[dict]:
    return [{**MEMBER, "id": i, "slug": f"member-{i}", "name": f"Member {i}"} for i in range(count)]


def test_the_same_member_always_gets_the_same_wording(composer, letters):
    first = composer.compose(CASE, OFFICIAL, MEMBER, APPEAL)
    again = composer.compose(CASE, OFFICIAL, MEMBER, APPEAL)
    elsewhere = Composer(letters, GROUP, TODAY).compose(CASE, OFFICIAL, MEMBER, APPEAL)

    assert first.body == again.body == elsewhere.body


def test_the_wording_is_stable_across_runs(composer):
    """Python's hash() changes between processes; the choice of wording must not."""
    script = (
        "import datetime, json, sys; from pathlib import Path; "
        "from importune.compose import Composer; "
        "case, official, member, appeal, group = json.loads(sys.argv[1]); "
        "c = Composer(Path(sys.argv[2]), group, datetime.date(2009, 5, 4)); "
        "print(c.compose(case, official, member, appeal).body, end='')"
    )
    import json

    records = json.dumps([CASE, OFFICIAL, MEMBER, APPEAL, GROUP])
    root = Path(__file__).resolve().parents[1]
    bodies = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)}
        run = subprocess.run(
            [sys.executable, "-c", script, records, str(LETTERS)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        bodies.add(run.stdout)
    assert bodies == {composer.compose(CASE, OFFICIAL, MEMBER, APPEAL).body}


def test_members_are_spread_across_the_openings_and_closings(composer):
    letters = [composer.compose(CASE, OFFICIAL, m, APPEAL) for m in members(30)]
    openings = {paragraphs(letter)[1] for letter in letters}
    closings = {paragraphs(letter)[-3] for letter in letters}

    assert len(openings) >= 2
    assert len(closings) >= 2
    for letter in letters:  # every wording still makes the request
        assert "immediately and unconditionally" in letter.body


def test_variants_tag_in_a_groups_own_template(letters):
    write(
        letters,
        "short.en.txt.j2",
        "Subject: {{ case.name }}\n\n"
        "{% variants %}\nalpha\n{% or %}\nbeta\n{% or %}\ngamma\n{% endvariants %}\n",
    )
    composer = Composer(letters, GROUP, TODAY)
    appeal = {**APPEAL, "template": "short"}

    bodies = [composer.compose(CASE, OFFICIAL, m, appeal).body for m in members(30)]

    assert set(bodies) <= {"alpha\n", "beta\n", "gamma\n"}
    assert len(set(bodies)) >= 2
    assert bodies == [composer.compose(CASE, OFFICIAL, m, appeal).body for m in members(30)]


def test_string_methods_and_filters_in_a_groups_own_template(letters):
    # What templates do with text: a string's methods (with keywords, inside a block
    # and a loop), select with and without a test, join, map. (The sandbox takes a
    # shortcut for these; the words must be the ones Jinja gives.)
    write(
        letters,
        "methods.en.txt.j2",
        "Subject: {{ case.name.upper() }}\n\n"
        "{% block facts %}"
        "{{ case.charges.rstrip('r').title() }}; {{ case.name.split(maxsplit=1)[1] }}; "
        "{{ [case.prison, case.location, 'UZ'] | select | join(', ') }}; "
        "{{ [1, 2, 3, 4] | select('odd') | join('+') }}; "
        "{{ ['a', none, 'b'] | reject('none') | map('upper') | join }}; "
        "{% for word in case.summary.split()[:2] %}{{ word.lower().strip(',') }} {% endfor %}"
        "{% endblock %}\n",
    )
    letter = Composer(letters, GROUP, TODAY).compose(
        CASE, OFFICIAL, MEMBER, {**APPEAL, "template": "methods"}
    )

    assert letter.subject == "YUSUF DZHUMAEV"
    assert letter.body == (
        "Undermining The Constitutional Orde; Dzhumaev; Karakul, UZ; 1+3; AB; an uzbek\n"
    )


# -- compiled templates kept between runs -----------------------------------------------


@pytest.fixture
def template_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where this test's compiled templates go: Jinja's cache folder under a fresh temp."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return tmp_path / "tmp" / f"_jinja2-cache-{os.getuid()}"


def never_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled again instead of read from the cache")

    monkeypatch.setattr("jinja2.environment.Environment.compile", refuse)


def test_a_compiled_template_is_kept_for_the_next_run(letters, template_cache, monkeypatch):
    first = Composer(letters, GROUP, TODAY).compose(CASE, OFFICIAL, MEMBER, APPEAL)
    kept = sorted(template_cache.glob("importune-*.cache"))
    assert len(kept) == 1  # concern.en.txt.j2
    assert template_cache.stat().st_mode & 0o777 == 0o700  # this user's alone
    assert kept[0].stat().st_mode & 0o077 == 0

    with monkeypatch.context() as patch:
        never_compiled(patch)
        again = Composer(letters, GROUP, TODAY).compose(CASE, OFFICIAL, MEMBER, APPEAL)
    assert again == first

    # Edited: compiled afresh, the new words are in the letter.
    path = letters / "concern.en.txt.j2"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "Yours respectfully,", "With my respect,"), encoding="utf-8")
    edited = Composer(letters, GROUP, TODAY).compose(CASE, OFFICIAL, MEMBER, APPEAL)
    assert "With my respect," in edited.body and "Yours respectfully" not in edited.body
    assert len(sorted(template_cache.glob("importune-*.cache"))) == 1  # replaced, same file


def test_a_template_read_from_the_cache_is_still_sandboxed(letters, template_cache, monkeypatch):
    hostile = "Subject: x\n\n{{ 'x' * 100000000 }}{{ ''.__class__ }}\n"
    first = refusal(letters, hostile)
    with monkeypatch.context() as patch:
        never_compiled(patch)
        assert refusal(letters, hostile) == first
    assert first.startswith("letters/probe.en.txt.j2, line 3: refused")


def test_a_cache_that_cannot_be_written_changes_no_letter(letters, template_cache, monkeypatch):
    expected = Composer(LETTERS, GROUP, TODAY).compose(CASE, OFFICIAL, MEMBER, APPEAL).body
    before = sorted(template_cache.glob("importune-*"))  # the repository's letters, kept

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", full)
    for _ in range(2):  # nothing kept: compiled each time, the same letter
        letter = Composer(letters, GROUP, TODAY).compose(CASE, OFFICIAL, MEMBER, APPEAL)
        assert letter.body == expected
    assert sorted(template_cache.glob("importune-*")) == before


def test_old_entries_of_the_cache_are_cleared_out_once_a_process(
    letters, template_cache, monkeypatch
):
    """Entries of an edited template or an earlier importune are never read again: the
    first process that writes an entry removes importune's entries written more than
    CACHE_DAYS ago, and leaves other programs' entries alone."""
    from importune import compose

    monkeypatch.setattr(compose._CompiledTemplates, "pruned", False)
    template_cache.mkdir(mode=0o700)
    now = dt.datetime.now().timestamp()
    ages = {"importune-old.cache": 61, "importune-recent.cache": 10, "__jinja2_other.cache": 90}
    for name, days in ages.items():
        (template_cache / name).write_bytes(b"x")
        os.utime(template_cache / name, (now - days * 86400, now - days * 86400))

    Composer(letters, GROUP, TODAY).compose(CASE, OFFICIAL, MEMBER, APPEAL)
    left = {path.name for path in template_cache.iterdir()}
    assert "importune-old.cache" not in left
    assert {"importune-recent.cache", "__jinja2_other.cache"} <= left
    assert len(left) == 3  # and the entry just written

    # Once a process: another old entry stays until the next process writes one.
    (template_cache / "importune-old.cache").write_bytes(b"x")
    os.utime(template_cache / "importune-old.cache", (now - 61 * 86400, now - 61 * 86400))
    write(letters, "thanks.en.txt.j2", "Subject: Thank you\n\nThank you.\n")
    thanks = {**APPEAL, "template": "thanks"}
    Composer(letters, GROUP, TODAY).compose(CASE, OFFICIAL, MEMBER, thanks)
    assert (template_cache / "importune-old.cache").exists()


def test_the_template_cache_can_be_turned_off(letters, template_cache, monkeypatch):
    monkeypatch.setenv("IMPORTUNE_NO_TEMPLATE_CACHE", "1")
    Composer(letters, GROUP, TODAY).compose(CASE, OFFICIAL, MEMBER, APPEAL)
    assert not template_cache.exists()


# -- refusals ---------------------------------------------------------------------------


def refusal(letters: Path, text: str, member: dict | None = MEMBER) -> str:
    write(letters, "probe.en.txt.j2", text)
    composer = Composer(letters, GROUP, TODAY)
    with pytest.raises(TemplateError) as caught:
        composer.compose(CASE, OFFICIAL, member, {**APPEAL, "template": "probe"})
    assert isinstance(caught.value, ImportuneError)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_misspelt_field_names_the_file_the_line_and_the_field(letters):
    message = refusal(letters, "Subject: x\n\nDear,\n\n{{ case.name }} and {{ case.prisn }}\n")

    assert message == (
        "letters/probe.en.txt.j2, line 5: 'case' has no field 'prisn' (did you mean 'prison'?)"
    )


def test_a_missing_field_in_a_default_template_names_it(letters):
    text = (letters / "concern.en.txt.j2").read_text(encoding="utf-8")
    lines = text.splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.startswith("Please release"))
    lines[number - 1] = lines[number - 1].replace("{{ name }}", "{{ case.prisn }}", 1)
    (letters / "concern.en.txt.j2").write_text("\n".join(lines) + "\n", encoding="utf-8")

    with pytest.raises(TemplateError) as caught:
        Composer(letters, GROUP, TODAY).compose(CASE, OFFICIAL, MEMBER, APPEAL)

    assert (
        str(caught.value)
        == f"letters/concern.en.txt.j2, line {number}: 'case' has no field 'prisn' "
        "(did you mean 'prison'?)"
    )


def test_an_undefined_variable_is_named(letters):
    message = refusal(letters, "Subject: x\n\n{{ prisoner }}\n")

    assert message.startswith("letters/probe.en.txt.j2, line 3: 'prisoner' is not defined (a ")


def test_a_misspelt_filter_is_named_with_the_one_meant(letters):
    message = refusal(letters, "Subject: x\n\n{{ case.detained_on | dat }}\n")
    assert message == (
        "letters/probe.en.txt.j2, line 3: there is no filter 'dat' (did you mean 'date'?)"
    )
    message = refusal(letters, "Subject: x\n\n{{ case.name | xyzzy }}\n")
    assert message == "letters/probe.en.txt.j2, line 3: there is no filter 'xyzzy'"


def test_a_misspelt_name_is_named_with_the_one_meant(letters):
    message = refusal(letters, "Subject: x\n\n{{ cse.name }}\n")

    assert message.startswith(
        "letters/probe.en.txt.j2, line 3: 'cse' is not defined (did you mean 'case'?) (a "
    )


def test_member_fields_in_an_unsigned_letter_are_refused(letters):
    message = refusal(letters, "Subject: x\n\n{{ member.name }}\n", member=None)

    assert message.startswith("letters/probe.en.txt.j2, line 3: 'member' is empty")
    assert "{% if member %}" in message


def test_printing_an_empty_field_is_refused(letters):
    message = refusal(letters, "Subject: x\n\nHeld in {{ case.prison }}.\n")

    assert message.startswith("letters/probe.en.txt.j2, line 3: an empty field (None)")


@pytest.mark.parametrize(
    "expression",
    [
        "{{ case.__class__.__mro__ }}",
        "{{ ''.__class__ }}",
        "{{ case.name.upper().__class__ }}",
        "{{ case.name.upper.__self__.__class__ }}",
        "{{ '{0.__class__}'.format(case) }}",
        "{{ '{x.__class__}'.format_map({'x': case}) }}",
        "{{ ('{0.__class__}' | attr('format'))(case) }}",
        "{{ lipsum.__globals__ }}",
        "{{ (lipsum or cycler).__init__ }}",
    ],
)
def test_reaching_for_python_internals_is_refused(letters, expression):
    message = refusal(letters, f"Subject: x\n\nDear,\n{expression}\n")

    assert message.startswith("letters/probe.en.txt.j2, line 4: ")
    assert "Python internals" in message or "undefined" in message or "refused" in message


def test_mutating_records_is_refused(letters):
    message = refusal(letters, "Subject: x\n\n{{ case.update({'name': 'x'}) }}\n")

    assert message.startswith("letters/probe.en.txt.j2, line 3: ")
    assert CASE["name"] == "Yusuf Dzhumaev"


def test_a_template_that_would_fill_the_memory_is_refused(letters):
    message = refusal(letters, "Subject: x\n\n{{ 'x' * 100000000 }}\n")

    assert message.startswith("letters/probe.en.txt.j2, line 3: refused")


def test_a_syntax_error_names_the_file_and_line(letters):
    message = refusal(letters, "Subject: x\n\nDear,\n\n{% if case.name %}\nunclosed\n")

    assert message.startswith("letters/probe.en.txt.j2, line ")
    assert "syntax error" in message


def test_a_syntax_error_in_the_parent_of_a_cases_template_names_the_parent(letters):
    write(letters, "cases/yusuf-dzhumaev/concern.en.txt.j2", '{% extends "broken.en.txt.j2" %}\n')
    write(letters, "broken.en.txt.j2", "Subject: x\n\n{{ case.name }\n")

    with pytest.raises(TemplateError) as caught:
        Composer(letters, GROUP, TODAY).compose(CASE, OFFICIAL, MEMBER, APPEAL)

    assert str(caught.value).startswith("letters/broken.en.txt.j2, line 3: syntax error")


def test_a_letter_must_start_with_its_subject(letters):
    message = refusal(letters, "Dear Sir,\n\nPlease.\n")

    assert message.startswith(
        "letters/probe.en.txt.j2, line 1: a letter template starts with 'Subject:"
    )


@pytest.mark.parametrize("name", ["../concern", "/etc/passwd", "cases/../../x", "Concern", ""])
def test_template_names_that_could_climb_out_are_refused(composer, name):
    with pytest.raises(TemplateError, match="not a plain name"):
        composer.resolve(name, "en", "yusuf-dzhumaev")


def test_languages_and_case_slugs_that_could_climb_out_are_refused(composer):
    with pytest.raises(TemplateError, match="language"):
        composer.resolve("concern", "../en", "yusuf-dzhumaev")
    with pytest.raises(TemplateError, match="case slug"):
        composer.resolve("concern", "en", "../../etc")


def test_a_symlink_leading_outside_the_folder_is_refused(letters, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("Subject: secret\n\nthe secret\n", encoding="utf-8")
    (letters / "leak.en.txt.j2").symlink_to(outside)
    composer = Composer(letters, GROUP, TODAY)

    with pytest.raises(TemplateError, match=r"letters/leak\.en\.txt\.j2 leads outside letters/"):
        composer.compose(CASE, OFFICIAL, MEMBER, {**APPEAL, "template": "leak"})


def test_an_include_cannot_climb_out_either(letters, tmp_path):
    (tmp_path / "secret.txt").write_text("the secret", encoding="utf-8")
    (letters / "cases").mkdir(exist_ok=True)
    (letters / "cases" / "linked.txt").symlink_to(tmp_path / "secret.txt")
    for text in ('{% include "../secret.txt" %}', '{% include "cases/linked.txt" %}'):
        message = refusal(letters, f"Subject: x\n\n{text}\n")
        assert message.startswith("letters/probe.en.txt.j2, line 3: ")
        assert "secret" not in message.replace("secret.txt", "")


def test_render_named_refuses_paths_outside_the_folder(composer):
    for path in ("../letters/announce.en.md.j2", "/etc/passwd.j2", "cases/../announce.en.md.j2"):
        with pytest.raises(TemplateError, match="inside letters/"):
            composer.render_named(path, {"case": CASE})


# -- checking every template -------------------------------------------------------------


def test_the_default_templates_pass_the_check(composer):
    assert composer.check({}) == []


def test_check_reports_every_problem_at_once(letters):
    write(letters, "one.en.txt.j2", "Subject: x\n\n{{ case.prisn }}\n")
    write(letters, "two.en.txt.j2", "Subject: x\n\n{% if %}\n")
    write(letters, "three.ru.txt.j2", "Subject: x\n\nDear,\n{{ ''.__class__ }}\n")
    write(
        letters,
        "cases/yusuf-dzhumaev/concern.en.txt.j2",
        '{% extends "concern.en.txt.j2" %}\n{% block facts %}\n{{ case.nope }}\n{% endblock %}\n',
    )
    write(letters, "four.en.txt.j2", "Subject: x\n\n{{ member.name }}\n")
    write(letters, "concern.txt.j2", "Subject: x\n\nno language in the name\n")

    problems = Composer(letters, GROUP, TODAY).check({"case": CASE, "official": OFFICIAL})

    assert (
        "letters/one.en.txt.j2, line 3: 'case' has no field 'prisn' (did you mean 'prison'?)"
        in problems
    )
    assert any(p.startswith("letters/two.en.txt.j2, line 3: syntax error") for p in problems)
    assert any(p.startswith("letters/three.ru.txt.j2, line 4: ") for p in problems)
    assert (
        "letters/cases/yusuf-dzhumaev/concern.en.txt.j2, line 3: 'case' has no field 'nope'"
        in problems
    )
    assert any(p.startswith("letters/four.en.txt.j2, line 3: 'member' is empty") for p in problems)
    assert any(p.startswith("letters/concern.txt.j2: never used") for p in problems)
    assert len(problems) == 6  # and the formats' layout.html.j2 is not one of them


# -- the release announcement -----------------------------------------------------------


def test_the_release_announcement(composer):
    case = {**CASE, "status": "released", "released_on": "2011-12-29"}
    events = [
        {"id": 1, "case_id": 1, "date": "2001-10-23", "kind": "arrested", "note": "At home"},
        {"id": 2, "case_id": 1, "date": "2011-12-29", "kind": "released", "note": None},
    ]
    tally = {
        "letters_generated": 1300,
        "letters_printed": 1250,
        "letters_sent": 1200,
        "officials": 3,
        "years": 10,
    }

    text = composer.render_named(
        "announce.en.md.j2", {"case": case, "group": GROUP, "events": events, "tally": tally}
    )
    by_name = composer.render_named(
        "announce", {"case": case, "group": GROUP, "events": events, "tally": tally}
    )

    assert text == by_name
    assert text.startswith("# Yusuf Dzhumaev of Uzbekistan is free\n")
    assert "Yusuf Dzhumaev (Юсуф Джумаев), held in Karakul, Uzbekistan" in text
    assert (
        "detained on October 23, 2001, and charged with undermining the constitutional order"
        in text
    )
    assert "released on December 29, 2011, after 10 years in detention" in text
    assert "- October 23, 2001: Arrested. At home" in text
    assert "Global Importune sent 1,200 letters of concern" in text
    assert "to 3 officials in Uzbekistan" in text
    assert "None" not in text


def test_a_templates_digest_is_the_same_whether_or_not_it_is_parsed(
    letters: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A template that names no other (its comments aside) is digested without parsing it:
    the digest is the one a parse gives, and an included template still counts."""
    import importune.compose as compose_module

    write(letters, "footer.en.txt.j2", "Yours, {{ group.name }}\n")
    write(letters, "thanks.en.txt.j2", '{# {% include "nothing" %} #}Thank you.\n')
    write(letters, "note.en.txt.j2", 'A note.\n{%- include "footer.en.txt.j2" %}\n')
    names = ["concern.en.txt.j2", "concern.ru.txt.j2", "thanks.en.txt.j2", "note.en.txt.j2"]
    quick = [Composer(letters, GROUP, TODAY).source_digest(name) for name in names]
    monkeypatch.setattr(compose_module, "_MAY_NAME_A_TEMPLATE", re.compile(""))
    parsed = [Composer(letters, GROUP, TODAY).source_digest(name) for name in names]
    assert quick == parsed
    write(letters, "footer.en.txt.j2", "Yours sincerely, {{ group.name }}\n")
    assert Composer(letters, GROUP, TODAY).source_digest("note.en.txt.j2") != quick[3]
    assert Composer(letters, GROUP, TODAY).source_digest("thanks.en.txt.j2") == quick[2]
