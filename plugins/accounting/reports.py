"""Ledger reports as data (rendering is the edges' job), and the ledger's self-check.

Balances are read from the maintained rows per account × period, never summed from every
line; ``verify_ledger`` recomputes those rows from the lines and re-checks the hash chain.

Two rules shape every report with balances:

* **A fiscal year's books stand alone.** Closing a year posts an opening entry in the next
  one that carries every balance-sheet balance forward (``closing.py``), so an account's
  balance on a day is the sum of the postings of *that day's fiscal year* up to the day.
  Adding earlier years as well would count the carried balances twice; a year whose
  predecessor is not closed yet shows no carried balances. A report with balances
  therefore covers one fiscal year; a range over two is refused with a clear message.
* **Any date is exact, whole periods are cheap.** A range is cut into the periods it
  covers whole — read from the maintained balances — and at most two partial periods at
  its ends, completed from their lines along the (account, date) index: at most half a
  period's lines at each end. A range made of whole periods (a month, a quarter, a year)
  never reads a line.

Amounts are ``Decimal`` in the organization's currency; balances are debit-positive
(debit > 0, credit < 0) unless a field says it is presented otherwise.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import case, func, select, tuple_
from sqlalchemy.orm import Session

from core.chart import Account, AccountTag, AccountType, get_account
from core.db import tenant
from core.errors import FieldError, NotFound, ValidationError
from core.i18n import N_
from core.money import digits
from core.periods import FiscalYear, FiscalYearState, Period, add_months
from core.tenancy import Organization, branches, current_organization, find_organization
from plugins.accounting.models import (
    AccountBalance,
    EntryState,
    Journal,
    JournalEntry,
    JournalKind,
    JournalLine,
)
from plugins.accounting.services import ENTRY_HASHED, LINE_HASHED, entry_hash, get_journal

MAX_PAGE = 10_000
ONE_DAY = dt.timedelta(days=1)
_LINE_ENTRY = (JournalEntry.org_id == JournalLine.org_id) & (JournalEntry.id == JournalLine.entry_id)
_ENTRY_JOURNAL = (Journal.org_id == JournalEntry.org_id) & (Journal.id == JournalEntry.journal_id)

Minor = list[int]  # [debit, credit] in minor units, both >= 0


# --- shared reading ---------------------------------------------------------------------------------

def _scale(session: Session) -> int:
    return digits(current_organization(session).currency)


def _amount(minor: int, scale: int) -> Decimal:
    return Decimal(minor).scaleb(-scale)


def _check_range(date_from: dt.date, date_to: dt.date) -> None:
    if date_from > date_to:
        raise ValidationError(FieldError("from", N_("The report starts on %(start)s, after its end on %(end)s."),
                                         {"start": date_from.isoformat(), "end": date_to.isoformat()}))


def _year_start(session: Session, date_from: dt.date, date_to: dt.date) -> dt.date | None:
    """First day of the one fiscal year the range overlaps (``None``: it overlaps none)."""
    years = session.execute(select(FiscalYear.name, FiscalYear.start_date)
                            .where(FiscalYear.start_date <= date_to, FiscalYear.end_date >= date_from)
                            .order_by(FiscalYear.start_date)).all()
    if len(years) > 1:
        raise ValidationError(FieldError(
            "from", N_("The range %(start)s – %(end)s spans the fiscal years %(years)s: balances are kept "
                       "per fiscal year, so report on one year at a time."),
            {"start": date_from.isoformat(), "end": date_to.isoformat(),
             "years": ", ".join(name for name, _start in years)}))
    return years[0].start_date if years else None


def _movements(session: Session, date_from: dt.date, date_to: dt.date, *,
               account_id: int | None = None) -> dict[int, Minor]:
    """Posted debits and credits per account dated ``date_from`` to ``date_to`` inclusive.

    Periods inside the range come from the maintained balances. A period the range cuts is
    completed from its lines: those of the part inside the range, or — when that part is the
    larger — the period's balance less the lines of the part outside, so at most half a
    period's lines are read at each end.
    """
    totals: dict[int, Minor] = defaultdict(lambda: [0, 0])
    if date_from > date_to:
        return totals
    from_balances: list[int] = []
    cut: list[int] = []
    added: list[tuple[dt.date, dt.date]] = []
    removed: list[tuple[dt.date, dt.date]] = []
    for period_id, start, end in session.execute(select(Period.id, Period.start_date, Period.end_date).where(
            Period.start_date <= date_to, Period.end_date >= date_from)):
        first, last = max(start, date_from), min(end, date_to)
        if (first, last) == (start, end):
            from_balances.append(period_id)
            continue
        cut.append(period_id)
        inside = (last - first).days + 1
        if 2 * inside <= (end - start).days + 1:
            added.append((first, last))
            continue
        from_balances.append(period_id)
        if first > start:
            removed.append((start, first - ONE_DAY))
        if last < end:
            removed.append((last + ONE_DAY, end))
    if from_balances:
        _add_balances(session, totals, from_balances, account_id)
    if cut:
        # Only accounts with a balance in the cut periods have lines there: one index range each.
        accounts = [account_id] if account_id is not None else list(session.scalars(
            select(AccountBalance.account_id).distinct().where(AccountBalance.period_id.in_(cut))))
        for ranges, sign in ((added, 1), (removed, -1)):
            for start, end in ranges:
                for account, debit_sum, credit_sum in _line_sums(session, accounts, start, end):
                    totals[account][0] += sign * debit_sum
                    totals[account][1] += sign * credit_sum
    return totals


def _add_balances(session: Session, totals: dict[int, Minor], period_ids: list[int], account_id: int | None) -> None:
    query = (select(AccountBalance.account_id, func.sum(AccountBalance.debit), func.sum(AccountBalance.credit))
             .where(AccountBalance.period_id.in_(period_ids)))
    if account_id is not None:
        query = query.where(AccountBalance.account_id == account_id)
    for account, debit_sum, credit_sum in session.execute(query.group_by(AccountBalance.account_id)):
        totals[account][0] += int(debit_sum or 0)
        totals[account][1] += int(credit_sum or 0)


def _line_sums(session: Session, accounts: list[int], start: dt.date, end: dt.date) -> list[tuple[int, int, int]]:
    """Debits and credits per account of the posted lines of ``accounts`` dated ``start`` to ``end``.

    The lines are read along (org_id, account_id, date) without a join; the lines of the
    entries that are not posted (drafts: few) in those days are then taken back out.
    """
    if not accounts:
        return []
    debit_sum = func.sum(case((JournalLine.amount > 0, JournalLine.amount), else_=0))
    credit_sum = func.sum(case((JournalLine.amount < 0, -JournalLine.amount), else_=0))
    query = (select(JournalLine.account_id, debit_sum, credit_sum)
             .where(JournalLine.account_id.in_(accounts), JournalLine.date.between(start, end))
             .group_by(JournalLine.account_id))
    sums = {account: [int(d or 0), int(c or 0)] for account, d, c in session.execute(query)}
    unposted = list(session.scalars(select(JournalEntry.id).where(JournalEntry.date.between(start, end),
                                                                  JournalEntry.state != EntryState.POSTED)))
    if unposted:
        for account, d, c in session.execute(query.where(JournalLine.entry_id.in_(unposted))):
            sums[account][0] -= int(d or 0)
            sums[account][1] -= int(c or 0)
    return [(account, d, c) for account, (d, c) in sums.items()]


def _closing_movements(session: Session, date_from: dt.date, date_to: dt.date) -> dict[int, Minor]:
    """Debits and credits per account of the year-end closing entries in the range."""
    debit_sum = func.sum(case((JournalLine.amount > 0, JournalLine.amount), else_=0))
    credit_sum = func.sum(case((JournalLine.amount < 0, -JournalLine.amount), else_=0))
    rows = session.execute(
        select(JournalLine.account_id, debit_sum, credit_sum).join(JournalEntry, _LINE_ENTRY)
        .join(Journal, _ENTRY_JOURNAL)
        .where(Journal.kind == JournalKind.CLOSING, JournalEntry.state == EntryState.POSTED,
               JournalEntry.date.between(date_from, date_to))
        .group_by(JournalLine.account_id))
    return {account: [int(d or 0), int(c or 0)] for account, d, c in rows}


def _figures(session: Session, date_from: dt.date, date_to: dt.date) -> dict[int, tuple[int, int, int]]:
    """Per account: (balance before ``date_from`` in its fiscal year, debits, credits of the range)."""
    start = _year_start(session, date_from, date_to)
    if start is None:
        return {}
    opening = _movements(session, start, date_from - ONE_DAY) if start < date_from else {}
    movement = _movements(session, date_from, date_to)
    figures = {}
    for account_id in set(opening) | set(movement):
        before = opening.get(account_id, [0, 0])
        debit_sum, credit_sum = movement.get(account_id, [0, 0])
        figures[account_id] = (before[0] - before[1], debit_sum, credit_sum)
    return figures


# --- trial balance ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrialBalanceRow:
    code: str
    name: str
    opening: Decimal  # balance before the range, in its fiscal year, debit-positive
    debit: Decimal  # movements in the range
    credit: Decimal
    balance: Decimal  # closing balance, debit-positive
    # The same range one year earlier, with ``compare=True`` (else None).
    previous_opening: Decimal | None = None
    previous_debit: Decimal | None = None
    previous_credit: Decimal | None = None
    previous_balance: Decimal | None = None


def previous_year_range(session: Session, date_from: dt.date, date_to: dt.date) -> tuple[dt.date, dt.date]:
    """The same range twelve months earlier, in the organization's calendar (Jalali months too)."""
    calendar = current_organization(session).calendar
    return (add_months(date_from, -12, calendar), add_months(date_to + ONE_DAY, -12, calendar) - ONE_DAY)


