"""An organization on the tiny example chart in 2026 and sales to post in it: for the posting
tests and the ledger-integrity tests of tests/reliability/."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from plugins.accounting.services import EntryInput, credit, debit
from tests.conftest import make_org

YEAR = 2026
D = dt.date
MID_MARCH = D(YEAR, 3, 15)


def make_books(database):  # noqa: ANN001, ANN201
    """An organization on the tiny example chart, fiscal year 2026."""
    return make_org(database, "Books", chart="example_tiny", first_fiscal_year=YEAR)


def sale(amount: str = "100.00", day: dt.date = MID_MARCH, **extra) -> EntryInput:  # noqa: ANN003
    return EntryInput("SAL", day, [debit("400", amount, "invoice"), credit("700", amount, "sale")], **extra)


def count(session, model) -> int:  # noqa: ANN001
    return session.scalar(select(func.count()).select_from(model))
