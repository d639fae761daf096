"""Formula injection (issue 7, hostile files): text starting with = + - @, tab or CR goes out
in an export as text, never a formula, and comes back through an import as the same text."""
from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import pytest
from sqlalchemy import select

from core.excel import export_workbook, get_schema, import_file, read_table
from plugins.accounting.models import JournalLine
from plugins.accounting.services import EntryInput, credit, debit, post_entries
from tests.conftest import make_org
from tests.core.excel.helpers import books_to_export


FORMULA_LIKE = ["=1+2", "+33 6 12 34 56 78", "-5", "@SUM(A1:A2)", "\tindented", "\rcarriage", "=HYPERLINK(\"x\")",
                "_x000D_ literally", "plain"]


@pytest.fixture
def books(database):  # noqa: ANN001, ANN201
    return books_to_export(database)


def test_text_that_looks_like_a_formula_comes_back_as_the_same_text(database, books, tmp_path):
    with database.transaction(books.id) as session:
        post_entries(session, [EntryInput("MISC", dt.date(2026, 3, 1), [debit("100", "1", label), credit("600", "1", label)])
                               for label in FORMULA_LIKE])
        path = export_workbook(session, tmp_path / "entries.xlsx", [get_schema(session, "journal_entries")])
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet  # no formula cell anywhere
    labels = {c.value: c for c in openpyxl.load_workbook(path).active["E"][1:] if c.value is not None}
    assert all(cell.data_type == "s" for cell in labels.values())
    assert labels["=1+2"].quotePrefix and labels["@SUM(A1:A2)"].quotePrefix and not labels["plain"].quotePrefix
    read = [row[4] for _number, row in read_table(path).rows][2:]  # after the invoice's two lines
    assert read[::2] == FORMULA_LIKE

    other = make_org(database, "Reader", chart="example_tiny", first_fiscal_year=2026)
    with database.transaction(other.id) as session:
        assert import_file(session, path).counts.created == len(FORMULA_LIKE) + 1
    with database.session(other.id) as session:
        labels = [line.label for line in session.scalars(select(JournalLine).order_by(JournalLine.id))]
    assert labels[2::2] == FORMULA_LIKE
