"""Packs: ``pack export`` carries the campaign without a word about members, and
``print --pack FILE --as NAME`` prints it from an empty folder with no database.

The pack is opened as a hostile file would be: not a zip, no manifest, a newer
format, damaged bytes, paths that climb out, symlinks, oversized entries. Each is
refused in one line, and nothing is written anywhere.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import zipfile
from pathlib import Path

import pytest
from printing_helpers import (
    MEMBERS,
    ORDER,
    build_workspace,
    ok,
    page_text,
    pdf_pages,
    refused,
    size_mm,
    text_lines,
)

from importune import __version__, printing


@pytest.fixture(autouse=True)
def _workspace_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "campaign").mkdir()
    monkeypatch.chdir(tmp_path / "campaign")
    monkeypatch.setenv("IMPORTUNE_DB", str(tmp_path / "campaign" / "importune.db"))
    monkeypatch.delenv("IMPORTUNE_LETTERS", raising=False)
    monkeypatch.delenv("IMPORTUNE_FONTS", raising=False)
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    """The campaign's pack, exported by the organizer."""
    build_workspace()
    ok("generate-letters")  # the organizer's own letters exist too: the pack ignores them
    target = tmp_path / "campaign.zip"
    ok("pack", "export", str(target))
    return target


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder on a member's machine: no workspace, no IMPORTUNE_DB."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("IMPORTUNE_DB", raising=False)
    monkeypatch.delenv("IMPORTUNE_LETTERS", raising=False)
    return folder


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def forge(path: Path, files: dict[str, bytes | str], manifest: dict | None = None) -> Path:
    """A zip shaped like a pack (or not), written by hand."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        if manifest is not None:
            archive.writestr("manifest.json", json.dumps(manifest))
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def rewrite(source: Path, target: Path, change: dict[str, bytes | None]) -> Path:
    """A copy of a pack with entries replaced (or left out, with None)."""
    old = entries(source)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in old.items():
            if name in change:
                if change[name] is not None:
                    archive.writestr(name, change[name])
            else:
                archive.writestr(name, data)
        for name, data in change.items():
            if name not in old and data is not None:
                archive.writestr(name, data)
    return target


# -- what a pack holds ------------------------------------------------------------------------


def test_pack_holds_cases_officials_appeals_group_and_templates(pack: Path) -> None:
    files = entries(pack)
    manifest = json.loads(files["manifest.json"])
    assert manifest["format"] == "importune-pack"
    assert manifest["version"] == printing.PACK_VERSION
    assert manifest["importune"] == __version__
    assert sorted(manifest["cases"]) == ["ales-bialiatski", "yusuf-dzhumaev"]
    assert json.loads(files["group.json"])["name"] == "Bristol Letter Group"
    assert len(json.loads(files["cases.json"])) == 2
    assert len(json.loads(files["officials.json"])) == 3
    assert len(json.loads(files["appeals.json"])) == 3
    for needed in ("letters/concern.en.txt.j2", "letters/concern.ru.txt.j2",
                   "letters/layout.typ", "letters/envelope.typ"):  # fmt: skip
        assert needed in files
    assert not any(name.startswith(("out/", "importune.db")) for name in files)


def test_pack_holds_nothing_about_members(pack: Path) -> None:
    raw = pack.read_bytes()
    unpacked = b"".join(entries(pack).values())
    for member in MEMBERS.values():
        needles = [member["name"], member["email"], *member["address"].split("\n")]
        for needle in needles:
            for form in (needle, needle.lower(), needle.replace(" ", "-").lower()):
                assert form.encode() not in raw, form
                assert form.encode() not in unpacked, form
    assert b"hedwig-brandauer" not in unpacked and b"tomasz-wielgosz" not in unpacked
    assert b"member" not in b"".join(
        data for name, data in entries(pack).items() if name.endswith(".json")
    )


def test_pack_leaves_out_released_cases_ended_appeals_and_their_officials(tmp_path: Path) -> None:
    build_workspace()
    ok("case", "edit", "ales-bialiatski", "--status", "released", "--released-on", "2024-01-01")
    ok("appeal", "remove", "yusuf-dzhumaev", "ambassador")
    ok("appeal", "add", "yusuf-dzhumaev", "ambassador", "--until", "2002-01-01")
    ok("pack", "export", str(tmp_path / "p.zip"))
    files = entries(tmp_path / "p.zip")
    assert [c["slug"] for c in json.loads(files["cases.json"])] == ["yusuf-dzhumaev"]
    assert [o["slug"] for o in json.loads(files["officials.json"])] == ["prosecutor-general"]
    assert len(json.loads(files["appeals.json"])) == 1


def test_pack_of_one_case_and_only_that_cases_own_templates(tmp_path: Path) -> None:
    build_workspace()
    for slug in ("yusuf-dzhumaev", "ales-bialiatski"):
        own = Path("letters/cases") / slug
        own.mkdir(parents=True)
        (own / "concern.en.txt.j2").write_text('{% extends "concern.en.txt.j2" %}\n')
    ok("pack", "export", str(tmp_path / "p.zip"), "--case", "yusuf-dzhumaev")
    files = entries(tmp_path / "p.zip")
    assert [c["slug"] for c in json.loads(files["cases.json"])] == ["yusuf-dzhumaev"]
    assert "letters/cases/yusuf-dzhumaev/concern.en.txt.j2" in files
    assert not any("ales-bialiatski" in name for name in files)


def test_pack_never_follows_a_symlink_out_of_letters(tmp_path: Path) -> None:
    build_workspace()
    secret = tmp_path / "secret.txt.j2"
    secret.write_text("Subject: SECRET home address\n\nSECRET\n")
    os.symlink(secret, "letters/secret.en.txt.j2")
    ok("pack", "export", str(tmp_path / "p.zip"))
    assert b"SECRET" not in b"".join(entries(tmp_path / "p.zip").values())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--case", "nobody"), "no case 'nobody'"),
    ],
)
def test_pack_export_refusals_write_nothing(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    build_workspace()
    assert message in refused("pack", "export", str(tmp_path / "p.zip"), *args)
    assert not (tmp_path / "p.zip").exists()


def test_pack_export_of_a_released_case_or_nothing_is_refused(tmp_path: Path) -> None:
    build_workspace()
    ok("case", "edit", "ales-bialiatski", "--status", "released", "--released-on", "2024-01-01")
    line = refused("pack", "export", str(tmp_path / "p.zip"), "--case", "ales-bialiatski")
    assert "case 'ales-bialiatski' is released" in line
    ok("case", "edit", "yusuf-dzhumaev", "--status", "released", "--released-on", "2024-01-01")
    line = refused("pack", "export", str(tmp_path / "p.zip"))
    # Why, not "add some": every appeal there is for a prisoner now free.
    assert line == (
        "importune: no active appeals to pack: of 3 appeals, "
        "3 for a case no longer held (released or deceased)"
    )
    assert not (tmp_path / "p.zip").exists()


def test_pack_export_says_why_no_appeal_is_packed(tmp_path: Path) -> None:
    build_workspace()
    ok("case", "edit", "ales-bialiatski", "--status", "released", "--released-on", "2024-01-01")
    ok("appeal", "remove", "yusuf-dzhumaev", "prosecutor-general")
    ok("appeal", "remove", "yusuf-dzhumaev", "ambassador")
    paused = tmp_path / "paused.csv"
    paused.write_text(
        "case,official,active,until\n"
        "yusuf-dzhumaev,prosecutor-general,0,\n"
        "yusuf-dzhumaev,ambassador,1,2020-01-01\n"
    )
    ok("import", "appeals", str(paused))
    assert refused("pack", "export", str(tmp_path / "p.zip")) == (
        "importune: no active appeals to pack: of 3 appeals, 1 for a case no longer held "
        "(released or deceased) and 2 paused or past their --until date"
    )
    assert not (tmp_path / "p.zip").exists()


# -- printing from a pack, anywhere ------------------------------------------------------------


def test_print_from_a_pack_in_an_empty_folder(pack: Path, elsewhere: Path) -> None:
    result = ok("print", "--pack", str(pack), "--as", "Olga Petrova",
                "--address", "Nevsky Prospekt 1\n191186 St Petersburg\nRUSSIA")  # fmt: skip
    assert "Printed 3 letters signed by Olga Petrova to olga-petrova.pdf" in result.stdout
    assert "return address" not in result.stdout
    assert sorted(p.name for p in elsewhere.iterdir()) == ["olga-petrova.pdf"]  # no database
    pages = pdf_pages(elsewhere / "olga-petrova.pdf")
    assert len(pages) == 3
    for page, (_, _, country) in zip(pages, ORDER, strict=True):
        lines = text_lines(page)
        assert lines[:4] == ["Olga Petrova", "Nevsky Prospekt 1", "191186 St Petersburg", "RUSSIA"]
        assert country in lines
        assert lines[-1] == "Olga Petrova"
    assert "Уважаем" in page_text(pages[2])  # the appeal's language travels with the pack
    assert "Yeovil" not in "".join(page_text(p) for p in pages)  # no organizer's member


def test_print_from_a_pack_with_envelopes_and_one_case(pack: Path, elsewhere: Path) -> None:
    ok("print", "--pack", str(pack), "--as", "Olga Petrova", "--address", "Nevsky Prospekt 1",
       "--case", "yusuf-dzhumaev", "--envelopes", "-o", "yusuf.pdf")  # fmt: skip
    pages = pdf_pages(elsewhere / "yusuf.pdf")
    assert [size_mm(p) for p in pages] == [(210, 297), (220, 110)] * 2
    envelope = text_lines(pages[3])
    assert envelope[:2] == ["Olga Petrova", "Nevsky Prospekt 1"]
    assert envelope[-1] == "UZBEKISTAN"


def test_a_pack_signed_without_an_address_is_signed_by_name_only(
    pack: Path, elsewhere: Path
) -> None:
    said = ok("print", "--pack", str(pack), "--as", "Olga Petrova").stdout
    first = text_lines(pdf_pages(elsewhere / "olga-petrova.pdf")[0])
    assert first[0] == "Olga Petrova" and first[-1] == "Olga Petrova"
    # Said, since an official's reply or a letter the post returns needs one.
    assert "They carry no return address: print them again with --address 'Your address'." in (
        said
    )


@pytest.mark.parametrize(("age", "noted"), [(0, False), (30, False), (45, True)])
def test_printing_from_an_old_pack_says_a_prisoner_may_be_free_since(
    pack: Path, elsewhere: Path, age: int, noted: bool
) -> None:
    manifest = json.loads(entries(pack)["manifest.json"])
    made = dt.date.today() - dt.timedelta(days=age)
    old = rewrite(pack, elsewhere / "old.zip",
                  {"manifest.json": json.dumps(dict(manifest, made=made.isoformat())).encode()})
    said = ok("print", "--pack", str(old), "--as", "Olga Petrova", "--address", "Nevsky 1").stdout
    note = (f"This pack was made {age} days ago, on {made}: a prisoner may have been freed "
            "since. Before posting, ask your organizer for a newer pack.")  # fmt: skip
    assert (note in said) is noted
    assert "Printed 3 letters" in said  # a note, not a refusal


# -- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_name_is_refused(pack: Path, elsewhere: Path, name: str) -> None:
    assert "--as: give the name" in refused("print", "--pack", str(pack), "--as", name)
    assert list(elsewhere.iterdir()) == []


def test_a_pack_without_as_is_refused(pack: Path, elsewhere: Path) -> None:
    assert "--as: give the name" in refused("print", "--pack", str(pack))
    assert list(elsewhere.iterdir()) == []


def test_member_option_with_a_pack_is_refused(pack: Path, elsewhere: Path) -> None:
    line = refused("print", "--pack", str(pack), "--as", "Olga", "--member", "hedwig-brandauer")
    assert "with --pack, sign with --as NAME" in line


def test_an_unknown_case_in_a_pack_is_refused(pack: Path, elsewhere: Path) -> None:
    line = refused("print", "--pack", str(pack), "--as", "Olga", "--case", "nobody")
    assert "no case 'nobody' in" in line and "ales-bialiatski" in line
    assert list(elsewhere.iterdir()) == []


def _pack_refusal(path: Path, folder: Path) -> str:
    before = set(folder.parent.rglob("*"))
    line = refused("print", "--pack", str(path), "--as", "Olga Petrova")
    assert set(folder.parent.rglob("*")) == before  # nothing written anywhere
    return line


def test_a_file_that_is_not_a_zip_is_not_a_pack(elsewhere: Path) -> None:
    path = elsewhere / "letters.zip"
    path.write_text("Dear organizer, here are my letters.")
    assert "is not an importune pack (not a zip file)" in _pack_refusal(path, elsewhere)


def test_a_zip_without_a_manifest_is_not_a_pack(elsewhere: Path) -> None:
    path = forge(elsewhere / "photos.zip", {"holiday.jpg": b"\xff\xd8"})
    assert "is not an importune pack (it has no manifest.json)" in _pack_refusal(path, elsewhere)


def test_a_zip_with_someone_elses_manifest_is_not_a_pack(elsewhere: Path) -> None:
    path = forge(elsewhere / "other.zip", {}, manifest={"name": "some-npm-thing"})
    assert "is not an importune pack (manifest.json is not a pack's)" in _pack_refusal(
        path, elsewhere
    )


def test_a_pack_from_a_newer_importune_is_refused(pack: Path, elsewhere: Path) -> None:
    manifest = json.loads(entries(pack)["manifest.json"])
    newer = dict(manifest, version=printing.PACK_VERSION + 1, importune="9.0.0")
    path = rewrite(pack, elsewhere / "new.zip", {"manifest.json": json.dumps(newer).encode()})
    line = _pack_refusal(path, elsewhere)
    assert "was made by importune 9.0.0 (pack format 2)" in line
    assert "upgrade importune" in line


def test_a_damaged_pack_is_refused(pack: Path, elsewhere: Path) -> None:
    data = bytearray(pack.read_bytes())
    with zipfile.ZipFile(pack) as archive:
        info = archive.getinfo("letters/concern.en.txt.j2")
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[middle] ^= 0xFF
    path = elsewhere / "damaged.zip"
    path.write_bytes(bytes(data))
    assert "the pack is damaged" in _pack_refusal(path, elsewhere)


def test_a_truncated_pack_is_refused(pack: Path, elsewhere: Path) -> None:
    path = elsewhere / "half.zip"
    path.write_bytes(pack.read_bytes()[: pack.stat().st_size // 2])
    line = _pack_refusal(path, elsewhere)
    assert "not an importune pack" in line or "damaged" in line


def test_a_pack_missing_its_records_is_damaged(pack: Path, elsewhere: Path) -> None:
    path = rewrite(pack, elsewhere / "p.zip", {"appeals.json": None})
    assert "the pack is damaged (no appeals.json)" in _pack_refusal(path, elsewhere)
    path = rewrite(pack, elsewhere / "q.zip", {"cases.json": b"{not json"})
    assert "the pack is damaged (cases.json" in _pack_refusal(path, elsewhere)


@pytest.mark.parametrize(
    "name", ["letters/../../evil.j2", "../evil.j2", "/tmp/evil.j2", "letters/..\\evil.j2"]
)
def test_a_path_that_climbs_out_is_refused(pack: Path, elsewhere: Path, name: str) -> None:
    path = rewrite(pack, elsewhere / "slip.zip", {name: b"Subject: x\n\nowned\n"})
    assert "the pack holds a path outside its folder" in _pack_refusal(path, elsewhere)
    assert not (elsewhere.parent / "evil.j2").exists()
    assert not Path("/tmp/evil.j2").exists()


def test_a_symlink_in_a_pack_is_refused(pack: Path, elsewhere: Path) -> None:
    path = rewrite(pack, elsewhere / "link.zip", {})
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo("letters/concern.de.txt.j2")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    assert "the pack holds a symbolic link" in _pack_refusal(path, elsewhere)


def test_a_huge_entry_is_refused(
    pack: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(printing, "PACK_MAX_FILE", 100_000)
    path = rewrite(pack, elsewhere / "bomb.zip", {"letters/fonts/huge.ttf": b"\0" * 200_000})
    assert "refused: 'letters/fonts/huge.ttf' is 200,000 bytes" in _pack_refusal(path, elsewhere)


def test_an_entry_that_lies_about_its_size_is_refused(
    pack: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(printing, "PACK_MAX_TOTAL", 60_000)
    path = rewrite(pack, elsewhere / "many.zip", {"letters/fonts/a.ttf": b"\0" * 70_000})
    assert "unpacks to more than allowed" in _pack_refusal(path, elsewhere)


def test_a_template_in_a_pack_cannot_reach_python_internals(pack: Path, elsewhere: Path) -> None:
    hostile = b"Subject: x\n\n{{ case.__class__.__mro__ }}\n\nOlga\n"
    path = rewrite(pack, elsewhere / "evil.zip", {"letters/concern.en.txt.j2": hostile})
    assert "templates may not reach into Python internals" in _pack_refusal(path, elsewhere)


def test_pack_reader_keeps_no_temporary_folder(pack: Path, elsewhere: Path) -> None:
    with printing.open_pack(pack) as opened:
        folder = opened.letters_dir
        assert (folder / "layout.typ").is_file()
    assert not folder.exists()
