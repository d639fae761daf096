"""The printable invoice: one HTML page in the partner's language, with the Swiss QR-bill
payment part for the CHF and EUR customer invoices of Swiss organizations.

Rendered with jinja2 directly (no Flask needed): the web edge serves what
:func:`render_invoice_html` returns, and the email service attaches it.
"""
from __future__ import annotations

import io
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from moneyed import Money
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import N_, is_rtl, normalize_locale, translate
from core.money import digits, format_money, format_number
from core.tenancy import current_organization
from plugins.accounting.invoices import get_invoice, invoice_lines, invoice_taxes
from plugins.accounting.invoicing_models import (
    Invoice,
    InvoiceKind,
    InvoicingSettings,
    Partner,
    Tax,
)
from plugins.accounting.partners import partner_addresses

TITLES = {
    InvoiceKind.CUSTOMER_INVOICE: N_("Invoice"),
    InvoiceKind.CUSTOMER_CREDIT_NOTE: N_("Credit note"),
    InvoiceKind.SUPPLIER_INVOICE: N_("Supplier invoice"),
    InvoiceKind.SUPPLIER_CREDIT_NOTE: N_("Supplier credit note"),
}
QR_LANGUAGES = {"en", "de", "fr", "it"}


@cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                       autoescape=select_autoescape(["html"]))


def invoicing_settings(session: Session) -> InvoicingSettings | None:
    return session.scalars(select(InvoicingSettings)).first()


def save_invoicing_settings(session: Session, **values: Any) -> InvoicingSettings:
    """Create or update the organization's invoicing settings (address, VAT number, IBAN, SMTP)."""
    from core.errors import FieldError, ValidationError

    allowed = {c.key for c in InvoicingSettings.__table__.columns} - {"org_id", "id"}
    unknown = set(values) - allowed
    if unknown:
        raise ValidationError(FieldError(sorted(unknown)[0], N_("Unknown setting %(name)s."),
                                         {"name": sorted(unknown)[0]}))
    if values.get("smtp_security") not in (None, "none", "starttls", "ssl"):
        raise ValidationError(FieldError("smtp_security", N_("SMTP security is none, starttls or ssl.")))
    settings = invoicing_settings(session)
    if settings is None:
        settings = InvoicingSettings(**values)
        session.add(settings)
    else:
        for key, value in values.items():
            setattr(settings, key, value)
    session.flush()
    return settings


def invoice_language(session: Session, invoice: Invoice) -> str:
    partner = session.get_one(Partner, (invoice.org_id, invoice.partner_id))
    return normalize_locale(partner.language or current_organization(session).locale)


