"""Invoices and credit notes, customer and supplier: drafts, posting, cancellation.

A draft holds its lines, taxes and totals (computed once, at creation). Posting numbers it
gaplessly per kind and fiscal year and posts its journal entry through the ledger service,
in batches (``post_invoices``). A posted invoice is cancelled only by a credit note.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from core import numbering
from core.chart import Account, default_account
from core.db import allocate_ids, fetch, require_tenant
from core.errors import Conflict, FieldError, NotFound, ValidationError
from core.i18n import N_
from core.money import digits, is_known_currency, quantize
from core.periods import FiscalYear
from core.tenancy import current_organization
from plugins.accounting.invoicing_models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceState,
    InvoiceTax,
    Partner,
    PaymentState,
    Product,
    Tax,
)
from plugins.accounting.rates import convert_amount, rate_at, rate_text
from plugins.accounting.services import EntryInput, LineInput, post_entries
from plugins.accounting.taxes import (
    FiscalPosition,
    Party,
    fiscal_position,
    party_of_partner,
    tax_for_position,
    taxes_by_scope,
)

PREFIXES = {
    InvoiceKind.CUSTOMER_INVOICE: "INV",
    InvoiceKind.CUSTOMER_CREDIT_NOTE: "CN",
    InvoiceKind.SUPPLIER_INVOICE: "BILL",
    InvoiceKind.SUPPLIER_CREDIT_NOTE: "BCN",
}


@dataclass(frozen=True)
class InvoiceLineInput:
    label: str = ""
    quantity: Decimal | str | int = 1
    unit_price: Decimal | str | int | None = None  # in the invoice's currency; default: the product's price
    product: str | None = None  # product code
    tax: str | None = None  # tax code; default: the product's, then the organization's default
    account: str | None = None  # default: the product's, then the default income / expense account


@dataclass(frozen=True)
class InvoiceInput:
    partner: str  # partner code
    date: dt.date
    lines: Sequence[InvoiceLineInput]
    kind: InvoiceKind = InvoiceKind.CUSTOMER_INVOICE
    currency: str | None = None  # default: the partner's, then the organization's
    due_date: dt.date | None = None  # default: date + the partner's payment terms
    reference: str = ""
    credit_note_of_id: int | None = None
    rate: Decimal | None = None  # default: the rate of the invoice date


@dataclass
class _Batch:
    """What creating a batch of invoices reads once."""

    org: Any
    partners: dict[str, Partner]
    products: dict[str, Product]
    taxes: dict[str, Tax]
    taxes_by_id: dict[int, Tax]
    by_scope: dict[str, Tax]
    accounts: dict[str, Account]
    defaults: dict[str, Account | None]
    default_tax: Tax | None
    rates: dict[tuple[str, dt.date], Decimal] = field(default_factory=dict)


def _load_batch(session: Session, inputs: Sequence[InvoiceInput]) -> _Batch:
    org = current_organization(session)
    partner_codes = {i.partner for i in inputs}
    product_codes = {line.product for i in inputs for line in i.lines if line.product}
    taxes = {t.code: t for t in session.scalars(select(Tax))}
    account_codes = {line.account for i in inputs for line in i.lines if line.account}
    defaults: dict[str, Account | None] = {}
    for role in ("income", "expense"):
        try:
            defaults[role] = default_account(session, role)
        except NotFound:
            defaults[role] = None
    return _Batch(
        org=org,
        partners={p.code: p for p in session.scalars(select(Partner).where(Partner.code.in_(partner_codes)))},
        products={p.code: p for p in session.scalars(select(Product).where(Product.code.in_(product_codes)))},
        taxes=taxes, taxes_by_id={t.id: t for t in taxes.values()}, by_scope=taxes_by_scope(session),
        accounts={a.code: a for a in session.scalars(select(Account).where(Account.code.in_(account_codes)))},
        defaults=defaults, default_tax=next((t for t in taxes.values() if t.is_default and t.active), None),
    )


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _rate(session: Session, batch: _Batch, currency: str, day: dt.date) -> Decimal:
    key = (currency, day)
    if key not in batch.rates:
        batch.rates[key] = rate_at(session, currency, day).rate
    return batch.rates[key]


def _prepare(session: Session, batch: _Batch, data: InvoiceInput, index: int,
             problems: list[FieldError]) -> dict[str, Any] | None:
    """The invoice's row, its lines and taxes, or ``None`` with ``problems`` filled."""
    found: list[FieldError] = []

    def problem(name: str, msgid: str, **params: Any) -> None:
        found.append(FieldError(name, msgid, {"invoice": index + 1, **params}, index + 1))

    kind = InvoiceKind(data.kind)
    partner = batch.partners.get(data.partner)
    if partner is None:
        problem("partner", N_("Invoice %(invoice)s: there is no partner %(code)s."), code=data.partner)
        problems.extend(found)
        return None
    org = batch.org
    currency = (data.currency or partner.currency or org.currency).upper()
    if not is_known_currency(currency):
        problem("currency", N_("Invoice %(invoice)s: %(currency)s is not a currency code."), currency=currency)
        problems.extend(found)
        return None
    if not data.lines:
        problem("lines", N_("Invoice %(invoice)s has no lines."))
    seller, buyer = Party(org.country), party_of_partner(partner)
    if not kind.is_sale:  # a supplier sells to us, a business with a VAT number
        seller, buyer = party_of_partner(partner), Party(org.country, True, "own")
    position = fiscal_position(seller, buyer)
    self_assessed = not kind.is_sale and position is FiscalPosition.REVERSE_CHARGE
    rate = Decimal(1)
    if currency != org.currency:
        if data.rate is not None:
            rate = Decimal(data.rate)
        else:
            try:
                rate = _rate(session, batch, currency, data.date)
            except NotFound:
                problem("currency", N_("Invoice %(invoice)s: there is no %(currency)s rate on %(date)s."),
                        currency=currency, date=data.date.isoformat())
    role = "income" if kind.is_sale else "expense"
    lines, bases = [], defaultdict(int)
    for number, line in enumerate(data.lines, start=1):
        product = batch.products.get(line.product) if line.product else None
        if line.product and product is None:
            problem("product", N_("Invoice %(invoice)s, line %(line)s: there is no product %(code)s."),
                    line=number, code=line.product)
            continue
        quantity = _decimal(line.quantity)
        price = _decimal(line.unit_price) if line.unit_price is not None else (
            Decimal(product.price) if product is not None else None)
        if product is not None and line.unit_price is None and product.currency != currency:
            problem("unit_price", N_("Invoice %(invoice)s, line %(line)s: the price of %(code)s is in %(currency)s."),
                    line=number, code=product.code, currency=product.currency)
        if quantity is None or price is None or price < 0:
            problem("unit_price", N_("Invoice %(invoice)s, line %(line)s: give a quantity and a unit price."),
                    line=number)
            continue
        if line.account:
            account = batch.accounts.get(line.account)
            if account is None or account.header or account.deprecated:
                problem("account", N_("Invoice %(invoice)s, line %(line)s: there is no account %(code)s."),
                        line=number, code=line.account)
                continue
            account_id = account.id
        else:
            own = product.income_account_id if (product and kind.is_sale) else (
                product.expense_account_id if product else None)
            fallback = batch.defaults.get(role)
            account_id = own or (fallback.id if fallback else None)
            if account_id is None:
                problem("account", N_("Invoice %(invoice)s, line %(line)s: no account for this line."), line=number)
                continue
        if line.tax:
            own_tax = batch.taxes.get(line.tax)
            if own_tax is None:
                problem("tax", N_("Invoice %(invoice)s, line %(line)s: there is no tax %(code)s."),
                        line=number, code=line.tax)
                continue
        elif product is not None:
            tax_id = product.sale_tax_id if kind.is_sale else product.purchase_tax_id
            own_tax = batch.taxes_by_id.get(tax_id) if tax_id else None
        else:
            own_tax = batch.default_tax
        try:
            # A purchase from another EU country's business: no VAT on the bill, but we
            # account for it ourselves at our own rate (collected and deductible at once).
            tax = own_tax if self_assessed else tax_for_position(position, own_tax, batch.by_scope)
        except ValidationError as error:
            found.extend(FieldError(e.field, e.msgid, e.params, index + 1) for e in error.errors)
            continue
        untaxed = int(quantize(quantity * price, currency).scaleb(digits(currency)))
        lines.append({"line_no": number, "product_id": product.id if product else None,
                      "label": (line.label or (product.name if product else ""))[:200],
                      "quantity": format(quantity, "f"), "unit_price": format(price, "f"),
                      "account_id": account_id, "tax_id": tax.id if tax else None, "untaxed": untaxed})
        if tax is not None:
            bases[tax.id] += untaxed
    if found:
        problems.extend(found)
        return None
    taxes = []
    scale = Decimal(1).scaleb(-digits(currency))
    for tax_id, base in bases.items():
        tax = batch.taxes_by_id[tax_id]
        amount = int(quantize(Decimal(base) * scale * Decimal(tax.rate) / 100, currency).scaleb(digits(currency)))
        taxes.append({"tax_id": tax_id, "base": base, "amount": amount,
                      "base_company": _company(base, currency, rate, org.currency),
                      "amount_company": _company(amount, currency, rate, org.currency),
                      "self_assessed": self_assessed})
    charged = [t for t in taxes if not t["self_assessed"]]
    untaxed_total = sum(line["untaxed"] for line in lines)
    tax_total = sum(t["amount"] for t in charged)
    # The company total is the sum of its converted parts, so the entry balances exactly.
    company = (sum(_company(line["untaxed"], currency, rate, org.currency) for line in lines)
               + sum(t["amount_company"] for t in charged))
    due = data.due_date or data.date + dt.timedelta(days=partner.payment_terms_days)
    invoice = {"kind": kind, "partner_id": partner.id, "state": InvoiceState.DRAFT, "date": data.date,
               "due_date": due, "currency": currency, "rate": rate_text(rate), "fiscal_position": position,
               "reference": data.reference[:64], "untaxed": untaxed_total, "tax": tax_total,
               "total": untaxed_total + tax_total, "total_company": company,
               "residual": untaxed_total + tax_total, "residual_company": company,
               "payment_state": PaymentState.NOT_PAID, "credit_note_of_id": data.credit_note_of_id}
    return {"invoice": invoice, "lines": lines, "taxes": taxes}


