"""Every user-facing message is in the catalogs, translated in fr, es and fa."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from core.i18n import is_rtl, normalize_locale, translate

ROOT = Path(__file__).parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted_msgids() -> set[str]:
    found = set()
    for folder in ("core", "plugins"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder,
            method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
            keywords={"N_": None, "_": None},
        ):
            if isinstance(message, str) and message:
                found.add(message)
    return found


@pytest.mark.parametrize("locale", ["fr", "es", "fa"])
def test_every_message_is_translated(locale):
    with (ROOT / "core/translations" / locale / "LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    missing = sorted(m for m in extracted_msgids() if not (catalog.get(m) and catalog.get(m).string))
    assert missing == [], f"{len(missing)} messages lack a {locale} translation (run pybabel update): {missing[:5]}"
    for message in catalog:
        if message.id and message.string:
            assert set(PLACEHOLDER.findall(message.id)) == set(PLACEHOLDER.findall(message.string)), message.id


def test_translate_fills_parameters_in_each_language():
    assert translate("Organization %(ref)s was not found.", "en", ref="x") == "Organization x was not found."
    for locale in ("fr", "es", "fa"):
        text = translate("Organization %(ref)s was not found.", locale, ref="acme")
        assert "acme" in text and text != "Organization acme was not found."


@pytest.mark.parametrize(("given", "expected"), [("fr_FR", "fr"), ("es-MX", "es"), ("fa_IR.UTF-8", "fa"),
                                                 ("de", "en"), (None, "en"), ("", "en"), ("zz-bad", "en")])
def test_locale_normalization(given, expected):
    assert normalize_locale(given) == expected


def test_persian_is_right_to_left():
    assert is_rtl("fa") and not is_rtl("fr")


def test_dates_in_each_language_and_the_persian_calendar():
    import datetime as dt

    from core.i18n import format_day

    nowruz = dt.date(2026, 3, 21)
    assert format_day(nowruz, "en") == "Mar 21, 2026"
    assert format_day(nowruz, "fr") == "21 mars 2026"
    assert format_day(nowruz, "fa") == "۱ فروردین ۱۴۰۵"
    assert format_day(nowruz, "fa", "short") == "۱۴۰۵/۰۱/۰۱"


def test_amounts_keep_their_currencys_decimals_in_each_language():
    from decimal import Decimal

    from core.money import format_amount

    assert format_amount(Decimal("1500"), "EUR", "en") == "1,500.00"
    assert format_amount(Decimal("1500"), "EUR", "fr") == "1\u202f500,00"
    assert format_amount(Decimal("-1500.5"), "EUR", "fa") == "-۱٬۵۰۰٫۵۰"
    assert format_amount(Decimal("1500"), "JPY", "en") == "1,500"
