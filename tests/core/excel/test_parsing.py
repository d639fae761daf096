"""Cells as people type them: numbers and dates in each locale, booleans, headers. Table-driven."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.excel import Column, ColumnType
from core.excel.accounts import COLUMNS as ACCOUNT_COLUMNS
from core.excel.parsing import (
    SIGNIFICANT_DIGITS,
    NotParsed,
    RowParser,
    cell_parser,
    decimal_from_float,
    match_headers,
    normalize_header,
    parse_boolean,
    parse_cell,
    parse_date,
    parse_decimal,
    parse_row,
    text_of,
)
from core.excel.schema import Choice

D = Decimal


@pytest.mark.parametrize(("locale", "text", "expected"), [
    ("fr", "1 234,56", D("1234.56")),
    ("fr", "1\u202f234,56 €", D("1234.56")),  # babel's narrow no-break space
    ("fr", "1\u00a0234,5", D("1234.5")),
    ("es", "1.234,56", D("1234.56")),
    ("de_CH", "1'234.50", D("1234.50")),
    ("en", "1,234.56", D("1234.56")),
    ("en", "$1,234.56", D("1234.56")),
    ("en", "EUR 12", D("12")),
    ("en", "(12.50)", D("-12.50")),
    ("en", "12.50-", D("-12.50")),
    ("en", "−7", D("-7")),  # U+2212 minus
    ("fa", "۱٬۲۳۴٫۵۶", D("1234.56")),
    ("fa", "\u200e−۱۲", D("-12")),  # as babel formats a Persian negative
    ("ar", "١٢٣", D("123")),
    ("en", "1,234", D("1234")),  # a single mark then three digits: thousands in English…
    ("fr", "1,234", D("1.234")),  # …but the decimal mark in French
    ("es", "1.234", D("1234")),
    ("en", "12,5", D("12.5")),
    ("en", "1,234,567", D("1234567")),
    ("en", ".5", D("0.5")),
    ("en", 0.1 + 0.2, D("0.3")),  # a float cell reads as the 15 digits a spreadsheet shows
    ("en", 144.00000000000003, D("144")),
    ("en", 12.345, D("12.345")),
    ("en", 411000.0, D("411000")),
    ("en", 7, D("7")),
])
def test_locale_numbers(locale, text, expected):
    value = parse_decimal(text, locale)
    assert value == expected and isinstance(value, Decimal)
    assert value.as_tuple() == expected.as_tuple() or isinstance(text, float)


@pytest.mark.parametrize("text", ["abc", "1,2,3", "1.2.3", "12a", "--1", "", True])
def test_not_numbers(text):
    with pytest.raises(NotParsed):
        parse_decimal(text, "en")


@pytest.mark.parametrize(("locale", "value", "expected"), [
    ("en", dt.datetime(2026, 3, 4, 0, 0), dt.date(2026, 3, 4)),
    ("en", dt.date(2026, 3, 4), dt.date(2026, 3, 4)),
    ("en", "2026-04-03", dt.date(2026, 4, 3)),
    ("fr", "2026-04-03T10:00:00", dt.date(2026, 4, 3)),
    ("en", "3/4/2026", dt.date(2026, 3, 4)),  # month first in English
    ("fr", "03/04/2026", dt.date(2026, 4, 3)),  # day first in French
    ("es", "3/4/26", dt.date(2026, 4, 3)),
    ("fr", "3 avril 2026", dt.date(2026, 4, 3)),
    ("fr", "3 avr. 2026", dt.date(2026, 4, 3)),
    ("es", "3 de abril de 2026", dt.date(2026, 4, 3)),
    ("en", "April 3, 2026", dt.date(2026, 4, 3)),
    ("fa", "1405/01/02", dt.date(2026, 3, 22)),  # Solar Hijri
    ("fa", "۱۴۰۵/۰۱/۰۲", dt.date(2026, 3, 22)),
    ("en", 46085, dt.date(2026, 3, 4)),  # a spreadsheet serial number
])
def test_dates(locale, value, expected):
    assert parse_date(value, locale) == expected


@pytest.mark.parametrize(("locale", "text"), [("fr", "31/02/2026"), ("en", "15/03/2026"), ("en", "soon"), ("en", True)])
def test_not_dates(locale, text):
    with pytest.raises(NotParsed):
        parse_date(text, locale)


@pytest.mark.parametrize(("text", "expected"), [
    ("yes", True), ("Oui", True), ("sí", True), ("بله", True), ("x", True), (1, True), (True, True),
    ("no", False), ("NON", False), ("خیر", False), ("0", False), (0.0, False), (False, False)])
def test_booleans(text, expected):
    assert parse_boolean(text) is expected


def test_text_of_cells():
    assert [text_of(v) for v in (411000.0, 12.5, D("7"), dt.datetime(2026, 1, 2))] == \
        ["411000", "12.5", "7", "2026-01-02"]


def test_headers_ignore_case_accents_spaces_and_persian_letter_forms():
    assert normalize_header(" N° de  Compte ") == normalize_header("n de compte")
    assert normalize_header("Débit") == normalize_header("DEBIT")
    assert normalize_header("كد حساب") == normalize_header("کد حساب")  # Arabic kaf, Persian kaf
    assert normalize_header("برچسب\u200cها") == normalize_header("برچسبها")


def test_match_headers_reports_missing_and_repeated_columns_and_ignores_others():
    match = match_headers(["Compte", "Intitulé", "Nom", "Remarks"], ACCOUNT_COLUMNS, row=1)
    assert match.positions == {"code": 0, "name": 1}
    assert match.ignored == ("Remarks",)
    assert [(e.field, e.msgid, e.params) for e in match.errors] == [
        ("name", "The column %(column)s appears twice.", {"column": "Nom"})]
    missing = match_headers(["Name"], [Column("code", "Code", ColumnType.CODE, required=True)], row=3)
    assert [(e.row, e.field) for e in missing.errors] == [(3, "code")]


def _shown(value: float) -> Decimal:
    """decimal_from_float without its short path: the rule it keeps."""
    exact = Decimal(repr(value))
    if exact.is_zero() or not exact.is_finite():
        return exact
    if len(exact.as_tuple().digits) > SIGNIFICANT_DIGITS:
        exact = round(exact, SIGNIFICANT_DIGITS - exact.adjusted() - 1)
    return Decimal(int(exact)) if exact == exact.to_integral_value() else exact.normalize()


@given(st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, -0.0, 12.5, -7.0, 411000.0, 1e15, 123456789012345.0, 0.001, 1e-5, 6786.37, 0.1 + 0.2]))
def test_float_cells_read_as_the_decimal_shown_on_every_path(value):
    expected = _shown(value)
    assert decimal_from_float(value).as_tuple() == expected.as_tuple()


_KINDS = [
    Column("text", "Text"), Column("code", "Code", ColumnType.CODE), Column("amount", "Amount", ColumnType.DECIMAL),
    Column("count", "Count", ColumnType.INTEGER), Column("day", "Day", ColumnType.DATE),
    Column("flag", "Flag", ColumnType.BOOLEAN),
    Column("kind", "Kind", ColumnType.CHOICE, choices=(Choice("sales", "Sales"), Choice("bank", "Bank"))),
]
_CELLS = [None, "", "  ", "\u00a0x\u00a0", " 411000 ", "۴۱۱", "12,5", "1 234,56", "abc", "yes", "Sales", "2026-04-03",
          "03/04/2026", 411000.0, 12.5, 0.1 + 0.2, 7, True, D("12.50"), dt.date(2026, 4, 3), dt.datetime(2026, 4, 3, 10)]


@pytest.mark.parametrize("locale", ["en", "fr", "fa"])
@pytest.mark.parametrize("column", _KINDS, ids=lambda c: c.key)
def test_a_column_parser_reads_every_cell_as_parse_cell_does(column, locale):
    parse = cell_parser(column, locale)
    for cell in _CELLS:
        if cell is None:
            continue
        try:
            expected = parse_cell(cell, column, locale)
        except NotParsed as problem:
            with pytest.raises(NotParsed) as raised:
                parse(cell)
            assert (raised.value.msgid, raised.value.params) == (problem.msgid, problem.params)
            continue
        got = parse(cell)
        assert got == expected and type(got) is type(expected), cell
        if isinstance(got, Decimal):
            assert got.as_tuple() == expected.as_tuple()


def test_a_row_parser_keeps_parse_rows_rules():
    columns = [Column("ref", "Ref", required=True), Column("amount", "Amount", ColumnType.DECIMAL),
               Column("note", "Note"), Column("day", "Day", ColumnType.DATE, required=True, option="date")]
    positions = {"ref": 0, "amount": 1, "note": 2}
    parse = RowParser(positions, columns, "fr")
    values, errors = parse(("A", "12,5"), 2)
    assert values == {"ref": "A", "amount": D("12.5"), "day": None}  # empty optional cells left out
    assert [(e.field, e.msgid) for e in errors] == [("day", "A value is required.")]
    values, errors = parse((None, "douze", " "), 3)
    assert values == {"ref": None, "amount": None, "note": None, "day": None}
    assert [(e.field, e.row, e.params.get("value")) for e in errors] == [
        ("ref", 3, None), ("amount", 3, "douze"), ("day", 3, None)]
    with_default = RowParser(positions, columns, "fr", {"day": dt.date(2026, 1, 1)})
    assert with_default(("A",), 4) == ({"ref": "A", "amount": None, "note": None, "day": dt.date(2026, 1, 1)}, [])
    for cells in [("A", "12,5"), (None, "douze", " "), ("B", 3.0, "x")]:
        assert parse_row(cells, positions, columns, "fr", 9) == parse(cells, 9)
