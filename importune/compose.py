"""The words of a letter: choosing its template, building its context, rendering it safely.

A :class:`Composer` holds one sandboxed Jinja2 environment over a letters folder
and turns records (plain dicts, as the store returns them) into :class:`Letter`
values that the formats (txt, md, html, pdf, eml) lay out. A template's output is
``Subject: ...``, a blank line, then the letter from the salutation to the
signature; the address blocks and the date are placed by the format layer from
the letter's ``recipient_lines``, ``sender_lines`` and ``date_text``.

Templates may come from elsewhere (an organizer's pack) and their output goes
to heads of state, so rendering is strict: the sandbox refuses Python internals,
``StrictUndefined`` refuses a misspelt field, and printing an empty field
(``None``) is refused too, rather than writing "None" or a blank in a letter.
Every refusal is one line naming the template file, its line and the problem.

A campaign renders tens of thousands of letters in a run, so templates are
compiled once, template lookups, postal layouts, babel locales and formatted
dates are cached, and composing a letter touches no file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from types import BuiltinMethodType, TracebackType
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateRuntimeError,
    TemplateSyntaxError,
    Undefined,
    UndefinedError,
    nodes,
    pass_context,
)
from jinja2.bccache import Bucket, FileSystemBytecodeCache
from jinja2.ext import Extension
from jinja2.parser import Parser
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import missing, object_type_repr

from importune import postal, records
from importune.errors import ImportuneError

CONTEXT_NAMES = ("case", "official", "member", "appeal", "group", "today", "language", "salutation")
"""What a letter template can read (an announcement reads case, group, events, tally, today)."""

DEFAULT_TEMPLATE = "concern"
DEFAULT_LANGUAGE = "en"
ANNOUNCEMENTS = frozenset({"announce"})
"""Template names rendered with the release context (events, tally) rather than a letter's."""

_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}$")
_FILE_RE = re.compile(
    r"^(?P<name>[a-z0-9][a-z0-9_-]*)\.(?P<lang>[a-z]{2,3})\.(?P<ext>txt|md|html)\.j2$"
)
_MISNAMED_LETTER = re.compile(r"^[^.]+(\.[^.]+)?\.txt\.j2$")
_SUBJECT = "Subject:"

# Limits on what a template may build with * and **, so a hostile template in a
# pack cannot fill the memory of the member who prints it.
_MAX_REPEAT = 100_000
_MAX_EXPONENT = 100
_MAX_POWER_BITS = 16_384  # about 4,900 digits: more than Python will print (4,300)


class TemplateError(ImportuneError):
    """A template that cannot make a letter: its file, line and the problem, in one line."""


@dataclass(slots=True)
class Letter:
    """One rendered letter, before it is laid out in a format.

    ``member`` is None for an unsigned letter (signed with the group's name).
    ``language`` is the language the letter is written in (the template found,
    which may be English when the asked-for language has none).

    A value: nothing changes a letter once composed (``dataclasses.replace`` makes
    another). It is not declared frozen because a frozen dataclass is built field by
    field through ``object.__setattr__``, three times the cost of this one, and a
    campaign composes tens of thousands of letters.
    """

    case: dict
    official: dict
    member: dict | None
    appeal: dict
    group: dict
    template: str
    language: str
    template_path: str
    date: dt.date
    date_text: str
    subject: str
    body: str
    recipient_lines: list[str]
    sender_lines: list[str]


# -- dates, numbers and names in the letter's language ---------------------------------


@cache
def _locale(language: str) -> Locale:
    """A babel Locale, parsed once per language; an unknown one falls back to English."""
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LANGUAGE)


def _as_date(value: Any, what: str = "date") -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value is None or value == "":
        raise _FilterError(f"{what}: the date is empty; guard it with {{% if ... %}}")
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _FilterError(f"{what}: {value!r} is not a date in the form YYYY-MM-DD") from None


_NARROW_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})


@lru_cache(maxsize=4096)
def write_date(value: dt.date, language: str, form: str = "long") -> str:
    """``value`` as a person writing in ``language`` writes it (babel's CLDR data):
    "October 23, 2001" in English, "23 October 2001" with the Russian month and year mark.

    CLDR puts narrow no-break spaces in some languages' dates (before the Russian year
    mark); many fonts and e-mail clients have no glyph for them, so they become spaces.
    """
    return format_date(value, form, locale=_locale(language)).translate(_NARROW_SPACES)


def dates_in(language: str, group: Mapping[str, Any]) -> str:
    """The locale a letter in ``language`` writes its dates in: for English, the group's
    English (``en_GB``: "29 November 2026"), else babel's ``en`` ("November 29, 2026"). A
    setting another program wrote that is not English is passed over."""
    english = group.get("english") if language == DEFAULT_LANGUAGE else None
    return english if isinstance(english, str) and english.startswith("en_") else language


def years_between(start: dt.date, end: dt.date) -> int:
    """Whole years from ``start`` to ``end``: a birthday-style count."""
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return max(years, 0)


_PLURAL_ORDER = ("zero", "one", "two", "few", "many", "other")


@cache
def _plural_tags(language: str) -> tuple[str, ...]:
    tags = _locale(language).plural_form.tags
    return tuple(tag for tag in _PLURAL_ORDER if tag in tags or tag == "other")


