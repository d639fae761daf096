"""Workbooks written in the test itself, and what the database holds, to compare before/after."""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import func, select

FIXTURES = Path(__file__).parent / "fixtures"


def xlsx(path: Path | io.BytesIO, rows: Sequence[Sequence[Any]], title: str = "Sheet1",
         **more: Sequence[Sequence[Any]]) -> Path | io.BytesIO:
    """A real workbook written by openpyxl: ``rows`` on a sheet named ``title``, ``more`` sheets after."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    for name, other in more.items():
        extra = workbook.create_sheet(name)
        for row in other:
            extra.append(list(row))
    workbook.save(path)
    return path


def csv_file(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def table_counts(database, org_id: int) -> dict[str, int]:  # noqa: ANN001
    """Rows per tenant table of the organization: the proof that nothing was written."""
    from core.audit import AuditEvent
    from core.chart import Account, AccountTag
    from plugins.accounting.models import AccountBalance, JournalEntry, JournalLine

    with database.session(org_id) as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Account, AccountTag, JournalEntry, JournalLine, AccountBalance, AuditEvent)}


def xlsx_upload(rows: Sequence[Sequence[Any]], title: str = "Sheet1") -> io.BytesIO:
    """The workbook ``xlsx`` writes, in memory: a file for the test client to upload."""
    data = io.BytesIO()
    xlsx(data, rows, title)
    data.seek(0)
    return data


def books_to_export(database):  # noqa: ANN001, ANN201
    """Exporter, on the tiny example chart from 2026, with one posted sale labelled Invoice."""
    from plugins.accounting.services import EntryInput, credit, debit, post_entries
    from tests.conftest import make_org

    org = make_org(database, "Exporter", chart="example_tiny", first_fiscal_year=2026)
    with database.transaction(org.id) as session:
        post_entries(session, [EntryInput("SAL", dt.date(2026, 2, 3), [debit("400", "1234.5"), credit("700", "1234.5")],
                                          label="Invoice")])
    return org