def _company(minor: int, currency: str, rate: Decimal, company_currency: str) -> int:
    if currency == company_currency:
        return minor
    amount = convert_amount(Decimal(minor).scaleb(-digits(currency)), rate, company_currency)
    return int(amount.scaleb(digits(company_currency)))


def create_invoices(session: Session, inputs: Sequence[InvoiceInput]) -> list[int]:
    """Create draft invoices (lines, taxes and totals computed); returns their ids in order.

    Every problem of every invoice is reported at once; nothing is written if any.
    """
    org_id = require_tenant(session)
    if not inputs:
        return []
    batch = _load_batch(session, inputs)
    problems: list[FieldError] = []
    prepared = [_prepare(session, batch, data, index, problems) for index, data in enumerate(inputs)]
    if problems:
        raise ValidationError(problems)
    count = sum(1 + len(p["lines"]) + len(p["taxes"]) for p in prepared if p)
    ids = iter(allocate_ids(session, count))
    invoice_rows, line_rows, tax_rows, result = [], [], [], []
    for item in prepared:
        assert item is not None
        invoice_id = next(ids)
        result.append(invoice_id)
        invoice_rows.append({"org_id": org_id, "id": invoice_id, **item["invoice"]})
        line_rows += [{"org_id": org_id, "id": next(ids), "invoice_id": invoice_id, **line} for line in item["lines"]]
        tax_rows += [{"org_id": org_id, "id": next(ids), "invoice_id": invoice_id, **tax} for tax in item["taxes"]]
    session.execute(insert(Invoice), invoice_rows)
    if line_rows:
        session.execute(insert(InvoiceLine), line_rows)
    if tax_rows:
        session.execute(insert(InvoiceTax), tax_rows)
    return result