@lru_cache(maxsize=4096)
def plural_form(number: int, language: str, forms: tuple[str, ...]) -> str:
    """The form of a word for ``number`` by the language's CLDR plural rules.

    ``forms`` follow the language's categories in CLDR order: English (one, other):
    ``("year", "years")``; Russian (one, few, many): ``("год", "года", "лет")``.
    """
    if not forms:
        raise _FilterError("plural: give the word's forms, e.g. plural('year', 'years')")
    tag = _locale(language).plural_form(number)
    tags = _plural_tags(language)
    index = tags.index(tag) if tag in tags else len(forms) - 1
    return forms[min(index, len(forms) - 1)]


@cache
def country_in(code: str, language: str) -> str:
    """A country's name in ``language`` (babel's CLDR data), English from pycountry otherwise."""
    name = _locale(language).territories.get(code.upper()) if code else None
    return name or records.country_name(code)


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_MAY_NAME_A_TEMPLATE = re.compile(r"\{%[-+]?\s*(?:extends|include|import|from)\b")
"""The tags by which a template names another: one with none of them (its comments aside)
references no other template, as parsing it would find."""
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)


def _is_cyrillic(value: Any) -> bool:
    return isinstance(value, str) and bool(_CYRILLIC.search(value))


# -- the salutation ----------------------------------------------------------------------

# The offices whose holders are addressed by the office alone: "Dear Prosecutor General,".
_OFFICES = frozenset(
    {
        "president",
        "vice president",
        "prime minister",
        "deputy prime minister",
        "minister",
        "prosecutor general",
        "procurator general",
        "attorney general",
        "general prosecutor",
        "governor",
        "ambassador",
        "chairman",
        "chairwoman",
        "chairperson",
        "chair",
        "judge",
        "chief justice",
        "justice",
        "director",
        "director general",
        "commissioner",
        "mayor",
        "speaker",
        "ombudsman",
        "ombudsperson",
        "secretary general",
        "king",
        "queen",
        "emir",
        "sultan",
        "chancellor",
        "senator",
    }
)


@lru_cache(maxsize=4096)
def salutation_for(salutation: str | None, title: str | None, name: str, language: str) -> str:
    """How the letter greets the official: their own salutation if recorded, else one
    made from the title (the office, "Dear Minister,") or the name, ended as the
    language ends a greeting (English a comma, Russian an exclamation mark)."""
    russian = language == "ru"
    end = "!" if russian else ","
    if salutation:
        text = salutation.strip()
        return text if text[-1:] in ",!:." else text + end
    if russian:
        if title and _is_cyrillic(title):
            # The adjective agrees with the office (прокурор, министр), whoever holds it.
            return f"Уважаемый {title.strip()}!"
        return f"Уважаемый(-ая) {name}!"
    if title:
        office = re.split(r",| of | for | to ", title.strip(), maxsplit=1)[0].strip()
        if office.casefold() in _OFFICES:
            return f"Dear {office}{end}"
    return f"Dear {name}{end}"


# -- variation: alternative wordings chosen per member -----------------------------------


def _slug_of(record: Any, default: str) -> str:
    if record is None:
        return default
    if type(record) is dict and record.get("slug"):
        return record["slug"]
    if isinstance(record, Mapping):
        return str(record.get("slug") or record.get("id") or default)
    return default


def variant_index(member: str, case: str, official: str, position: int, options: int) -> int:
    """Which wording a ``{% variants %}`` block shows: a stable hash (sha256, not hash(),
    which changes between runs) of who writes, for whom, to whom, and which block."""
    return _variant_of(variant_seed(member, case, official), position, options)


def variant_seed(member: str, case: str, official: str) -> str:
    """What a letter's wordings are chosen from: its member's, case's and official's slugs."""
    return f"{member}\x1f{case}\x1f{official}\x1f"


