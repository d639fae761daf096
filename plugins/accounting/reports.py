"""Ledger reports as data (rendering is the edges' job), and the ledger's self-check.

Trial balances read the maintained balances (rows per account × period), never the lines;
``verify_ledger`` recomputes those balances from the lines and re-checks the hash chain.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.chart import Account
from core.i18n import N_
from core.money import digits
from core.periods import Period
from core.tenancy import current_organization
from plugins.accounting.models import AccountBalance, EntryState, JournalEntry, JournalLine
from plugins.accounting.services import ENTRY_HASHED, LINE_HASHED, entry_hash


@dataclass(frozen=True)
class TrialBalanceRow:
    code: str
    name: str
    opening: Decimal  # balance before the range, debit-positive
    debit: Decimal  # movements in the range
    credit: Decimal
    balance: Decimal  # closing balance, debit-positive


def trial_balance(session: Session, date_from: dt.date, date_to: dt.date) -> list[TrialBalanceRow]:
    """Per account: opening balance, debits and credits of the range, closing balance.

    The range is made of whole periods: ``date_from`` and ``date_to`` select the periods
    that start and end inside it.
    """
    currency = current_organization(session).currency
    scale = digits(currency)
    in_range = select(Period.id).where(Period.start_date >= date_from, Period.end_date <= date_to)
    before = select(Period.id).where(Period.end_date < date_from)
    movement = dict(
        (row.account_id, (row.debit, row.credit)) for row in session.execute(
            select(AccountBalance.account_id, func.sum(AccountBalance.debit).label("debit"),
                   func.sum(AccountBalance.credit).label("credit"))
            .where(AccountBalance.period_id.in_(in_range)).group_by(AccountBalance.account_id))
    )
    opening = dict(session.execute(
        select(AccountBalance.account_id, func.sum(AccountBalance.debit - AccountBalance.credit))
        .where(AccountBalance.period_id.in_(before)).group_by(AccountBalance.account_id)).all())
    rows = []
    for account in session.scalars(select(Account).where(Account.id.in_(set(movement) | set(opening)))
                                   .order_by(Account.code)):
        debit, credit = movement.get(account.id, (0, 0))
        start = opening.get(account.id, 0) or 0
        rows.append(TrialBalanceRow(
            code=account.code, name=account.name, opening=Decimal(start).scaleb(-scale),
            debit=Decimal(debit).scaleb(-scale), credit=Decimal(credit).scaleb(-scale),
            balance=Decimal(start + debit - credit).scaleb(-scale),
        ))
    return rows


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
