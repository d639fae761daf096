"""Cells as people type them: numbers and dates in each locale, booleans, headers. Table-driven."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.excel import Column, ColumnType
from core.excel.accounts import COLUMNS as ACCOUNT_COLUMNS
from core.excel.parsing import (
    NotParsed,
    match_headers,
    normalize_header,
    parse_boolean,
    parse_date,
    parse_decimal,
    text_of,
)

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
