"""Cells as the user wrote them → typed values: headers, locale numbers, dates, booleans.

Numbers become :class:`~decimal.Decimal`, never floats. A spreadsheet's number cell *is* a
binary float, so it is read through its shortest ``repr`` and rounded to 15 significant
digits, the precision a spreadsheet shows: ``0.1 + 0.2`` typed as a formula reads
``0.3``, not ``0.30000000000000004``. Digits beyond the currency's minor unit are not
rounded away here: the schema refuses them (a typed ``12.345`` in euros is a mistake).
"""
from __future__ import annotations

import datetime as dt
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from babel import Locale
from babel.dates import get_date_format, get_month_names
from babel.numbers import get_decimal_symbol

from core.errors import FieldError
from core.excel.schema import Column, ColumnType
from core.i18n import N_, SUPPORTED_LOCALES, normalize_locale, translate

SIGNIFICANT_DIGITS = 15

# Persian (U+06F0…) and Arabic-Indic (U+0660…) digits and separators → ASCII.
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩٫٬", "01234567890123456789.,")
# Bidirectional marks babel and editors put around numbers in right-to-left text.
_BIDI = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
_SPACES = "\u0020\u00a0\u202f\u2009\u2007"
_MINUS = "-\u2212\u2012\u2013"
_GROUPING = re.compile(f"[{_SPACES}'\u2019]")
_CURRENCY = re.compile(r"^[A-Z]{3}\s*|\s*[A-Z]{3}$")


# --- headers ------------------------------------------------------------------------------------

def normalize_header(text: Any) -> str:
    """Compare headers without case, accents, spaces or punctuation: "N° de compte" → "ndecompte"."""
    if text is None:
        return ""
    value = unicodedata.normalize("NFKD", str(text).translate(_BIDI))
    value = "".join(c for c in value if not unicodedata.combining(c))
    value = value.replace("ي", "ی").replace("ك", "ک").replace("\u200c", "")  # Persian letter forms, ZWNJ
    return re.sub(r"[\W_]+", "", value.casefold())


def header_names(column: Column) -> set[str]:
    """Every normalized header that names ``column``: its key, its label in each language, aliases."""
    names = {normalize_header(column.key), normalize_header(column.label)}
    for locale in SUPPORTED_LOCALES:
        names.add(normalize_header(translate(column.label, locale)))
    for aliases in column.aliases.values():
        names.update(normalize_header(alias) for alias in aliases)
    names.discard("")
    return names


@dataclass(frozen=True)
class HeaderMatch:
    positions: dict[str, int]  # column key → index in the row
    ignored: tuple[str, ...]  # headers that name no column
    errors: tuple[FieldError, ...]


def match_headers(headers: Sequence[Any], columns: Iterable[Column], *, row: int, locale: str = "en",
                  options: Mapping[str, Any] | None = None) -> HeaderMatch:
    """Which cell of the header row holds which column; a required column missing is an error."""
    columns = list(columns)
    lookup: dict[str, str] = {}
    for column in columns:
        for name in header_names(column):
            lookup.setdefault(name, column.key)
    positions: dict[str, int] = {}
    ignored: list[str] = []
    errors: list[FieldError] = []
    for index, header in enumerate(headers):
        if header is None or str(header).strip() == "":
            continue
        key = lookup.get(normalize_header(header))
        if key is None:
            ignored.append(str(header).strip())
        elif key in positions:
            errors.append(FieldError(key, N_("The column %(column)s appears twice."), {"column": str(header).strip()}, row))
        else:
            positions[key] = index
    for column in columns:
        if not column.required or column.key in positions:
            continue
        if column.option is None:
            errors.append(FieldError(column.key, N_("The column %(column)s is missing."),
                                     {"column": translate(column.label, locale)}, row))
        elif (options or {}).get(column.option) is None:
            errors.append(FieldError(column.key, N_("The column %(column)s is missing (or give the option %(option)s)."),
                                     {"column": translate(column.label, locale), "option": column.option}, row))
    return HeaderMatch(positions, tuple(ignored), tuple(errors))


# --- numbers ---------------------------------------------------------------------------------------

class NotParsed(ValueError):
    """A cell that cannot be read as its column's type; carries the message id to show."""

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params


