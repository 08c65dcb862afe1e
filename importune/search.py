"""``importune search``: find a case by any spelling of a name, a place, a charge.

Two passes, both plain SQL and Python over the workspace:

1. **Full text** (SQLite FTS5, ``cases_fts``, kept in step with ``cases`` by the
   triggers of migration m002). The query is read as *words*, never as FTS5
   syntax: each word is quoted and searched as a prefix (``Dzhum`` finds
   Dzhumaev), so quotes, ``*``, ``-``, ``NEAR`` or ``:`` in a query cannot raise
   an SQLite error. A word in another script is also searched in Latin letters
   (``Джумаев`` finds a case spelled only ``Dzhumaev``). The index folds case
   and accents (``remove_diacritics 2``). Hits are ranked by bm25, names first.
2. **Other romanisations.** A prisoner's name reaches a group spelt many ways
   (Dzhumaev, Djumaev, Jumaev, Dschumajew; Yusuf, Iusuf, Yousouf). Each name
   word and each query word is reduced to a consonant skeleton (digraphs folded
   to one sound, vowels dropped); a case whose name holds every query word's
   skeleton is found too, after the full-text hits. One query reads the names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from importune.errors import InvalidInput

if TYPE_CHECKING:
    from importune.store import Store

CASE_KEYS = ("id", "slug", "name", "native_name", "country", "status", "detained_on", "released_on")
"""The keys of a case in ``case list --json`` (DESIGN.md); a search hit adds ``snippet``."""

MARK = ("[", "]")
"""What surrounds a matched word in a snippet, as ``--json`` prints it."""

# Column weights for bm25, in the order of store.SEARCHED: a name outweighs a
# reference, which outweighs a word somewhere in the summary.
_WEIGHTS = {"name": 10.0, "native_name": 10.0, "reference": 5.0, "location": 2.0,
            "prison": 2.0, "charges": 1.0, "summary": 1.0}  # fmt: skip
_WORD = re.compile(r"[^\W_]")  # a letter or a digit, in any script
_MIN_FUZZY = 3  # a skeleton this long may match as a prefix; shorter ones only whole


@dataclass(frozen=True)
class Hit:
    """One case found: its list keys, the words around the match, and how it was found."""

    case: dict[str, Any]
    snippet: str
    matched: str  # "text" (full-text index) or "spelling" (another romanisation of the name)

    def as_json(self) -> dict[str, Any]:
        return {**{key: self.case.get(key) for key in CASE_KEYS},
                "snippet": self.snippet, "matched": self.matched}  # fmt: skip


def words(query: str) -> list[str]:
    """The words of a query: split on spaces, full-width forms folded; punctuation alone dropped.

    Refused when nothing is left: an empty query would list every case, which
    ``case list`` already does.
    """
    text = unicodedata.normalize("NFKC", query or "")
    found = [word for word in text.split() if _WORD.search(word)]
    if not found:
        raise InvalidInput(
            f"nothing to search for in {query!r}: give a word of a name, a place or a charge"
        )
    return found


def _latin(text: str) -> str:
    """Text in Latin letters (text-unidecode, as slugs are made): Джумаев -> Dzhumaev."""
    from text_unidecode import unidecode

    return unidecode(text)


def _quoted(word: str) -> str:
    """One word as an FTS5 prefix phrase: any syntax in it is read as text."""
    return '"' + word.replace('"', '""') + '"*'


def fts_query(query: str) -> str:
    """The FTS5 MATCH expression for a query: every word (in its own script or in
    Latin letters) as a quoted prefix, all words required."""
    parts = []
    for word in words(query):
        spellings = [word]
        latin = _latin(word).replace("'", "")  # Ольга: Ol'ga, one word: Olga
        if latin != word and _WORD.search(latin):
            spellings.append(latin)
        parts.append("(" + " OR ".join(_quoted(s) for s in spellings) + ")")
    return " AND ".join(parts)


# -- other romanisations ------------------------------------------------------------

# Longest first: each spelling of one sound becomes one capital letter.
_SOUNDS = (
    ("shch", "S"), ("dsch", "J"), ("tsch", "C"), ("dzh", "J"), ("sch", "S"), ("tch", "C"),
    ("sh", "S"), ("zh", "J"), ("dj", "J"), ("kh", "H"), ("ch", "C"), ("ph", "f"), ("ck", "k"),
    ("x", "H"), ("h", "H"), ("q", "k"), ("w", "v"),
)  # fmt: skip
_SOUND_RE = re.compile("|".join(spelling for spelling, _ in _SOUNDS))
_SOUND = dict(_SOUNDS)
_INNER_J = re.compile(r"(?<=[aeiouy])j")  # German/Polish j after a vowel: Dschumajew
_VOWELS = re.compile(r"[aeiouy]")
_DOUBLE = re.compile(r"(.)\1+")


@lru_cache(maxsize=65_536)
def skeleton(word: str) -> str:
    """A name word reduced to its consonant sounds, the same for its usual romanisations.

    ``Dzhumaev``, ``Djumaev``, ``Jumaev``, ``Djoumaev`` and ``Джумаев`` all give
    ``Jmv``; ``Yusuf``, ``Iusuf`` and ``Youssouf`` give ``sf``.
    """
    text = re.sub(r"[^a-z]", "", _latin(unicodedata.normalize("NFKC", word)).lower())
    text = _INNER_J.sub("y", text)
    text = _SOUND_RE.sub(lambda m: _SOUND[m.group(0)], text)
    text = text.replace("j", "J")
    return _DOUBLE.sub(r"\1", _VOWELS.sub("", text))


def _name_words(case: dict[str, Any]) -> list[str]:
    return re.findall(r"[^\W_]+(?:['’][^\W_]+)*", f"{case['name']} {case['native_name'] or ''}")


def _spelled(query_skeletons: list[str], case: dict[str, Any]) -> list[str] | None:
    """The name words that match every query word's skeleton, or None if one finds none."""
    names = [(word, skeleton(word)) for word in _name_words(case)]
    matched: list[str] = []
    for wanted in query_skeletons:
        hits = [
            word
            for word, bones in names
            if bones
            and (bones == wanted or (len(wanted) >= _MIN_FUZZY and bones.startswith(wanted)))
        ]
        if not hits:
            return None
        matched.extend(hits)
    return matched


