"""Money: minor units per ISO 4217, half-even rounding, babel formats, no floats."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ValidationError
from core.i18n import SUPPORTED_LOCALES
from core.money import Money, digits, format_money, from_minor, parse_amount, quantize, to_minor


@pytest.mark.parametrize(("currency", "expected"), [("EUR", 2), ("USD", 2), ("JPY", 0), ("KWD", 3), ("IRR", 0), ("CHF", 2), ("MXN", 2)])
def test_minor_unit_digits(currency, expected):
    assert digits(currency) == expected


@pytest.mark.parametrize(("amount", "currency", "minor"), [
    ("12.34", "EUR", 1234), ("12.345", "EUR", 1234), ("12.355", "EUR", 1236), ("-0.005", "EUR", 0),
    ("1500", "JPY", 1500), ("2.5", "JPY", 2), ("3.5", "JPY", 4), ("1.2345", "KWD", 1234),
])
def test_to_minor_rounds_half_even(amount, currency, minor):
    assert to_minor(Money(Decimal(amount), currency)) == minor


def test_from_minor():
    assert from_minor(1234, "EUR") == Money("12.34", "EUR")
    assert from_minor(-5, "KWD") == Money("-0.005", "KWD")
    assert from_minor(1500, "JPY") == Money("1500", "JPY")
    with pytest.raises(TypeError):
        from_minor(12.5, "EUR")  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["EUR", "JPY", "KWD", "IRR", "CHF"]))
def test_minor_units_round_trip(minor, currency):
    assert to_minor(from_minor(minor, currency)) == minor


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False))
def test_quantize_is_at_most_half_a_minor_unit_away(amount):
    assert abs(quantize(amount, "EUR") - amount) <= Decimal("0.005")


@pytest.mark.parametrize(("locale", "text"), [
    ("en", "€1,234.56"), ("fr", "1\u202f234,56\xa0€"), ("es", "1.234,56\xa0€"), ("fa", "€\xa0۱٬۲۳۴٫۵۶"),
])
def test_format_in_the_users_locale(locale, text):
    formatted = format_money(Money("1234.56", "EUR"), locale)
    assert formatted.replace("\u200e", "") == text


def test_format_uses_currency_digits():
    assert format_money(Money("1234", "JPY"), "en") == "¥1,234"
    assert format_money(Money("1.2345", "KWD"), "en").endswith("1.234")


@given(st.decimals(min_value=-(10**13), max_value=10**13, places=4, allow_nan=False, allow_infinity=False),
       st.sampled_from(SUPPORTED_LOCALES), st.sampled_from(["EUR", "USD", "JPY", "KWD", "IRR", "CHF", "GBP", "XOF"]))
def test_formats_are_babels_own(amount, locale, currency):
    """format_money and format_amount lay the digits out from babel's data once per locale and
    currency: what they print is exactly what babel's functions print, every time."""
    assert_formats_are_babels(amount, locale, currency)


@pytest.mark.parametrize("amount", ["0", "-0", "-0.001", "0.004", "999.995", "-1000000", "123456789012.34"])
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("currency", ["EUR", "JPY", "KWD"])
def test_formats_at_the_edges_are_babels_own(amount, locale, currency):
    assert_formats_are_babels(Decimal(amount), locale, currency)


def assert_formats_are_babels(amount: Decimal, locale: str, currency: str) -> None:
    from babel.numbers import format_currency, format_decimal

    from core.i18n import native_digits
    from core.money import format_amount

    value = quantize(amount, currency)
    assert format_money(Money(amount, currency), locale) == native_digits(
        format_currency(value, currency, locale=locale, numbering_system="default"), locale)
    pattern = "#,##0" + ("." + "0" * digits(currency) if digits(currency) else "")
    assert format_amount(amount, currency, locale) == native_digits(
        format_decimal(value, format=pattern, locale=locale, numbering_system="default"), locale)


def test_parse_amount_refuses_floats_and_excess_decimals():
    assert parse_amount("10.50", "EUR") == Money("10.5", "EUR")
    with pytest.raises(TypeError):
        parse_amount(10.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="more decimals"):
        parse_amount("10.505", "EUR")
    with pytest.raises(ValidationError, match="not an amount"):
        parse_amount("ten", "EUR")
    with pytest.raises(ValidationError):
        parse_amount("NaN", "EUR")
