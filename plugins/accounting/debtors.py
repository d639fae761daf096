"""Debtors and creditors: aged balances at any date, partner statements, overdue invoices.

Aged balances read open documents only: those whose maintained residual is not zero or
that closed after the date, plus the allocations dated after it (added back). Amounts are
in the organization's currency, at each document's own rate (its book value).
"""
from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Date, and_, bindparam, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from core.db import require_tenant
from core.errors import ValidationError
from core.i18n import N_
from core.money import digits
from core.tenancy import current_organization
from plugins.accounting.invoicing_models import (
    Allocation,
    Invoice,
    InvoiceKind,
    InvoiceState,
    Partner,
    Payment,
    PaymentDirection,
)

BUCKETS = ("not_due", "1_30", "31_60", "61_90", "over_90")
BUCKET_LABELS = (N_("Not due"), N_("1-30 days"), N_("31-60 days"), N_("61-90 days"), N_("Over 90 days"))
REMINDER_DAYS = (1, 15, 30)  # days overdue from which each reminder level is due


class Side(enum.StrEnum):
    RECEIVABLE = "receivable"
    PAYABLE = "payable"


_KINDS = {
    Side.RECEIVABLE: (InvoiceKind.CUSTOMER_INVOICE, InvoiceKind.CUSTOMER_CREDIT_NOTE, PaymentDirection.INBOUND),
    Side.PAYABLE: (InvoiceKind.SUPPLIER_INVOICE, InvoiceKind.SUPPLIER_CREDIT_NOTE, PaymentDirection.OUTBOUND),
}
_POSTED = (InvoiceState.POSTED, InvoiceState.CANCELLED)


@dataclass
class AgedRow:
    partner_id: int
    code: str
    name: str
    buckets: list[Decimal] = field(default_factory=lambda: [Decimal(0)] * len(BUCKETS))

    @property
    def total(self) -> Decimal:
        return sum(self.buckets, Decimal(0))


@dataclass
class AgedBalance:
    side: Side
    day: dt.date
    currency: str
    rows: list[AgedRow]

    @property
    def totals(self) -> list[Decimal]:
        return [sum((r.buckets[i] for r in self.rows), Decimal(0)) for i in range(len(BUCKETS))]

    @property
    def total(self) -> Decimal:
        return sum(self.totals, Decimal(0))


# The day and the bucket limits are parameters of statements built once per side: building a
# statement costs as much as running it on an organization's open documents (the dashboard
# shows an aged balance on every view).
_DAY, _DAY_30, _DAY_60, _DAY_90 = (bindparam(name, type_=Date) for name in ("day", "day_30", "day_60", "day_90"))


def _bucket(column: Any) -> Any:
    """0 not due, 1: 1-30 days past, 2: 31-60, 3: 61-90, 4: over 90 (by date comparisons,
    which every database does the same way)."""
    return case((column >= _DAY, 0), (column >= _DAY_30, 1), (column >= _DAY_60, 2), (column >= _DAY_90, 3),
                else_=4)


