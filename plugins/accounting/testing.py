"""Factories of the accounting plugin: posted entries other plugins' tests reuse."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from core.chart import default_account
from core.periods import list_fiscal_years
from plugins.accounting.services import EntryInput, credit, debit, post_entries


def sale(session: Session, amount: str = "120.00", day: dt.date | None = None, **extra: object) -> EntryInput:
    """A cash sale: debit bank, credit the default income account."""
    day = day or list_fiscal_years(session)[0].start_date
    return EntryInput("SAL", day, [debit(default_account(session, "bank").code, amount),
                                   credit(default_account(session, "income").code, amount)], **extra)


def populate(session: Session) -> None:
    from plugins.accounting.rates import set_rate

    post_entries(session, [sale(session, label="populate")])
    set_rate(session, "USD", list_fiscal_years(session)[0].start_date, "0.9")
    session.flush()
