"""Money: py-moneyed amounts in code, integers in minor units in the database, babel for display.

Conversions between the two happen here and only here. Rounding is half-even (banker's
rounding) to the currency's minor unit, whose digits come from babel's ISO 4217 data
(JPY 0, EUR 2, KWD 3, IRR 0 as used in practice).
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache

from babel.numbers import format_currency, format_decimal, get_currency_precision, list_currencies
from moneyed import Money

from core.errors import ValidationError
from core.i18n import N_, babel_locale, native_digits, normalize_locale

__all__ = ["Money", "digits", "format_money", "from_minor", "parse_amount", "quantize", "to_minor"]

@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def is_known_currency(code: str | None) -> bool:
    return bool(code) and code.upper() in _known_currencies()


@cache
@cache
def digits(currency: str) -> int:
    """Minor-unit digits of ``currency`` (2 for EUR, 0 for JPY, 3 for KWD)."""
    return get_currency_precision(currency.upper())


@cache  # a few currencies, asked for on every amount checked
def _exponent(currency: str) -> Decimal:
    return Decimal(1).scaleb(-digits(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-even to the minor unit of ``currency``."""
    return amount.quantize(_exponent(currency), rounding=ROUND_HALF_EVEN)


def to_minor(money: Money) -> int:
    """Money → integer of minor units (rounded half-even): ``Money('12.345', 'EUR')`` → 1234."""
    code = money.currency.code
    return int(quantize(money.amount, code).scaleb(digits(code)))


def from_minor(minor: int, currency: str) -> Money:
    """Integer of minor units → Money: ``from_minor(1234, 'EUR')`` → €12.34."""
    if not isinstance(minor, int):
        raise TypeError("minor units are integers")
    return Money(Decimal(minor).scaleb(-digits(currency)), currency.upper())


def parse_amount(text: str | int | Decimal, currency: str) -> Money:
    """A user's amount (``"1234.56"``, an int, a Decimal) → Money; floats are refused."""
    if isinstance(text, float):
        raise TypeError("amounts are never floats")
    try:
        amount = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValidationError(N_("%(value)s is not an amount."), value=text) from None
    if not amount.is_finite():
        raise ValidationError(N_("%(value)s is not an amount."), value=text)
    if quantize(amount, currency) != amount:
        raise ValidationError(N_("%(value)s has more decimals than %(currency)s allows."),
                              value=text, currency=currency)
    return Money(amount, currency.upper())


def format_money(money: Money, locale: str | None = None) -> str:
    """``1 234,56 €`` (fr), ``€1,234.56`` (en), ``۱٬۲۳۴٫۵۶ €`` (fa)."""
    loc = normalize_locale(locale)
    code = money.currency.code
    text = format_currency(quantize(money.amount, code), code, locale=babel_locale(loc),
                           numbering_system="default")
    return native_digits(text, loc)


def format_number(value: Decimal | int, locale: str | None = None) -> str:
    loc = normalize_locale(locale)
    return native_digits(format_decimal(value, locale=babel_locale(loc), numbering_system="default"), loc)


def format_amount(amount: Decimal, currency: str, locale: str | None = None) -> str:
    """An amount with its currency's decimals but no symbol, for columns of figures:
    ``1,500.00`` (en), ``1 500,00`` (fr), ``۱٬۵۰۰٫۰۰`` (fa), ``1 500`` for JPY."""
    loc = normalize_locale(locale)
    places = digits(currency)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    text = format_decimal(quantize(Decimal(amount), currency), format=pattern, locale=babel_locale(loc),
                          numbering_system="default")
    return native_digits(text, loc)
