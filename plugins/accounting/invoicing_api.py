"""The invoicing JSON endpoints: partners, products, invoices, payments, aged balances and VAT,
declared on the accounting plugin's :class:`core.web.api.ApiBlueprint` (so they are in the
OpenAPI document and refused to organizations without the plugin)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import g, request

from core.errors import FieldError, ValidationError
from core.i18n import N_
from core.web.access import actor, check
from core.web.api import (
    AMOUNT,
    BOOLEAN,
    DATE,
    INTEGER,
    NULLABLE_STRING,
    STRING,
    Fields,
    Param,
    array,
    decimal_text,
    json_body,
    obj,
    query_date,
)
from plugins.accounting import DRAFT, POST, READ
from plugins.accounting.api import api
from plugins.accounting.invoicing_web import KIND_LABELS, minor_amount

LARGEST = Decimal(10) ** 12  # beyond any invoice: refused before it reaches a BigInteger column
SHORT_AMOUNT = {**AMOUNT, "maxLength": 16}
KIND = {"type": "string", "enum": list(KIND_LABELS)}
NULLABLE_INT = {"type": "integer", "nullable": True}

PARTNER = obj({"id": INTEGER, "code": STRING, "name": STRING, "kind": STRING, "is_customer": BOOLEAN,
               "is_supplier": BOOLEAN, "country": NULLABLE_STRING, "vat_number": NULLABLE_STRING,
               "email": NULLABLE_STRING, "language": NULLABLE_STRING, "currency": NULLABLE_STRING,
               "payment_terms_days": INTEGER, "active": BOOLEAN})
PARTNER_INPUT = obj({"code": {**STRING, "maxLength": 32}, "name": {**STRING, "maxLength": 200},
                     "kind": {"type": "string", "enum": ["company", "individual"]}, "is_customer": BOOLEAN,
                     "is_supplier": BOOLEAN, "country": STRING, "vat_number": STRING, "email": STRING,
                     "language": STRING, "currency": STRING,
                     "payment_terms_days": {"type": "integer", "minimum": 0, "maximum": 3650}}, ["code", "name"])
PRODUCT = obj({"id": INTEGER, "code": STRING, "name": STRING, "kind": STRING, "price": AMOUNT, "currency": STRING,
               "sale_tax": NULLABLE_STRING, "purchase_tax": NULLABLE_STRING, "active": BOOLEAN})
PRODUCT_INPUT = obj({"code": {**STRING, "maxLength": 32}, "name": {**STRING, "maxLength": 200},
                     "kind": {"type": "string", "enum": ["service", "goods"]}, "price": SHORT_AMOUNT,
                     "currency": STRING, "sale_tax": STRING, "purchase_tax": STRING}, ["code", "name"])
INVOICE_LINE = obj({"line_no": INTEGER, "label": STRING, "quantity": AMOUNT, "unit_price": AMOUNT,
                    "tax": NULLABLE_STRING, "untaxed": AMOUNT})
INVOICE_SUMMARY = obj({"id": INTEGER, "name": NULLABLE_STRING, "kind": KIND, "partner": STRING,
                       "state": {"type": "string", "enum": ["draft", "posted", "cancelled"]},
                       "payment_state": STRING, "date": DATE, "due_date": DATE, "currency": STRING,
                       "reference": STRING, "untaxed": AMOUNT, "tax": AMOUNT, "total": AMOUNT, "residual": AMOUNT,
                       "entry_id": NULLABLE_INT, "credit_note_of_id": NULLABLE_INT})
INVOICE = obj({"invoice": INVOICE_SUMMARY, "lines": array(INVOICE_LINE),
               "taxes": array(obj({"tax": STRING, "base": AMOUNT, "amount": AMOUNT})),
               "allocations": array(obj({"date": DATE, "amount": AMOUNT, "payment_id": NULLABLE_INT,
                                         "credit_note_id": NULLABLE_INT}))})
INVOICE_LINE_INPUT = obj({"label": {**STRING, "maxLength": 200}, "quantity": SHORT_AMOUNT,
                          "unit_price": SHORT_AMOUNT, "product": STRING, "tax": STRING, "account": STRING}, [])
INVOICE_INPUT = obj({"partner": STRING, "kind": KIND, "date": DATE, "due_date": DATE, "currency": STRING,
                     "reference": {**STRING, "maxLength": 64}, "post": BOOLEAN,
                     "lines": {**array(INVOICE_LINE_INPUT), "minItems": 1}}, ["partner", "date", "lines"])
PAYMENT = obj({"id": INTEGER, "partner": STRING, "direction": STRING, "journal": STRING, "date": DATE,
               "currency": STRING, "amount": AMOUNT, "unallocated": AMOUNT, "reference": STRING,
               "entry_id": NULLABLE_INT})
PAYMENT_INPUT = obj({"partner": STRING, "date": DATE, "amount": SHORT_AMOUNT,
                     "direction": {"type": "string", "enum": ["inbound", "outbound"]}, "journal": STRING,
                     "currency": STRING, "reference": {**STRING, "maxLength": 64},
                     "allocations": array(obj({"invoice_id": {"type": "integer", "minimum": 1,
                                                              "maximum": 2**63 - 1},
                                               "amount": SHORT_AMOUNT}))},
                    ["partner", "date", "amount"])


def _bounded(fields: Fields, name: str, *, required: bool = False) -> Decimal | None:
    value = fields.decimal(name, required=required)
    if value is not None and abs(value) >= LARGEST:
        fields.problems.append(FieldError(fields.prefix + name, N_("%(value)s is not an amount."),
                                          {"value": fields.data.get(name)}))
        return None
    return value


def _choice(fields: Fields, name: str, choices: Any, default: str) -> str:
    value = fields.string(name, required=False) or default
    if value not in choices:
        fields.problems.append(FieldError(name, N_("%(value)s is not one of: %(choices)s."),
                                          {"value": value, "choices": ", ".join(choices)}))
        return default
    return value


# --- partners --------------------------------------------------------------------------------------------

def _partner(partner: Any) -> dict[str, Any]:
    return {key: getattr(partner, key) for key in ("id", "code", "name", "kind", "is_customer", "is_supplier",
                                                   "country", "vat_number", "email", "language", "currency",
                                                   "payment_terms_days", "active")}


@api.operation("/partners", "GET", permission=READ, summary="Customers and suppliers", response=array(PARTNER))
def list_partners() -> list[dict[str, Any]]:
    from plugins.accounting.partners import list_partners as partners

    return [_partner(p) for p in partners(g.db)]


@api.operation("/partners/<int:partner_id>", "GET", permission=READ, summary="One partner", response=PARTNER)
def get_partner(partner_id: int) -> dict[str, Any]:
    from core.db import fetch
    from plugins.accounting.invoicing_models import Partner

    return _partner(fetch(g.db, Partner, partner_id, what="Partner"))


@api.operation("/partners", "POST", permission=DRAFT, status=201, body=PARTNER_INPUT, response=PARTNER,
               summary="Create a partner, or bring the one with this code up to date")
def save_partner() -> dict[str, Any]:
    from plugins.accounting.partners import PartnerInput, save_partner as save

    fields = Fields(json_body())
    code, name = fields.string("code"), fields.string("name")
    kind = _choice(fields, "kind", ("company", "individual"), "company")
    terms = fields.data.get("payment_terms_days", 30)
    if isinstance(terms, bool) or not isinstance(terms, int):
        fields.problems.append(FieldError("payment_terms_days", N_("%(field)s must be a whole number."),
                                          {"field": "payment_terms_days"}))
        terms = 30
    values = {key: fields.string(key, required=False) or None
              for key in ("country", "vat_number", "email", "language", "currency")}
    customer, supplier = fields.boolean("is_customer", True), fields.boolean("is_supplier")
    fields.raise_problems()
    partner = save(g.db, PartnerInput(code, name, kind=kind, is_customer=customer, is_supplier=supplier,
                                      payment_terms_days=terms, **values))
    g.db.commit()
    return _partner(partner)


# --- products ----------------------------------------------------------------------------------------------

def _products() -> list[dict[str, Any]]:
    from plugins.accounting.partners import list_products
    from plugins.accounting.taxes import list_taxes

    taxes = {tax.id: tax.code for tax in list_taxes(g.db)}
    return [{"id": p.id, "code": p.code, "name": p.name, "kind": p.kind, "price": p.price, "currency": p.currency,
             "sale_tax": taxes.get(p.sale_tax_id or 0), "purchase_tax": taxes.get(p.purchase_tax_id or 0),
             "active": p.active} for p in list_products(g.db)]


@api.operation("/products", "GET", permission=READ, summary="Products and services", response=array(PRODUCT))
def list_products() -> list[dict[str, Any]]:
    return _products()


@api.operation("/products", "POST", permission=DRAFT, status=201, body=PRODUCT_INPUT, response=PRODUCT,
               summary="Create a product, or bring the one with this code up to date")
def save_product() -> dict[str, Any]:
    from plugins.accounting.partners import ProductInput, save_product as save

    fields = Fields(json_body())
    code, name = fields.string("code"), fields.string("name")
    kind = _choice(fields, "kind", ("service", "goods"), "service")
    price = _bounded(fields, "price")
    values = {key: fields.string(key, required=False) or None for key in ("currency", "sale_tax", "purchase_tax")}
    fields.raise_problems()
    saved = save(g.db, ProductInput(code, name, price if price is not None else Decimal(0), kind=kind, **values))
    g.db.commit()
    return next(p for p in _products() if p["id"] == saved.id)


# --- invoices ------------------------------------------------------------------------------------------------

def _invoice_summary(invoice: Any, partner_code: str) -> dict[str, Any]:
    currency = invoice.currency
    return {"id": invoice.id, "name": invoice.name, "kind": invoice.kind, "partner": partner_code,
            "state": invoice.state, "payment_state": invoice.payment_state, "date": invoice.date.isoformat(),
            "due_date": invoice.due_date.isoformat(), "currency": currency, "reference": invoice.reference,
            **{key: decimal_text(minor_amount(getattr(invoice, key), currency))
               for key in ("untaxed", "tax", "total", "residual")},
            "entry_id": invoice.entry_id, "credit_note_of_id": invoice.credit_note_of_id}


def _invoice(invoice_id: int) -> dict[str, Any]:
    from core.db import fetch
    from plugins.accounting.invoices import get_invoice, invoice_lines, invoice_taxes
    from plugins.accounting.invoicing_models import Partner
    from plugins.accounting.payments import allocations_of
    from plugins.accounting.taxes import list_taxes

    invoice = get_invoice(g.db, invoice_id)
    partner = fetch(g.db, Partner, invoice.partner_id, what="Partner")
    taxes = {tax.id: tax.code for tax in list_taxes(g.db)}
    currency = invoice.currency
    return {
        "invoice": _invoice_summary(invoice, partner.code),
        "lines": [{"line_no": line.line_no, "label": line.label, "quantity": line.quantity,
                   "unit_price": line.unit_price, "tax": taxes.get(line.tax_id or 0),
                   "untaxed": decimal_text(minor_amount(line.untaxed, currency))}
                  for line in invoice_lines(g.db, invoice)],
        "taxes": [{"tax": taxes[row.tax_id], "base": decimal_text(minor_amount(row.base, currency)),
                   "amount": decimal_text(minor_amount(row.amount, currency))} for row in invoice_taxes(g.db, invoice)],
        "allocations": [{"date": a.date.isoformat(), "amount": decimal_text(minor_amount(a.amount, currency)),
                         "payment_id": a.payment_id, "credit_note_id": a.credit_note_id}
                        for a in allocations_of(g.db, invoice)],
    }


@api.operation("/invoices", "GET", permission=READ, summary="Invoices and credit notes, newest first",
               params=[Param("kind", KIND), Param("state", {"type": "string",
                                                            "enum": ["draft", "posted", "cancelled"]}),
                       Param("partner", STRING, description="a partner's code"),
                       Param("limit", {"type": "integer", "minimum": 1, "maximum": 500})],
               response=array(INVOICE_SUMMARY))
def list_invoices() -> list[dict[str, Any]]:
    from core.web.api import query_int
    from plugins.accounting.invoices import list_invoices as invoices

    limit = min(max(query_int("limit", 100), 1), 500)
    rows = invoices(g.db, kind=request.args.get("kind") or None, state=request.args.get("state") or None,
                    partner=request.args.get("partner") or None, limit=limit)
    return [_invoice_summary(invoice, partner.code) for invoice, partner in rows]


@api.operation("/invoices/<int:invoice_id>", "GET", permission=READ, summary="One invoice with its lines",
               response=INVOICE)
def get_invoice(invoice_id: int) -> dict[str, Any]:
    return _invoice(invoice_id)


def _invoice_input(data: dict[str, Any]) -> Any:
    from plugins.accounting.invoices import InvoiceInput, InvoiceLineInput
    from plugins.accounting.invoicing_models import InvoiceKind

    fields = Fields(data)
    partner, day = fields.string("partner"), fields.date("date")
    kind = _choice(fields, "kind", tuple(KIND_LABELS), "customer_invoice")
    due = fields.date("due_date", required=False)
    currency = fields.string("currency", required=False).upper() or None
    reference = fields.string("reference", required=False)
    raw_lines = data.get("lines")
    lines = []
    if not isinstance(raw_lines, list) or not raw_lines:
        fields.problems.append(FieldError("lines", N_("An invoice needs at least one line.")))
        raw_lines = []
    for number, raw in enumerate(raw_lines, start=1):
        if not isinstance(raw, dict):
            fields.problems.append(FieldError(f"lines[{number}]", N_("%(field)s must be a JSON object."),
                                              {"field": f"lines[{number}]"}, number))
            continue
        line = Fields(raw, prefix=f"lines[{number}].")
        quantity = _bounded(line, "quantity")
        price = _bounded(line, "unit_price")
        lines.append(InvoiceLineInput(line.string("label", required=False)[:200],
                                      quantity if quantity is not None else Decimal(1), price,
                                      product=line.string("product", required=False) or None,
                                      tax=line.string("tax", required=False) or None,
                                      account=line.string("account", required=False) or None))
        fields.problems.extend(line.problems)
    fields.raise_problems()
    return InvoiceInput(partner, day, lines, kind=InvoiceKind(kind), currency=currency, due_date=due,
                        reference=reference[:64])


@api.operation("/invoices", "POST", permission=DRAFT, status=201, body=INVOICE_INPUT, response=INVOICE,
               summary="Create a draft invoice or credit note, or post it at once with \"post\": true "
                       "(which needs the permission accounting.post)")
def create_invoice() -> dict[str, Any]:
    from plugins.accounting.invoices import create_invoice as create, post_invoice

    data = json_body()
    wanted = _invoice_input(data)
    posting = data.get("post") is True
    if posting:
        check(POST)
    draft = create(g.db, wanted)
    if posting:
        post_invoice(g.db, draft.id, actor=actor())
    g.db.commit()
    return _invoice(draft.id)


@api.operation("/invoices/<int:invoice_id>/post", "POST", permission=POST, summary="Post a draft invoice",
               response=INVOICE)
def post_invoice(invoice_id: int) -> dict[str, Any]:
    from plugins.accounting.invoices import get_invoice as fetch_invoice, post_invoice as post

    fetch_invoice(g.db, invoice_id)  # another organization's id: 404, not "cannot be posted"
    post(g.db, invoice_id, actor=actor())
    g.db.commit()
    return _invoice(invoice_id)


@api.operation("/invoices/<int:invoice_id>/allocations", "POST", permission=POST, status=201,
               summary="Settle part of an invoice with a payment's unallocated amount or an open credit note",
               body=obj({"payment_id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                         "credit_note_id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                         "amount": SHORT_AMOUNT, "date": DATE}, ["amount"]),
               response=INVOICE)
def allocate(invoice_id: int) -> dict[str, Any]:
    from plugins.accounting.invoices import get_invoice as fetch_invoice
    from plugins.accounting.payments import allocate as settle

    fetch_invoice(g.db, invoice_id)
    fields = Fields(json_body())
    amount = _bounded(fields, "amount", required=True)
    day = fields.date("date", required=False)
    sources = {}
    for name in ("payment_id", "credit_note_id"):
        value = fields.data.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
            fields.problems.append(FieldError(name, N_("%(field)s must be a whole number."), {"field": name}))
        else:
            sources[name] = value
    fields.raise_problems()
    settle(g.db, invoice_id, amount, date=day, actor=actor(), **sources)
    g.db.commit()
    return _invoice(invoice_id)


# --- payments ------------------------------------------------------------------------------------------------

def _payment(payment: Any, partner: Any = None) -> dict[str, Any]:
    from plugins.accounting.invoicing_models import Partner
    from plugins.accounting.models import Journal

    partner = partner or g.db.get_one(Partner, (payment.org_id, payment.partner_id))
    journal = g.db.get_one(Journal, (payment.org_id, payment.journal_id))
    return {"id": payment.id, "partner": partner.code, "direction": payment.direction, "journal": journal.code,
            "date": payment.date.isoformat(), "currency": payment.currency,
            "amount": decimal_text(minor_amount(payment.amount, payment.currency)),
            "unallocated": decimal_text(minor_amount(payment.unallocated, payment.currency)),
            "reference": payment.reference, "entry_id": payment.entry_id}


@api.operation("/payments", "GET", permission=READ, summary="Payments received and made, newest first",
               params=[Param("limit", {"type": "integer", "minimum": 1, "maximum": 500})], response=array(PAYMENT))
def list_payments() -> list[dict[str, Any]]:
    from core.web.api import query_int
    from plugins.accounting.payments import list_payments as payments

    limit = min(max(query_int("limit", 100), 1), 500)
    return [_payment(payment, partner) for payment, partner in payments(g.db, limit=limit)]


@api.operation("/payments", "POST", permission=POST, status=201, body=PAYMENT_INPUT, response=PAYMENT,
               summary="Record a payment and allocate it to invoices (amounts in each invoice's currency)")
def create_payment() -> dict[str, Any]:
    from plugins.accounting.invoicing_models import PaymentDirection
    from plugins.accounting.payments import PaymentInput, register_payment

    fields = Fields(json_body())
    partner, day = fields.string("partner"), fields.date("date")
    amount = _bounded(fields, "amount", required=True)
    direction = _choice(fields, "direction", ("inbound", "outbound"), "inbound")
    journal = fields.string("journal", required=False) or "BNK"
    currency = fields.string("currency", required=False).upper() or None
    reference = fields.string("reference", required=False)[:64]
    allocations = []
    raw = fields.data.get("allocations") or []
    if not isinstance(raw, list):
        fields.problems.append(FieldError("allocations", N_("%(field)s must be a JSON object."),
                                          {"field": "allocations"}))
        raw = []
    for number, item in enumerate(raw, start=1):
        line = Fields(item if isinstance(item, dict) else {}, prefix=f"allocations[{number}].")
        invoice_id = line.data.get("invoice_id")
        if isinstance(invoice_id, bool) or not isinstance(invoice_id, int) or not 0 < invoice_id < 2**63:
            line.problems.append(FieldError(f"allocations[{number}].invoice_id", N_("%(field)s is required."),
                                            {"field": "invoice_id"}, number))
        value = _bounded(line, "amount", required=True)
        fields.problems.extend(line.problems)
        if not line.problems and value is not None:
            allocations.append((invoice_id, value))
    fields.raise_problems()
    assert day is not None and amount is not None
    payment = register_payment(g.db, PaymentInput(partner, day, amount, direction=PaymentDirection(direction),
                                                  journal=journal, currency=currency, reference=reference,
                                                  allocations=allocations), actor=actor())
    g.db.commit()
    return _payment(payment)


# --- reports ------------------------------------------------------------------------------------------------

@api.operation("/reports/aged-balance", "GET", permission=READ,
               summary="What each partner owes (receivable) or is owed (payable) on a day, by how overdue",
               params=[Param("side", {"type": "string", "enum": ["receivable", "payable"]}),
                       Param("date", DATE, description="the day (default: today)")],
               response=obj({"side": STRING, "date": DATE, "currency": STRING, "buckets": array(STRING),
                             "rows": array(obj({"partner": STRING, "name": STRING, "amounts": array(AMOUNT),
                                                "total": AMOUNT})),
                             "totals": array(AMOUNT), "total": AMOUNT}))
def aged_balance() -> dict[str, Any]:
    from plugins.accounting.debtors import BUCKETS, aged_balance as report

    side = request.args.get("side") or "receivable"
    if side not in ("receivable", "payable"):
        raise ValidationError(FieldError("side", N_("%(value)s is not one of: %(choices)s."),
                                         {"value": side, "choices": "receivable, payable"}))
    day = query_date("date", dt.date.today())
    aged = report(g.db, day, side)
    return {"side": side, "date": day.isoformat(), "currency": aged.currency, "buckets": list(BUCKETS),
            "rows": [{"partner": r.code, "name": r.name, "amounts": [decimal_text(v) for v in r.buckets],
                      "total": decimal_text(r.total)} for r in aged.rows],
            "totals": [decimal_text(v) for v in aged.totals], "total": decimal_text(aged.total)}


@api.operation("/reports/vat", "GET", permission=READ, summary="VAT collected and deductible per rate over a range",
               params=[Param("from", DATE, description="first day (default: the start of the fiscal year)"),
                       Param("to", DATE, description="last day (default: today)")],
               response=obj({"from": DATE, "to": DATE, "currency": STRING, "balance": AMOUNT,
                             "rows": array(obj({"side": STRING, "tax": STRING, "name": STRING, "rate": AMOUNT,
                                                "base": AMOUNT, "amount": AMOUNT, "self_assessed": BOOLEAN}))}))
def vat() -> dict[str, Any]:
    from plugins.accounting.api import _range
    from plugins.accounting.vat import vat_report

    start, end = _range()
    report = vat_report(g.db, start, end)
    return {"from": start.isoformat(), "to": end.isoformat(), "currency": report.currency,
            "balance": decimal_text(report.balance),
            "rows": [{"side": r.side, "tax": r.tax, "name": r.name, "rate": decimal_text(r.rate),
                      "base": decimal_text(r.base), "amount": decimal_text(r.amount),
                      "self_assessed": r.self_assessed} for r in report.rows]}