def decimal_from_float(value: float) -> Decimal:
    """A spreadsheet's float as the decimal it shows (15 significant digits), exactly."""
    shown = repr(value)
    if len(shown) <= 16 and "." in shown and "e" not in shown and value:
        # The usual amount: its shortest repr has 15 digits at most and no trailing zero
        # after the point (but ``.0``), so it is already the normalized decimal below.
        return Decimal(shown[:-2]) if shown.endswith(".0") else Decimal(shown)
    exact = Decimal(shown)
    if exact.is_zero() or not exact.is_finite():
        return exact
    digits = exact.adjusted() + 1
    if len(exact.as_tuple().digits) > SIGNIFICANT_DIGITS:
        exact = round(exact, SIGNIFICANT_DIGITS - digits)
    return Decimal(int(exact)) if exact == exact.to_integral_value() else exact.normalize()


@cache
def _decimal_mark(locale: str) -> str:
    """The locale's decimal mark among ``.`` and ``,`` (Persian's ٫ is typed as ``.``)."""
    mark = get_decimal_symbol(locale)
    return mark if mark in {".", ","} else "."


def parse_decimal(value: Any, locale: str = "en") -> Decimal:
    """``1 234,56`` / ``1.234,56`` / ``1,234.56`` / ``(12.50)`` / ``۱٬۲۳۴٫۵`` → Decimal.

    With both marks present the last one is the decimal mark. A single mark is a thousands
    separator when repeated, or when it is not the locale's decimal mark and exactly three
    digits follow it (``1,234`` is 1234 in English, 1.234 in French); otherwise it is the
    decimal mark, whatever the locale (``12,5`` is read 12.5 in English too).
    """
    if isinstance(value, bool):
        raise NotParsed(N_("%(value)s is not a number."), value=value)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return decimal_from_float(value)
    text = str(value).translate(_BIDI).translate(_DIGITS).strip()
    original = str(value).strip()
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    text = "".join(c for c in text if unicodedata.category(c) != "Sc").strip()  # €, $, ﷼…
    text = _CURRENCY.sub("", text).strip()
    if text[:1] in _MINUS:
        negative, text = not negative, text[1:].strip()
    elif text[-1:] in _MINUS:
        negative, text = not negative, text[:-1].strip()
    elif text[:1] == "+":
        text = text[1:].strip()
    text = _GROUPING.sub("", text)
    if not text or not re.fullmatch(r"[0-9][0-9.,]*|[.,][0-9]+", text):
        raise NotParsed(N_("%(value)s is not a number."), value=original)
    plain = _normalize_marks(text, _decimal_mark(normalize_locale(locale)))
    if plain is None:
        raise NotParsed(N_("%(value)s is not a number."), value=original)
    try:
        number = Decimal(plain)
    except InvalidOperation:
        raise NotParsed(N_("%(value)s is not a number."), value=original) from None
    return -number if negative else number


def _normalize_marks(text: str, locale_mark: str) -> str | None:
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        decimal = "." if text.rfind(".") > text.rfind(",") else ","
        group = "," if decimal == "." else "."
        if text.count(decimal) > 1:
            return None
        integer, _, fraction = text.partition(decimal)
        if not _grouped(integer, group):
            return None
        return integer.replace(group, "") + "." + fraction
    mark = "." if dots else "," if commas else None
    if mark is None:
        return text
    if text.count(mark) > 1:
        return text.replace(mark, "") if _grouped(text, mark) else None
    integer, _, fraction = text.partition(mark)
    if mark != locale_mark and len(fraction) == 3 and integer:
        return integer + fraction
    return (integer or "0") + "." + fraction


def _grouped(text: str, group: str) -> bool:
    """``1,234,567`` is well grouped, and so is the Indian ``12,34,567``; ``1,23,4`` is not."""
    parts = text.split(group)
    if len(parts) == 1:
        return True
    return (all(part.isdigit() for part in parts) and 1 <= len(parts[0]) <= 3 and len(parts[-1]) == 3
            and all(len(part) in (2, 3) for part in parts[1:-1]))


def parse_integer(value: Any, locale: str = "en") -> int:
    number = parse_decimal(value, locale)
    if number != number.to_integral_value():
        raise NotParsed(N_("%(value)s is not a whole number."), value=value)
    return int(number)


# --- dates --------------------------------------------------------------------------------------------

