"""Invoicing pages on the accounting blueprint: invoices and credit notes (draft, post, print,
send, cancel), payments and their allocation, partners, products, aged balances and VAT.
Thin views: parse the form, call the invoicing service, redirect or render the form again
with every problem, nothing written."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from core.errors import ComptoirError, FieldError, NotFound, ValidationError
from core.i18n import N_
from core.money import digits
from core.tenancy import current_organization
from core.web.access import actor, can, requires, t
from plugins.accounting import DRAFT, POST, READ
from plugins.accounting.web import _crumbs, _report, _report_options, bp

KIND_LABELS = {
    "customer_invoice": N_("Customer invoice"),
    "customer_credit_note": N_("Customer credit note"),
    "supplier_invoice": N_("Supplier bill"),
    "supplier_credit_note": N_("Supplier credit note"),
}
STATE_LABELS = {"draft": N_("Draft"), "posted": N_("Posted"), "cancelled": N_("Cancelled")}
PAYMENT_STATE_LABELS = {"not_paid": N_("Not paid"), "partial": N_("Partly paid"), "paid": N_("Paid")}


def minor_amount(minor: int, currency: str) -> Decimal:
    """Minor units of ``currency`` as a decimal amount (for display)."""
    return Decimal(minor).scaleb(-digits(currency))


def _amount(text: str, field: str, problems: list[FieldError], row: int | None = None) -> Decimal | None:
    from core.excel.parsing import NotParsed, parse_decimal

    if not text.strip():
        return None
    try:
        return parse_decimal(text.strip(), g.locale)
    except NotParsed:
        problems.append(FieldError(field, N_("%(value)s is not an amount."), {"value": text}, row))
        return None


def _day(text: str, field: str, problems: list[FieldError], *, required: bool = True) -> dt.date | None:
    if not text.strip():
        if required:
            problems.append(FieldError(field, N_("%(field)s is required."), {"field": field}))
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        problems.append(FieldError(field, N_("%(value)s is not a date (YYYY-MM-DD)."), {"value": text}))
        return None


def _rejected(error: ValidationError) -> dict[str | None, list[str]]:
    from core.web import field_errors

    g.db.rollback()
    return field_errors(error)


def _exists(lookup: Any, code: str) -> bool:
    try:
        lookup(g.db, code)
    except NotFound:
        return False
    return True


def _action(target: str, action: Any, message: str) -> Response:
    """Run a service call from a button: commit and say so, or roll back and say why."""
    try:
        result = action()
    except ComptoirError as error:
        if error.http_status == 404:
            raise
        g.db.rollback()
        for problem in getattr(error, "errors", None) or [error]:
            flash(problem.translate(g.locale), "error")
        return redirect(target)
    g.db.commit()
    flash(t(message, name=getattr(result, "name", "") or ""), "success")
    return redirect(result if isinstance(result, str) else target)


# --- invoices ------------------------------------------------------------------------------------------

@bp.route("/invoices")
@requires(READ)
def invoices() -> str:
    from plugins.accounting.invoices import list_invoices

    kind = request.args.get("kind") or ""
    state = request.args.get("state") or ""
    rows = list_invoices(g.db, kind=kind if kind in KIND_LABELS else None,
                         state=state if state in STATE_LABELS else None)
    return render_template("accounting/invoices.html", rows=rows, kind=kind, state=state, kinds=KIND_LABELS,
                           states=STATE_LABELS, payment_states=PAYMENT_STATE_LABELS, minor=minor_amount,
                           can_draft=can(DRAFT), crumbs=_crumbs((t(N_("Invoices")), None)))


def _invoice_form(errors: dict[str | None, list[str]] | None = None, form: Any = None, status: int = 200) -> Any:
    from plugins.accounting.partners import list_partners, list_products
    from plugins.accounting.taxes import list_taxes

    lines = []
    if form is not None:
        lines = list(zip(form.getlist("product"), form.getlist("line_label"), form.getlist("quantity"),
                         form.getlist("unit_price"), form.getlist("tax"), strict=False))
    while len(lines) < 3:
        lines.append(("", "", "1", "", ""))
    kind = (form.get("kind") if form is not None else request.args.get("kind")) or "customer_invoice"
    body = render_template("accounting/invoice_form.html", errors=errors or {}, form=form or {}, lines=lines,
                           kind=kind if kind in KIND_LABELS else "customer_invoice", kinds=KIND_LABELS,
                           partners=[p for p in list_partners(g.db) if p.active],
                           products=[p for p in list_products(g.db) if p.active],
                           taxes=[x for x in list_taxes(g.db) if x.active], today=dt.date.today().isoformat(),
                           currency=current_organization(g.db).currency,
                           crumbs=_crumbs((t(N_("Invoices")), url_for("accounting.invoices")),
                                          (t(N_("New invoice")), None)))
    return body, status


@bp.route("/invoices/new")
@requires(DRAFT)
def new_invoice() -> Any:
    return _invoice_form()


def _parse_invoice(form: Any) -> Any:
    """The form's invoice as the service's input, or every problem of the form at once."""
    from plugins.accounting.invoices import InvoiceInput, InvoiceLineInput
    from plugins.accounting.invoicing_models import InvoiceKind

    problems: list[FieldError] = []
    kind = form.get("kind", "")
    if kind not in KIND_LABELS:
        problems.append(FieldError("kind", N_("%(field)s is required."), {"field": "kind"}))
        kind = "customer_invoice"
    day = _day(form.get("date", ""), "date", problems)
    due = _day(form.get("due_date", ""), "due_date", problems, required=False)
    lines = []
    rows = zip(form.getlist("product"), form.getlist("line_label"), form.getlist("quantity"),
               form.getlist("unit_price"), form.getlist("tax"), strict=False)
    for number, (product, label, quantity, price, tax) in enumerate(rows, start=1):
        if not (product.strip() or label.strip() or price.strip()):
            continue
        count = _amount(quantity, "lines", problems, number)
        unit_price = _amount(price, "lines", problems, number)
        lines.append(InvoiceLineInput(label.strip(), count if count is not None else Decimal(1), unit_price,
                                      product=product.strip() or None, tax=tax.strip() or None))
    if not lines:
        problems.append(FieldError("lines", N_("An invoice needs at least one line.")))
    if not form.get("partner"):
        problems.append(FieldError("partner", N_("%(field)s is required."), {"field": "partner"}))
    if problems:
        raise ValidationError(problems)
    assert day is not None
    return InvoiceInput(form["partner"], day, lines, kind=InvoiceKind(kind),
                        currency=form.get("currency", "").strip().upper() or None, due_date=due,
                        reference=form.get("reference", "").strip())


@bp.route("/invoices/new", methods=["POST"])
@requires(DRAFT)
def create_invoice() -> Any:
    from plugins.accounting.invoices import create_invoice as create, post_invoice

    try:
        draft = create(g.db, _parse_invoice(request.form))
        if request.form.get("then") == "post":
            if not can(POST):
                abort(403)
            post_invoice(g.db, draft.id, actor=actor())
    except ValidationError as error:
        return _invoice_form(_rejected(error), request.form, 422)
    g.db.commit()
    flash(t(N_("The invoice was saved.")), "success")
    return redirect(url_for("accounting.invoice", invoice_id=draft.id))


@bp.route("/invoices/<int:invoice_id>")
@requires(READ)
def invoice(invoice_id: int) -> str:
    from core.db import fetch
    from plugins.accounting.invoices import credit_notes_of, get_invoice, invoice_lines, invoice_taxes
    from plugins.accounting.invoicing_models import Partner
    from plugins.accounting.payments import allocations_of
    from plugins.accounting.services import list_journals
    from plugins.accounting.taxes import list_taxes

    item = get_invoice(g.db, invoice_id)
    partner = fetch(g.db, Partner, item.partner_id, what="Partner")
    taxes = {tax.id: tax for tax in list_taxes(g.db)}
    notes = credit_notes_of(g.db, item)
    title = item.name or t(N_("Draft"))
    return render_template(
        "accounting/invoice.html", invoice=item, partner=partner, lines=invoice_lines(g.db, item),
        tax_rows=invoice_taxes(g.db, item), taxes=taxes, allocations=allocations_of(g.db, item), notes=notes,
        credits=_open_credits(item),
        journals=[j for j in list_journals(g.db) if j.kind in ("bank", "cash")], minor=minor_amount,
        kinds=KIND_LABELS, states=STATE_LABELS, payment_states=PAYMENT_STATE_LABELS,
        today=dt.date.today().isoformat(), can_post=can(POST), can_draft=can(DRAFT),
        crumbs=_crumbs((t(N_("Invoices")), url_for("accounting.invoices")), (title, None)))


def _open_credits(item: Any) -> list[tuple[str, str, Decimal]]:
    """(form value, label, amount available) of what could settle the invoice."""
    from plugins.accounting.payments import open_credits

    payments, notes = open_credits(g.db, item)
    return ([(f"payment:{p.id}", f"{t(N_('Payment'))} {p.reference} ({p.date.isoformat()})",
              minor_amount(p.unallocated, p.currency)) for p in payments]
            + [(f"credit_note:{n.id}", f"{t(N_('Credit note'))} {n.name}", minor_amount(n.residual, n.currency))
               for n in notes])


@bp.route("/invoices/<int:invoice_id>/allocate", methods=["POST"])
@requires(POST)
def allocate_to_invoice(invoice_id: int) -> Response:
    """Settle part of the invoice with a payment's remaining credit or an open credit note."""
    from plugins.accounting.invoices import get_invoice
    from plugins.accounting.payments import allocate

    get_invoice(g.db, invoice_id)

    def allocated() -> None:
        problems: list[FieldError] = []
        source, _, number = request.form.get("source", "").partition(":")
        if source not in ("payment", "credit_note") or not number.isdigit():
            problems.append(FieldError("source", N_("%(field)s is required."), {"field": "source"}))
        amount = _amount(request.form.get("amount", ""), "amount", problems)
        if amount is None and not problems:
            problems.append(FieldError("amount", N_("%(field)s is required."), {"field": "amount"}))
        if problems:
            raise ValidationError(problems)
        allocate(g.db, invoice_id, amount, actor=actor(), **{f"{source}_id": int(number)})

    return _action(url_for("accounting.invoice", invoice_id=invoice_id), allocated, N_("The amount was allocated."))