def create_invoice(session: Session, data: InvoiceInput) -> Invoice:
    (invoice_id,) = create_invoices(session, [data])
    return get_invoice(session, invoice_id)


def get_invoice(session: Session, invoice_id: int) -> Invoice:
    return fetch(session, Invoice, invoice_id, what="Invoice")


def find_invoice(session: Session, name: str) -> Invoice:
    invoice = session.scalars(select(Invoice).where(Invoice.name == name)).first()
    if invoice is None:
        raise NotFound(N_("There is no invoice %(name)s."), name=name)
    return invoice


def list_invoices(session: Session, *, kind: str | None = None, state: str | None = None,
                  partner: str | None = None, limit: int = 200) -> list[tuple[Invoice, Partner]]:
    """Invoices and credit notes, newest first, with their partner; optionally of one kind,
    state or partner (its code)."""
    query = select(Invoice, Partner).join(Partner, (Partner.org_id == Invoice.org_id)
                                          & (Partner.id == Invoice.partner_id))
    if kind:
        query = query.where(Invoice.kind == kind)
    if state:
        query = query.where(Invoice.state == state)
    if partner:
        query = query.where(Partner.code == partner)
    return [(i, p) for i, p in session.execute(query.order_by(Invoice.date.desc(), Invoice.id.desc()).limit(limit))]


