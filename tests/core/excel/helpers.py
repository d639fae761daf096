"""Workbooks written in the test itself, and what the database holds, to compare before/after."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import func, select

FIXTURES = Path(__file__).parent / "fixtures"


def xlsx(path: Path, rows: Sequence[Sequence[Any]], title: str = "Sheet1", **more: Sequence[Sequence[Any]]) -> Path:
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