def _marked(case: dict[str, Any], matched: Iterable[str], mark: tuple[str, str]) -> str:
    """The name (and native name) with the words that matched marked, as a snippet."""
    text = case["name"] + (f" ({case['native_name']})" if case["native_name"] else "")
    wanted = set(matched)
    return re.sub(
        r"[^\W_]+(?:['’][^\W_]+)*",
        lambda m: f"{mark[0]}{m.group(0)}{mark[1]}" if m.group(0) in wanted else m.group(0),
        text,
    )


# -- the search ---------------------------------------------------------------------


def search(
    store: Store, query: str, *, limit: int | None = None, mark: tuple[str, str] = MARK
) -> list[Hit]:
    """Cases matching ``query``, best first: full-text hits by bm25, then other spellings.

    ``mark`` surrounds the matched words in each snippet; ``limit`` keeps the
    first so many (None: all).
    """
    from importune.store import SEARCHED

    match = fts_query(query)
    weights = ", ".join(str(_WEIGHTS[column]) for column in SEARCHED)
    columns = ", ".join(f"c.[{key}]" for key in CASE_KEYS)
    rows = store.query(
        f"SELECT {columns}, snippet(cases_fts, -1, :open, :close, '…', 12) AS snippet "
        f"FROM cases_fts JOIN cases c ON c.id = cases_fts.rowid "
        f"WHERE cases_fts MATCH :match ORDER BY bm25(cases_fts, {weights}), c.slug",
        {"match": match, "open": mark[0], "close": mark[1]},
    )
    hits = [Hit({key: row[key] for key in CASE_KEYS}, row["snippet"], "text") for row in rows]
    found = {hit.case["id"] for hit in hits}
    if limit is not None and len(hits) >= limit:
        return hits[:limit]
    bones = [skeleton(word) for word in words(query)]
    if all(bones):  # a word with no consonant (a digit, "Ai") is left to the full text
        for case in store.query(f"SELECT {columns} FROM cases c ORDER BY c.slug"):
            if case["id"] in found:
                continue
            matched = _spelled(bones, case)
            if matched is not None:
                hits.append(Hit(case, _marked(case, matched, mark), "spelling"))
    return hits if limit is None else hits[:limit]
