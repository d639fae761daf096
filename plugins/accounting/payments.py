"""Payments and their allocation to invoices (the reconciliation of receivable and payable lines).

A payment is posted on a bank or cash journal against the partner's account; what is not
allocated stays as the partner's credit. An allocation settles part of an invoice with part
of a payment or of a credit note: the invoice's residual and state follow, and when the two
were booked at different rates the difference is posted as a realized exchange gain or loss.
Undoing an allocation deletes it and reverses that entry.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.chart import Account, default_account
from core.db import fetch, require_tenant
from core.errors import Conflict, FieldError, ValidationError
from core.i18n import N_
from core.money import digits, is_known_currency, quantize
from core.tenancy import current_organization
from plugins.accounting.invoicing_models import (
    Allocation,
    Invoice,
    InvoiceKind,
    InvoiceState,
    Partner,
    Payment,
    PaymentDirection,
    PaymentState,
)
from plugins.accounting.models import JournalKind
from plugins.accounting.partners import get_partner
from plugins.accounting.rates import convert_amount, rate_at, rate_text
from plugins.accounting.services import EntryInput, LineInput, get_journal, post_entries, reverse_entry


@dataclass(frozen=True)
class PaymentInput:
    partner: str  # partner code
    date: dt.date
    amount: Decimal | str | int  # positive, in ``currency``
    direction: PaymentDirection = PaymentDirection.INBOUND
    journal: str = "BNK"
    currency: str | None = None  # default: the organization's
    reference: str = ""
    rate: Decimal | None = None  # default: the rate of the payment date
    allocations: Sequence[tuple[int, Decimal | str | int]] = field(default_factory=tuple)  # (invoice id, amount)


def _minor(amount: Decimal, currency: str) -> int:
    return int(quantize(amount, currency).scaleb(digits(currency)))


def _money(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-digits(currency))


def _company(minor: int, currency: str, rate: Decimal, company_currency: str) -> int:
    if currency == company_currency:
        return minor
    return _minor(convert_amount(_money(minor, currency), rate, company_currency), company_currency)


def journal_account(session: Session, journal_code: str) -> Account:
    """The bank or cash account a treasury journal posts to."""
    journal = get_journal(session, journal_code)
    if journal.kind == JournalKind.BANK:
        return default_account(session, "bank")
    if journal.kind == JournalKind.CASH:
        return default_account(session, "cash")
    raise ValidationError(FieldError("journal", N_("Journal %(code)s is not a bank or cash journal."),
                                     {"code": journal_code}))


def partner_account(session: Session, partner: Partner, *, receivable: bool) -> Account:
    account_id = partner.receivable_account_id if receivable else partner.payable_account_id
    if account_id is None:
        return default_account(session, "receivable" if receivable else "payable")
    return session.get_one(Account, (partner.org_id, account_id))


def register_payment(session: Session, data: PaymentInput, *, actor: Any = None) -> Payment:
    """Post a payment and allocate it to the invoices named in ``data.allocations``."""
    require_tenant(session)
    org = current_organization(session)
    partner = get_partner(session, data.partner)
    currency = (data.currency or org.currency).upper()
    problems = []
    amount = Decimal(str(data.amount))
    if not is_known_currency(currency):
        problems.append(FieldError("currency", N_("%(currency)s is not a currency code."), {"currency": currency}))
        currency = org.currency
    if amount <= 0 or quantize(amount, currency) != amount:
        problems.append(FieldError("amount", N_("%(value)s is not an amount."), {"value": str(data.amount)}))
    if problems:
        raise ValidationError(problems)
    journal = get_journal(session, data.journal)
    cash_account = journal_account(session, data.journal)
    inbound = PaymentDirection(data.direction) is PaymentDirection.INBOUND
    counterpart = partner_account(session, partner, receivable=inbound)
    rate = Decimal(1) if currency == org.currency else (
        Decimal(data.rate) if data.rate is not None else rate_at(session, currency, data.date).rate)
    minor = _minor(amount, currency)
    company = _company(minor, currency, rate, org.currency)
    foreign = currency != org.currency
    sign = 1 if inbound else -1

    def line(code: str, value: int, label: str, partner_id: int | None = None) -> LineInput:
        return LineInput(code, _money(value, org.currency), label, currency if foreign else None,
                         _money(minor if value > 0 else -minor, currency) if foreign else None, partner_id)

    label = data.reference or partner.name
    (entry_id,) = post_entries(session, [EntryInput(
        data.journal, data.date,
        [line(cash_account.code, sign * company, label), line(counterpart.code, -sign * company, label, partner.id)],
        label=label[:200], reference=data.reference)], actor=actor)
    payment = Payment(direction=data.direction, partner_id=partner.id, journal_id=journal.id, date=data.date,
                      currency=currency, rate=rate_text(rate), amount=minor, amount_company=company,
                      unallocated=minor, unallocated_company=company, reference=data.reference[:64],
                      entry_id=entry_id)
    session.add(payment)
    session.flush()
    for invoice_id, allocated in data.allocations:
        allocate(session, invoice_id, Decimal(str(allocated)), payment_id=payment.id, actor=actor)
    return payment


def get_payment(session: Session, payment_id: int) -> Payment:
    return fetch(session, Payment, payment_id, what="Payment")


def _state(invoice: Invoice) -> str:
    if invoice.residual == 0:
        return PaymentState.PAID
    return PaymentState.NOT_PAID if invoice.residual == invoice.total else PaymentState.PARTIAL


def allocate(session: Session, invoice_id: int, amount: Decimal | str | int, *, payment_id: int | None = None,
             credit_note_id: int | None = None, date: dt.date | None = None, actor: Any = None) -> Allocation:
    """Settle ``amount`` (in the invoice's currency) of an invoice with a payment or a credit note."""
    if (payment_id is None) == (credit_note_id is None):
        raise ValidationError(N_("An allocation takes either a payment or a credit note."))
    org = current_organization(session)
    invoice = fetch(session, Invoice, invoice_id, what="Invoice")
    kind = InvoiceKind(invoice.kind)
    value = Decimal(str(amount))
    problems: list[FieldError] = []
    if invoice.state != InvoiceState.POSTED or kind.is_credit_note:
        problems.append(FieldError("invoice", N_("Only a posted invoice can be paid.")))
    if payment_id is not None:
        source: Payment | Invoice = fetch(session, Payment, payment_id, what="Payment")
        wanted = PaymentDirection.INBOUND if kind.is_sale else PaymentDirection.OUTBOUND
        if source.direction != wanted:
            problems.append(FieldError("payment", N_("This payment goes the other way.")))
        available, available_company = source.unallocated, source.unallocated_company
    else:
        source = fetch(session, Invoice, credit_note_id or 0, what="Invoice")
        if source.kind != kind.credit_note_kind or source.state != InvoiceState.POSTED:
            problems.append(FieldError("credit_note", N_("This document is not a posted credit note for this invoice.")))
        available, available_company = source.residual, source.residual_company
    if source.partner_id != invoice.partner_id:
        problems.append(FieldError("partner", N_("The invoice and the payment are not of the same partner.")))
    if source.currency != invoice.currency:
        problems.append(FieldError("currency", N_("The invoice is in %(invoice)s, the payment in %(payment)s."),
                                   {"invoice": invoice.currency, "payment": source.currency}))
    if value <= 0 or quantize(value, invoice.currency) != value:
        problems.append(FieldError("amount", N_("%(value)s is not an amount."), {"value": str(amount)}))
    minor = _minor(value, invoice.currency) if not problems else 0
    if not problems and minor > invoice.residual:
        problems.append(FieldError("amount", N_("Only %(open)s is still open on %(name)s."),
                                   {"open": str(_money(invoice.residual, invoice.currency)), "name": invoice.name}))
    if not problems and minor > available:
        problems.append(FieldError("amount", N_("Only %(open)s of the payment is still unallocated."),
                                   {"open": str(_money(available, invoice.currency))}))
    if problems:
        raise ValidationError(problems)
    # The last part of each side takes what is left, so both residuals reach zero exactly.
    at_invoice_rate = invoice.residual_company if minor == invoice.residual else _company(
        minor, invoice.currency, Decimal(invoice.rate), org.currency)
    at_source_rate = available_company if minor == available else _company(
        minor, invoice.currency, Decimal(source.rate), org.currency)
    day = date or max(invoice.date, source.date)
    fx_entry_id = _post_exchange_difference(session, invoice, at_invoice_rate, at_source_rate, day, actor)
    allocation = Allocation(invoice_id=invoice.id, payment_id=payment_id, credit_note_id=credit_note_id, date=day,
                            amount=minor, amount_company=at_invoice_rate, source_company=at_source_rate,
                            fx_entry_id=fx_entry_id)
    session.add(allocation)
    invoice.residual -= minor
    invoice.residual_company -= at_invoice_rate
    invoice.payment_state = _state(invoice)
    invoice.closed_on = day if invoice.residual == 0 else None
    if isinstance(source, Payment):
        source.unallocated -= minor
        source.unallocated_company -= at_source_rate
        source.closed_on = day if source.unallocated == 0 else None
    else:
        source.residual -= minor
        source.residual_company -= at_source_rate
        source.payment_state = _state(source)
        source.closed_on = day if source.residual == 0 else None
    session.flush()
    return allocation


def _post_exchange_difference(session: Session, invoice: Invoice, at_invoice_rate: int, at_source_rate: int,
                              day: dt.date, actor: Any) -> int | None:
    """Bring the partner's account to zero for the settled part; the difference is a gain or a loss."""
    org = current_organization(session)
    kind = InvoiceKind(invoice.kind)
    # The invoice put +at_invoice_rate on a receivable (−, on a payable); the payment took off
    # at_source_rate: what is left on the partner's account is corrected here.
    left = (at_invoice_rate - at_source_rate) if kind.is_sale else (at_source_rate - at_invoice_rate)
    if left == 0:
        return None
    partner = session.get_one(Partner, (invoice.org_id, invoice.partner_id))
    account = partner_account(session, partner, receivable=kind.is_sale)
    counter = left  # the counterpart line's amount: debit (> 0) is a loss, credit a gain
    fx_account = default_account(session, "fx_loss" if counter > 0 else "fx_gain")
    foreign = invoice.currency != org.currency
    label = f"{invoice.name}: exchange difference"
    lines = [LineInput(account.code, _money(-left, org.currency), label, invoice.currency if foreign else None,
                       Decimal(0) if foreign else None, partner.id),
             LineInput(fx_account.code, _money(counter, org.currency), label)]
    (entry_id,) = post_entries(session, [EntryInput("MISC", day, lines, label=label, reference=invoice.name or "")],
                               actor=actor)
    return entry_id


def undo_allocation(session: Session, allocation_id: int, *, actor: Any = None) -> None:
    """Unreconcile: the invoice and the payment (or credit note) are open again by that amount."""
    allocation = fetch(session, Allocation, allocation_id, what="Allocation")
    invoice = fetch(session, Invoice, allocation.invoice_id, what="Invoice")
    if invoice.state == InvoiceState.CANCELLED:
        raise Conflict(N_("Invoice %(name)s is cancelled by a credit note."), name=invoice.name)
    if allocation.fx_entry_id is not None:
        reverse_entry(session, allocation.fx_entry_id, date=allocation.date, actor=actor)
    invoice.residual += allocation.amount
    invoice.residual_company += allocation.amount_company
    invoice.payment_state = _state(invoice)
    invoice.closed_on = None
    if allocation.payment_id is not None:
        payment = fetch(session, Payment, allocation.payment_id, what="Payment")
        payment.unallocated += allocation.amount
        payment.unallocated_company += allocation.source_company
        payment.closed_on = None
    else:
        note = fetch(session, Invoice, allocation.credit_note_id or 0, what="Invoice")
        note.residual += allocation.amount
        note.residual_company += allocation.source_company
        note.payment_state = _state(note)
        note.closed_on = None
    session.delete(allocation)
    session.flush()


def list_payments(session: Session, *, limit: int = 200) -> list[tuple[Payment, Partner]]:
    """Payments, newest first, with their partner."""
    query = select(Payment, Partner).join(Partner, (Partner.org_id == Payment.org_id)
                                          & (Partner.id == Payment.partner_id))
    return [(p, partner) for p, partner in
            session.execute(query.order_by(Payment.date.desc(), Payment.id.desc()).limit(limit))]


def open_invoices(session: Session, *, limit: int = 500) -> list[Invoice]:
    """Posted invoices (not credit notes) with something still to pay, oldest first."""
    return list(session.scalars(select(Invoice).where(
        Invoice.state == InvoiceState.POSTED, Invoice.residual > 0,
        Invoice.kind.in_((InvoiceKind.CUSTOMER_INVOICE, InvoiceKind.SUPPLIER_INVOICE)))
        .order_by(Invoice.date, Invoice.id).limit(limit)))


def open_credits(session: Session, invoice: Invoice) -> tuple[list[Payment], list[Invoice]]:
    """What could settle ``invoice``: its partner's payments with an unallocated part and open
    credit notes, in its currency (nothing for a draft, a credit note or a paid invoice)."""
    kind = InvoiceKind(invoice.kind)
    if invoice.state != InvoiceState.POSTED or kind.is_credit_note or invoice.residual <= 0:
        return [], []
    direction = PaymentDirection.INBOUND if kind.is_sale else PaymentDirection.OUTBOUND
    payments = session.scalars(select(Payment).where(
        Payment.partner_id == invoice.partner_id, Payment.direction == direction, Payment.unallocated > 0,
        Payment.currency == invoice.currency).order_by(Payment.date, Payment.id))
    notes = session.scalars(select(Invoice).where(
        Invoice.partner_id == invoice.partner_id, Invoice.kind == kind.credit_note_kind,
        Invoice.state == InvoiceState.POSTED, Invoice.residual > 0, Invoice.currency == invoice.currency)
        .order_by(Invoice.date, Invoice.id))
    return list(payments), list(notes)


def allocations_of(session: Session, invoice: Invoice) -> list[Allocation]:
    return list(session.scalars(select(Allocation).where(Allocation.invoice_id == invoice.id)
                                .order_by(Allocation.date, Allocation.id)))


def payment_allocations(session: Session, payment: Payment) -> list[Allocation]:
    return list(session.scalars(select(Allocation).where(Allocation.payment_id == payment.id)
                                .order_by(Allocation.date, Allocation.id)))


def partner_credit(session: Session, partner_code: str) -> Decimal:
    """The partner's unallocated payments, in the organization's currency."""
    from sqlalchemy import func

    partner = get_partner(session, partner_code)
    total = session.scalar(select(func.coalesce(func.sum(Payment.unallocated_company), 0))
                           .where(Payment.partner_id == partner.id)) or 0
    return _money(int(total), current_organization(session).currency)
