"""Year-end: close a fiscal year into the result, open the next one, reopen (owner only);
and the opening balances of a company that starts mid-year.

Closing posts two entries through the ledger service: in the closing journal on the year's
last day, every income and expense account is brought to zero against the chart's result
account; in the opening journal on the next year's first day, every balance-sheet account
reopens with its closing balance, the year's result carried into retained earnings.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from moneyed import Money
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.chart import Account, AccountType, default_account
from core.errors import Conflict, NotFound, ValidationError
from core.i18n import N_, translate
from core.kernel import YEAR_REOPEN
from core.money import digits
from core.periods import FiscalYear, FiscalYearState, create_next_fiscal_year
from core.security import User, require_permission
from core.tenancy import current_organization
from plugins.accounting.models import AccountBalance, JournalEntry, JournalKind
from plugins.accounting.services import EntryInput, LineInput, post_entries, reverse_entry

# Each closing's entries carry a key naming the year and the how-manieth closing it is, so a
# retry of the same closing posts nothing twice and reopening finds exactly what to reverse.
CLOSING_KEY = "closing:{year}:{attempt}"
OPENING_KEY = "opening:{year}:{attempt}"


def _attempt(session: Session, year: FiscalYear) -> int:
    """1 for a year's first closing, 2 after one reopening, and so on (from the audit log,
    which every closing writes in its own transaction)."""
    from core.audit import AuditEvent

    closings = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "fiscal_year.closed", AuditEvent.target == year.name))
    return int(closings or 0) + 1


def _year(session: Session, name: str) -> FiscalYear:
    year = session.scalars(select(FiscalYear).where(FiscalYear.name == name)).one_or_none()
    if year is None:
        raise NotFound(N_("There is no fiscal year %(year)s."), year=name)
    return year


def _journal_code(session: Session, kind: JournalKind) -> str:
    from plugins.accounting.models import Journal

    code = session.scalars(select(Journal.code).where(Journal.kind == kind, Journal.active.is_(True))
                           .order_by(Journal.code)).first()
    if code is None:
        raise NotFound(N_("There is no %(kind)s journal."), kind=kind.value)
    return code


def _balances(session: Session, year: FiscalYear, *, through: bool) -> dict[int, int]:
    """Base-currency balance per account: of the year alone, or of everything up to its end."""
    totals: dict[int, int] = defaultdict(int)
    for (account_id, _currency), (amount, _foreign) in _balances_by_currency(session, year, through=through).items():
        totals[account_id] += amount
    return {account_id: amount for account_id, amount in totals.items() if amount}


def _balances_by_currency(session: Session, year: FiscalYear, *, through: bool) -> dict[tuple[int, str], tuple[int, int]]:
    """(base balance, foreign balance) per account and currency ('' for none)."""
    from core.periods import Period

    periods = select(Period.id).where(Period.end_date <= year.end_date)
    if not through:
        periods = periods.where(Period.fiscal_year_id == year.id)
    rows = session.execute(
        select(AccountBalance.account_id, AccountBalance.currency,
               func.sum(AccountBalance.debit - AccountBalance.credit), func.sum(AccountBalance.amount_currency))
        .where(AccountBalance.period_id.in_(periods))
        .group_by(AccountBalance.account_id, AccountBalance.currency))
    return {(account_id, currency): (int(amount or 0), int(foreign or 0))
            for account_id, currency, amount, foreign in rows}


def _line(account: Account, minor: int, currency: str, label: str) -> LineInput:
    return LineInput(account.code, Decimal(minor).scaleb(-digits(currency)), label)


def _opening_lines(session: Session, year: FiscalYear, accounts: dict[int, Account], result: Account,
                   retained: Account, currency: str, label: str) -> list[LineInput]:
    """Balance-sheet balances carried into the next year, each in its foreign currency too."""
    carried: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for (account_id, foreign), (amount, foreign_amount) in _balances_by_currency(session, year, through=True).items():
        account = accounts[account_id]
        if account.type in (AccountType.INCOME, AccountType.EXPENSE):
            continue  # just closed into the result
        target = retained if account_id == result.id else account
        # An account kept in a foreign currency carries everything in it (its base-only
        # adjustments, such as revaluations, have a foreign amount of zero).
        foreign = account.currency if account.currency and account.currency != currency else foreign
        totals = carried[(target.id, foreign)]
        totals[0] += amount
        totals[1] += foreign_amount
    lines = []
    for (account_id, foreign), (amount, foreign_amount) in sorted(
            carried.items(), key=lambda item: (accounts[item[0][0]].code, item[0][1])):
        if not amount and not foreign_amount:
            continue
        line = _line(accounts[account_id], amount, currency, label)
        if foreign:
            line = LineInput(line.account, line.amount, label, foreign,
                             Decimal(foreign_amount).scaleb(-digits(foreign)))
        lines.append(line)
    return lines


def close_fiscal_year(session: Session, name: str, *, actor: Any = None) -> tuple[int | None, int | None]:
    """Close fiscal year ``name``; returns the ids of the closing and opening entries."""
    from core.plugins import enabled_plugins, get_registry

    year = _year(session, name)
    if year.is_closed:
        raise Conflict(N_("The fiscal year %(year)s is already closed."), year=year.name)
    earlier_open = session.scalars(select(FiscalYear).where(
        FiscalYear.end_date < year.start_date, FiscalYear.state == FiscalYearState.OPEN)).first()
    if earlier_open is not None:
        raise Conflict(N_("Close the fiscal year %(year)s first."), year=earlier_open.name)
    organization = current_organization(session)
    currency = organization.currency
    locale = organization.locale
    accounts = {a.id: a for a in session.scalars(select(Account))}
    result = default_account(session, "result")
    retained = default_account(session, "retained_earnings")
    following = session.scalars(select(FiscalYear).where(FiscalYear.start_date > year.end_date)
                                .order_by(FiscalYear.start_date)).first()
    if following is None:
        following = create_next_fiscal_year(session, organization, actor=actor)

    attempt = _attempt(session, year)
    label = translate(N_("Closing of %(year)s"), locale, year=year.name)
    year_balances = _balances(session, year, through=False)
    closing_lines = [
        _line(accounts[account_id], -amount, currency, label)
        for account_id, amount in sorted(year_balances.items(), key=lambda item: accounts[item[0]].code)
        if accounts[account_id].type in (AccountType.INCOME, AccountType.EXPENSE)
    ]
    # Income closes with debits, expenses with credits: the lines sum to the year's profit.
    profit = sum(int(line.amount.scaleb(digits(currency))) for line in closing_lines)  # type: ignore[union-attr]
    closing_id = None
    if closing_lines:
        closing_lines.append(_line(result, -profit, currency, label))
        (closing_id,) = post_entries(session, [EntryInput(
            _journal_code(session, JournalKind.CLOSING), year.end_date, closing_lines, label=label,
            idempotency_key=CLOSING_KEY.format(year=year.id, attempt=attempt))], actor=actor)

    opening_label = translate(N_("Opening of %(year)s"), locale, year=following.name)
    opening_lines = _opening_lines(session, year, accounts, result, retained, currency, opening_label)
    opening_id = None
    if opening_lines:
        (opening_id,) = post_entries(session, [EntryInput(
            _journal_code(session, JournalKind.OPENING), following.start_date, opening_lines, label=opening_label,
            idempotency_key=OPENING_KEY.format(year=following.id, attempt=attempt))], actor=actor)

    year.state = FiscalYearState.CLOSED
    year.closed_at = dt.datetime.now(dt.UTC)
    year.closed_by = getattr(actor, "id", None)
    session.flush()
    audit.record(session, "fiscal_year.closed", target=year.name, actor=actor, result=str(
        Decimal(profit).scaleb(-digits(currency))))
    get_registry().call_enabled(enabled_plugins(session), "comptoir_fiscal_year_closed",
                                session=session, fiscal_year=year, reopened=False)
    return closing_id, opening_id


def reopen_fiscal_year(session: Session, name: str, *, actor: User) -> FiscalYear:
    """Reopen a closed year (owners only): its closing and opening entries are reversed."""
    from core.plugins import enabled_plugins, get_registry

    require_permission(session, actor, YEAR_REOPEN)
    year = _year(session, name)
    if not year.is_closed:
        raise Conflict(N_("The fiscal year %(year)s is not closed."), year=year.name)
    later_closed = session.scalars(select(FiscalYear).where(
        FiscalYear.start_date > year.end_date, FiscalYear.state == FiscalYearState.CLOSED)).first()
    if later_closed is not None:
        raise Conflict(N_("Reopen the fiscal year %(year)s first."), year=later_closed.name)
    year.state = FiscalYearState.OPEN
    year.closed_at = None
    year.closed_by = None
    session.flush()
    following = session.scalars(select(FiscalYear).where(FiscalYear.start_date > year.end_date)
                                .order_by(FiscalYear.start_date)).first()
    attempt = _attempt(session, year) - 1  # the closing being undone
    keys = [CLOSING_KEY.format(year=year.id, attempt=attempt)]
    if following is not None:
        keys.append(OPENING_KEY.format(year=following.id, attempt=attempt))
    for entry in session.scalars(select(JournalEntry).where(JournalEntry.idempotency_key.in_(keys))):
        if session.scalars(select(JournalEntry.id).where(JournalEntry.reversal_of_id == entry.id)).first() is None:
            reverse_entry(session, entry.id, actor=actor)
    audit.record(session, "fiscal_year.reopened", target=year.name, actor=actor)
    get_registry().call_enabled(enabled_plugins(session), "comptoir_fiscal_year_closed",
                                session=session, fiscal_year=year, reopened=True)
    return year


def post_opening_balances(session: Session, day: dt.date, balances: Sequence[tuple[str, Money | Decimal]], *,
                          label: str | None = None, idempotency_key: str | None = None,
                          actor: Any = None) -> int:
    """One balanced opening entry at the migration date ``day`` (a company starting mid-year).

    ``balances`` are (account code, debit-positive balance) pairs; they must sum to zero.
    With ``idempotency_key``, posting the same key again returns the first entry's id.
    """
    organization = current_organization(session)
    lines = [LineInput(code, amount, label or "") for code, amount in balances if amount]
    if not lines:
        raise ValidationError(N_("There are no opening balances to post."))
    text = label or translate(N_("Opening balances at %(date)s"), organization.locale, date=day.isoformat())
    (entry_id,) = post_entries(session, [EntryInput(
        _journal_code(session, JournalKind.OPENING), day, lines, label=text,
        idempotency_key=idempotency_key)], actor=actor)
    return entry_id