@cache
def _date_order(locale: str) -> str:
    """``dmy``, ``mdy`` or ``ymd``: the order of the locale's short date format."""
    pattern = get_date_format("short", locale=locale).pattern
    order = ""
    for letter in re.findall(r"[dMy]", pattern):
        if letter.lower() not in order:
            order += letter.lower()
    return order if sorted(order) == ["d", "m", "y"] else "ymd"


@cache
def _month_numbers(locale: str) -> dict[str, int]:
    months: dict[str, int] = {}
    for loc in dict.fromkeys((locale, "en")):
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, Locale.parse(loc)).items():
                    months.setdefault(normalize_header(name), number)
    return months


_FILLERS = {"de", "del", "of", "the", "le"}  # "3 de abril de 2026"


def _year(text: str) -> int:
    year = int(text)
    if len(text) <= 2:
        year += 2000 if year < 70 else 1900
    return year


def parse_date(value: Any, locale: str = "en") -> dt.date:
    """A date cell, an ISO date, or a date in the user's locale (``03/04/2026`` is 3 April in
    French, 4 March in English); a year from 1200 to 1599 is a Solar Hijri (Persian) year."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise NotParsed(N_("%(value)s is not a date."), value=value)
    if isinstance(value, int | float | Decimal):
        return _excel_serial(value)
    original = str(value).strip()
    text = original.translate(_BIDI).translate(_DIGITS)
    text = re.sub(r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*$", "", text.strip())  # a time part
    loc = normalize_locale(locale)
    tokens = re.findall(r"\d+|[^\W\d_]+", text)
    try:
        numbers = [t for t in tokens if t.isdigit()]
        words = [t for t in tokens if not t.isdigit() and normalize_header(t) not in _FILLERS]
        if len(numbers) == 3 and not words:
            if len(numbers[0]) >= 3:  # the year first: ISO, or Persian y/M/d
                year, month, day = _year(numbers[0]), int(numbers[1]), int(numbers[2])
            else:
                parts = dict(zip(_date_order(loc), numbers, strict=True))
                year, month, day = _year(parts["y"]), int(parts["m"]), int(parts["d"])
        elif len(numbers) == 2 and len(words) == 1:
            named = _month_numbers(loc).get(normalize_header(words[0]))
            if named is None:
                raise NotParsed(N_("%(value)s is not a date."), value=original)
            month = named
            first, second = numbers
            day, year = (int(first), _year(second)) if len(second) >= 3 or len(first) <= 2 else (int(second), _year(first))
        else:
            raise NotParsed(N_("%(value)s is not a date."), value=original)
        return _make_date(year, month, day)
    except (ValueError, OverflowError) as error:
        if isinstance(error, NotParsed):
            raise
        raise NotParsed(N_("%(value)s is not a date."), value=original) from None


def _make_date(year: int, month: int, day: int) -> dt.date:
    if 1200 <= year < 1600:
        import jdatetime

        return jdatetime.date(year, month, day).togregorian()
    return dt.date(year, month, day)


def _excel_serial(value: float | int | Decimal) -> dt.date:
    """A date typed as its spreadsheet serial number (days since 1899-12-30)."""
    from openpyxl.utils.datetime import from_excel

    number = float(value)
    if not 1 <= number < 2958466:
        raise NotParsed(N_("%(value)s is not a date."), value=value)
    result = from_excel(number)
    return result.date() if isinstance(result, dt.datetime) else result


# --- booleans and choices -------------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "y", "x", "oui", "o", "vrai", "si", "sí", "verdadero", "بله", "آری", "درست", "✓", "✔"}
_FALSE = {"0", "false", "no", "n", "non", "faux", "falso", "خیر", "نه", "نادرست"}


def parse_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal) and value in (0, 1):
        return bool(value)
    text = str(value).strip().translate(_DIGITS).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise NotParsed(N_("%(value)s is not yes or no."), value=value)


def parse_choice(value: Any, column: Column) -> str:
    wanted = normalize_header(text_of(value))
    for choice in column.choices:
        names = {normalize_header(choice.value), normalize_header(choice.label)}
        names.update(normalize_header(translate(choice.label, locale)) for locale in SUPPORTED_LOCALES)
        if wanted in names:
            return choice.value
    raise NotParsed(N_("%(value)s is not one of: %(choices)s."), value=value,
                    choices=", ".join(c.value for c in column.choices))


# --- one cell ------------------------------------------------------------------------------------------

def text_of(value: Any) -> str:
    """A cell as text: numbers without a spurious ``.0`` (a code typed 411000 reads "411000")."""
    if isinstance(value, float):
        value = decimal_from_float(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def parse_cell(value: Any, column: Column, locale: str) -> Any:
    """The typed value of one cell (``None`` when empty) or :class:`NotParsed`."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        if column.type is ColumnType.TEXT:
            return value.strip("\u0020\u00a0")
    elif column.type is ColumnType.TEXT:
        return text_of(value).strip()
    if column.type is ColumnType.DATE and type(value) is dt.date:  # the usual date cell
        return value
    if column.type is ColumnType.CODE:
        return text_of(value).strip().translate(_DIGITS)
    if column.type is ColumnType.DECIMAL:
        return parse_decimal(value, locale)
    if column.type is ColumnType.INTEGER:
        return parse_integer(value, locale)
    if column.type is ColumnType.DATE:
        return parse_date(value, locale)
    if column.type is ColumnType.BOOLEAN:
        return parse_boolean(value)
    return parse_choice(value, column)


