"""Letters turned into bytes in every format, and read back as a reader would read them.

Real parts throughout: the default layouts from the repository's ``letters/``,
real Typst PDFs opened with pypdf, e-mails parsed by the standard library,
Markdown rendered by markdown-it (CommonMark, with GitHub's tables and
strikethrough).
"""



from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import html
import io
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pypdf
import pytest
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from markdown_it import MarkdownIt

from importune.compose import Composer, Letter
from importune.errors import ImportuneError
from importune.formats import EXTENSIONS, FORMATS, Renderer
from importune.workspace import default_letters

LETTERS = default_letters()

TRICKY = "Ann #1 $x$ *bold* _it_ @ref <b>"


@pytest.fixture(autouse=True)
def _no_user_fonts(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test depends on the fonts of whoever runs it."""
    monkeypatch.delenv("IMPORTUNE_FONTS", raising=False)


def make_letter(**changes: object) -> Letter:
    """An English letter from a member in Bristol to the President of Uzbekistan."""
    letter = Letter(
        case={"id": 1, "slug": "yusuf-dzhumaev", "name": "Yusuf Dzhumaev"},
        official={
            "id": 1,
            "slug": "shavkat-mirziyoyev",
            "name": "Shavkat Mirziyoyev",
            "email": "press@president.uz",
        },
        member={
            "id": 1,
            "slug": "anna-schmidt",
            "name": "Anna Schmidt",
            "email": "anna@example.org",
        },
        appeal={"id": 1, "template": "concern"},
        group={"name": "Bristol Letter Group", "email": "group@example.org"},
        template="concern",
        language="en",
        template_path="concern.en.txt.j2",
        date=dt.date(2002, 3, 1),
        date_text="1 March 2002",
        subject="Yusuf Dzhumaev, detained in Uzbekistan since 23 October 2001",
        body=(
            "Dear President,\n\n"
            "I am writing to you about the poet Yusuf Dzhumaev.\n"
            "He has been held since 23 October 2001.\n\n"
            "Yours sincerely,\n\n"
            "Anna Schmidt\n"
        ),
        recipient_lines=[
            "Shavkat Mirziyoyev",
            "President of the Republic of Uzbekistan",
            "43 Uzbekistan Avenue",
            "Tashkent 100163",
            "UZBEKISTAN",
        ],
        sender_lines=["Anna Schmidt", "12 Linden Street", "Bristol BS1 4DJ", "UNITED KINGDOM"],
    )
    return dataclasses.replace(letter, **changes)


def cyrillic_letter(**changes: object) -> Letter:
    letter = make_letter(
        official={
            "slug": "generalnyi-prokuror",
            "name": "Генеральный прокурор",
            "email": "prokuratura@example.ru",
        },
        member={"slug": "olga-petrova", "name": "Ольга Петрова", "email": "olga@example.org"},
        language="ru",
        date_text="1 марта 2002 г.",
        subject="Юсуф Джумаев, под стражей с 23 октября 2001 года",
        body="Уважаемый господин прокурор!\n\nПрошу освободить поэта Юсуфа Джумаева.\n\n"
        "С уважением,\nОльга Петрова\n",
        recipient_lines=[
            "Генеральный прокурор",
            "ул. Гулямова, 66",
            "Ташкент 100047",
            "UZBEKISTAN",
        ],
        sender_lines=["Ольга Петрова", "Невский проспект, 1", "Санкт-Петербург 191186", "RUSSIA"],
    )
    return dataclasses.replace(letter, **changes)


def arabic_letter(**changes: object) -> Letter:
    letter = make_letter(
        official={"slug": "al-sisi", "name": "عبد الفتاح السيسي", "email": "info@example.eg"},
        member={"slug": "ahmed-mansour", "name": "أحمد منصور", "email": "ahmed@example.org"},
        language="ar",
        date_text="١ مارس ٢٠٠٢",
        subject="يوسف جمعاييف",
        body="السيد الرئيس،\n\nأكتب إليكم بشأن الشاعر يوسف جمعاييف.\n\n"
        "مع فائق الاحترام،\nأحمد منصور\n",
        recipient_lines=[
            "عبد الفتاح السيسي",
            "رئيس الجمهورية",
            "قصر الاتحادية",
            "Cairo 11611",
            "EGYPT",
        ],
        sender_lines=["أحمد منصور", "شارع التحرير ١٢", "الإسكندرية", "EGYPT"],
    )
    return dataclasses.replace(letter, **changes)


@pytest.fixture(scope="module")
def pdf() -> Renderer:
    """One PDF renderer for the module, as a run has one: its fonts are read once."""
    return Renderer(LETTERS, "pdf")


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


# -- txt -------------------------------------------------------------------------------


def test_txt_is_sender_recipient_date_subject_body_in_that_order() -> None:
    data = Renderer(LETTERS, "txt").render(make_letter())
    assert data.decode("utf-8") == (
        "Anna Schmidt\n12 Linden Street\nBristol BS1 4DJ\nUNITED KINGDOM\n"
        "\n"
        "Shavkat Mirziyoyev\nPresident of the Republic of Uzbekistan\n43 Uzbekistan Avenue\n"
        "Tashkent 100163\nUZBEKISTAN\n"
        "\n"
        "1 March 2002\n"
        "\n"
        "Yusuf Dzhumaev, detained in Uzbekistan since 23 October 2001\n"
        "\n"
        "Dear President,\n\n"
        "I am writing to you about the poet Yusuf Dzhumaev.\n"
        "He has been held since 23 October 2001.\n\n"
        "Yours sincerely,\n\n"
        "Anna Schmidt\n"
    )


def test_txt_has_lf_line_ends_and_one_final_newline_whatever_the_template_wrote() -> None:
    letter = cyrillic_letter(body="Уважаемый господин прокурор!\r\n\r\nС уважением,\r\nОльга\n\n\n")
    text = Renderer(LETTERS, "txt").render(letter).decode("utf-8")
    assert "\r" not in text
    assert text.endswith("С уважением,\nОльга\n")
    assert text.startswith("Ольга Петрова\nНевский проспект, 1\n")


# -- md --------------------------------------------------------------------------------


class _Text(HTMLParser):
    """The paragraphs a Markdown renderer shows, and every tag it used."""

    def __init__(self) -> None:
        super().__init__()
        self.paragraphs: list[str] = []
        self.tags: set[str] = set()
        self.current = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "br":
            self.current += "\n"

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.paragraphs.append(self.current)
            self.current = ""

    def handle_data(self, data: str) -> None:
        self.current += data.replace("\n", "")


def shown_by_markdown(source: str) -> _Text:
    renderer = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    parser = _Text()
    parser.feed(renderer.render(source))
    return parser


def test_md_shows_the_same_letter_as_txt() -> None:
    letter = cyrillic_letter()
    shown = shown_by_markdown(Renderer(LETTERS, "md").render(letter).decode("utf-8"))
    txt = Renderer(LETTERS, "txt").render(letter).decode("utf-8")
    assert "\n\n".join(shown.paragraphs) + "\n" == txt
    assert shown.tags == {"p", "br", "strong"}  # the subject, in bold as printed


@pytest.mark.parametrize(
    "name",
    [
        TRICKY,
        "*Anna* **Schmidt** [link](http://x) ![img](y.png) `code`",
        "# Not a heading",
        "- not a list",
        "+ not a list",
        "1. not a list",
        "2001) not a list",
        "> not a quote",
        "===",
        "---",
        "***",
        "<script>alert(1)</script>",
        "a | b | c",
        "~~struck~~ &amp; &copy; \\*",
        "<http://example.org>",
    ],
)
def test_md_prints_names_as_written(name: str) -> None:
    letter = make_letter(
        sender_lines=[name, "12 Linden Street"],
        subject=f"Please release {name}",
        body=f"Dear President,\n\n{name}\n",
    )
    source = Renderer(LETTERS, "md").render(letter).decode("utf-8")
    shown = shown_by_markdown(source)
    assert shown.paragraphs[0] == f"{name}\n12 Linden Street"
    assert shown.paragraphs[3] == f"Please release {name}"
    assert shown.paragraphs[-1] == name
    assert shown.tags == {"p", "br", "strong"}
    subject = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(
        source.split("\n\n")[3]
    )
    assert subject == f"<p><strong>Please release {html.escape(name, quote=False)}</strong></p>\n"


# -- html ------------------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text += data


def read_page(data: bytes) -> _Page:
    page = _Page()
    page.feed(data.decode("utf-8"))
    return page


def test_html_shows_a_script_in_a_name_as_text() -> None:
    name = "<script>alert('x')</script> & Co"
    letter = make_letter(sender_lines=[name], body=f"Dear President,\n\n{name}\n")
    data = Renderer(LETTERS, "html").render(letter)
    page = read_page(data)
    assert [tag for tag, _ in page.elements].count("script") == 0
    assert page.text.count(name) == 2
    assert b"&lt;script&gt;" in data


def test_html_is_one_printable_a4_page_with_nothing_from_elsewhere() -> None:
    data = Renderer(LETTERS, "html").render(make_letter())
    page = read_page(data)
    html = dict(page.elements)["html"]
    assert html == {"lang": "en", "dir": "ltr"}
    assert b"@page" in data and b"A4" in data
    for tag, attrs in page.elements:
        assert tag not in {"link", "script", "img", "iframe"}
        assert not any(key in attrs for key in ("src", "href"))
    assert b"url(" not in data and b"@import" not in data
    for line in ["Anna Schmidt", "UZBEKISTAN", "1 March 2002", "Yours sincerely,"]:
        assert line in page.text


def test_html_of_an_arabic_letter_is_right_to_left() -> None:
    data = Renderer(LETTERS, "html").render(arabic_letter())
    page = read_page(data)
    assert dict(page.elements)["html"] == {"lang": "ar", "dir": "rtl"}
    sections = [attrs for tag, attrs in page.elements if tag == "section"]
    assert sections == [{"class": "letter", "lang": "ar", "dir": "rtl"}]
    assert "عبد الفتاح السيسي" in page.text


def test_html_many_letters_are_one_page_each() -> None:
    data = Renderer(LETTERS, "html").render_many([make_letter(), arabic_letter()])
    sections = [attrs for tag, attrs in read_page(data).elements if tag == "section"]
    assert [s["dir"] for s in sections] == ["ltr", "rtl"]
    assert b"break-after: page" in data


def test_html_layout_error_names_the_file_and_line(tmp_path: Path) -> None:
    letters = tmp_path / "letters"
    letters.mkdir()
    (letters / "layout.html.j2").write_text("<p>\n{{ letters[0].nickname }}</p>\n")
    with pytest.raises(ImportuneError, match=r"layout\.html\.j2, line 2: .*nickname"):
        Renderer(letters, "html").render(make_letter())


# -- eml -------------------------------------------------------------------------------


def parse(data: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def test_eml_reads_back_with_utf8_names_and_subject() -> None:
    letter = cyrillic_letter()
    message = parse(Renderer(LETTERS, "eml").render(letter))
    (to,) = message["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Генеральный прокурор", "prokuratura@example.ru")
    (sender,) = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Ольга Петрова", "olga@example.org")
    assert message["Subject"] == "Юсуф Джумаев, под стражей с 23 октября 2001 года"
    assert message["Date"].datetime.date() == dt.date(2002, 3, 1)
    assert message["Message-ID"].endswith("@example.org>")
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().splitlines() == letter.body.splitlines()


def test_eml_of_an_arabic_letter_reads_back() -> None:
    message = parse(Renderer(LETTERS, "eml").render(arabic_letter()))
    assert message["To"].addresses[0].display_name == "عبد الفتاح السيسي"
    assert message["From"].addresses[0].display_name == "أحمد منصور"
    assert message["Subject"] == "يوسف جمعاييف"
    assert message["Content-Language"] == "ar"
    assert "أكتب إليكم بشأن الشاعر يوسف جمعاييف." in message.get_content()


def test_eml_names_cannot_inject_headers() -> None:
    letter = make_letter(
        official={"slug": "x", "name": "Evil\nBcc: x@evil.example", "email": "press@president.uz"},
        member={"slug": "m", "name": "Mal\r\nCc: y@evil.example", "email": "anna@example.org"},
        subject="Hello\r\nBcc: z@evil.example\n\nbody",
    )
    message = parse(Renderer(LETTERS, "eml").render(letter))
    assert set(message.keys()) == {
        "To", "From", "Subject", "Date", "Message-ID", "Content-Language", "X-Unsent",
        "Content-Type", "Content-Transfer-Encoding", "MIME-Version",
    }  # fmt: skip
    assert [a.addr_spec for a in message["To"].addresses] == ["press@president.uz"]
    assert [a.addr_spec for a in message["From"].addresses] == ["anna@example.org"]
    assert "Bcc: x@evil.example" in message["To"].addresses[0].display_name
    assert message["Subject"] == "Hello Bcc: z@evil.example  body"


def test_eml_refuses_an_official_without_email() -> None:
    letter = make_letter(official={"slug": "shavkat-mirziyoyev", "name": "S", "email": None})
    renderer = Renderer(LETTERS, "eml")
    with pytest.raises(ImportuneError, match="official 'shavkat-mirziyoyev' has no email address"):
        renderer.check(letter)
    with pytest.raises(ImportuneError, match="official 'shavkat-mirziyoyev' has no email address"):
        renderer.render(letter)


def test_eml_from_is_the_group_for_an_unsigned_letter_and_absent_when_unknown() -> None:
    unsigned = parse(Renderer(LETTERS, "eml").render(make_letter(member=None)))
    assert unsigned["From"].addresses[0].addr_spec == "group@example.org"
    assert unsigned["From"].addresses[0].display_name == "Bristol Letter Group"
    no_email = make_letter(member={"slug": "anna-schmidt", "name": "Anna Schmidt", "email": None})
    assert parse(Renderer(LETTERS, "eml").render(no_email))["From"] is None


def test_eml_message_id_names_the_letter() -> None:
    renderer = Renderer(LETTERS, "eml")
    first = parse(renderer.render(make_letter()))["Message-ID"]
    assert parse(renderer.render(make_letter(body="Other words\n")))["Message-ID"] == first
    other_member = make_letter(
        member={"slug": "olga-petrova", "name": "O", "email": "o@example.org"}
    )
    assert parse(renderer.render(other_member))["Message-ID"] != first
    assert parse(renderer.render(make_letter(date=dt.date(2002, 3, 2))))["Message-ID"] != first


# -- pdf -------------------------------------------------------------------------------


def test_pdf_prints_markup_characters_as_written(pdf: Renderer) -> None:
    evil = '#read("/etc/passwd") #panic("x") $1 + 1$ <label> @label'
    letter = make_letter(
        sender_lines=[TRICKY, "Flat #2, 3 * 4 _ Street"],
        subject=f"Subject with {TRICKY}",
        body=f"Dear President,\n\n{evil}\n\nYours sincerely,\n{TRICKY}\n",
    )
    (text,) = pdf_pages(pdf.render(letter))
    lines = text.split("\n")
    assert lines.count(TRICKY) == 2  # the sender block and the signature
    for expected in ["Flat #2, 3 * 4 _ Street", f"Subject with {TRICKY}", evil]:
        assert expected in lines


def test_pdf_of_a_letter_in_cyrillic(pdf: Renderer) -> None:
    (text,) = pdf_pages(pdf.render(cyrillic_letter()))
    for line in [
        "Ольга Петрова",
        "Санкт-Петербург 191186",
        "ул. Гулямова, 66",
        "1 марта 2002 г.",
        "Юсуф Джумаев, под стражей с 23 октября 2001 года",
        "Прошу освободить поэта Юсуфа Джумаева.",
    ]:
        assert line in text.split("\n")


def test_pdf_of_a_letter_in_arabic(pdf: Renderer) -> None:
    (text,) = pdf_pages(pdf.render(arabic_letter()))
    # pypdf gives right-to-left words in the order they are drawn, so look for words.
    for word in ["عبد", "الفتاح", "السيسي", "الإسكندرية", "جمعاييف", "منصور", "Cairo", "11611"]:
        assert word in text


def test_pdf_many_letters_one_page_each(pdf: Renderer) -> None:
    letters = [make_letter(), cyrillic_letter(), arabic_letter(), make_letter(member=None)]
    pages = pdf_pages(pdf.render_many(letters))
    assert len(pages) == 4
    assert "Anna Schmidt" in pages[0]
    assert "Ольга Петрова" in pages[1]
    assert "منصور" in pages[2]
    assert "Anna Schmidt" in pages[3]  # the sender lines, as composed


def test_pdf_long_letter_runs_on_and_the_next_letter_starts_a_new_page(pdf: Renderer) -> None:
    long_body = "Dear President,\n\n" + "\n\n".join(["A long paragraph. " * 60] * 8) + "\n\nAnna\n"
    pages = pdf_pages(pdf.render_many([make_letter(body=long_body), cyrillic_letter()]))
    assert len(pages) >= 3
    assert pages[-1].startswith("Ольга Петрова")  # a page of its own
    assert not pages[-1].rstrip().endswith("1")  # and no page number on a first page
    assert pages[-2].endswith(f"Anna\n{len(pages) - 1}")  # the long one's pages are numbered


def test_pdf_metadata_dates_are_the_letters_date(pdf: Renderer) -> None:
    reader = pypdf.PdfReader(io.BytesIO(pdf.render(make_letter())))
    assert reader.metadata is not None
    assert reader.metadata.creation_date is not None
    assert reader.metadata.creation_date.date() == dt.date(2002, 3, 1)
    assert reader.metadata.title == "Yusuf Dzhumaev, detained in Uzbekistan since 23 October 2001"


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_letter_same_bytes(fmt: str) -> None:
    letters = [make_letter(), cyrillic_letter(), arabic_letter()]
    first = [Renderer(LETTERS, fmt).render(letter) for letter in letters]
    again = Renderer(LETTERS, fmt)
    assert [again.render(letter) for letter in reversed(letters)] == list(reversed(first))
    assert again.render(make_letter(body="Changed.\n")) != first[0]
    assert EXTENSIONS[fmt] == f".{fmt}"


def test_pdf_refuses_a_script_no_font_covers(pdf: Renderer) -> None:
    ethiopic = make_letter(recipient_lines=["ኢሳያስ አፈወርቂ", "Asmara", "ERITREA"])
    with pytest.raises(ImportuneError) as refused:
        pdf.check(ethiopic)
    message = str(refused.value)
    assert "letter to 'shavkat-mirziyoyev'" in message
    assert "uses Ethiopic script, which no font covers" in message
    assert "letters/fonts/" in message and "IMPORTUNE_FONTS" in message
    assert "\n" not in message
    with pytest.raises(ImportuneError, match="Han script"):
        pdf.render(make_letter(body="Dear President,\n\n刘晓波\n"))
    with pytest.raises(ImportuneError, match="Ethiopic script"):
        pdf.render_many([make_letter(), ethiopic])


def test_pdf_prints_scripts_shipped_fonts_cover(pdf: Renderer) -> None:
    names = ["Nguyễn Văn Đài", "Ἀριστοτέλης", "Қазақстан", "Ўзбекистон", "نرگس محمدی",
             "پاکستان", "שלום עליכם", "Հայաստան", "საქართველო", "ประเทศไทย", "भारत"]  # fmt: skip
    letter = make_letter(body="Dear President,\n\n" + "\n\n".join(names) + "\n\nAnna\n")
    pdf.check(letter)
    (text,) = pdf_pages(pdf.render(letter))
    assert "Nguyễn Văn Đài" in text


def _ethiopic_font(path: Path) -> None:
    """A tiny font with one glyph, for ሰ (U+1230), as a user would drop one in fonts/."""
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", "space", "se"])
    builder.setupCharacterMap({0x20: "space", 0x1230: "se"})
    pen = TTGlyphPen(None)
    pen.moveTo((100, 0))
    pen.lineTo((100, 700))
    pen.lineTo((500, 700))
    pen.lineTo((500, 0))
    pen.closePath()
    box = pen.glyph()
    builder.setupGlyf({".notdef": box, "space": TTGlyphPen(None).glyph(), "se": box})
    builder.setupHorizontalMetrics({".notdef": (600, 100), "space": (300, 0), "se": (600, 100)})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable(
        {
            "familyName": "Test Ethiopic",
            "styleName": "Regular",
            "fullName": "Test Ethiopic Regular",
            "psName": "TestEthiopic-Regular",
        }
    )
    builder.setupOS2(sTypoAscender=800, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    builder.save(str(path))


def test_pdf_uses_fonts_from_letters_fonts(tmp_path: Path) -> None:
    letters = tmp_path / "letters"
    shutil.copytree(LETTERS, letters)
    letter = make_letter(body="Dear President,\n\nሰ\n\nAnna\n")
    with pytest.raises(ImportuneError, match="Ethiopic"):
        Renderer(letters, "pdf").render(letter)
    (letters / "fonts").mkdir()
    _ethiopic_font(letters / "fonts" / "TestEthiopic.ttf")
    (text,) = pdf_pages(Renderer(letters, "pdf").render(letter))
    assert "ሰ" in text


def test_pdf_uses_fonts_from_importune_fonts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ethiopic_font(tmp_path / "TestEthiopic.ttf")
    monkeypatch.setenv("IMPORTUNE_FONTS", str(tmp_path))
    letter = make_letter(body="Dear President,\n\nሰ\n\nAnna\n")
    (text,) = pdf_pages(Renderer(LETTERS, "pdf").render(letter))
    assert "ሰ" in text


def test_importune_fonts_must_be_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPORTUNE_FONTS", str(tmp_path / "nowhere"))
    with pytest.raises(ImportuneError, match=r"IMPORTUNE_FONTS names .*nowhere.*not a folder"):
        Renderer(LETTERS, "pdf")


def test_pdf_layout_error_names_the_layout(tmp_path: Path) -> None:
    letters = tmp_path / "letters"
    letters.mkdir()
    (letters / "layout.typ").write_text("#let data = json(bytes(sys.inputs.letters))\n#data.nope\n")
    with pytest.raises(ImportuneError, match=r"layout\.typ, line 2: .*nope"):
        Renderer(letters, "pdf").render(make_letter())


# -- the renderer ----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_letter_composed_from_the_default_templates_in_every_format(
    language: str, pdf: Renderer
) -> None:
    group = {"name": "Bristol Letter Group", "address": "1 Park Row\nBristol BS1 5LJ"}
    composer = Composer(LETTERS, group, dt.date(2024, 5, 1))
    case = {"id": 1, "slug": "yusuf-dzhumaev", "name": "Yusuf Dzhumaev", "country": "UZ",
            "native_name": "Юсуф Джумаев", "location": "Karakul", "prison": None,
            "detained_on": "2001-10-23", "charges": None, "reference": "UA 123/01"}  # fmt: skip
    official = {"id": 1, "slug": "prosecutor-general", "name": "Nigmatilla Yuldashev",
                "title": "Prosecutor General", "organization": None, "country": "UZ",
                "address": "66 Gulyamov Street\nTashkent 100047", "salutation": None,
                "email": "info@example.uz", "language": None}  # fmt: skip
    member = {"id": 1, "slug": "olga-petrova", "name": "Ольга Петрова",
              "address": "Невский проспект, 1\nСанкт-Петербург 191186", "email": None}  # fmt: skip
    letter = composer.compose(case, official, member, {"template": "concern", "language": language})
    txt = Renderer(LETTERS, "txt").render(letter).decode("utf-8")
    assert txt.startswith("Ольга Петрова\nНевский проспект, 1\nСанкт-Петербург 191186\n\n")
    assert txt.endswith("\n\nОльга Петрова\n")
    (page,) = pdf_pages(pdf.render(letter))
    assert " ".join(letter.subject.split()) in " ".join(page.split())  # it may wrap
    assert page.rstrip().endswith("Ольга Петрова")
    assert "UZBEKISTAN" in page
    for fmt in ("md", "html", "eml"):
        assert Renderer(LETTERS, fmt).render(letter)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ImportuneError, match="unknown format 'docx': use one of txt, md, html"):
        Renderer(LETTERS, "docx")


def test_one_letter_formats_refuse_many() -> None:
    with pytest.raises(ImportuneError, match="a txt file holds one letter"):
        Renderer(LETTERS, "txt").render_many([make_letter(), make_letter()])
