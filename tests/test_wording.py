"""Counts in importune's messages agree with their number: "1 letter", "2 letters".

The messages close every command an organizer runs; "Wrote 1 letter(s)" read as a
form, and "1 letter(s) already sent stay sent" as a mistake.
"""

from __future__ import annotations

import pytest
from conftest import Run

from importune.wording import agree, count


def test_a_count_agrees_with_its_number_and_separates_thousands() -> None:
    assert count(0, "letter") == "0 letters"
    assert count(1, "letter") == "1 letter"
    assert count(20000, "letter") == "20,000 letters"
    assert count(2, "thank-you letter") == "2 thank-you letters"
    assert count(3, "country", "countries") == "3 countries"
    assert count(1, "country", "countries") == "1 country"
    assert [agree(n, "stays", "stay") for n in (0, 1, 2)] == ["stay", "stays", "stay"]


@pytest.mark.usefixtures("workspace")
def test_the_summaries_of_one_letter_and_of_several_read_as_english(ok: Run) -> None:
    ok("case", "add", "Yusuf Dzhumaev", "--country", "UZ", "--detained-on", "2001-10-23")
    ok("official", "add", "Prosecutor General", "--country", "UZ", "--address", "Tashkent")
    ok("appeal", "add", "yusuf-dzhumaev", "prosecutor-general")
    ok("member", "add", "Anna Schmidt", "--address", "12 Linden Street\nBristol")

    said = ok("generate-letters").stdout
    assert said.startswith("Wrote 1 letter to ")
    assert "; 0 unchanged, 0 skipped." in said
    printed = ok("print", "--member", "anna-schmidt", "-o", "anna.pdf").stdout
    assert printed.startswith("Printed 1 letter signed by anna-schmidt to anna.pdf.")
    assert "Next: sign it, post it, then: importune mark-sent --member anna-schmidt" in printed

    ok("member", "add", "Mark Konrad", "--address", "3 High Street\nLeeds")
    said = ok("generate-letters").stdout
    assert said.startswith("Wrote 1 letter to ") and "; 1 unchanged, 0 skipped." in said

    ok("official", "add", "Minister of Justice", "--country", "UZ", "--address", "Tashkent")
    ok("appeal", "add", "yusuf-dzhumaev", "minister-of-justice")
    said = ok("generate-letters").stdout
    assert said.startswith("Wrote 2 letters to ") and "; 2 unchanged, 0 skipped." in said

    printed = ok("print", "--member", "mark-konrad", "-o", "mark.pdf").stdout
    assert printed.startswith("Printed 2 letters signed by mark-konrad to mark.pdf.")
    assert "Next: sign them, post them, then: importune mark-sent --member mark-konrad" in printed
    marked = ok("mark-sent", "--member", "mark-konrad").stdout
    assert marked.startswith("Marked 2 letters sent on ")
    report = ok("report").stdout
    assert "1 case: 1 held, 0 released; " in report and " days in detention; 2 active " in report

    released = ok("case", "release", "yusuf-dzhumaev").stdout
    assert (
        "Withdrew 2 letters not yet sent (1 generated, 1 printed); "
        "2 letters already sent stay sent."
    ) in released