def credit_notes_of(session: Session, invoice: Invoice) -> list[Invoice]:
    return list(session.scalars(select(Invoice).where(Invoice.credit_note_of_id == invoice.id).order_by(Invoice.id)))


def invoice_lines(session: Session, invoice: Invoice) -> list[InvoiceLine]:
    return list(session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                                .order_by(InvoiceLine.line_no)))


def invoice_taxes(session: Session, invoice: Invoice) -> list[InvoiceTax]:
    return list(session.scalars(select(InvoiceTax).where(InvoiceTax.invoice_id == invoice.id)
                                .order_by(InvoiceTax.id)))


def delete_draft_invoice(session: Session, invoice_id: int) -> None:
    invoice = get_invoice(session, invoice_id)
    if invoice.state != InvoiceState.DRAFT:
        raise Conflict(N_("A posted invoice cannot be deleted: cancel it with a credit note."))
    session.execute(delete(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id))
    session.execute(delete(InvoiceTax).where(InvoiceTax.invoice_id == invoice.id))
    session.delete(invoice)
    session.flush()


# --- posting ----------------------------------------------------------------------------------------

def _fiscal_year(years: list[FiscalYear], day: dt.date) -> FiscalYear | None:
    return next((y for y in years if y.start_date <= day <= y.end_date), None)