@bp.route("/invoices/<int:invoice_id>/post", methods=["POST"])
@requires(POST)
def post_invoice(invoice_id: int) -> Response:
    from plugins.accounting.invoices import get_invoice, post_invoice as post

    get_invoice(g.db, invoice_id)  # another organization's id: 404 before anything else
    return _action(url_for("accounting.invoice", invoice_id=invoice_id),
                   lambda: post(g.db, invoice_id, actor=actor()), N_("Invoice %(name)s posted."))


@bp.route("/invoices/<int:invoice_id>/delete", methods=["POST"])
@requires(DRAFT)
def delete_invoice(invoice_id: int) -> Response:
    from plugins.accounting.invoices import delete_draft_invoice, get_invoice

    get_invoice(g.db, invoice_id)
    return _action(url_for("accounting.invoice", invoice_id=invoice_id),
                   lambda: delete_draft_invoice(g.db, invoice_id) or url_for("accounting.invoices"),
                   N_("The draft was deleted."))


@bp.route("/invoices/<int:invoice_id>/cancel", methods=["POST"])
@requires(POST)
def cancel_invoice(invoice_id: int) -> Response:
    """Cancel a posted, unpaid invoice by a full credit note."""
    from plugins.accounting.invoices import cancel_invoice as cancel, get_invoice

    get_invoice(g.db, invoice_id)

    def cancelled() -> str:
        problems: list[FieldError] = []
        day = _day(request.form.get("date", ""), "date", problems, required=False)
        if problems:
            raise ValidationError(problems)
        return url_for("accounting.invoice", invoice_id=cancel(g.db, invoice_id, date=day, actor=actor()).id)

    return _action(url_for("accounting.invoice", invoice_id=invoice_id), cancelled,
                   N_("The invoice was cancelled by a credit note."))