@cache
def _aged_statements(side: Side) -> tuple[Any, ...]:
    """The grouped reads of an aged balance, each giving (sign, partner, bucket, amount):
    open invoices (positive, by due date) and credit notes (negative, by date) at their
    residual; the allocations dated after the day, added back; the payments' unallocated
    credit and their allocations after the day, negative."""
    invoice_kind, note_kind, direction = _KINDS[side]
    sign = case((Invoice.kind == invoice_kind, 1), else_=-1)
    bucket = _bucket(case((Invoice.kind == invoice_kind, Invoice.due_date), else_=Invoice.date))
    posted = Invoice.state.in_(_POSTED)
    documents = (select(sign, Invoice.partner_id, bucket, func.sum(Invoice.residual_company))
                 .where(Invoice.kind.in_((invoice_kind, note_kind)), Invoice.date <= _DAY, posted,
                        or_(Invoice.closed_on.is_(None), Invoice.closed_on > _DAY))
                 .group_by(Invoice.kind, Invoice.partner_id, bucket))
    reads = [documents]
    # Settled after the day: still open on it (one read per kind: each joins by its own key).
    for kind, target, value, one in ((invoice_kind, Allocation.invoice_id, Allocation.amount_company, 1),
                                     (note_kind, Allocation.credit_note_id, Allocation.source_company, -1)):
        reads.append(select(literal(one), Invoice.partner_id, bucket, func.sum(value))
                     .join(Allocation, and_(Allocation.org_id == Invoice.org_id, target == Invoice.id))
                     .where(Invoice.kind == kind, Invoice.date <= _DAY, posted, Allocation.date > _DAY)
                     .group_by(Invoice.partner_id, bucket))
    bucket = _bucket(Payment.date)
    reads.append(select(literal(-1), Payment.partner_id, bucket, func.sum(Payment.unallocated_company))
                 .where(Payment.direction == direction, Payment.date <= _DAY,
                        or_(Payment.closed_on.is_(None), Payment.closed_on > _DAY))
                 .group_by(Payment.partner_id, bucket))
    reads.append(select(literal(-1), Payment.partner_id, bucket, func.sum(Allocation.source_company))
                 .join(Allocation, and_(Allocation.org_id == Payment.org_id, Allocation.payment_id == Payment.id))
                 .where(Payment.direction == direction, Payment.date <= _DAY, Allocation.date > _DAY)
                 .group_by(Payment.partner_id, bucket))
    return tuple(reads)


def aged_balance(session: Session, day: dt.date, side: Side | str = Side.RECEIVABLE) -> AgedBalance:
    """What each partner owes (or is owed) on ``day``, by how long it is overdue.

    Invoices count positive by their due date; credit notes and unallocated payments
    negative, by their date.
    """
    side = Side(side)
    org = current_organization(session)
    limits = {"day": day, "day_30": day - dt.timedelta(days=30), "day_60": day - dt.timedelta(days=60),
              "day_90": day - dt.timedelta(days=90)}
    totals: dict[tuple[int, int], int] = defaultdict(int)
    for statement in _aged_statements(side):
        for sign, partner_id, index, amount in session.execute(statement, limits):
            totals[(partner_id, index)] += sign * int(amount)

    partner_ids = {partner_id for (partner_id, _), amount in totals.items() if amount}
    partners = {p.id: p for p in session.scalars(select(Partner).where(Partner.id.in_(partner_ids)))} \
        if partner_ids else {}
    scale = digits(org.currency)
    rows: dict[int, AgedRow] = {}
    for (partner_id, index), amount in totals.items():
        if not amount:
            continue
        partner = partners[partner_id]
        row = rows.setdefault(partner_id, AgedRow(partner_id, partner.code, partner.name))
        row.buckets[index] += Decimal(amount).scaleb(-scale)
    ordered = sorted((r for r in rows.values() if r.total or any(r.buckets)), key=lambda r: r.code)
    return AgedBalance(side, day, org.currency, ordered)


# --- statements -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatementLine:
    date: dt.date
    document: str
    label: str
    due_date: dt.date | None
    debit: Decimal
    credit: Decimal
    balance: Decimal


@dataclass(frozen=True)
class PartnerStatement:
    partner: str
    start: dt.date
    end: dt.date
    currency: str
    opening: Decimal
    lines: tuple[StatementLine, ...]

    @property
    def closing(self) -> Decimal:
        return self.lines[-1].balance if self.lines else self.opening