def post_invoices(session: Session, invoice_ids: Sequence[int], *, actor: Any = None) -> list[int]:
    """Number the drafts and post their journal entries, all in one batch (one ledger call);
    returns the ids of the journal entries, in order."""
    org_id = require_tenant(session)
    if not invoice_ids:
        return []
    org = current_organization(session)
    # Plain rows, not ORM objects: a batch of thousands of invoices is read in columns.
    invoices = {row.id: row for row in session.execute(
        select(Invoice.id, Invoice.kind, Invoice.state, Invoice.name, Invoice.date, Invoice.partner_id,
               Invoice.currency, Invoice.rate, Invoice.total, Invoice.total_company, Invoice.reference)
        .where(Invoice.id.in_(invoice_ids)))}
    problems = []
    for index, invoice_id in enumerate(invoice_ids, start=1):
        invoice = invoices.get(invoice_id)
        if invoice is None:
            problems.append(FieldError("invoice", N_("%(what)s %(id)s was not found."),
                                       {"what": "Invoice", "id": invoice_id}, index))
        elif invoice.state != InvoiceState.DRAFT:
            problems.append(FieldError("invoice", N_("Invoice %(name)s is already posted."),
                                       {"name": invoice.name}, index))
    if problems:
        raise ValidationError(problems)
    ordered = [invoices[i] for i in invoice_ids]
    years = list(session.scalars(select(FiscalYear)))
    lines_of: dict[int, list[Any]] = defaultdict(list)
    for line in session.execute(select(InvoiceLine.invoice_id, InvoiceLine.account_id, InvoiceLine.untaxed,
                                       InvoiceLine.label)
                                .where(InvoiceLine.invoice_id.in_(invoice_ids))
                                .order_by(InvoiceLine.invoice_id, InvoiceLine.line_no)):
        lines_of[line.invoice_id].append(line)
    taxes_of: dict[int, list[Any]] = defaultdict(list)
    for tax_line in session.execute(select(InvoiceTax.invoice_id, InvoiceTax.tax_id, InvoiceTax.amount,
                                           InvoiceTax.amount_company, InvoiceTax.self_assessed)
                                    .where(InvoiceTax.invoice_id.in_(invoice_ids)).order_by(InvoiceTax.id)):
        taxes_of[tax_line.invoice_id].append(tax_line)
    partners = {p.id: p for p in session.scalars(select(Partner).where(
        Partner.id.in_({i.partner_id for i in ordered})))}
    taxes = {t.id: t for t in session.scalars(select(Tax))}
    account_ids = ({line.account_id for lines in lines_of.values() for line in lines}
                   | {t.collected_account_id for t in taxes.values() if t.collected_account_id}
                   | {t.deductible_account_id for t in taxes.values() if t.deductible_account_id}
                   | {p.receivable_account_id for p in partners.values() if p.receivable_account_id}
                   | {p.payable_account_id for p in partners.values() if p.payable_account_id})
    codes = {a.id: a.code for a in session.scalars(select(Account).where(Account.id.in_(account_ids)))}
    fallback = {role: _default_code(session, role) for role in ("receivable", "payable")}

    groups: dict[tuple[str, str], list[Invoice]] = defaultdict(list)
    for invoice in ordered:
        year = _fiscal_year(years, invoice.date)
        if year is None:
            problems.append(FieldError("date", N_("No fiscal year covers %(date)s."),
                                       {"date": invoice.date.isoformat()}))
            continue
        groups[(invoice.kind, year.name)].append(invoice)
    if problems:
        raise ValidationError(problems)
    numbers: dict[int, tuple[str, int]] = {}
    for (kind, year_name), members in sorted(groups.items()):
        for invoice, number in zip(members, numbering.next_numbers(session, f"invoice:{kind}", year_name,
                                                                   len(members)), strict=True):
            numbers[invoice.id] = (year_name, number)

    entries = []
    for invoice in ordered:
        year_name, number = numbers[invoice.id]
        name = f"{PREFIXES[InvoiceKind(invoice.kind)]}/{year_name}/{number:05d}"
        entries.append(_entry_input(invoice, name, lines_of[invoice.id], taxes_of[invoice.id],
                                    partners[invoice.partner_id], taxes, codes, fallback, org.currency))
    entry_ids = post_entries(session, entries, actor=actor)
    updates = []
    for invoice, entry_id in zip(ordered, entry_ids, strict=True):
        year_name, number = numbers[invoice.id]
        updates.append({"org_id": org_id, "id": invoice.id, "state": InvoiceState.POSTED, "year": year_name,
                        "number": number,
                        "name": f"{PREFIXES[InvoiceKind(invoice.kind)]}/{year_name}/{number:05d}",
                        "entry_id": entry_id,
                        "closed_on": invoice.date if invoice.total == 0 else None,
                        "payment_state": PaymentState.PAID if invoice.total == 0 else PaymentState.NOT_PAID})
    session.execute(update(Invoice), updates)
    posted = set(invoice_ids)
    for obj in list(session.identity_map.values()):  # a bulk update leaves loaded objects stale
        if isinstance(obj, Invoice) and obj.id in posted:
            session.expire(obj)
    return entry_ids


def _default_code(session: Session, role: str) -> str | None:
    try:
        return default_account(session, role).code
    except NotFound:
        return None


def _money(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-digits(currency))


