"""The figures of the accounting dashboard: cash position and income against expenses, month
by month over a fiscal year, read from the maintained balances (never from the lines)."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from core.chart import Account, AccountSubtype, AccountType
from core.money import digits
from core.periods import FiscalYear, Period, fiscal_year_of
from core.tenancy import current_organization
from plugins.accounting.models import AccountBalance


@dataclass(frozen=True)
class MonthFigures:
    period: str  # the period's name, e.g. 2026-03
    start: dt.date
    income: Decimal  # credit-positive
    expense: Decimal  # debit-positive
    cash: Decimal  # bank and cash balance at the period's end, within the fiscal year


@dataclass(frozen=True)
class Dashboard:
    fiscal_year: str | None
    currency: str
    months: tuple[MonthFigures, ...]

    @property
    def cash(self) -> Decimal:
        return self.months[-1].cash if self.months else Decimal(0)

    @property
    def income(self) -> Decimal:
        return sum((m.income for m in self.months), Decimal(0))

    @property
    def expense(self) -> Decimal:
        return sum((m.expense for m in self.months), Decimal(0))


@cache
def _statements() -> tuple[Any, Any]:
    """The periods of the year up to the day, and their movements by account type: built once
    (a dashboard is the page most often shown; building its statements cost as much as running
    them)."""
    periods = (select(Period).where(Period.fiscal_year_id == bindparam("year"), Period.start_date <= bindparam("day"))
               .order_by(Period.start_date))
    sums = (select(AccountBalance.period_id, Account.type, Account.subtype,
                   func.sum(AccountBalance.debit), func.sum(AccountBalance.credit))
            .join(Account, (Account.org_id == AccountBalance.org_id) & (Account.id == AccountBalance.account_id))
            .where(AccountBalance.period_id.in_(bindparam("periods", expanding=True)))
            .group_by(AccountBalance.period_id, Account.type, Account.subtype))
    return periods, sums


def dashboard(session: Session, day: dt.date | None = None) -> Dashboard:
    """The fiscal year containing ``day`` (default today; else the latest year), up to ``day``'s month."""
    day = day or dt.date.today()
    currency = current_organization(session).currency
    year = fiscal_year_of(session, day) or session.scalars(
        select(FiscalYear).where(FiscalYear.start_date <= day).order_by(FiscalYear.start_date.desc())).first()
    if year is None:
        return Dashboard(None, currency, ())
    periods_statement, sums_statement = _statements()
    periods = list(session.scalars(periods_statement, {"year": year.id, "day": day}))
    sums = session.execute(sums_statement, {"periods": [p.id for p in periods]})
    income: dict[int, int] = defaultdict(int)
    expense: dict[int, int] = defaultdict(int)
    cash_moves: dict[int, int] = defaultdict(int)
    for period_id, kind, subtype, debit, credit in sums:
        if kind == AccountType.INCOME:
            income[period_id] += credit - debit
        elif kind == AccountType.EXPENSE:
            expense[period_id] += debit - credit
        if subtype in (AccountSubtype.BANK, AccountSubtype.CASH):
            cash_moves[period_id] += debit - credit
    scale = digits(currency)
    months, cash = [], 0
    for period in periods:
        cash += cash_moves[period.id]
        months.append(MonthFigures(period.name, period.start_date, Decimal(income[period.id]).scaleb(-scale),
                                   Decimal(expense[period.id]).scaleb(-scale), Decimal(cash).scaleb(-scale)))
    return Dashboard(year.name, currency, tuple(months))