def trial_balance(session: Session, date_from: dt.date, date_to: dt.date, *,
                  compare: bool = False) -> list[TrialBalanceRow]:
    """Per account with postings in the fiscal year: opening balance, debits and credits of the
    range, closing balance — and, with ``compare``, the same for the range a year earlier.

    The range lies in one fiscal year (see the module's docstring); any dates are exact.
    """
    _check_range(date_from, date_to)
    scale = _scale(session)
    current = _figures(session, date_from, date_to)
    previous = _figures(session, *previous_year_range(session, date_from, date_to)) if compare else {}
    wanted = set(current) | set(previous)
    if not wanted:
        return []
    rows = []
    nothing = (0, 0, 0)
    for account in session.scalars(select(Account).where(Account.id.in_(wanted)).order_by(Account.code)):
        start, debit_sum, credit_sum = current.get(account.id, nothing)
        extra: dict[str, Decimal] = {}
        if compare:
            p_start, p_debit, p_credit = previous.get(account.id, nothing)
            extra = {"previous_opening": _amount(p_start, scale), "previous_debit": _amount(p_debit, scale),
                     "previous_credit": _amount(p_credit, scale),
                     "previous_balance": _amount(p_start + p_debit - p_credit, scale)}
        rows.append(TrialBalanceRow(
            code=account.code, name=account.name, opening=_amount(start, scale),
            debit=_amount(debit_sum, scale), credit=_amount(credit_sum, scale),
            balance=_amount(start + debit_sum - credit_sum, scale), **extra,
        ))
    return rows


