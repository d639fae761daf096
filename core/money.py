"""Money: py-moneyed amounts in code, integers in minor units in the database, babel for display.

Conversions between the two happen here and only here. Rounding is half-even (banker's
rounding) to the currency's minor unit, whose digits come from babel's ISO 4217 data
(JPY 0, EUR 2, KWD 3, IRR 0 as used in practice).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache, lru_cache

from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    list_currencies,
    parse_pattern,
)
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


@dataclass(frozen=True)
class _Layout:
    """How babel lays out a number with a fixed count of decimals, in one locale and pattern:
    read once from babel's data, so that formatting an amount is string work only."""
    prefixes: tuple[str, str]  # positive, negative
    suffixes: tuple[str, str]
    group: str
    decimal: str
    grouping: tuple[int, int]
    min_integer: int
    places: int
    quantum: Decimal


@lru_cache(maxsize=512)
def _layout(locale: str, currency: str, pattern: str | None) -> _Layout | None:
    """The layout of ``currency`` amounts in ``locale``: with babel's currency pattern and symbol
    (``pattern`` None, as ``format_currency``), or with ``pattern`` and no symbol. None when
    the pattern needs more than that (scientific, significant digits, scaled, quoted text,
    currency names): babel then formats every amount itself."""
    loc = babel_locale(locale)
    parsed = parse_pattern(pattern) if pattern else loc.currency_formats["standard"]
    places = digits(currency)
    frac = (places, places) if pattern is None else parsed.frac_prec
    texts = [*parsed.prefix, *parsed.suffix]
    if parsed.exp_prec or parsed.scale or "@" in parsed.pattern or frac != (places, places) \
            or any("'" in text or "¤¤¤" in text for text in texts):
        return None
    symbol = get_currency_symbol(currency, loc)

    def fill(text: str) -> str:
        return text.replace("¤¤", currency.upper()).replace("¤", symbol)

    group = get_group_symbol(loc, numbering_system="default")
    decimal = get_decimal_symbol(loc, numbering_system="default")
    if "'" in group + decimal + symbol:
        return None
    return _Layout((fill(parsed.prefix[0]), fill(parsed.prefix[1])), (fill(parsed.suffix[0]), fill(parsed.suffix[1])),
                   group, decimal, parsed.grouping, parsed.int_prec[0], places, Decimal(1).scaleb(-places))


def _apply(layout: _Layout, amount: Decimal) -> str:
    """What babel's ``NumberPattern.apply`` gives for ``amount`` (step by step the same: sign of
    the value, absolute value normalized and quantized, integer digits grouped), without its
    per-call lookups of the locale's data."""
    negative = int(amount.is_signed())
    integer, _, fraction = f"{abs(amount).normalize().quantize(layout.quantum):f}".partition(".")
    if len(integer) < layout.min_integer:
        integer = "0" * (layout.min_integer - len(integer)) + integer
    size, grouped = layout.grouping[0], ""
    while len(integer) > size:
        grouped = layout.group + integer[-size:] + grouped
        integer = integer[:-size]
        size = layout.grouping[1]
    number = integer + grouped + (layout.decimal + fraction if layout.places else "")
    return layout.prefixes[negative] + number + layout.suffixes[negative]


def format_money(money: Money, locale: str | None = None) -> str:
    """``1 234,56 €`` (fr), ``€1,234.56`` (en), ``۱٬۲۳۴٫۵۶ €`` (fa)."""
    loc = normalize_locale(locale)
    code = money.currency.code
    amount = quantize(money.amount, code)
    layout = _layout(loc, code, None)
    if layout is None:
        text = format_currency(amount, code, locale=babel_locale(loc), numbering_system="default")
    else:
        text = _apply(layout, amount)
    return native_digits(text, loc)


def format_number(value: Decimal | int, locale: str | None = None) -> str:
    loc = normalize_locale(locale)
    return native_digits(format_decimal(value, locale=babel_locale(loc), numbering_system="default"), loc)


@cache
def _amount_pattern(places: int) -> str:
    return "#,##0" + ("." + "0" * places if places else "")


def format_amount(amount: Decimal, currency: str, locale: str | None = None) -> str:
    """An amount with its currency's decimals but no symbol, for columns of figures:
    ``1,500.00`` (en), ``1 500,00`` (fr), ``۱٬۵۰۰٫۰۰`` (fa), ``1 500`` for JPY."""
    loc = normalize_locale(locale)
    pattern = _amount_pattern(digits(currency))
    value = quantize(Decimal(amount), currency)
    layout = _layout(loc, currency, pattern)
    if layout is None:
        text = format_decimal(value, format=pattern, locale=babel_locale(loc), numbering_system="default")
    else:
        text = _apply(layout, value)
    return native_digits(text, loc)
