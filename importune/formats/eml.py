"""The letter as an e-mail (RFC 5322), for groups that also write to an official by e-mail.

A member opens the ``.eml`` file in their mail program and sends it (Outlook opens
it as a draft, thanks to ``X-Unsent: 1``). The body is the letter from the
salutation to the signature, as plain UTF-8 text; the subject, the date and the
two addresses are headers.

Safety: every value that goes in a header (names, the subject) is made one line
before it gets there, and the standard library builds the headers from
structured values, so a name holding ``"\\nBcc: x@evil"`` can never add a header.

Same letter, same bytes: the Date is noon UTC on the letter's date and the
Message-ID is a hash of what identifies the letter (case, official, member,
template, language, date), so an unchanged letter is an unchanged file.

Non-ASCII names and subjects are written as RFC 2047 encoded words, each value in
one word: folded across several, a display name is read back with a stray space
by Python's own parser (3.11), while every mail program reads a long word well.
Lines may be as long as RFC 5322 allows (998 characters).
"""

from __future__ import annotations

import email.policy
import hashlib
from email.errors import HeaderDefect
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from importune.errors import ImportuneError
from importune.formats.common import noon_utc, normalise_lines, one_line, slug_of

if TYPE_CHECKING:
    from importune.compose import Letter

POLICY = email.policy.SMTP.clone(max_line_length=998)
"""CRLF line ends, RFC 2047 encoded words for non-ASCII headers, no folding inside a name."""


def _address(name: str | None, addr: str, what: str) -> Address:
    """A mailbox from a record's name and e-mail; a malformed address is refused, naming whose."""
    addr = (addr or "").strip()
    try:
        address = Address(display_name=one_line(name), addr_spec=addr)
    except (ValueError, IndexError, HeaderDefect) as error:
        raise ImportuneError(
            f"{what} has an e-mail address that cannot be used: {addr!r} ({error})"
        ) from None
    if not address.username or not address.domain or not address.addr_spec.isascii():
        raise ImportuneError(
            f"{what} has an e-mail address that cannot be used: {addr!r} "
            "(give the address as name@example.org, in ASCII)"
        )
    return address


def _sender(letter: Letter) -> tuple[dict[str, Any], str] | None:
    """Whose address goes in From: the member's, or the group's for an unsigned letter."""
    if letter.member is not None:
        who = letter.member
        what = f"member {slug_of(who)!r}"
    else:
        who = letter.group or {}
        what = "the group"
    if not (who.get("email") or "").strip():
        return None
    return who, what


def message_id(letter: Letter, domain: str = "importune.invalid") -> str:
    """A Message-ID that names this letter and no other, the same at every run."""
    identity = "\0".join(
        [
            slug_of(letter.case),
            slug_of(letter.official),
            slug_of(letter.member, "unsigned"),
            letter.template,
            letter.language,
            letter.date.isoformat(),
        ]
    )
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def check(letter: Letter) -> None:
    """Refuse a letter that cannot be an e-mail: an official with no e-mail address."""
    if not (letter.official.get("email") or "").strip():
        raise ImportuneError(
            f"official {slug_of(letter.official)!r} has no email address: "
            f"add one with 'importune official edit {slug_of(letter.official)} --email ADDRESS'"
        )


def message(letter: Letter) -> EmailMessage:
    """The letter as an :class:`~email.message.EmailMessage`."""
    check(letter)
    official = letter.official
    msg = EmailMessage(policy=POLICY)
    msg["To"] = _address(official.get("name"), official["email"], f"official {slug_of(official)!r}")
    domain = "importune.invalid"
    sender = _sender(letter)
    if sender is not None:
        who, what = sender
        address = _address(who.get("name"), who["email"], what)
        msg["From"] = address
        domain = address.domain
    msg["Subject"] = one_line(letter.subject)
    msg["Date"] = format_datetime(noon_utc(letter.date))
    msg["Message-ID"] = message_id(letter, domain)
    msg["X-Unsent"] = "1"
    body = normalise_lines(letter.body).strip("\n") + "\n"
    msg.set_content(body, charset="utf-8")
    msg["Content-Language"] = one_line(letter.language)  # after set_content, which clears Content-*
    return msg


def render(letter: Letter) -> bytes:
    """The letter as the bytes of a ``.eml`` file."""
    return message(letter).as_bytes(policy=POLICY)
