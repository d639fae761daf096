"""Exports with real types; templates to fill. Formula-safe text:
tests/reliability/test_formula_injection.py."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from core.chart import create_account
from core.errors import ValidationError
from core.excel import ColumnType, export_workbook, get_schema, import_file, read_table, registered_schemas, schemas
from core.excel import template_workbook
from core.i18n import translate
from plugins.accounting.services import EntryInput, credit, debit, post_entries
from tests.conftest import make_org
from tests.core.excel.helpers import books_to_export


@pytest.fixture
def books(database):  # noqa: ANN001, ANN201
    return books_to_export(database)


def test_export_writes_typed_cells_frozen_headers_and_widths(database, books, tmp_path):
    with database.transaction(books.id) as session:
        path = export_workbook(session, tmp_path / "all.xlsx", schemas(session))
    workbook = openpyxl.load_workbook(path)
    # opening balances are import-only
    assert workbook.sheetnames == ["Accounts", "Fiscal years", "Journals", "Exchange rates", "Taxes",
                                  "Invoicing settings", "Products", "Partners", "Journal entries", "Invoices",
                                  "Invoice taxes", "Payments", "Allocations", "Bank statements"]
    entries = workbook["Journal entries"]
    assert [c.value for c in entries[1]] == ["Reference", "Date", "Journal", "Account", "Label", "Debit", "Credit",
                                             "Currency", "Amount in currency", "Number", "Entry label",
                                             "Document reference", "External id", "Reversal of", "Partner"]
    assert entries["J2"].value == 1 and entries["K2"].value == "Invoice" and entries["E2"].value is None
    assert entries.freeze_panes == "A2" and entries[1][0].font.b
    date, amount = entries["B2"], entries["F2"]
    assert date.value == dt.datetime(2026, 2, 3) and date.is_date and date.number_format == "yyyy-mm-dd"
    assert amount.value == 1234.5 and amount.data_type == "n" and amount.number_format == "#,##0.00"
    assert entries["G3"].value == 1234.5 and entries["A2"].value == "SAL/2026/00001"
    assert entries.column_dimensions["A"].width >= len("SAL/2026/00001")
    accounts = workbook["Accounts"]
    assert accounts["A2"].data_type == "s" and accounts["A2"].value == "1"  # codes stay text
    assert {c.value for c in accounts["G"][1:]} >= {True, False}  # booleans are booleans
    assert {c.value for c in accounts["K"][1:]} == {False} and accounts["J1"].value == "Default for"


def test_exports_are_xlsx_only_and_import_only_schemas_are_not_exported(database, books, tmp_path):
    with database.transaction(books.id) as session:
        with pytest.raises(ValidationError, match="name the file all.xlsx"):
            export_workbook(session, tmp_path / "all.csv", schemas(session))
        with pytest.raises(ValidationError, match="opening_balances can only be imported"):
            export_workbook(session, tmp_path / "o.xlsx", [get_schema(session, "opening_balances")])


@pytest.mark.parametrize("locale", ["en", "fa"])
def test_a_template_has_headers_an_example_and_drop_down_lists(database, books, tmp_path, locale):
    schema = get_schema(None, "accounts")
    path = template_workbook(schema, locale, tmp_path / f"accounts-{locale}.xlsx")
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.active
    assert sheet.title == translate("Accounts", locale)
    assert [c.value for c in sheet[1]] == [translate(c.label, locale) for c in schema.columns]
    assert sheet["A1"].font.b and sheet["A1"].comment is not None  # required
    assert sheet["A2"].value == "512100" and sheet["C2"].value == "asset"
    lists = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    assert lists["C2:C5000"] == '"asset,liability,equity,income,expense"'
    assert re.fullmatch(r'"general,receivable,payable,bank,cash,tax"', lists["D2:D5000"])
    assert sheet.sheet_view.rightToLeft is (locale == "fa" or None)

    # the example row imports as it is
    with database.transaction(books.id) as session:
        create_account(session, "51", "Banks", type="asset", header=True)
        assert import_file(session, path, schema="accounts", locale=locale).counts.created == 1


def test_amounts_keep_the_currency_digits(database, tmp_path):
    org = make_org(database, "Yen", chart="example_tiny", currency="JPY", first_fiscal_year=2026)
    with database.transaction(org.id) as session:
        post_entries(session, [EntryInput("SAL", dt.date(2026, 2, 3), [debit("400", "1500"), credit("700", "1500")])])
        path = export_workbook(session, tmp_path / "yen.xlsx", [get_schema(session, "journal_entries")])
    cell = openpyxl.load_workbook(path).active["F2"]
    assert (cell.value, cell.number_format) == (1500, "#,##0")
    assert read_table(path).rows[0][1][5] == 1500 and isinstance(Decimal(1500), Decimal)


@pytest.mark.parametrize("name", sorted(registered_schemas()))
def test_every_schema_has_a_template_with_an_example_row_and_data_validation(name, tmp_path):
    """The kernel's, accounting's and the example plugin's schemas, the new ones too."""
    schema = registered_schemas()[name]
    sheet = openpyxl.load_workbook(template_workbook(schema, "fr", tmp_path / f"{name}.xlsx")).active
    headers = [c.value for c in sheet[1]]
    assert headers == [translate(c.label, "fr") for c in schema.columns]
    example = {column.key: sheet.cell(row=2, column=index).value
               for index, column in enumerate(schema.columns, start=1)}
    missing = [c.key for c in schema.columns if c.required and example[c.key] is None and not c.option]
    assert missing == [] and any(value is not None for value in example.values())
    checked = {str(rule.sqref) for rule in sheet.data_validations.dataValidation}
    typed = {f"{get_column_letter(index)}2:{get_column_letter(index)}5000"
             for index, column in enumerate(schema.columns, start=1)
             if column.type not in (ColumnType.TEXT, ColumnType.CODE, ColumnType.BOOLEAN)}
    assert checked == typed  # dates, numbers, whole numbers and choices; the notes have only text