# The printed invoice carries its stylesheet inline (the same page is mailed): allowed here
# only, with no script at all.
PRINT_CSP = ("default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; script-src 'none'; "
             "form-action 'none'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


@bp.route("/invoices/<int:invoice_id>/print")
@requires(READ)
def print_invoice(invoice_id: int) -> Any:
    """The invoice as printed and mailed: its own print stylesheet, in the partner's language
    unless ``?locale=`` says otherwise."""
    from core.i18n import SUPPORTED_LOCALES
    from plugins.accounting.printing import render_invoice_html

    locale = request.args.get("locale")
    page = render_invoice_html(g.db, invoice_id, locale if locale in SUPPORTED_LOCALES else None)
    return page, 200, {"Content-Security-Policy": PRINT_CSP}


@bp.route("/invoices/<int:invoice_id>/send", methods=["POST"])
@requires(POST)
def send_invoice(invoice_id: int) -> Response:
    from plugins.accounting.invoices import get_invoice
    from plugins.accounting.mailing import send_invoice as send

    get_invoice(g.db, invoice_id)
    to = request.form.get("to", "").strip() or None

    def sent() -> None:
        send(g.db, invoice_id, to)

    return _action(url_for("accounting.invoice", invoice_id=invoice_id), sent, N_("The invoice was sent by email."))


@bp.route("/invoices/<int:invoice_id>/payments", methods=["POST"])
@requires(POST)
def pay_invoice(invoice_id: int) -> Response:
    """Record a payment of this invoice's partner and allocate it to the invoice."""
    from core.db import fetch
    from plugins.accounting.invoices import get_invoice
    from plugins.accounting.invoicing_models import Partner, PaymentDirection
    from plugins.accounting.payments import PaymentInput, register_payment

    item = get_invoice(g.db, invoice_id)
    partner = fetch(g.db, Partner, item.partner_id, what="Partner")
    target = url_for("accounting.invoice", invoice_id=invoice_id)

    def pay() -> None:
        problems: list[FieldError] = []
        day = _day(request.form.get("date", ""), "date", problems)
        amount = _amount(request.form.get("amount", ""), "amount", problems)
        if amount is None and not problems:
            problems.append(FieldError("amount", N_("%(field)s is required."), {"field": "amount"}))
        if problems:
            raise ValidationError(problems)
        assert day is not None and amount is not None
        direction = PaymentDirection.INBOUND if item.kind_enum.is_sale else PaymentDirection.OUTBOUND
        register_payment(g.db, PaymentInput(partner.code, day, amount, direction=direction,
                                            journal=request.form.get("journal") or "BNK", currency=item.currency,
                                            reference=request.form.get("reference", "").strip(),
                                            allocations=[(item.id, amount)]), actor=actor())

    return _action(target, pay, N_("The payment was recorded."))


# --- payments ------------------------------------------------------------------------------------------

@bp.route("/payments")
@requires(READ)
def payments() -> str:
    from plugins.accounting.payments import list_payments

    rows = list_payments(g.db)
    return render_template("accounting/payments.html", rows=rows, minor=minor_amount, can_pay=can(POST),
                           crumbs=_crumbs((t(N_("Payments")), None)))


def _payment_form(errors: dict[str | None, list[str]] | None = None, form: Any = None, status: int = 200) -> Any:
    from plugins.accounting.partners import list_partners
    from plugins.accounting.payments import open_invoices
    from plugins.accounting.services import list_journals

    body = render_template("accounting/payment_form.html", errors=errors or {}, form=form or {},
                           partners=list_partners(g.db), open_invoices=open_invoices(g.db), minor=minor_amount,
                           journals=[j for j in list_journals(g.db) if j.kind in ("bank", "cash")],
                           today=dt.date.today().isoformat(), currency=current_organization(g.db).currency,
                           crumbs=_crumbs((t(N_("Payments")), url_for("accounting.payments")),
                                          (t(N_("New payment")), None)))
    return body, status


@bp.route("/payments/new")
@requires(POST)
def new_payment() -> Any:
    return _payment_form()


@bp.route("/payments/new", methods=["POST"])
@requires(POST)
def create_payment() -> Any:
    """Register a payment and allocate it to the invoices chosen (one amount per invoice)."""
    from plugins.accounting.invoicing_models import PaymentDirection
    from plugins.accounting.payments import PaymentInput, register_payment

    form = request.form
    problems: list[FieldError] = []
    day = _day(form.get("date", ""), "date", problems)
    amount = _amount(form.get("amount", ""), "amount", problems)
    if amount is None and not any(p.field == "amount" for p in problems):
        problems.append(FieldError("amount", N_("%(field)s is required."), {"field": "amount"}))
    allocations = []
    for number, (invoice_id, allocated) in enumerate(zip(form.getlist("invoice"), form.getlist("allocate"),
                                                         strict=False), start=1):
        value = _amount(allocated, "allocate", problems, number)
        if invoice_id.isdigit() and value:
            allocations.append((int(invoice_id), value))
    direction = form.get("direction", "inbound")
    if direction not in PaymentDirection.__members__.values():
        direction = "inbound"
    try:
        if problems:
            raise ValidationError(problems)
        assert day is not None and amount is not None
        payment = register_payment(g.db, PaymentInput(
            form.get("partner", ""), day, amount, direction=PaymentDirection(direction),
            journal=form.get("journal") or "BNK", currency=form.get("currency", "").strip().upper() or None,
            reference=form.get("reference", "").strip(), allocations=allocations), actor=actor())
    except ComptoirError as error:
        if not isinstance(error, ValidationError):
            error = ValidationError(FieldError(None, error.msgid, error.params))
        return _payment_form(_rejected(error), form, 422)
    g.db.commit()
    flash(t(N_("The payment was recorded.")), "success")
    return redirect(url_for("accounting.payments", _anchor=f"payment-{payment.id}"))


# --- partners and products ------------------------------------------------------------------------------

@bp.route("/partners")
@requires(READ)
def partners() -> str:
    from plugins.accounting.partners import list_partners

    return render_template("accounting/partners.html", partners=list_partners(g.db), can_edit=can(DRAFT),
                           crumbs=_crumbs((t(N_("Partners")), None)))


def _partner_form(partner: Any = None, errors: dict[str | None, list[str]] | None = None, form: Any = None,
                  status: int = 200) -> Any:
    from core.i18n import SUPPORTED_LOCALES

    values: dict[str, Any] = {}
    if partner is not None:
        values = {key: getattr(partner, key) or "" for key in ("code", "name", "kind", "country", "vat_number",
                                                               "email", "language", "currency")}
        values.update(is_customer=partner.is_customer, is_supplier=partner.is_supplier,
                      payment_terms_days=partner.payment_terms_days)
    if form is not None:
        values = {**form.to_dict(), "is_customer": bool(form.get("is_customer")),
                  "is_supplier": bool(form.get("is_supplier"))}
    title = partner.name if partner is not None else t(N_("New partner"))
    body = render_template("accounting/partner_form.html", partner=partner, values=values, errors=errors or {},
                           languages=SUPPORTED_LOCALES, can_edit=can(DRAFT),
                           crumbs=_crumbs((t(N_("Partners")), url_for("accounting.partners")), (title, None)))
    return body, status


@bp.route("/partners/new")
@requires(DRAFT)
def new_partner() -> Any:
    return _partner_form()


@bp.route("/partners/<int:partner_id>")
@requires(READ)
def partner(partner_id: int) -> Any:
    from core.db import fetch
    from plugins.accounting.invoicing_models import Partner

    return _partner_form(fetch(g.db, Partner, partner_id, what="Partner"))


def _save_partner(partner: Any) -> Any:
    from plugins.accounting.partners import PartnerInput, save_partner

    form = request.form
    problems: list[FieldError] = []
    terms = form.get("payment_terms_days", "30").strip() or "30"
    if not terms.isdigit():
        problems.append(FieldError("payment_terms_days", N_("%(field)s must be a whole number."),
                                   {"field": "payment_terms_days"}))
        terms = "30"
    code = partner.code if partner is not None else form.get("code", "")
    try:
        if problems:
            raise ValidationError(problems)
        saved = save_partner(g.db, PartnerInput(
            code, form.get("name", ""), kind=form.get("kind", "company"), is_customer=bool(form.get("is_customer")),
            is_supplier=bool(form.get("is_supplier")), country=form.get("country") or None,
            vat_number=form.get("vat_number") or None, email=form.get("email") or None,
            language=form.get("language") or None, currency=form.get("currency") or None,
            payment_terms_days=int(terms)))
    except ValidationError as error:
        return _partner_form(partner, _rejected(error), form, 422)
    g.db.commit()
    flash(t(N_("The partner was saved.")), "success")
    return redirect(url_for("accounting.partner", partner_id=saved.id))


@bp.route("/partners/new", methods=["POST"])
@requires(DRAFT)
def create_partner() -> Any:
    from plugins.accounting.partners import get_partner

    code = request.form.get("code", "").strip()
    if code and _exists(get_partner, code):
        error = ValidationError(FieldError("code", N_("There is already a partner %(code)s."), {"code": code}))
        return _partner_form(None, _rejected(error), request.form, 422)
    return _save_partner(None)


@bp.route("/partners/<int:partner_id>", methods=["POST"])
@requires(DRAFT)
def update_partner(partner_id: int) -> Any:
    from core.db import fetch
    from plugins.accounting.invoicing_models import Partner

    return _save_partner(fetch(g.db, Partner, partner_id, what="Partner"))


@bp.route("/products")
@requires(READ)
def products() -> str:
    from plugins.accounting.partners import list_products

    return render_template("accounting/products.html", products=list_products(g.db), can_edit=can(DRAFT),
                           crumbs=_crumbs((t(N_("Products")), None)))


def _product_form(product: Any = None, errors: dict[str | None, list[str]] | None = None, form: Any = None,
                  status: int = 200) -> Any:
    from plugins.accounting.taxes import list_taxes

    taxes = {tax.id: tax.code for tax in list_taxes(g.db)}
    values: dict[str, Any] = {}
    if product is not None:
        values = {"code": product.code, "name": product.name, "kind": product.kind, "price": product.price,
                  "currency": product.currency, "sale_tax": taxes.get(product.sale_tax_id or 0, ""),
                  "purchase_tax": taxes.get(product.purchase_tax_id or 0, "")}
    if form is not None:
        values = form.to_dict()
    title = product.name if product is not None else t(N_("New product"))
    body = render_template("accounting/product_form.html", product=product, values=values, errors=errors or {},
                           taxes=list_taxes(g.db), currency=current_organization(g.db).currency, can_edit=can(DRAFT),
                           crumbs=_crumbs((t(N_("Products")), url_for("accounting.products")), (title, None)))
    return body, status


@bp.route("/products/new")
@requires(DRAFT)
def new_product() -> Any:
    return _product_form()


@bp.route("/products/<int:product_id>")
@requires(READ)
def product(product_id: int) -> Any:
    from core.db import fetch
    from plugins.accounting.invoicing_models import Product

    return _product_form(fetch(g.db, Product, product_id, what="Product"))


def _save_product(product: Any) -> Any:
    from plugins.accounting.partners import ProductInput, save_product

    form = request.form
    problems: list[FieldError] = []
    price = _amount(form.get("price", ""), "price", problems)
    code = product.code if product is not None else form.get("code", "")
    try:
        if problems:
            raise ValidationError(problems)
        saved = save_product(g.db, ProductInput(
            code, form.get("name", ""), price if price is not None else Decimal(0),
            currency=form.get("currency") or None, kind=form.get("kind", "service"),
            sale_tax=form.get("sale_tax") or None, purchase_tax=form.get("purchase_tax") or None))
    except ValidationError as error:
        return _product_form(product, _rejected(error), form, 422)
    g.db.commit()
    flash(t(N_("The product was saved.")), "success")
    return redirect(url_for("accounting.product", product_id=saved.id))


@bp.route("/products/new", methods=["POST"])
@requires(DRAFT)
def create_product() -> Any:
    from plugins.accounting.partners import get_product

    code = request.form.get("code", "").strip()
    if code and _exists(get_product, code):
        error = ValidationError(FieldError("code", N_("There is already a product %(code)s."), {"code": code}))
        return _product_form(None, _rejected(error), request.form, 422)
    return _save_product(None)


@bp.route("/products/<int:product_id>", methods=["POST"])
@requires(DRAFT)
def update_product(product_id: int) -> Any:
    from core.db import fetch
    from plugins.accounting.invoicing_models import Product

    return _save_product(fetch(g.db, Product, product_id, what="Product"))


# --- aged balances and VAT --------------------------------------------------------------------------------

@bp.route("/reports/aged-receivables")
@requires(READ)
def aged_receivables() -> str:
    return _aged("aged-receivables", "receivable")


@bp.route("/reports/aged-payables")
@requires(READ)
def aged_payables() -> str:
    return _aged("aged-payables", "payable")


def _aged(name: str, side: str) -> str:
    from plugins.accounting.debtors import BUCKET_LABELS, aged_balance

    options = _report_options()
    return _report("accounting/aged_balance.html", name, options, aged=aged_balance(g.db, options.date_to, side),
                   buckets=BUCKET_LABELS)


@bp.route("/reports/vat")
@requires(READ)
def vat() -> str:
    from plugins.accounting.vat import SIDE_LABELS, vat_report

    options = _report_options()
    return _report("accounting/vat.html", "vat", options, report=vat_report(g.db, options.date_from, options.date_to),
                   sides=SIDE_LABELS)


def receivables_chart(locale: str) -> Any:
    """The dashboard's receivables ageing: what customers owe today, by how overdue."""
    from core.money import Money, format_money
    from core.web.charts import Series, bar_chart
    from plugins.accounting.debtors import BUCKET_LABELS, aged_balance
    from plugins.accounting.web import _compact

    aged = aged_balance(g.db, dt.date.today(), "receivable")
    return bar_chart(t(N_("Receivables ageing")), [t(label) for label in BUCKET_LABELS],
                     [Series(t(N_("Owed by customers")), "bar-a", aged.totals)],
                     lambda value: format_money(Money(value, aged.currency), locale), _compact)