def partner_statement(session: Session, partner_code: str, start: dt.date, end: dt.date,
                      side: Side | str = Side.RECEIVABLE) -> PartnerStatement:
    """The partner's invoices, credit notes and payments between two dates, with a running balance
    (what the partner owes us, for a customer; what we owe, for a supplier)."""
    from plugins.accounting.partners import get_partner

    if start > end:
        raise ValidationError(N_("The first day comes after the last."))
    side = Side(side)
    invoice_kind, note_kind, direction = _KINDS[side]
    partner = get_partner(session, partner_code)
    org = current_organization(session)
    scale = digits(org.currency)
    movements: list[tuple[dt.date, int, str, str, dt.date | None, int]] = []
    for invoice in session.scalars(select(Invoice).where(
            Invoice.partner_id == partner.id, Invoice.kind.in_((invoice_kind, note_kind)),
            Invoice.state.in_(_POSTED), Invoice.date <= end)):
        sign = 1 if invoice.kind == invoice_kind else -1
        movements.append((invoice.date, invoice.id, invoice.name or "", invoice.reference,
                          invoice.due_date if sign == 1 else None, sign * invoice.total_company))
    for payment in session.scalars(select(Payment).where(Payment.partner_id == partner.id,
                                                         Payment.direction == direction, Payment.date <= end)):
        movements.append((payment.date, payment.id, payment.reference or "", payment.reference, None,
                          -payment.amount_company))
    # Exchange differences move the partner's balance too: their allocations' differences.
    fx_rows = session.execute(
        select(Allocation.date, Allocation.id, Invoice.name, Allocation.amount_company, Allocation.source_company)
        .join(Invoice, and_(Invoice.org_id == Allocation.org_id, Invoice.id == Allocation.invoice_id))
        .where(Invoice.partner_id == partner.id, Invoice.kind == invoice_kind, Allocation.date <= end,
               Allocation.amount_company != Allocation.source_company))
    for day, allocation_id, name, at_invoice, at_source in fx_rows:
        movements.append((day, allocation_id, name or "", "exchange difference", None, at_source - at_invoice))
    movements.sort(key=lambda m: (m[0], m[1]))
    opening = sum(m[5] for m in movements if m[0] < start)
    balance = opening
    lines = []
    for day, _id, document, label, due, amount in movements:
        if day < start:
            continue
        balance += amount
        lines.append(StatementLine(day, document, label, due, Decimal(max(amount, 0)).scaleb(-scale),
                                   Decimal(max(-amount, 0)).scaleb(-scale), Decimal(balance).scaleb(-scale)))
    return PartnerStatement(partner.code, start, end, org.currency, Decimal(opening).scaleb(-scale), tuple(lines))


# --- overdue invoices and reminders ------------------------------------------------------------------------

@dataclass(frozen=True)
class OverdueInvoice:
    invoice_id: int
    name: str
    partner: str
    due_date: dt.date
    days_overdue: int
    residual: Decimal
    currency: str
    reminder_level: int  # reminders already sent
    due_level: int  # the level this invoice has reached by its days overdue


def reminder_level_for(days_overdue: int) -> int:
    return sum(1 for threshold in REMINDER_DAYS if days_overdue >= threshold)


def overdue_invoices(session: Session, day: dt.date) -> list[OverdueInvoice]:
    """Customer invoices still open and past their due date on ``day``, most overdue first."""
    partner = aliased(Partner)
    rows = session.execute(
        select(Invoice, partner.code)
        .join(partner, and_(partner.org_id == Invoice.org_id, partner.id == Invoice.partner_id))
        .where(Invoice.kind == InvoiceKind.CUSTOMER_INVOICE, Invoice.state == InvoiceState.POSTED,
               Invoice.closed_on.is_(None), Invoice.due_date < day)
        .order_by(Invoice.due_date, Invoice.id))
    result = []
    for invoice, code in rows:
        days = (day - invoice.due_date).days
        result.append(OverdueInvoice(invoice.id, invoice.name or "", code, invoice.due_date, days,
                                     Decimal(invoice.residual).scaleb(-digits(invoice.currency)), invoice.currency,
                                     invoice.reminder_level, reminder_level_for(days)))
    return result


def record_reminders(session: Session, day: dt.date) -> list[OverdueInvoice]:
    """Raise every overdue invoice whose level is due to that level; returns those reminded."""
    due = [o for o in overdue_invoices(session, day) if o.due_level > o.reminder_level]
    for item in due:
        invoice = session.get_one(Invoice, (require_tenant(session), item.invoice_id))
        invoice.reminder_level = item.due_level
        invoice.last_reminder_on = day
    session.flush()
    return due
