"""Reading entries for screens and the API: a filtered list in keyset pages, one entry with
its lines. Nothing here writes (``services.py`` is the only writer)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from core.chart import Account
from core.errors import FieldError, ValidationError
from core.i18n import N_
from core.money import digits
from core.tenancy import current_organization
from plugins.accounting.models import Journal, JournalEntry, JournalLine
from plugins.accounting.services import get_entry

MAX_LIMIT = 500


@dataclass(frozen=True)
class EntrySummary:
    id: int
    name: str | None  # None for a draft
    journal: str
    date: dt.date
    label: str
    reference: str
    state: str
    total: Decimal  # the sum of the debits
    reversal_of_id: int | None


@dataclass(frozen=True)
class EntryPage:
    entries: tuple[EntrySummary, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class LineView:
    line_no: int
    account: str
    account_name: str
    label: str
    debit: Decimal
    credit: Decimal
    currency: str | None
    amount_currency: Decimal | None


@dataclass(frozen=True)
class EntryView:
    entry: EntrySummary
    lines: tuple[LineView, ...]
    reversed_by: int | None


def account_choices(session: Session, *, include_deprecated: bool = True) -> list[tuple[str, str]]:
    """``(code, name)`` of the accounts a line can use (not the headers), by code: what an
    account picker lists. Two columns, not the accounts themselves: a chart holds hundreds."""
    query = select(Account.code, Account.name).where(Account.header.is_(False)).order_by(Account.code)
    if not include_deprecated:
        query = query.where(Account.deprecated.is_(False))
    return [(code, name) for code, name in session.execute(query)]


def _cursor(entry: EntrySummary) -> str:
    return f"{entry.date.isoformat()}_{entry.id}"


def _parse_cursor(cursor: str) -> tuple[dt.date, int]:
    day, _, number = cursor.partition("_")
    try:
        return dt.date.fromisoformat(day), int(number)
    except ValueError:
        raise ValidationError(FieldError("cursor", N_("This page cursor does not belong to this report; "
                                                      "start again from the first page."))) from None


def list_entries(session: Session, *, journal: str | None = None, state: str | None = None,
                 date_from: dt.date | None = None, date_to: dt.date | None = None, text: str | None = None,
                 limit: int = 50, cursor: str | None = None) -> EntryPage:
    """Entries newest first, filtered; ``cursor`` (from the previous page) continues the list."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(FieldError("limit", N_("A page holds 1 to %(max)s rows."), {"max": MAX_LIMIT}))
    scale = digits(current_organization(session).currency)
    query = (select(JournalEntry, Journal.code)
             .join(Journal, (Journal.org_id == JournalEntry.org_id) & (Journal.id == JournalEntry.journal_id))
             .order_by(JournalEntry.date.desc(), JournalEntry.id.desc()).limit(limit + 1))
    if journal:
        query = query.where(Journal.code == journal)
    if state:
        query = query.where(JournalEntry.state == state)
    if date_from:
        query = query.where(JournalEntry.date >= date_from)
    if date_to:
        query = query.where(JournalEntry.date <= date_to)
    if text:
        pattern = f"%{text}%"
        query = query.where(or_(JournalEntry.label.ilike(pattern), JournalEntry.reference.ilike(pattern),
                                JournalEntry.name.ilike(pattern)))
    if cursor:
        day, last_id = _parse_cursor(cursor)
        query = query.where(or_(JournalEntry.date < day, and_(JournalEntry.date == day, JournalEntry.id < last_id)))
    found = session.execute(query).all()
    # The totals of this page's entries only: summing every line of the organization first
    # made each page cost a pass over the whole ledger.
    totals = dict(session.execute(
        select(JournalLine.entry_id, func.sum(JournalLine.amount))
        .where(JournalLine.entry_id.in_([entry.id for entry, _code in found]), JournalLine.amount > 0)
        .group_by(JournalLine.entry_id)).all()) if found else {}
    rows = [EntrySummary(entry.id, entry.name, code, entry.date, entry.label, entry.reference, entry.state,
                         Decimal(totals.get(entry.id) or 0).scaleb(-scale), entry.reversal_of_id)
            for entry, code in found]
    more = len(rows) > limit
    rows = rows[:limit]
    return EntryPage(tuple(rows), _cursor(rows[-1]) if more else None)


@cache
def _entry_statements() -> tuple[Any, Any]:
    """An entry's lines with their accounts' codes and names, and the entry reversing it: built
    once (the API answers every posting with the entry it made)."""
    lines = (select(JournalLine.line_no, Account.code, Account.name, JournalLine.label, JournalLine.amount,
                    JournalLine.currency, JournalLine.amount_currency)
             .join(Account, (Account.org_id == JournalLine.org_id) & (Account.id == JournalLine.account_id))
             .where(JournalLine.entry_id == bindparam("entry_id")).order_by(JournalLine.line_no))
    reversed_by = select(JournalEntry.id).where(JournalEntry.reversal_of_id == bindparam("entry_id")).limit(1)
    return lines, reversed_by


def entry_view(session: Session, entry_id: int) -> EntryView:
    """One entry of the organization with its lines (another organization's id: NotFound)."""
    entry = get_entry(session, entry_id)
    scale = digits(current_organization(session).currency)
    journal = session.get_one(Journal, (entry.org_id, entry.journal_id))
    lines_statement, reversed_statement = _entry_statements()
    views = tuple(LineView(line_no, code, name, label, Decimal(max(amount, 0)).scaleb(-scale),
                           Decimal(max(-amount, 0)).scaleb(-scale), currency,
                           Decimal(amount_currency).scaleb(-digits(currency)) if currency else None)
                  for line_no, code, name, label, amount, currency, amount_currency
                  in session.execute(lines_statement, {"entry_id": entry.id}))
    total = sum((v.debit for v in views), Decimal(0))
    reversed_by = session.scalars(reversed_statement, {"entry_id": entry.id}).first()
    summary = EntrySummary(entry.id, entry.name, journal.code, entry.date, entry.label, entry.reference, entry.state,
                           total, entry.reversal_of_id)
    return EntryView(summary, views, reversed_by)