def cell_parser(column: Column, locale: str) -> Callable[[Any], Any]:
    """:func:`parse_cell` for one column, chosen once: the typed value of a non-empty cell.

    The cells a reader types already (a text, a date, a number) take a short path; every
    other goes through :func:`parse_cell`, so both give the same value or :class:`NotParsed`.
    """
    kind = column.type

    def slow(value: Any) -> Any:
        return parse_cell(value, column, locale)

    if kind is ColumnType.TEXT:
        def parse(value: Any) -> Any:
            if value.__class__ is str:
                return value.strip("\u0020\u00a0") if value.strip() else None
            return slow(value)
    elif kind is ColumnType.CODE:
        def parse(value: Any) -> Any:
            if value.__class__ is str:
                text = value.strip()
                # _DIGITS maps only non-ASCII digits and marks: ASCII text is left as it is.
                return (text if text.isascii() else text.translate(_DIGITS)) if text else None
            return slow(value)
    elif kind is ColumnType.DECIMAL:
        def parse(value: Any) -> Any:
            if value.__class__ is float:
                return decimal_from_float(value)
            if value.__class__ is Decimal:
                return value
            return slow(value)
    elif kind is ColumnType.DATE:
        def parse(value: Any) -> Any:
            return value if value.__class__ is dt.date else slow(value)
    else:
        parse = slow
    return parse


_ABSENT = sys.maxsize  # the index of a column the sheet does not have: past any row's end


class RowParser:
    """:func:`parse_row` for the many rows of one sheet: what each column needs (its place,
    its parser, its default) is worked out once, not for every cell."""

    def __init__(self, positions: Mapping[str, int], columns: Iterable[Column], locale: str,
                 defaults: Mapping[str, Any] | None = None) -> None:
        defaults = defaults or {}
        # An empty optional cell is left out of the row (a row reads None for it), which keeps
        # 100,000 rows smaller; with defaults, every column is kept.
        self.keep_empty = bool(defaults)
        self.plan = [(column.key, positions.get(column.key, _ABSENT), cell_parser(column, locale), column.required,
                      defaults.get(column.key)) for column in columns]

    def __call__(self, cells: Sequence[Any], row: int) -> tuple[dict[str, Any], list[FieldError]]:
        values: dict[str, Any] = {}
        errors: list[FieldError] = []
        width = len(cells)
        keep_empty = self.keep_empty
        for key, index, parse, required, default in self.plan:
            raw = cells[index] if index < width else None
            if raw is None:
                if not required and not keep_empty:
                    continue
                value = None
            else:
                try:
                    value = parse(raw)
                except NotParsed as problem:
                    errors.append(FieldError(key, problem.msgid, {**problem.params, "value": text_of(raw)}, row))
                    values[key] = None
                    continue
            if value is None:
                if default is not None:
                    value = default
                elif required:
                    errors.append(FieldError(key, N_("A value is required."), {}, row))
            values[key] = value
        return values, errors


def parse_row(cells: Sequence[Any], positions: Mapping[str, int], columns: Iterable[Column], locale: str,
              row: int, defaults: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], list[FieldError]]:
    """The row's cells parsed by column key (an empty optional cell is left out); the problems
    as :class:`FieldError` (one per bad cell). For many rows, make one :class:`RowParser`."""
    return RowParser(positions, columns, locale, defaults)(cells, row)