def render_invoice_html(session: Session, invoice_id: int, locale: str | None = None) -> str:
    """The invoice as a print-ready HTML page, in ``locale`` (default: the partner's language)."""
    invoice = get_invoice(session, invoice_id)
    org = current_organization(session)
    partner = session.get_one(Partner, (invoice.org_id, invoice.partner_id))
    locale = normalize_locale(locale or invoice_language(session, invoice))
    settings = invoicing_settings(session)
    taxes = {t.id: t for t in session.scalars(select(Tax))}
    kind = InvoiceKind(invoice.kind)
    currency = invoice.currency

    def money(minor: int) -> str:
        return format_money(Money(Decimal(minor).scaleb(-digits(currency)), currency), locale)

    def rate_text(tax_id: int | None) -> str:
        if tax_id is None:
            return ""
        return format_number(Decimal(taxes[tax_id].rate), locale) + " %"

    lines = [{"label": line.label, "quantity": format_number(Decimal(line.quantity), locale),
              "unit_price": format_money(Money(Decimal(line.unit_price), currency), locale)
              if Decimal(line.unit_price) == Decimal(line.unit_price).quantize(Decimal(1).scaleb(-digits(currency)))
              else format_number(Decimal(line.unit_price), locale),
              "rate": rate_text(line.tax_id), "amount": money(line.untaxed)}
             for line in invoice_lines(session, invoice)]
    tax_rows = [{"name": taxes[t.tax_id].name, "base": money(t.base), "amount": money(t.amount)}
                for t in invoice_taxes(session, invoice)]
    mentions = list(dict.fromkeys(taxes[t.tax_id].mention for t in invoice_taxes(session, invoice)
                                  if taxes[t.tax_id].mention))
    seller_address = [settings.street, " ".join(p for p in (settings.postal_code, settings.city) if p)] \
        if settings else []
    buyer_address = []
    addresses = partner_addresses(session, partner)
    if addresses:
        first = addresses[0]
        buyer_address = [first.street, first.street2, " ".join(p for p in (first.postal_code, first.city) if p),
                         first.country or ""]
    context = {
        "locale": locale, "rtl": is_rtl(locale), "invoice": invoice, "partner": partner,
        "title": translate(TITLES[kind], locale), "is_credit_note": kind.is_credit_note,
        "dates": {"date": format_date(invoice.date, "medium", locale=locale),
                  "due": format_date(invoice.due_date, "medium", locale=locale)},
        "seller": {"name": org.name, "address": [a for a in seller_address if a],
                   "vat_number": settings.vat_number if settings else None,
                   "iban": settings.iban if settings else None},
        "buyer_address": [a for a in buyer_address if a],
        "lines": lines, "taxes": tax_rows, "mentions": mentions,
        "totals": {"untaxed": money(invoice.untaxed), "total": money(invoice.total),
                   "residual": money(invoice.residual) if 0 < invoice.residual < invoice.total else None},
        "qr_bill": swiss_qr_bill_svg(session, invoice, locale),
        "_": lambda msgid, **params: translate(msgid, locale, **params),
    }
    return _environment().get_template("invoice_print.html").render(**context)


def swiss_qr_bill_svg(session: Session, invoice: Invoice, locale: str) -> Markup | None:
    """The QR-bill payment part (SVG) of a Swiss organization's CHF or EUR customer invoice with
    an IBAN in its settings; ``None`` for every other invoice."""
    from qrbill import QRBill

    org = current_organization(session)
    settings = invoicing_settings(session)
    if (org.country != "CH" or invoice.currency not in ("CHF", "EUR") or settings is None or not settings.iban
            or InvoiceKind(invoice.kind) is not InvoiceKind.CUSTOMER_INVOICE):
        return None
    partner = session.get_one(Partner, (invoice.org_id, invoice.partner_id))
    addresses = partner_addresses(session, partner)
    debtor = None
    if addresses and addresses[0].city and addresses[0].postal_code:
        first = addresses[0]
        debtor = {"name": partner.name[:70], "line1": first.street[:70],
                  "line2": f"{first.postal_code} {first.city}"[:70], "country": first.country or partner.country}
    iban = settings.iban.replace(" ", "").upper()
    reference = None
    if 30000 <= int(iban[4:9] or 0) <= 31999:  # a QR-IBAN takes a QR reference: the invoice's id, checked
        from stdnum.ch import esr

        digits_only = f"{invoice.id:026d}"
        reference = digits_only + esr.calc_check_digit(digits_only)
    bill = QRBill(account=iban, currency=invoice.currency, reference_number=reference,
                  amount=format(Decimal(invoice.residual).scaleb(-digits(invoice.currency)), "f"),
                  creditor={"name": org.name[:70], "line1": settings.street[:70],
                            "line2": f"{settings.postal_code} {settings.city}"[:70], "country": "CH"},
                  debtor=debtor, additional_information=(invoice.name or "")[:140],
                  language=locale if locale in QR_LANGUAGES else "en")
    buffer = io.StringIO()
    bill.as_svg(buffer)
    svg = buffer.getvalue()
    return Markup(svg[svg.index("<svg"):])  # noqa: S704 - the library's own SVG, without the XML prolog