def _variant_of(seed: str, position: int, options: int) -> int:
    digest = hashlib.sha256(f"{seed}{position}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % options


class VariantsExtension(Extension):
    """``{% variants %}A{% or %}B{% or %}C{% endvariants %}``: one of the wordings, the
    same for the same member, case and official every time, spread across members,
    so an official's desk does not fill with hundreds of identical copies.

    Blocks are numbered in the order they appear in their template file (not by
    line, so editing a sentence above does not reshuffle who gets which wording).
    """

    tags = {"variants"}  # noqa: RUF012 (Jinja's own declaration)

    def parse(self, parser: Parser) -> list[nodes.Node]:
        lineno = next(parser.stream).lineno
        position = getattr(parser, "_importune_variants", 0)
        parser._importune_variants = position + 1  # type: ignore[attr-defined]
        options: list[list[nodes.Node]] = []
        while True:
            options.append(parser.parse_statements(("name:or", "name:endvariants")))
            if next(parser.stream).value == "endvariants":
                break
        if len(options) == 1:
            return options[0]
        choice = nodes.Name(f"_variant_{position}", "store", lineno=lineno)
        chosen = nodes.Name(f"_variant_{position}", "load", lineno=lineno)
        # A filter, not a method call: filters are called directly, without the
        # sandbox's per-call checks, and this runs in every letter.
        pick_index = nodes.Filter(
            nodes.Const(position),
            _VARIANT_FILTER,
            [nodes.Const(len(options))],
            [],
            None,
            None,
            lineno=lineno,
        )

        def test(index: int) -> nodes.Compare:
            return nodes.Compare(chosen, [nodes.Operand("eq", nodes.Const(index))], lineno=lineno)

        middle = options[1:-1]
        branches = [
            nodes.If(test(i), body, [], [], lineno=lineno) for i, body in enumerate(middle, 1)
        ]
        pick = nodes.If(test(0), options[0], branches, options[-1], lineno=lineno)
        return [nodes.Assign(choice, pick_index, lineno=lineno), pick]

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.filters[_VARIANT_FILTER] = _variant_filter


_VARIANT_FILTER = "_importune_variant"


@pass_context
def _variant_filter(context: Context, position: int, options: int) -> int:
    """The wording a ``{% variants %}`` block shows in this letter (see :func:`variant_index`)."""
    records = context.parent
    seed = records.get(_SEED)
    if seed is None:  # not a letter composed by Composer.compose (an announcement, a check)
        seed = variant_seed(
            _slug_of(records.get("member"), "unsigned"),
            _slug_of(records.get("case"), ""),
            _slug_of(records.get("official"), ""),
        )
    return _variant_of(seed, position, options)


_SEED = "_importune_seed"
"""The context key holding a letter's :func:`variant_seed`, computed once per letter."""


# -- the sandbox ---------------------------------------------------------------------------


class _FilterError(TemplateRuntimeError):
    """A filter given something it cannot write (an empty or malformed date)."""


class _MissingField(UndefinedError):
    """A field or variable that is not there, with the object it was looked up on."""

    def __init__(self, message: str, obj: Any, name: Any) -> None:
        super().__init__(message)
        self.obj = obj
        self.name = name


class _StrictUndefined(StrictUndefined):
    """StrictUndefined that remembers where it was looked up, to name the record."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> Any:
        if self._undefined_exception is not UndefinedError:  # SecurityError from the sandbox
            raise self._undefined_exception(self._undefined_message)
        raise _MissingField(self._undefined_message, self._undefined_obj, self._undefined_name)


# Undefined binds its operators (__str__, __add__, __eq__, ...) to its own failing method
# when the class is made; point every one of them at the override above.
for _klass in StrictUndefined.__mro__:
    for _attr, _value in list(vars(_klass).items()):
        if _value is Undefined._fail_with_undefined_error and _attr != "_fail_with_undefined_error":
            setattr(_StrictUndefined, _attr, _StrictUndefined._fail_with_undefined_error)


def _finalize(value: Any) -> Any:
    """Refuse to print an empty field: "None" or a gap in a letter to a head of state."""
    if value is None:
        raise _FilterError(
            "an empty field (None) would be printed here; guard it with {% if ... %}"
        )
    return value


_STR_METHODS = frozenset(
    name for name in dir(str) if not name.startswith("_") and name not in ("format", "format_map")
)
"""The methods of a string a template may call as they are: every public one but ``format``
and ``format_map``, which the sandbox hands out wrapped (they can reach attributes)."""

_CALL_ONLY = ("_block_vars", "_loop_vars")
"""Keywords Jinja adds to a call for its own bookkeeping (``Context.call`` drops them)."""


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with limits on repetition and powers a letter never needs.

    Two shortcuts make it cheaper for what letters do most, with the sandbox's own
    answers: a record's field (a dict item) and a plain string's method (``.rstrip``,
    ``.upper``) are found without its general checks, and such a method is called
    without them. The checks cost more than the rest of a letter's line (a tenth of a
    letter's time, for one ``case.charges.rstrip(". ")``), and for these objects they
    always allow: a string method is public, not internal and changes nothing.
    """

    intercepted_binops = frozenset({"*", "**"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``case.name`` on a record reads its field first: records are dicts, and the
        sandbox's own order (attribute, then item) raises and catches an
        AttributeError for every field a letter prints. Dict methods still work."""
        kind = type(obj)
        if kind is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        elif kind is str and attribute in _STR_METHODS:
            return getattr(obj, attribute)
        return super().getattr(obj, attribute)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """A plain string's method (see :data:`_STR_METHODS`) is called directly; anything
        else goes through the sandbox's checks. (The odd names are Jinja's: a template's
        own keyword arguments may not clash with them.)"""
        if (
            type(__obj) is BuiltinMethodType
            and type(__obj.__self__) is str
            and __obj.__name__ in _STR_METHODS
        ):
            for name in _CALL_ONLY:
                kwargs.pop(name, None)
            return __obj(*args, **kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > _MAX_EXPONENT:
                raise SecurityError(f"the exponent {right} is too large for a letter")
            # Each exponent may be small and a tower of them still huge: (10**100)**100
            # has 10,000 digits, one more **100 a million, and computing it takes minutes.
            huge = isinstance(left, int) and isinstance(right, int) and right > 0
            if huge and abs(left).bit_length() * right > _MAX_POWER_BITS:
                raise SecurityError(f"a power of {right} is too large for a letter")
            return left**right
        for value, times in ((left, right), (right, left)):
            sequence = isinstance(value, str | list | tuple) and isinstance(times, int)
            if sequence and len(value) * times > _MAX_REPEAT:
                raise SecurityError(
                    f"repeating something {times:,} times makes more than a letter needs"
                )
        return left * right


class _ConfinedLoader(FileSystemLoader):
    """A FileSystemLoader that refuses any file resolving outside the letters folder
    (a symlink to /etc, say); Jinja already refuses ``..`` in a template name."""

    def __init__(self, root: Path) -> None:
        super().__init__(str(root))
        self.root = root

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        if not Path(filename).resolve().is_relative_to(self.root):
            raise SecurityError(f"template {template!r} leads outside the letters folder")
        return source, filename, uptodate


class _CompiledTemplates(FileSystemBytecodeCache):
    """Templates compiled by an earlier run, kept as Python code: compiling one takes
    30 ms, and every process that renders letters (each worker of a run, ``print``)
    compiled each template it used, every time.

    Jinja2's own file cache, in its own folder for this user (mode 0700, refused when
    anyone else owns it), and reused only for the same template file with the same
    words (Jinja checks a digest of its source) compiled the same way: the key also
    names this importune (its version and this module, whose sandbox and ``variants``
    tag decide the code) and Jinja2's version. Python's own version is in every entry.
    """

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return super().get_cache_key(f"{_CODE_KEY}|{name}", filename)

    def load_bytecode(self, bucket: Bucket) -> None:
        """An entry that cannot be read is compiled again (Jinja discards a damaged one)."""
        with contextlib.suppress(OSError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: Bucket) -> None:
        """An entry that cannot be written (a full disk) is simply not kept: the letters
        are made all the same. A process that writes one also clears out the old ones,
        once (see :meth:`prune`)."""
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)
        if not _CompiledTemplates.pruned:
            _CompiledTemplates.pruned = True
            self.prune()

    pruned = False
    """Whether this process has cleared out the old entries already."""

    def prune(self, now: float | None = None) -> int:
        """Remove importune's entries written more than :data:`CACHE_DAYS` days ago: those
        of a template edited since, or of an earlier importune, are never read again. An
        entry still in use is compiled and written again at its next use (a few tens of
        milliseconds). Other programs' entries are left alone. Returns how many went."""
        cutoff = (now if now is not None else dt.datetime.now().timestamp()) - CACHE_DAYS * 86400
        prefix, suffix = self.pattern.split("%s")
        removed = 0
        with contextlib.suppress(OSError), os.scandir(self.directory) as entries:
            for entry in entries:
                if not (entry.name.startswith(prefix) and entry.name.endswith(suffix)):
                    continue
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.remove(entry.path)
                        removed += 1
        return removed


CACHE_DAYS = 60
"""Days an entry of the compiled templates' cache is kept after it was written."""


def _code_key() -> str:
    """What compiled templates depend on besides their source (see :class:`_CompiledTemplates`)."""
    import jinja2

    from importune import __version__

    here = os.stat(__file__)
    return f"importune {__version__} {here.st_size} {here.st_mtime_ns}; jinja2 {jinja2.__version__}"


_CODE_KEY = _code_key()


def _compiled_templates() -> _CompiledTemplates | None:
    """The cache of compiled templates; None where it cannot be kept (no safe folder for
    it): templates are then compiled in every process, as before it."""
    if os.environ.get(NO_TEMPLATE_CACHE):
        return None
    try:
        return _CompiledTemplates(pattern="importune-%s.cache")
    except (OSError, RuntimeError):
        return None


NO_TEMPLATE_CACHE = "IMPORTUNE_NO_TEMPLATE_CACHE"
"""Set (to anything) to compile every template afresh in every process."""


# -- the composer ---------------------------------------------------------------------------


SAMPLES: dict[str, Any] = {
    "case": {
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
        "summary": "An Uzbek poet arrested at home after his poems were confiscated.",
        "sources": None,
        "language": "uz",
        "status": "detained",
        "released_on": None,
    },
    "official": {
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
    },
    "member": {
        "id": 1,
        "slug": "mark-konrad",
        "name": "Mark Konrad",
        "address": "12 Elm Street\nSpringfield",
        "email": None,
        "language": None,
    },
    "appeal": {
        "id": 1,
        "case_id": 1,
        "official_id": 1,
        "template": "concern",
        "language": None,
        "until": None,
        "active": 1,
    },
    "group": {"name": "Global Importune", "address": None, "email": None},
    "events": [
        {"id": 1, "case_id": 1, "date": "2001-10-23", "kind": "arrested", "note": None},
        {"id": 2, "case_id": 1, "date": "2011-12-29", "kind": "released", "note": None},
    ],
    "tally": {
        "letters_generated": 120,
        "letters_printed": 110,
        "letters_sent": 100,
        "officials": 3,
        "years": 10,
    },
}
"""Sample records shaped like store rows, for ``templates check`` (and the demo)."""


class Composer:
    """Renders letters from one letters folder for one group, dated ``today``.

    Build one per command: it compiles each template once and caches lookups and
    postal layouts for its lifetime (templates edited meanwhile are not re-read).
    """

    def __init__(self, letters_dir: Path, group: Mapping[str, Any], today: dt.date) -> None:
        given = Path(letters_dir)
        if not given.is_dir():
            raise TemplateError(f"{given}: no letters folder there (it holds the templates)")
        self.letters_dir = given
        self.root = given.resolve()
        self._root_text = str(self.root)
        self.display = given.name or str(given)
        self.group = dict(group)
        self.today = today
        self.env = _Sandbox(
            loader=_ConfinedLoader(self.root),
            undefined=_StrictUndefined,
            autoescape=_autoescape,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
            cache_size=-1,
            finalize=_finalize,
            extensions=[VariantsExtension],
            bytecode_cache=_compiled_templates(),
        )
        self.env.filters.update(_sync_filters(self.env.filters))
        self.env.filters.update(
            date=_date_filter,
            years_since=_years_since_filter,
            country=_country_filter,
            plural=_plural_filter,
            number=_number_filter,
        )
        self.env.tests["cyrillic"] = _is_cyrillic
        self._templates: dict[str, Template] = {}
        self._resolved: dict[tuple[str, str, str], tuple[str, str]] = {}
        self._recipients: dict[tuple[Any, ...], tuple[str, ...]] = {}
        self._senders: dict[tuple[Any, ...], tuple[str, ...]] = {}
        self._digests: dict[str, str] = {}
        self._files: dict[str, bool] = {}

    # -- finding templates ---------------------------------------------------------

    def resolve(self, template: str, language: str, case_slug: str | None) -> tuple[str, str]:
        """The template file for a letter, relative to the letters folder, and its language.

        Most specific first, each in the letter's language then in English:
        ``cases/<case-slug>/<template>.<lang>.txt.j2``, then ``<template>.<lang>.txt.j2``.
        """
        key = (template, language, case_slug or "")
        found = self._resolved.get(key)
        if found is None:
            found = self._resolved[key] = self._find(template, language, case_slug)
        return found

    def _find(self, template: str, language: str, case_slug: str | None) -> tuple[str, str]:
        if not isinstance(template, str) or not records.TEMPLATE_NAME_RE.match(template):
            raise TemplateError(
                f"template name {template!r} is not a plain name "
                "(lowercase letters, digits, - or _)"
            )
        if not isinstance(language, str) or not _LANGUAGE_RE.match(language):
            raise TemplateError(f"language {language!r} is not an ISO 639-1 code (en, ru)")
        if case_slug and not records.SLUG_RE.match(case_slug):
            raise TemplateError(f"case slug {case_slug!r} cannot name a folder under letters/cases")
        languages = [language] if language == DEFAULT_LANGUAGE else [language, DEFAULT_LANGUAGE]
        tried: list[str] = []
        for lang in languages:
            for folder in ([f"cases/{case_slug}/"] if case_slug else []) + [""]:
                relative = f"{folder}{template}.{lang}.txt.j2"
                tried.append(relative)
                if self._exists(relative):
                    return relative, lang
        raise TemplateError(
            f"no template {template!r} in {self.display}/ (looked for {', '.join(tried)})"
        )

    def _exists(self, relative: str) -> bool:
        """Whether ``relative`` is a template file in the folder; one leading outside is
        refused. Known once per run: every case without a template of its own asks about
        the group's, and resolving its path is a system call per folder above it."""
        found = self._files.get(relative)
        if found is None:
            found = self._files[relative] = self._look(relative)
        return found

    def _look(self, relative: str) -> bool:
        path = self.root / relative
        if not path.is_file():
            return False
        if not path.resolve().is_relative_to(self.root):
            raise TemplateError(
                f"{self.display}/{relative} leads outside {self.display}/ (a symlink?); refused"
            )
        return True

    def _safe_relative(self, name: str) -> str:
        """A template path given by a caller, refused if it could climb out of the folder."""
        text = str(name).replace("\\", "/")
        parts = text.split("/")
        if os.path.isabs(text) or text.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise TemplateError(
                f"template {name!r} must be a path inside {self.display}/ (no '..', not absolute)"
            )
        if not self._exists(text):
            raise TemplateError(f"no template {text!r} in {self.display}/")
        return text

    def template(self, relative: str) -> Template:
        """The compiled template at ``relative`` (compiled once)."""
        compiled = self._templates.get(relative)
        if compiled is None:
            try:
                compiled = self.env.get_template(relative)
            except Exception as error:  # a syntax error, a missing parent, a symlink out
                raise self._explain(relative, error) from None
            # Its globals as one plain dict (Jinja keeps a ChainMap of the template's and
            # the environment's, and walks it for every letter); neither changes in a run.
            compiled.globals = dict(compiled.globals)
            self._templates[relative] = compiled
        return compiled

    def source_digest(self, relative: str) -> str:
        """The sha256 of a template's source and of every template it extends, includes or
        imports, as far down as they go: what its letters are made from, for a re-run to
        know they are unchanged without rendering them. A template naming another by a
        variable (not a constant) counts every template in the folder."""
        digest = self._digests.get(relative)
        if digest is None:
            digest = self._digests[relative] = self._source_digest(relative, ())
        return digest

    def _source_digest(self, relative: str, seen: tuple[str, ...]) -> str:
        sha = hashlib.sha256(relative.encode() + b"\0")
        try:
            source = self.env.loader.get_source(self.env, relative)[0]  # type: ignore[union-attr]
        except TemplateNotFound:
            return sha.hexdigest()  # rendering will name the missing file
        sha.update(source.encode("utf-8"))
        if not _MAY_NAME_A_TEMPLATE.search(_JINJA_COMMENT.sub("", source)):
            return sha.hexdigest()  # names none: no need to parse it (25 ms a template)
        from jinja2 import meta

        try:
            referenced = list(meta.find_referenced_templates(self.env.parse(source)))
        except TemplateSyntaxError:
            return sha.hexdigest()  # rendering will refuse it
        if None in referenced:
            referenced = self.template_files()
        for name in sorted({name for name in referenced if name and name not in seen}):
            sha.update(self._source_digest(name, (*seen, relative)).encode())
        return sha.hexdigest()

    # -- composing letters -------------------------------------------------------------

    @staticmethod
    def letter_language(appeal: Mapping[str, Any] | None, official: Mapping[str, Any]) -> str:
        """The language to write in: the appeal's, else the official's, else English."""
        return (appeal or {}).get("language") or official.get("language") or DEFAULT_LANGUAGE

    def compose(
        self,
        case: dict,
        official: dict,
        member: dict | None,
        appeal: dict,
        on: dt.date | None = None,
    ) -> Letter:
        """Render one letter of ``appeal`` (``case`` to ``official``) signed by ``member``
        (None: unsigned, signed with the group's name), dated ``on`` (default: today).

        A letter keeps the date it was first written on while its words stay the
        same, so that running again tomorrow rewrites nothing.
        """
        on = on or self.today
        template = appeal.get("template") or DEFAULT_TEMPLATE
        relative, language = self.resolve(
            template, self.letter_language(appeal, official), case.get("slug")
        )
        if member is None and not self.group.get("name"):
            raise TemplateError(
                "an unsigned letter is signed with the group's name, which is not set: "
                "run 'importune group set --name NAME'"
            )
        context = {
            "case": case,
            "official": official,
            "member": member,
            "appeal": appeal,
            "group": self.group,
            "today": on,
            "language": language,
            "salutation": salutation_for(
                official.get("salutation"),
                official.get("title"),
                official.get("name") or "",
                language,
            ),
            _SEED: variant_seed(
                _slug_of(member, "unsigned"), _slug_of(case, ""), _slug_of(official, "")
            ),
        }
        text = self._render(relative, context)
        subject, body = self._split(relative, text)
        return Letter(
            case=case,
            official=official,
            member=member,
            appeal=appeal,
            group=self.group,
            template=template,
            language=language,
            template_path=relative,
            date=on,
            date_text=write_date(on, dates_in(language, self.group)),
            subject=subject,
            body=body,
            recipient_lines=self.recipient_lines(official),
            sender_lines=self.sender_lines(member),
        )

    def recipient_lines(self, official: Mapping[str, Any]) -> list[str]:
        """The official's name, title, organisation and address by their country's convention."""
        key = tuple(
            official.get(k) for k in ("name", "title", "organization", "address", "country")
        )
        lines = self._recipients.get(key)
        if lines is None:
            name, title, organization, address, country = key
            lines = self._recipients[key] = tuple(
                postal.layout_recipient(
                    name or "", title, organization, address or "", country or ""
                )
            )
        return list(lines)

    def sender_lines(self, member: Mapping[str, Any] | None) -> list[str]:
        """The return address: the member's name and address (the group's, when unsigned)."""
        source = member if member is not None else self.group
        key = (source.get("name"), source.get("address"))
        lines = self._senders.get(key)
        if lines is None:
            name, address = key
            text = "\n".join(filter(None, [name, address]))
            lines = self._senders[key] = tuple(
                line.strip() for line in text.splitlines() if line.strip()
            )
        return list(lines)

    def _split(self, relative: str, text: str) -> tuple[str, str]:
        """``Subject: ...``, a blank line, the letter: the subject and the tidied body."""
        head, _, rest = text.lstrip("\n").partition("\n")
        if not head.startswith(_SUBJECT):
            raise TemplateError(
                f"{self.display}/{relative}, line 1: a letter template starts with "
                f"'{_SUBJECT} ...' and a blank line, not {head[:40]!r}"
            )
        subject = head[len(_SUBJECT) :].strip()
        if not subject:
            raise TemplateError(f"{self.display}/{relative}, line 1: the subject is empty")
        body = tidy(rest)
        if not body.strip():
            raise TemplateError(f"{self.display}/{relative}: the letter is empty after its subject")
        return subject, body

    # -- other templates -----------------------------------------------------------------

    def render_named(self, path_or_name: str, context: Mapping[str, Any]) -> str:
        """Render a template that is not a letter (the release announcement).

        ``path_or_name`` is a path inside the letters folder (``announce.en.md.j2``)
        or a bare name (``announce``), found like a letter's: in ``context['language']``
        (default English) then English, the case's own folder first, as ``.md``,
        ``.txt`` or ``.html``. The context gets ``today``, ``group`` and ``language``
        unless it brings its own.
        """
        name = str(path_or_name)
        if name.endswith(".j2"):
            relative = self._safe_relative(name)
            match = _FILE_RE.match(relative.rsplit("/", 1)[-1])
            language = context.get("language") or (match["lang"] if match else DEFAULT_LANGUAGE)
        else:
            case = context.get("case")
            relative, language = self.find_named(
                name,
                context.get("language") or DEFAULT_LANGUAGE,
                case.get("slug") if isinstance(case, Mapping) else None,
            )
        full = {"today": self.today, "group": self.group, "language": language, **context}
        return tidy(self._render(relative, full))

    def find_named(self, name: str, language: str, case_slug: str | None) -> tuple[str, str]:
        """A template that is not a letter (``announce``), found as :meth:`render_named`
        finds it: its path in the letters folder and its language (English when there is
        none in ``language``)."""
        if not records.TEMPLATE_NAME_RE.match(name):
            raise TemplateError(f"template name {name!r} is not a plain name")
        if not _LANGUAGE_RE.match(language):
            raise TemplateError(f"language {language!r} is not an ISO 639-1 code (en, ru)")
        folders = [f"cases/{case_slug}/"] if case_slug and records.SLUG_RE.match(case_slug) else []
        for lang in dict.fromkeys([language, DEFAULT_LANGUAGE]):
            for folder in [*folders, ""]:
                for ext in ("md", "txt", "html"):
                    relative = f"{folder}{name}.{lang}.{ext}.j2"
                    if self._exists(relative):
                        return relative, lang
        raise TemplateError(f"no template {name!r} in {self.display}/ (as {name}.{language}.md.j2)")

    # -- rendering and its refusals --------------------------------------------------------

    def _render(self, relative: str, context: Mapping[str, Any]) -> str:
        compiled = self.template(relative)
        try:
            return compiled.render(context)
        except ImportuneError:
            raise
        except Exception as error:
            raise self._explain(relative, error, context) from None

    def _explain(
        self, relative: str, error: BaseException, context: Mapping[str, Any] | None = None
    ) -> TemplateError:
        """One line: the template file, the line, and what went wrong, in the group's words."""
        where, line = self._locate(relative, error)
        place = f"{self.display}/{where}" + (f", line {line}" if line else "")
        return TemplateError(f"{place}: {self._problem(error, context or {})}")

    def _locate(self, relative: str, error: BaseException) -> tuple[str, int | None]:
        """The innermost template file and line the error comes from (Jinja rewrites
        tracebacks so that template frames carry the template's file and line)."""
        if isinstance(error, TemplateSyntaxError):
            filename = error.filename or error.name
            return (self._relative(filename) if filename else relative), error.lineno
        where, line = relative, None
        tb: TracebackType | None = error.__traceback__
        prefix = self._root_text + os.sep
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename.startswith(prefix):
                where, line = self._relative(filename), tb.tb_lineno
            tb = tb.tb_next
        return where, line

    def _relative(self, filename: str) -> str:
        path = Path(filename)
        if path.is_absolute() and path.is_relative_to(self.root):
            return path.relative_to(self.root).as_posix()
        return filename.replace(os.sep, "/")

    def _problem(self, error: BaseException, context: Mapping[str, Any]) -> str:
        if isinstance(error, _MissingField):
            return _missing_message(error, context)
        if isinstance(error, SecurityError):
            found = re.match(r"access to attribute '(.+)' of '(.+)' object is unsafe", str(error))
            if found:
                return (
                    f"{found[1]!r} of a {found[2]!r} is refused: "
                    "templates may not reach into Python internals"
                )
            return f"refused: {error}"
        unknown = re.fullmatch(r"No (filter|test) named '(.+)'(?: found)?\.", str(error))
        if unknown and isinstance(error, TemplateSyntaxError | TemplateRuntimeError):
            # Found when compiled (a syntax error) or, for a template compiled before, when
            # it runs: the same refusal either way.
            kind, name = unknown[1], unknown[2]
            known = self.env.filters if kind == "filter" else self.env.tests
            public = [key for key in known if not key.startswith("_")]
            return f"there is no {kind} {name!r}{_did_you_mean(name, public)}"
        if isinstance(error, TemplateSyntaxError):
            return f"syntax error: {error.message}"
        if isinstance(error, TemplateNotFound):
            return f"template {error.name!r} not found in {self.display}/"
        if isinstance(error, TemplateRuntimeError | UndefinedError):
            return str(error)
        return f"{type(error).__name__}: {error}"

    # -- checking a whole folder -------------------------------------------------------------

    def template_files(self) -> list[str]:
        """Every ``*.j2`` under the letters folder, relative, sorted (symlinked folders skipped)."""
        found: list[str] = []
        for folder, dirs, files in os.walk(self.root):
            dirs.sort()
            for file in files:
                if file.endswith(".j2"):
                    found.append(Path(folder, file).relative_to(self.root).as_posix())
        return sorted(found)

    def check(self, samples: Mapping[str, Any] | None = None) -> list[str]:
        """Render every template against sample records; every problem, one line each.

        ``samples`` may hold ``case``, ``official``, ``member``, ``appeal``, ``group``,
        ``events`` and ``tally`` (shaped like store rows); what it lacks comes from
        :data:`SAMPLES`. A letter template is rendered signed and unsigned; a case's
        own template with that case's slug. Nothing is written.
        """
        given = dict(samples or {})
        sample = {key: given.get(key, value) for key, value in SAMPLES.items()}
        problems: list[str] = []
        for relative in self.template_files():
            for problem in self._check_one(relative, sample):
                if problem not in problems:
                    problems.append(problem)
        return problems

    def _check_one(self, relative: str, sample: Mapping[str, Any]) -> list[str]:
        name = relative.rsplit("/", 1)[-1]
        parts = relative.split("/")
        try:
            self._exists(relative)
            self.template(relative)
        except TemplateError as error:
            return [str(error)]
        if name.startswith("_"):
            return []  # a partial, included by others: compiled here, rendered through them
        match = _FILE_RE.match(name)
        in_case = len(parts) == 3 and parts[0] == "cases"
        if match is None or not (len(parts) == 1 or in_case):
            # A layout (layout.html.j2) is the formats' own, compiled above. What looks
            # like a letter but will never be found by its name is a mistake to report.
            if in_case or len(parts) > 1 or _MISNAMED_LETTER.match(name):
                return [
                    f"{self.display}/{relative}: never used: a letter template is named "
                    "NAME.LANG.txt.j2 (e.g. concern.en.txt.j2), in letters/ or "
                    "letters/cases/CASE-SLUG/"
                ]
            return []
        case = dict(sample["case"], slug=parts[1]) if in_case else sample["case"]
        language = match["lang"]
        problems: list[str] = []
        if match["name"] in ANNOUNCEMENTS:
            context = {
                "case": dict(
                    case, status="released", released_on=case.get("released_on") or "2011-12-29"
                ),
                "events": sample["events"],
                "tally": sample["tally"],
                "group": sample["group"],
                "language": language,
            }
            try:
                self.render_named(relative, context)
            except TemplateError as error:
                problems.append(str(error))
            return problems
        if match["ext"] != "txt":
            return problems
        appeal = dict(sample["appeal"], template=match["name"], language=language)
        official = sample["official"]
        salutation = salutation_for(
            official.get("salutation"), official.get("title"), official.get("name") or "", language
        )
        for member in (sample["member"], None):
            context = {
                "case": case,
                "official": official,
                "member": member,
                "appeal": appeal,
                "group": sample["group"],
                "today": self.today,
                "language": language,
                "salutation": salutation,
            }
            try:
                self._split(relative, self._render(relative, context))
            except TemplateError as error:
                problems.append(str(error))
        return problems


def tidy(text: str) -> str:
    """Trailing spaces dropped, runs of blank lines (left by ``{% if %}``) made one,
    one newline at the end. (Plain string operations: a regex here cost a third of
    the time of a whole letter.)"""
    text = "\n".join([line.rstrip() for line in text.split("\n")]).strip("\n")
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text + "\n"


def _missing_message(error: _MissingField, context: Mapping[str, Any]) -> str:
    """``'case' has no field 'prisn'``: the record by its name in the template, not its type."""
    obj, name = error.obj, error.name
    if obj is missing:
        names = [key for key in context if not key.startswith("_")]
        return f"{name!r} is not defined{_did_you_mean(name, names)} (a template can use " \
            f"{', '.join(names)})"  # fmt: skip
    for label, value in context.items():
        if value is obj and not label.startswith("_"):
            if obj is None:
                return (
                    f"{label!r} is empty here (an unsigned letter has no member), so it has no "
                    f"field {name!r}; guard it with {{% if {label} %}}"
                )
            fields = list(obj) if isinstance(obj, Mapping) else []
            return f"{label!r} has no field {name!r}{_did_you_mean(name, fields)}"
    if obj is None:
        return f"an empty value (None) has no field {name!r}"
    if isinstance(obj, Mapping):
        return f"a {object_type_repr(obj).removesuffix(' object')} has no field {name!r}"
    return str(error)


def _did_you_mean(name: Any, known: Iterable[Any]) -> str:
    """`` (did you mean 'detained_on'?)`` for a misspelt name, when one is close."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _autoescape(name: str | None) -> bool:
    """HTML templates escape what they print; text and Markdown letters do not."""
    return bool(name) and name.endswith((".html.j2", ".htm.j2", ".xml.j2"))


# -- filters (they read the letter's language and date from the context) -------------------


def _sync_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """Jinja's own filters as they run in an environment that is never async (this one).

    Jinja registers ``join``, ``select``, ``map``... as wrappers that ask the environment,
    at every call, whether to run the async variant; here they are the sync functions
    the wrappers call. ``select`` with no test (``[a, b] | select``: the values that are
    set) keeps the values that are true without making a test for each call."""
    plain = {
        name: function.__wrapped__
        for name, function in filters.items()
        if getattr(function, "jinja_async_variant", False)
    }
    select = plain.get("select")
    if select is not None:

        @pass_context
        def _select(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
            if args:
                return select(context, value, *args, **kwargs)
            return _true_ones(value)

        plain["select"] = _select
    return plain


def _true_ones(value: Any) -> Iterator[Any]:
    """What ``select`` without a test yields (Jinja's ``select_or_reject`` with ``bool``)."""
    if value:
        for item in value:
            if item:
                yield item


@pass_context
def _date_filter(context: Context, value: Any, form: str = "long") -> str:
    """``{{ case.detained_on | date }}``: 23 October 2001 written in the letter's language
    (in English, the group's: see :func:`dates_in`)."""
    if form not in ("short", "medium", "long", "full"):
        raise _FilterError(f"date: the form {form!r} is not one of short, medium, long, full")
    language = context.get("language") or DEFAULT_LANGUAGE
    return write_date(_as_date(value), dates_in(language, context.get("group") or {}), form)


@pass_context
def _years_since_filter(context: Context, value: Any, until: Any = None) -> int:
    """``{{ case.detained_on | years_since }}``: whole years until today (or ``until``)."""
    end = _as_date(until, "years_since") if until is not None else context.get("today")
    if not isinstance(end, dt.date):
        end = dt.date.today()
    return years_between(_as_date(value, "years_since"), end)


@pass_context
def _country_filter(context: Context, code: Any) -> str:
    """``{{ case.country | country }}``: Uzbekistan, Узбекистан, in the letter's language."""
    if not code:
        raise _FilterError("country: the country is empty")
    return country_in(str(code), context.get("language") or DEFAULT_LANGUAGE)


@pass_context
def _plural_filter(context: Context, number: Any, *forms: str) -> str:
    """``{{ n | plural("year", "years") }}``: the word's form for ``n`` in the letter's language."""
    if not isinstance(number, int):
        raise _FilterError(f"plural: {number!r} is not a whole number")
    return plural_form(number, context.get("language") or DEFAULT_LANGUAGE, forms)


@pass_context
def _number_filter(context: Context, number: Any) -> str:
    """``{{ 1234 | number }}``: 1,234 in English, 1 234 in Russian."""
    if not isinstance(number, int | float):
        raise _FilterError(f"number: {number!r} is not a number")
    return format_decimal(number, locale=_locale(context.get("language") or DEFAULT_LANGUAGE))
