"""``importune print``: a member's letters as one PDF, with envelopes or labels, to the printer.

Through the real CLI on a real workspace (tests/printing_helpers.py builds it with the
organizer's commands); the PDFs are opened with pypdf and read as a member would read
them; statuses are read back from the letters table.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest
from printing_helpers import (
    ORDER,
    build_workspace,
    cli,
    execute,
    ok,
    page_text,
    pdf_pages,
    refused,
    rows,
    sample_letter,
    size_mm,
    snapshot,
    text_lines,
)

from importune.printing import Extras, layout_pdf
from importune.workspace import default_letters

MEMBER_PDF = Path("out/print/hedwig-brandauer.pdf")


pytestmark = pytest.mark.usefixtures("letters_beside_the_database")


@pytest.fixture
def workspace() -> None:
    build_workspace()


def fake_lp(folder: Path, monkeypatch: pytest.MonkeyPatch, *, fail: bool = False) -> Path:
    """An ``lp`` on PATH that records its arguments and keeps a copy of the file it got."""
    folder.mkdir(exist_ok=True)
    script = folder / "lp"
    log = folder / "lp.args"
    body = (
        'echo "lp: The printer or class does not exist." >&2; exit 1'
        if fail
        else 'for a in "$@"; do last="$a"; done; cp "$last" "$(dirname "$0")/got.pdf"; '
        'echo "request id is office-laser-42 (1 file(s))"'
    )
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{log}"\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return log


# -- one PDF of a member's letters ----------------------------------------------------------


def test_print_lays_out_every_letter_of_the_member_in_order_one_per_page(workspace: None) -> None:
    result = ok("print", "--member", "hedwig-brandauer")
    assert "Printed 3 letters signed by hedwig-brandauer" in result.stdout
    assert "mark-sent --member hedwig-brandauer" in result.stdout
    pages = pdf_pages(MEMBER_PDF)
    assert len(pages) == 3
    for page, (_, _, country) in zip(pages, ORDER, strict=True):
        lines = text_lines(page)
        assert lines[:3] == ["Hedwig Brandauer", "9 Orchard Close", "Yeovil BA20 1QQ"]
        assert country in lines  # the recipient's address, country last in capitals
        assert lines[-1] == "Hedwig Brandauer"  # the signature, under the space to sign in
    assert "Уважаем" in page_text(pages[2])  # the prosecutor is written to in Russian
    assert "Your Excellency" in page_text(pages[1])
    assert all("Tomasz Wielgosz" not in page_text(page) for page in pages)


def test_print_generates_what_is_missing_and_marks_every_format_printed(workspace: None) -> None:
    ok("generate-letters", "--member", "hedwig-brandauer", "--format", "pdf")
    before = rows()
    assert len(before) == 3 and {r["format"] for r in before} == {"pdf"}
    ok("print", "--member", "hedwig-brandauer")
    after = rows("m.slug = 'hedwig-brandauer'")
    # The txt letters were generated first; print itself adds no rows.
    assert sorted(r["format"] for r in after) == ["pdf"] * 3 + ["txt"] * 3
    assert {r["status"] for r in after} == {"printed"}
    assert all(r["printed_at"] for r in after)
    assert rows("m.slug = 'tomasz-wielgosz'") == []  # nobody else's letters were made
    rows_before = len(rows())
    ok("print", "--member", "hedwig-brandauer")
    assert len(rows()) == rows_before


def test_printing_again_is_allowed_and_keeps_the_latest_time(workspace: None) -> None:
    ok("print", "--member", "hedwig-brandauer")
    execute("UPDATE letters SET printed_at = '2020-01-01T00:00:00+00:00'")
    ok("print", "--member", "hedwig-brandauer")
    assert len(pdf_pages(MEMBER_PDF)) == 3
    printed = rows()
    assert len(printed) == 3
    assert all(r["status"] == "printed" and r["printed_at"] > "2020-01-02" for r in printed)


def test_sent_and_withdrawn_letters_are_not_printed(workspace: None) -> None:
    ok("generate-letters", "--member", "hedwig-brandauer", "--format", "pdf")
    ok("generate-letters", "--member", "hedwig-brandauer")
    execute(
        "UPDATE letters SET status = 'sent', sent_at = '2024-01-01' "
        "WHERE format = 'pdf' AND official_id = 1"
    )  # fmt: skip (only one format sent)
    execute("UPDATE letters SET status = 'withdrawn' WHERE official_id = 3")
    ok("print", "--member", "hedwig-brandauer")
    (page,) = pdf_pages(MEMBER_PDF)
    assert "UZBEKISTAN" in page_text(page)
    statuses = {(r["official_slug"], r["format"]): r["status"] for r in rows()}
    assert statuses[("aleksandr-lukashenko", "pdf")] == "sent"
    assert statuses[("aleksandr-lukashenko", "txt")] == "generated"
    assert statuses[("ambassador", "txt")] == "withdrawn"
    assert statuses[("prosecutor-general", "txt")] == "printed"


def test_print_of_one_case(workspace: None) -> None:
    ok("print", "--member", "tomasz-wielgosz", "--case", "yusuf-dzhumaev", "-o", "yusuf.pdf")
    pages = pdf_pages(Path("yusuf.pdf"))
    assert [("UNITED STATES" in page_text(p), "UZBEKISTAN" in page_text(p)) for p in pages] == [
        (True, False),
        (False, True),
    ]
    assert {r["case_slug"] for r in rows()} == {"yusuf-dzhumaev"}
    assert {r["status"] for r in rows()} == {"printed"}


def test_the_only_member_needs_no_member_option() -> None:
    build_workspace(members=("tomasz-wielgosz",))
    said = ok("print").stdout
    assert len(pdf_pages(Path("out/print/tomasz-wielgosz.pdf"))) == 3
    assert "return address" not in said


def test_a_member_without_a_return_address_is_told(workspace: None) -> None:
    ok("member", "add", "Jo Bloggs")
    said = ok("print", "--member", "jo-bloggs", "--case", "yusuf-dzhumaev").stdout
    assert "They carry no return address: importune member edit jo-bloggs --address ADDRESS, " \
        "then print again." in said  # fmt: skip


def test_a_long_letter_runs_on_and_the_next_starts_on_a_new_page(workspace: None) -> None:
    long_summary = "He wrote poems about the Aral Sea and the cotton harvest. " * 120
    ok("case", "edit", "ales-bialiatski", "--summary", long_summary)
    template = Path("letters/concern.en.txt.j2")
    text = template.read_text(encoding="utf-8")
    template.write_text(
        text.replace("\nPlease release", "\n{{ case.summary or '' }}\n\nPlease release", 1),
        encoding="utf-8",
    )
    ok("print", "--member", "hedwig-brandauer")
    pages = pdf_pages(MEMBER_PDF)
    assert len(pages) >= 4
    starts = [i for i, p in enumerate(pages) if text_lines(p)[:1] == ["Hedwig Brandauer"]]
    assert len(starts) == 3 and starts[0] == 0 and starts[1] >= 2
    assert "UNITED STATES" in page_text(pages[starts[1]])
    # Numbered from the long letter's second page; the letters after it are not numbered.
    last = [text_lines(page)[-1] for page in pages]
    assert last[1 : starts[1]] == [str(n) for n in range(2, starts[1] + 1)]
    assert not any(last[start].isdigit() for start in starts)


# -- envelopes and labels -------------------------------------------------------------------


def test_envelopes_follow_their_letters_with_both_addresses(workspace: None) -> None:
    said = ok("print", "--member", "hedwig-brandauer", "--envelopes").stdout
    assert "3 letters signed by hedwig-brandauer to out/print/hedwig-brandauer.pdf, each " \
        "followed by a DL envelope." in said
    pages = pdf_pages(MEMBER_PDF)
    assert [size_mm(p) for p in pages] == [(210, 297), (220, 110)] * 3
    for letter, envelope, (_, _, country) in zip(pages[::2], pages[1::2], ORDER, strict=True):
        lines = text_lines(envelope)
        assert lines[:3] == ["Hedwig Brandauer", "9 Orchard Close", "Yeovil BA20 1QQ"]
        assert lines[-1] == country  # the country in capitals, last
        recipient = " ".join(lines[3:])  # the same block as in the letter's window
        assert recipient in " ".join(text_lines(letter))
    assert text_lines(pages[3])[3:] == [
        "Ambassador of the Republic of Uzbekistan",
        "1746 Massachusetts Avenue NW",
        "Washington, DC 20036",
        "UNITED STATES",
    ]


def test_one_letter_with_its_envelope_is_told_without_each(workspace: None) -> None:
    said = ok("print", "--member", "hedwig-brandauer", "--case", "ales-bialiatski",
              "--envelopes", "-o", "one.pdf").stdout  # fmt: skip
    assert "Printed 1 letter signed by hedwig-brandauer to one.pdf, followed by a DL " \
        "envelope." in said
    assert [size_mm(p) for p in pdf_pages(Path("one.pdf"))] == [(210, 297), (220, 110)]


def test_c5_envelopes(workspace: None) -> None:
    ok("print", "--member", "hedwig-brandauer", "--envelope-size", "c5", "-o", "c5.pdf")
    assert [size_mm(p) for p in pdf_pages(Path("c5.pdf"))] == [(210, 297), (229, 162)] * 3


def test_labels_are_one_a4_sheet_after_the_letters(workspace: None) -> None:
    ok("print", "--member", "hedwig-brandauer", "--labels")
    pages = pdf_pages(MEMBER_PDF)
    assert [size_mm(p) for p in pages] == [(210, 297)] * 4
    sheet = text_lines(pages[3])
    assert "Hedwig Brandauer" not in sheet  # labels carry the recipient only
    for country in ("BELARUS", "UNITED STATES", "UZBEKISTAN"):
        assert country in sheet
    assert sheet.index("Aleksandr Lukashenko") < sheet.index("BELARUS")


def test_labels_fill_sheets_of_21_in_one_compile() -> None:
    letters = [sample_letter(n) for n in range(1, 23)]
    pdf = layout_pdf(default_letters(), letters, Extras(labels=True))
    pages = pdf_pages(pdf)
    assert len(pages) == 22 + 2
    first, second = text_lines(pages[22]), text_lines(pages[23])
    assert "Official 1" in first and "Official 21" in first and "Official 22" not in first
    assert second[0] == "Official 22"


def test_envelopes_and_labels_exclude_each_other(workspace: None) -> None:
    before = snapshot()
    line = refused("print", "--member", "hedwig-brandauer", "--envelopes", "--labels")
    assert "--envelopes or --labels" in line
    assert snapshot() == before and not Path("out").exists()


def test_an_old_layout_without_envelopes_is_named(workspace: None) -> None:
    layout = Path("letters/layout.typ")
    layout.write_text(
        "\n".join(line for line in layout.read_text().splitlines() if "envelope" not in line)
    )
    before = snapshot()
    line = refused("print", "--member", "hedwig-brandauer", "--envelopes")
    assert "layout.typ lays out no envelopes" in line and "envelope.typ" in line
    assert snapshot() == before and not Path("out").exists()  # refused before generating


def test_a_layout_newer_than_its_envelope_layout_says_to_copy_both(workspace: None) -> None:
    envelope = Path("letters/envelope.typ")  # as an older copy: no `fitted` to import
    envelope.write_text(envelope.read_text().replace("#let fitted(", "#let older("))
    ok("generate-letters")
    before = snapshot()
    line = refused("print", "--member", "hedwig-brandauer")
    letters = Path.cwd() / "letters"
    assert line.startswith(f"importune: {letters}/layout.typ, line ")
    assert line.endswith(
        f"unresolved import; if layout.typ and envelope.typ in {letters} come from different "
        f"versions of importune, copy both anew (importune init /tmp/fresh && cp "
        f"/tmp/fresh/letters/*.typ {letters}/)"
    )
    assert snapshot() == before and not MEMBER_PDF.exists()


# -- the printer ----------------------------------------------------------------------------


def test_printer_sends_the_pdf_with_lp(
    workspace: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_lp(tmp_path / "bin", monkeypatch)
    result = ok("print", "--member", "hedwig-brandauer", "--printer", "office-laser", "--envelopes")
    args = log.read_text().splitlines()
    assert args[:2] == ["-d", "office-laser"]
    assert args[2] == "-t" and "Hedwig Brandauer" in args[3]
    assert Path(args[-1]).is_absolute()
    assert len(pdf_pages(tmp_path / "bin" / "got.pdf")) == 6  # lp got the whole PDF
    assert "Sent to office-laser: request id is office-laser-42" in result.stdout
    assert MEMBER_PDF.is_file()
    assert {r["status"] for r in rows()} == {"printed"}


def test_printer_alone_is_the_default_printer(
    workspace: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = fake_lp(tmp_path / "bin", monkeypatch)
    ok("print", "--member", "hedwig-brandauer", "--printer", "--envelopes")
    args = log.read_text().splitlines()
    assert "-d" not in args and args[0] == "-t"
    assert len(pdf_pages(tmp_path / "bin" / "got.pdf")) == 6  # --envelopes was not eaten
    ok("print", "--member", "hedwig-brandauer", "--printer")
    assert "-d" not in log.read_text().splitlines()


def test_no_lp_is_refused_saying_how_to_print_and_changes_nothing(
    workspace: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "nobin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    before = snapshot()
    line = refused("print", "--member", "hedwig-brandauer", "--printer")
    assert "no 'lp' command" in line
    assert line.endswith(
        "leave out --printer and print out/print/hedwig-brandauer.pdf from a PDF viewer"
    )
    assert snapshot() == before
    assert not Path("out").exists()


def test_a_printer_that_refuses_leaves_nothing_marked_and_no_pdf(
    workspace: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_lp(tmp_path / "bin", monkeypatch, fail=True)
    line = refused("print", "--member", "hedwig-brandauer", "--printer", "nowhere")
    assert line == "importune: lp could not print: lp: The printer or class does not exist."
    assert not MEMBER_PDF.exists()
    assert list(Path("out/print").iterdir()) == []  # no temporary file either
    assert {r["status"] for r in rows()} == {"generated"}


def test_a_printer_name_that_looks_like_an_option_is_refused(workspace: None) -> None:
    line = refused("print", "--member", "hedwig-brandauer", "--printer=-x")
    assert "printer name '-x'" in line


# -- refusals: one line, nothing changed ------------------------------------------------------


def test_several_members_and_no_member_option_is_refused(workspace: None) -> None:
    before = snapshot()
    line = refused("print")
    assert "2 members: say whose letters to print with --member" in line
    assert "hedwig-brandauer" in line
    assert snapshot() == before and not Path("out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--member", "nobody"), "no member 'nobody'"),
        (("--member", "hedwig-brandauer", "--case", "nobody"), "no case 'nobody'"),
        (("--member", "hedwig-brandauer", "-o", "letters.txt"), "give a file name ending in .pdf"),
        (("--member", "hedwig-brandauer", "--envelope-size", "B4"), "envelope size 'B4'"),
        (("--member", "hedwig-brandauer", "--as", "Anna"), "--as and --address go with --pack"),
    ],
)
def test_bad_print_requests_are_refused_and_change_nothing(
    workspace: None, args: tuple[str, ...], message: str
) -> None:
    before = snapshot()
    assert message in refused("print", *args)
    assert snapshot() == before
    assert not Path("out").exists()


def test_a_member_with_no_letters_is_refused(workspace: None) -> None:
    ok("print", "--member", "hedwig-brandauer")
    ok("mark-sent", "--member", "hedwig-brandauer")
    before = snapshot()
    pdf = MEMBER_PDF.read_bytes()
    line = refused("print", "--member", "hedwig-brandauer")
    assert line == "importune: member 'hedwig-brandauer' has no letters to print (3 sent)"
    assert snapshot() == before
    assert MEMBER_PDF.read_bytes() == pdf


def test_a_printed_letter_whose_file_is_gone_or_edited_is_printed_again_as_it_was(
    workspace: None,
) -> None:
    """The check never writes over a printed letter, so it skips one whose text file was
    deleted or edited by hand; print lays letters out from their records, whose words
    are still the ones printed, and prints it all the same: the same PDF as before."""
    ok("print", "--member", "hedwig-brandauer")
    first = MEMBER_PDF.read_bytes()
    gone, edited = (Path(r["path"]) for r in rows()[:2])
    gone.unlink()
    edited.write_text("Dear Sir, I have changed my mind.\n")
    result = ok("print", "--member", "hedwig-brandauer")
    assert "Printed 3 letters" in result.stdout and "Left out" not in result.stdout
    assert MEMBER_PDF.read_bytes() == first
    assert {r["status"] for r in rows()} == {"printed"}
    assert not gone.exists()  # a printed letter's file is never written by the check


def test_letters_printed_before_whose_words_changed_are_named_and_left_as_printed(
    workspace: None,
) -> None:
    """A case renamed after its letters were printed: those letters keep the words they
    were printed with (never written again), stay out of the new pile, and print says
    which they are, rather than printing fewer letters without a word."""
    ok("print", "--member", "hedwig-brandauer")
    texts = {r["path"]: Path(r["path"]).read_bytes() for r in rows()}
    # Written elsewhere with the same words, a printed letter is skipped for its status
    # alone: its words have not changed.
    again = ("generate-letters", "--member", "hedwig-brandauer", "--out", "elsewhere", "--json")
    elsewhere = json.loads(ok(*again).stdout)
    said = {e["reason"] for e in elsewhere["letters"]}
    assert said == {"already printed: never overwritten in place"}
    ok("case", "edit", "yusuf-dzhumaev", "--name", "Yusuf Jumaev")
    result = ok("print", "--member", "hedwig-brandauer")
    assert (
        "Left out 2 letters printed before whose words have changed since "
        "(yusuf-dzhumaev to ambassador, yusuf-dzhumaev to prosecutor-general): "
        "a printed letter is never written again." in result.stdout
    )
    assert "Printed 1 letter" in result.stdout
    (page,) = pdf_pages(MEMBER_PDF)
    assert "BELARUS" in page_text(page)
    assert {r["path"]: Path(r["path"]).read_bytes() for r in rows()} == texts
    assert {r["status"] for r in rows()} == {"printed"}

    # Every letter of the pile changed: refused, saying why, and nothing changes.
    ok("case", "edit", "ales-bialiatski", "--name", "Ales Bialatski")
    before, pdf = snapshot(), MEMBER_PDF.read_bytes()
    line = refused("print", "--member", "hedwig-brandauer")
    assert line == (
        "importune: member 'hedwig-brandauer' has no letters to print "
        "(3 printed before, with words changed since)"
    )
    assert snapshot() == before
    assert MEMBER_PDF.read_bytes() == pdf


def test_a_letter_printed_before_in_another_language_is_named_and_left_as_printed(
    workspace: None,
) -> None:
    """The official is now written to in Russian: the English letter printed before keeps
    its file (the Russian one would take its name), and print says it is left out."""
    ok("print", "--member", "hedwig-brandauer")
    ok("official", "edit", "aleksandr-lukashenko", "--language", "ru")
    result = ok("print", "--member", "hedwig-brandauer")
    assert (
        "Left out 1 letter printed before whose words have changed since "
        "(ales-bialiatski to aleksandr-lukashenko)" in result.stdout
    )
    assert "Printed 2 letters" in result.stdout
    assert len(pdf_pages(MEMBER_PDF)) == 2
    (kept,) = rows("o.slug = 'aleksandr-lukashenko' AND m.slug = 'hedwig-brandauer'")
    assert (kept["language"], kept["status"]) == ("en", "printed")


def test_a_paused_appeal_is_left_out_of_print_until_it_resumes(workspace: None) -> None:
    ok("generate-letters")
    said = ok("appeal", "edit", "yusuf-dzhumaev", "ambassador", "--pause").stdout
    assert "(concern, paused)" in said
    result = ok("print", "--member", "hedwig-brandauer")
    assert "Printed 2 letters" in result.stdout
    assert all("UNITED STATES" not in page_text(page) for page in pdf_pages(MEMBER_PDF))
    report = json.loads(ok("generate-letters", "--json").stdout)
    paused = [e for e in report["letters"] if e["official"] == "ambassador"]
    assert {e["reason"] for e in paused} == {"the appeal is paused"}

    # Posted: the pile printed, not the paused appeal's letter print left out.
    said = ok("mark-sent", "--member", "hedwig-brandauer").stdout
    assert said == (
        "Marked 2 letters sent on " + dt.date.today().isoformat()
        + " (1 of a paused appeal, never printed, left alone).\n"
    )
    (paused,) = rows("o.slug = 'ambassador' AND m.slug = 'hedwig-brandauer'")
    assert paused["status"] == "generated"
    ok("appeal", "edit", "yusuf-dzhumaev", "prosecutor-general", "--pause")
    line = refused("mark-sent", "--member", "tomasz-wielgosz", "--case", "yusuf-dzhumaev")
    assert line.endswith(
        "no letters of member 'tomasz-wielgosz' and case 'yusuf-dzhumaev' to mark sent "
        "(2 of a paused appeal)"
    )
    ok("appeal", "edit", "yusuf-dzhumaev", "prosecutor-general", "--resume")

    ok("appeal", "edit", "yusuf-dzhumaev", "ambassador", "--resume", "--language", "ru")
    result = ok("print", "--member", "hedwig-brandauer")
    assert "Printed 1 letter" in result.stdout
    assert "UNITED STATES" in page_text(pdf_pages(MEMBER_PDF)[0])
    (letter,) = rows("o.slug = 'ambassador' AND m.slug = 'hedwig-brandauer'")
    assert (letter["language"], letter["status"]) == ("ru", "printed")  # in Russian now


def test_a_member_whose_cases_have_no_appeals_is_refused() -> None:
    ok("init")
    ok("member", "add", "Hedwig Brandauer")
    before = snapshot()
    line = refused("print")
    assert "member 'hedwig-brandauer' has no letters to print" in line
    assert snapshot() == before


def test_no_workspace_is_refused(tmp_path: Path) -> None:
    line = refused("print")
    assert "no workspace at" in line


def test_help_names_every_option() -> None:
    result = cli("print", "--help")
    assert result.exit_code == 0
    for option in ("--member", "--case", "--output", "--envelopes", "--envelope-size", "--labels",
                   "--paper", "--printer", "--pack", "--as", "--address"):  # fmt: skip
        assert option in result.stdout