# --- page cursors ---------------------------------------------------------------------------------

def _encode_cursor(kind: str, *values: object) -> str:
    raw = json.dumps([kind, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(token: str, kind: str, arity: int) -> list[Any]:
    """The values of a cursor this module made for ``kind``; anything else is refused."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        data = None
    if not (isinstance(data, list) and len(data) == arity + 1 and data[0] == kind):
        raise _bad_cursor()
    return data[1:]


def _bad_cursor() -> ValidationError:
    return ValidationError(FieldError("cursor", N_("This page cursor does not belong to this report; "
                                                   "start again from the first page.")))


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(FieldError("limit", N_("A page holds 1 to %(max)s rows."), {"max": MAX_PAGE}))


# --- general ledger ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerRow:
    date: dt.date
    entry: str  # the entry's name, e.g. SAL/2026/00012
    journal: str  # journal code
    label: str  # the line's label, or the entry's when the line has none
    debit: Decimal
    credit: Decimal
    balance: Decimal  # running balance after this line, debit-positive
    entry_id: int
    line_no: int


@dataclass(frozen=True)
class LedgerPage:
    """One page of an account's ledger; ``next_cursor`` fetches the following one (None: last)."""

    account: str
    name: str
    date_from: dt.date
    date_to: dt.date
    opening: Decimal  # balance before the first row of this page (page 1: before date_from)
    rows: tuple[LedgerRow, ...]
    next_cursor: str | None

    @property
    def closing(self) -> Decimal:
        return self.rows[-1].balance if self.rows else self.opening


def general_ledger(session: Session, account_code: str, date_from: dt.date, date_to: dt.date, *,
                   limit: int = 50, cursor: str | None = None) -> LedgerPage:
    """The posted lines of an account in (date, entry, line) order, with a running balance.

    Pages are keyset pages on the index (org_id, account_id, date, entry_id, line_no): a
    page costs ``limit`` index entries wherever it is. The first page's opening balance
    comes from the maintained balances of the fiscal year's earlier periods plus the lines
    of ``date_from``'s own period before it (none when the range starts a period; from the
    period's balance less its later lines when those are fewer). The
    cursor carries the last row's (date, entry id, line number) and the running balance
    there, so the next page starts without summing anything again. (It is not signed:
    altering one only misleads its holder. An entry posted meanwhile before the cursor's
    point shows on a fresh first page.)
    """
    _check_range(date_from, date_to)
    _check_limit(limit)
    scale = _scale(session)
    account = get_account(session, account_code)
    query = (select(JournalLine.date, JournalLine.entry_id, JournalLine.line_no, JournalLine.amount,
                    JournalLine.label, JournalEntry.name, JournalEntry.label, Journal.code)
             .join(JournalEntry, _LINE_ENTRY).join(Journal, _ENTRY_JOURNAL)
             .where(JournalLine.account_id == account.id, JournalLine.date >= date_from,
                    JournalLine.date <= date_to, JournalEntry.state == EntryState.POSTED)
             .order_by(JournalLine.date, JournalLine.entry_id, JournalLine.line_no)
             .limit(limit + 1))
    start = _year_start(session, date_from, date_to)
    if cursor is None:
        running = 0
        if start is not None and start < date_from:
            before = _movements(session, start, date_from - ONE_DAY, account_id=account.id).get(account.id, [0, 0])
            running = before[0] - before[1]
    else:
        account_id, day, entry_id, line_no, running = _decode_cursor(cursor, "ledger", 5)
        try:
            after = dt.date.fromisoformat(day)
        except (TypeError, ValueError):
            after = None
        if (account_id != account.id or after is None or not date_from <= after <= date_to
                or not all(isinstance(v, int) for v in (entry_id, line_no, running))):
            raise _bad_cursor()
        query = query.where(tuple_(JournalLine.date, JournalLine.entry_id, JournalLine.line_no)
                            > tuple_(after, entry_id, line_no))
    fetched = session.execute(query).all()
    opening = running
    rows = []
    for day, entry_id, line_no, amount, line_label, entry_name, entry_label, journal_code in fetched[:limit]:
        running += amount
        rows.append(LedgerRow(
            date=day, entry=entry_name or "", journal=journal_code, label=line_label or entry_label or "",
            debit=_amount(max(amount, 0), scale), credit=_amount(max(-amount, 0), scale),
            balance=_amount(running, scale), entry_id=entry_id, line_no=line_no,
        ))
    next_cursor = None
    if len(fetched) > limit:
        last = rows[-1]
        next_cursor = _encode_cursor("ledger", account.id, last.date.isoformat(), last.entry_id, last.line_no,
                                     running)
    return LedgerPage(account.code, account.name, date_from, date_to, _amount(opening, scale), tuple(rows),
                      next_cursor)


# --- journal listing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class JournalListingLine:
    line_no: int
    account: str
    account_name: str
    label: str
    debit: Decimal
    credit: Decimal


@dataclass(frozen=True)
class JournalListingEntry:
    entry_id: int
    name: str
    number: int
    date: dt.date
    label: str
    reference: str
    lines: tuple[JournalListingLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.debit for line in self.lines), Decimal(0))


@dataclass(frozen=True)
class JournalPage:
    journal: str
    name: str
    date_from: dt.date
    date_to: dt.date
    entries: tuple[JournalListingEntry, ...]
    next_cursor: str | None


def journal_listing(session: Session, journal_code: str, date_from: dt.date, date_to: dt.date, *,
                    limit: int = 50, cursor: str | None = None) -> JournalPage:
    """The posted entries of a journal dated in the range, with their lines, in number order.

    Numbers restart each fiscal year, so the order is (fiscal year, number); each year is read
    along the unique index (org_id, journal_id, fiscal_year_id, number). The cursor is the
    last entry's (fiscal year, number).
    """
    _check_range(date_from, date_to)
    _check_limit(limit)
    scale = _scale(session)
    journal = get_journal(session, journal_code)
    years = list(session.scalars(select(FiscalYear.id).where(
        FiscalYear.start_date <= date_to, FiscalYear.end_date >= date_from).order_by(FiscalYear.start_date)))
    after_year, after_number = None, 0
    if cursor is not None:
        journal_id, after_year, after_number = _decode_cursor(cursor, "journal", 3)
        if journal_id != journal.id or after_year not in years or not isinstance(after_number, int):
            raise _bad_cursor()
        years = years[years.index(after_year):]
    entries: list[JournalEntry] = []
    for year_id in years:
        query = (select(JournalEntry)
                 .where(JournalEntry.journal_id == journal.id, JournalEntry.fiscal_year_id == year_id,
                        JournalEntry.state == EntryState.POSTED, JournalEntry.date.between(date_from, date_to))
                 .order_by(JournalEntry.number).limit(limit + 1 - len(entries)))
        if year_id == after_year:
            query = query.where(JournalEntry.number > after_number)
        entries.extend(session.scalars(query))
        if len(entries) > limit:
            break
    page, more = entries[:limit], len(entries) > limit
    lines: dict[int, list[JournalListingLine]] = defaultdict(list)
    if page:
        for line, code, name in session.execute(
                select(JournalLine, Account.code, Account.name)
                .join(Account, (Account.org_id == JournalLine.org_id) & (Account.id == JournalLine.account_id))
                .where(JournalLine.entry_id.in_([e.id for e in page]))
                .order_by(JournalLine.entry_id, JournalLine.line_no)):
            lines[line.entry_id].append(JournalListingLine(
                line.line_no, code, name, line.label, _amount(max(line.amount, 0), scale),
                _amount(max(-line.amount, 0), scale)))
    listed = tuple(JournalListingEntry(e.id, e.name or "", e.number or 0, e.date, e.label, e.reference,
                                       tuple(lines[e.id])) for e in page)
    next_cursor = _encode_cursor("journal", journal.id, page[-1].fiscal_year_id, page[-1].number) if more else None
    return JournalPage(journal.code, journal.name, date_from, date_to, listed, next_cursor)


# --- balance sheet and profit and loss --------------------------------------------------------------

# Presented sign per account type: assets and expenses as debits, the others as credits.
_PRESENTED_SIGN = {AccountType.ASSET: 1, AccountType.EXPENSE: 1,
                   AccountType.LIABILITY: -1, AccountType.EQUITY: -1, AccountType.INCOME: -1}


@dataclass(frozen=True)
class StatementLine:
    code: str
    name: str
    balance: Decimal  # debit-positive, as in the ledger
    amount: Decimal  # as presented in its section (a liability's credit balance is positive)


@dataclass(frozen=True)
class StatementGroup:
    """The accounts under one heading of the chart (``code`` None: accounts with no heading)."""

    code: str | None
    name: str | None
    lines: tuple[StatementLine, ...]
    balance: Decimal
    amount: Decimal


@dataclass(frozen=True)
class StatementSection:
    type: str  # an AccountType value
    groups: tuple[StatementGroup, ...]
    balance: Decimal
    amount: Decimal

    @property
    def lines(self) -> tuple[StatementLine, ...]:
        return tuple(line for group in self.groups for line in group.lines)


@dataclass(frozen=True)
class BalanceSheet:
    """Assets = liabilities + equity + the result not yet closed into equity.

    ``result`` is the fiscal year's income less its expenses up to ``day`` (zero once the
    year is closed: the closing entry moved it to the result account, an equity line).
    ``unclosed_previous_year`` names the previous fiscal year when it is still open: its
    balances are not carried into this one until it is closed.
    """

    day: dt.date
    currency: str
    assets: StatementSection
    liabilities: StatementSection
    equity: StatementSection
    result: Decimal  # credit-positive: a profit is positive
    unclosed_previous_year: str | None

    @property
    def total_assets(self) -> Decimal:
        return self.assets.amount

    @property
    def total_liabilities_and_equity(self) -> Decimal:
        return self.liabilities.amount + self.equity.amount + self.result

    @property
    def balanced(self) -> bool:
        return self.total_assets == self.total_liabilities_and_equity


@dataclass(frozen=True)
class ProfitAndLoss:
    """Income and expenses of the range, closing entries left out (they only move the result)."""

    date_from: dt.date
    date_to: dt.date
    currency: str
    income: StatementSection  # credit-positive
    expenses: StatementSection  # debit-positive

    @property
    def result(self) -> Decimal:
        """Income less expenses: a profit is positive."""
        return self.income.amount - self.expenses.amount


def _heading(account: Account, accounts: Mapping[int, Account]) -> Account | None:
    """The nearest header above ``account``: the chart's own layout for the statements."""
    seen = set()
    parent = accounts.get(account.parent_id) if account.parent_id else None
    while parent is not None and parent.id not in seen:
        if parent.header:
            return parent
        seen.add(parent.id)
        parent = accounts.get(parent.parent_id) if parent.parent_id else None
    return None


def _section(kind: AccountType, balances: Mapping[int, int], accounts: Mapping[int, Account],
             scale: int) -> StatementSection:
    sign = _PRESENTED_SIGN[kind]
    grouped: dict[int | None, list[Account]] = defaultdict(list)
    for account_id, minor in balances.items():
        account = accounts[account_id]
        if account.type == kind and minor:
            heading = _heading(account, accounts)
            grouped[heading.id if heading else None].append(account)
    groups = []
    for heading_id, members in grouped.items():
        members.sort(key=lambda a: a.code)
        heading = accounts[heading_id] if heading_id is not None else None
        total = sum(balances[a.id] for a in members)
        groups.append(StatementGroup(
            heading.code if heading else None, heading.name if heading else None,
            tuple(StatementLine(a.code, a.name, _amount(balances[a.id], scale), _amount(sign * balances[a.id], scale))
                  for a in members),
            _amount(total, scale), _amount(sign * total, scale)))
    groups.sort(key=lambda g: g.code if g.code is not None else g.lines[0].code)
    total = sum(sum(balances[a.id] for a in members) for members in grouped.values())
    return StatementSection(kind.value, tuple(groups), _amount(total, scale), _amount(sign * total, scale))


def _accounts(session: Session) -> dict[int, Account]:
    return {a.id: a for a in session.scalars(select(Account))}


def balance_sheet(session: Session, day: dt.date) -> BalanceSheet:
    """Balance-sheet accounts at the end of ``day``, by type and by the chart's headings."""
    year = session.scalars(select(FiscalYear).where(FiscalYear.start_date <= day, FiscalYear.end_date >= day)).first()
    if year is None:
        raise NotFound(N_("No fiscal year covers %(date)s."), date=day.isoformat())
    organization = current_organization(session)
    scale = digits(organization.currency)
    balances = {a: d - c for a, (d, c) in _movements(session, year.start_date, day).items()}
    accounts = _accounts(session)
    result = -sum(minor for a, minor in balances.items()
                  if accounts[a].type in (AccountType.INCOME, AccountType.EXPENSE))
    previous = session.scalars(select(FiscalYear).where(FiscalYear.end_date < year.start_date)
                               .order_by(FiscalYear.end_date.desc())).first()
    return BalanceSheet(
        day=day, currency=organization.currency,
        assets=_section(AccountType.ASSET, balances, accounts, scale),
        liabilities=_section(AccountType.LIABILITY, balances, accounts, scale),
        equity=_section(AccountType.EQUITY, balances, accounts, scale),
        result=_amount(result, scale),
        unclosed_previous_year=previous.name if previous is not None and previous.state == FiscalYearState.OPEN
        else None,
    )


def profit_and_loss(session: Session, date_from: dt.date, date_to: dt.date) -> ProfitAndLoss:
    """Income and expense accounts' movements in the range, by type and by the chart's headings.

    Movements need no opening balance, so the range may cover several fiscal years.
    """
    _check_range(date_from, date_to)
    organization = current_organization(session)
    scale = digits(organization.currency)
    closing = _closing_movements(session, date_from, date_to)
    balances = {}
    for account_id, (debit_sum, credit_sum) in _movements(session, date_from, date_to).items():
        closed_debit, closed_credit = closing.get(account_id, (0, 0))
        balances[account_id] = (debit_sum - closed_debit) - (credit_sum - closed_credit)
    accounts = _accounts(session)
    return ProfitAndLoss(
        date_from=date_from, date_to=date_to, currency=organization.currency,
        income=_section(AccountType.INCOME, balances, accounts, scale),
        expenses=_section(AccountType.EXPENSE, balances, accounts, scale),
    )


# --- consolidation ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConsolidatedRow:
    code: str  # the head office's account code; "<org>:<code>" for an unmatched branch account
    name: str
    opening: Decimal
    debit: Decimal
    credit: Decimal
    balance: Decimal
    organizations: tuple[str, ...]  # codes of the organizations adding to this row


@dataclass(frozen=True)
class ConsolidatedTrialBalance:
    head_office: str
    currency: str
    date_from: dt.date
    date_to: dt.date
    organizations: tuple[str, ...]  # the head office first, then its branches
    rates: dict[str, Decimal]  # per currency: units of the head office's currency for one unit
    rows: tuple[ConsolidatedRow, ...]
    unmatched: tuple[str, ...]  # "<org>:<code>" of branch accounts kept on rows of their own
    rounding: Decimal | None  # the conversion rounding row's balance, when there is one
    notices: tuple[Any, ...] = ()  # rates.Notice: a looked-up rate older than allowed

    @property
    def total_debit(self) -> Decimal:
        return sum((row.debit for row in self.rows), Decimal(0))

    @property
    def total_credit(self) -> Decimal:
        return sum((row.credit for row in self.rows), Decimal(0))


ROUNDING_CODE = ""
ROUNDING_NAME = N_("Conversion rounding")


def _exchange_rate(session: Session, head: Organization, currency: str, day: dt.date,
                   rates: Mapping[str, Decimal | str] | None, notices: list[Any]) -> Decimal:
    """Head-office units for one ``currency``: given in ``rates``, else the head office's own rate."""
    from plugins.accounting.rates import rate_at

    if currency == head.currency:
        return Decimal(1)
    given = (rates or {}).get(currency)
    if given is None:
        with tenant(session, head.id):
            found = rate_at(session, currency, day)  # RateMissing names the currency and the day
        if found.warning is not None:
            notices.append(found.warning)
        return found.rate
    if isinstance(given, float):
        raise TypeError("exchange rates are Decimal or str, never floats")
    try:
        rate = Decimal(given)
    except InvalidOperation:
        rate = Decimal(0)
    if not rate.is_finite() or rate <= 0:
        raise ValidationError(FieldError("rates", N_("%(value)s is not an exchange rate."), {"value": given}))
    return rate


def consolidated_trial_balance(session: Session, head_office: Organization | str | int, date_from: dt.date,
                               date_to: dt.date, *, rates: Mapping[str, Decimal | str] | None = None
                               ) -> ConsolidatedTrialBalance:
    """The trial balance of a head office and all its branches, in the head office's currency.

    Each organization is read under its own tenant (``core.db.tenant``), one after the
    other; the filter is never loosened. Matching, for each branch account with postings:
    the head office's account with the same code and type; else the head office's account
    of the same type carrying exactly the same reporting tags (the lowest code); else the
    account keeps a row of its own, coded ``<branch code>:<account code>`` and listed in
    ``unmatched``, so nothing is dropped and the total still balances.

    Conversion: ``rates`` maps a currency to the head office's units for one unit of it; a
    currency not given takes the head office's stored rate at ``date_to`` (``rates.rate_at``;
    an old one adds a notice). Every figure of a branch is converted at that one closing rate
    and rounded per account by ``rates.convert_amount`` (half-even, the head office's minor
    unit); what rounding unbalances goes to a "Conversion rounding" row (code ``""``).
    Intercompany balances are not eliminated.
    """
    from plugins.accounting.rates import convert_amount

    _check_range(date_from, date_to)
    head = head_office if isinstance(head_office, Organization) else find_organization(session, head_office)
    members = [head, *branches(session, head)]
    head_scale = digits(head.currency)
    with tenant(session, head.id):
        head_accounts = [a for a in session.scalars(select(Account).order_by(Account.code)) if not a.header]
        head_tags = _tags(session)
    by_code = {a.code: a for a in head_accounts}
    by_tags: dict[tuple[str | None, frozenset[str]], Account] = {}
    for account in head_accounts:
        by_tags.setdefault((account.type, head_tags.get(account.id, frozenset())), account)

    # row key -> [name, opening, debit, credit] in the head office's minor units, and contributors
    totals: dict[str, list[Any]] = {}
    contributors: dict[str, list[str]] = defaultdict(list)
    used_rates: dict[str, Decimal] = {}
    unmatched: list[str] = []
    notices: list[Any] = []
    for member in members:
        rate = used_rates.get(member.currency) or _exchange_rate(session, head, member.currency, date_to, rates,
                                                                 notices)
        if member.currency != head.currency:
            used_rates[member.currency] = rate
        scale = digits(member.currency)
        with tenant(session, member.id):
            figures = _figures(session, date_from, date_to)
            accounts = _accounts(session) if figures else {}
            tags = _tags(session) if figures and member is not head else {}

        def converted(minor: int, scale: int = scale, rate: Decimal = rate) -> int:
            if rate == 1 and scale == head_scale:
                return minor
            return int(convert_amount(Decimal(minor).scaleb(-scale), rate, head.currency).scaleb(head_scale))

        for account_id, (opening, debit_sum, credit_sum) in figures.items():
            account = accounts[account_id]
            if member is head:
                target: Account | None = account
            else:
                same_code = by_code.get(account.code)
                target = same_code if same_code is not None and same_code.type == account.type else \
                    by_tags.get((account.type, tags.get(account_id, frozenset())))
            if target is not None:
                key, name = target.code, target.name
            else:
                key, name = f"{member.code}:{account.code}", account.name
                unmatched.append(key)
            row = totals.setdefault(key, [name, 0, 0, 0])
            row[1] += converted(opening)
            row[2] += converted(debit_sum)
            row[3] += converted(credit_sum)
            if member.code not in contributors[key]:
                contributors[key].append(member.code)

    opening_gap = sum(row[1] for row in totals.values())
    movement_gap = sum(row[2] - row[3] for row in totals.values())
    rounding = None
    if opening_gap or movement_gap:
        totals[ROUNDING_CODE] = [ROUNDING_NAME, -opening_gap, max(-movement_gap, 0), max(movement_gap, 0)]
        rounding = _amount(-opening_gap - movement_gap, head_scale)
    rows = tuple(
        ConsolidatedRow(key, name, _amount(opening, head_scale), _amount(debit_sum, head_scale),
                        _amount(credit_sum, head_scale), _amount(opening + debit_sum - credit_sum, head_scale),
                        tuple(contributors.get(key, ())))
        for key, (name, opening, debit_sum, credit_sum) in sorted(totals.items(), key=lambda item: (
            item[0] == ROUNDING_CODE, item[0])))
    return ConsolidatedTrialBalance(head.code, head.currency, date_from, date_to,
                                    tuple(m.code for m in members), used_rates, rows, tuple(unmatched), rounding,
                                    tuple(notices))


def _tags(session: Session) -> dict[int, frozenset[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for account_id, tag in session.execute(select(AccountTag.account_id, AccountTag.tag)):
        found[account_id].add(tag)
    return {account_id: frozenset(tags) for account_id, tags in found.items()}


# --- the ledger's self-check ----------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerProblem:
    msgid: str
    params: dict[str, object]


def verify_ledger(session: Session) -> list[LedgerProblem]:
    """Every difference between the maintained balances and the lines, and every entry whose
    hash does not match its content or its predecessor. Empty: the ledger is intact."""
    problems: list[LedgerProblem] = []
    posted = select(JournalEntry.id).where(JournalEntry.state == EntryState.POSTED)
    recomputed: dict[tuple[int, int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    rows = session.execute(
        select(JournalLine.account_id, JournalEntry.period_id, JournalLine.currency, JournalLine.amount,
               JournalLine.amount_currency)
        .join(JournalEntry, (JournalEntry.org_id == JournalLine.org_id) & (JournalEntry.id == JournalLine.entry_id))
        .where(JournalLine.entry_id.in_(posted)))
    for account_id, period_id, currency, amount, amount_currency in rows:
        totals = recomputed[(account_id, period_id, currency or "")]
        totals[0 if amount > 0 else 1] += abs(amount)
        totals[2] += amount_currency or 0
    stored = {(b.account_id, b.period_id, b.currency): [b.debit, b.credit, b.amount_currency]
              for b in session.scalars(select(AccountBalance))}
    codes = dict(session.execute(select(Account.id, Account.code)).all())
    names = dict(session.execute(select(Period.id, Period.name)).all())
    for key in sorted(set(recomputed) | set(stored)):
        expected = recomputed.get(key, [0, 0, 0])
        if stored.get(key, [0, 0, 0]) != expected:
            problems.append(LedgerProblem(
                N_("The balance of account %(account)s in %(period)s differs from its lines."),
                {"account": codes.get(key[0], key[0]), "period": names.get(key[1], key[1])}))

    lines: dict[int, list[dict[str, object]]] = defaultdict(list)
    for line in session.scalars(select(JournalLine).where(JournalLine.entry_id.in_(posted))):
        lines[line.entry_id].append({k: getattr(line, k) for k in LINE_HASHED})
    previous = ""
    expected_index = 1
    for entry in session.scalars(select(JournalEntry).where(JournalEntry.state == EntryState.POSTED)
                                 .order_by(JournalEntry.chain_index)):
        fields = {k: getattr(entry, k) for k in ENTRY_HASHED}
        if entry.chain_index != expected_index:
            problems.append(LedgerProblem(N_("The hash chain skips from %(expected)s to %(found)s at entry %(name)s."),
                                          {"expected": expected_index, "found": entry.chain_index, "name": entry.name}))
        if entry.previous_hash != previous or entry_hash(previous, fields, lines[entry.id]) != entry.hash:
            problems.append(LedgerProblem(N_("Entry %(name)s does not match its hash: it was changed after posting."),
                                          {"name": entry.name}))
        previous = entry.hash or ""
        expected_index = (entry.chain_index or 0) + 1
    return problems