def _entry_input(invoice: Any, name: str, lines: list[Any], tax_lines: list[Any],
                 partner: Partner, taxes: dict[int, Tax], codes: dict[int, str], fallback: dict[str, str | None],
                 company_currency: str) -> EntryInput:
    """The journal entry of an invoice: the partner's line against revenue (or expense) and VAT."""
    kind = InvoiceKind(invoice.kind)
    # A customer invoice debits the receivable; a credit note or a supplier invoice the other way.
    sign = 1 if kind.is_sale else -1
    if kind.is_credit_note:
        sign = -sign
    foreign = invoice.currency != company_currency
    rate = Decimal(invoice.rate)

    # Every line names the partner (its revenue and VAT too, for partner reports); uniform
    # lines are also what lets the ledger insert a whole batch in one statement.
    def line(account_code: str, company: int, foreign_minor: int, label: str) -> LineInput:
        return LineInput(account_code, _money(company, company_currency), label[:200],
                         invoice.currency if foreign else None,
                         _money(foreign_minor, invoice.currency) if foreign else None, partner.id)

    result = []
    if kind.is_sale:
        partner_account = codes.get(partner.receivable_account_id or 0) or fallback["receivable"]
    else:
        partner_account = codes.get(partner.payable_account_id or 0) or fallback["payable"]
    result.append(line(partner_account or "", sign * invoice.total_company, sign * invoice.total,
                       f"{name} {partner.name}"))
    for item in lines:
        result.append(line(codes[item.account_id],
                           -sign * _company(item.untaxed, invoice.currency, rate, company_currency),
                           -sign * item.untaxed, item.label or name))
    for tax_line in tax_lines:
        if tax_line.amount == 0 and tax_line.amount_company == 0:
            continue
        tax = taxes[tax_line.tax_id]
        account_id = tax.collected_account_id if kind.is_sale else tax.deductible_account_id
        result.append(line(codes[account_id or 0], -sign * tax_line.amount_company, -sign * tax_line.amount,
                           tax.name))
        if tax_line.self_assessed:  # the same VAT, due by us: deductible and collected cancel out
            result.append(line(codes[tax.collected_account_id or 0], sign * tax_line.amount_company,
                               sign * tax_line.amount, tax.name))
    journal = "SAL" if kind.is_sale else "PUR"
    return EntryInput(journal, invoice.date, result, label=name, reference=invoice.reference or name)


def post_invoice(session: Session, invoice_id: int, *, actor: Any = None) -> Invoice:
    post_invoices(session, [invoice_id], actor=actor)
    return get_invoice(session, invoice_id)


# --- credit notes ------------------------------------------------------------------------------------

def credit_note_input(session: Session, invoice: Invoice, *, date: dt.date | None = None,
                      lines: Sequence[InvoiceLineInput] | None = None) -> InvoiceInput:
    """A credit note of ``invoice``: all its lines (or ``lines``), at the invoice's rate."""
    kind = InvoiceKind(invoice.kind)
    if kind.is_credit_note:
        raise ValidationError(N_("A credit note cannot be credited."))
    partner = session.get_one(Partner, (invoice.org_id, invoice.partner_id))
    if lines is None:
        taxes = {t.id: t.code for t in session.scalars(select(Tax))}
        accounts = {a.id: a.code for a in session.scalars(select(Account).where(
            Account.id.in_({line.account_id for line in invoice_lines(session, invoice)})))}
        lines = [InvoiceLineInput(line.label, Decimal(line.quantity), Decimal(line.unit_price),
                                  tax=taxes.get(line.tax_id or 0), account=accounts[line.account_id])
                 for line in invoice_lines(session, invoice)]
    return InvoiceInput(partner.code, date or invoice.date, lines, kind=kind.credit_note_kind,
                        currency=invoice.currency, due_date=date or invoice.date,
                        reference=invoice.name or "", credit_note_of_id=invoice.id, rate=Decimal(invoice.rate))


def cancel_invoice(session: Session, invoice_id: int, *, date: dt.date | None = None, actor: Any = None) -> Invoice:
    """Cancel a posted, unpaid invoice by a full credit note allocated to it; returns the credit note."""
    from plugins.accounting.payments import allocate

    invoice = get_invoice(session, invoice_id)
    if invoice.state != InvoiceState.POSTED:
        raise Conflict(N_("Only a posted invoice can be cancelled; delete a draft instead."))
    if invoice.residual != invoice.total:
        raise Conflict(N_("Invoice %(name)s has payments: undo them before cancelling it."), name=invoice.name)
    note = create_invoice(session, credit_note_input(session, invoice, date=date))
    post_invoice(session, note.id, actor=actor)
    allocate(session, invoice.id, _money(invoice.total, invoice.currency), credit_note_id=note.id, actor=actor)
    session.execute(update(Invoice).where(Invoice.id == invoice.id).values(state=InvoiceState.CANCELLED)
                    .execution_options(synchronize_session=False))
    session.expire(invoice)
    return get_invoice(session, note.id)
