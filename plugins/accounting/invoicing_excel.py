"""Sheets that carry an organization's invoicing to other books: taxes, invoicing settings,
invoices and credit notes (with their lines and taxes), payments, allocations, bank statements.

How posted documents come back without being posted twice
---------------------------------------------------------
A whole-organization workbook holds the ledger itself in its journal entries sheet, which
restores every posted entry under its own name and number (see ``excel.py``): an invoice's
entry, a payment's, an exchange difference's, a reversal's. So these sheets never post:

- an invoice (or credit note) is restored as it was — kind, number, state, lines, taxes and
  totals as exported, never recomputed with today's rates or taxes — and linked by the name
  of its journal entry (``Entry``) to the entry the ledger sheet restored. A draft comes
  back as a draft, without an entry. The numbering of invoices goes on after the restored
  numbers (``invoices.restore_invoices``);
- a payment is linked the same way to its entry, which is also its natural key (a payment has
  no number of its own, and its entry's name is unique);
- an allocation names its invoice, its payment (by entry) or credit note, and its exchange
  difference's entry. Allocations are written in the order they were made, each bringing
  residuals, payment states and closing days down as when it was made
  (``payments.restore_allocation``): residuals are not copied but follow from the documents
  and their allocations, so a workbook cannot hold a residual its allocations contradict. An
  allocation that was undone is not in the workbook; its exchange difference and that
  entry's reversal are in the ledger sheet like any entries;
- a statement line keeps its fingerprint (importing the same statement again adds nothing)
  and names the payment it was settled by.

Every sheet is idempotent by its natural key: taxes by code, settings by name, documents by
number (drafts, which have none, by partner, date and rank among that partner's drafts of the
day), invoice taxes by document and tax, payments by entry, allocations by invoice and rank,
statement lines by journal and fingerprint. A record whose key exists is left as it is:
documents and their allocations never change by import (only taxes and settings follow the
file with ``--update``).

The SMTP password is never exported: a workbook is a file that travels. It is kept in the
books it is imported into, and is set again by hand in new books.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.chart import Account
from core.errors import FieldError, ValidationError
from core.excel.schema import Choice, Column, ColumnType, ImportContext, ImportCounts, Record, Schema
from core.i18n import N_
from core.money import digits
from core.tenancy import current_organization
from plugins.accounting.invoicing_models import (
    Allocation,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceState,
    InvoiceTax,
    Partner,
    Payment,
    PaymentDirection,
    Product,
    StatementLine,
    Tax,
    TaxScope,
)
from plugins.accounting.models import EntryState, Journal, JournalEntry

_FR, _ES, _FA = "fr", "es", "fa"


def _minor(value: Decimal | None, currency: str) -> int:
    return int((value or Decimal(0)).scaleb(digits(currency)))


def _amount(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-digits(currency))


def _is_decimal(text: Any) -> bool:
    try:
        return Decimal(str(text)).is_finite()
    except InvalidOperation:
        return False


def _entry_ids(session: Session) -> dict[str, int]:
    return dict(session.execute(select(JournalEntry.name, JournalEntry.id)
                                .where(JournalEntry.state == EntryState.POSTED)).all())


def _entry_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(JournalEntry.id, JournalEntry.name)
                                .where(JournalEntry.state == EntryState.POSTED)).all())


def _incoming_entries(context: ImportContext) -> set[str]:
    return {str(record.key[0]) for record in context.incoming.get("journal_entries", ())}


def _relabel(error: ValidationError, row: int) -> ValidationError:
    return ValidationError([FieldError(e.field, e.msgid, e.params, row) for e in error.errors])


# --- taxes ------------------------------------------------------------------------------------------

TAX_COLUMNS = (
    Column("code", N_("Code"), ColumnType.CODE, required=True, example="VAT20",
           aliases={_FR: ("Code",), _ES: ("Código",), _FA: ("کد",)}),
    Column("name", N_("Name"), required=True, example="VAT 20%",
           aliases={_FR: ("Nom", "Libellé"), _ES: ("Nombre",), _FA: ("نام",)}),
    Column("rate", N_("Rate (%)"), ColumnType.TEXT, required=True, example="20",
           aliases={_FR: ("Taux (%)", "Taux"), _ES: ("Tipo (%)", "Tipo"), _FA: ("نرخ (٪)", "نرخ")}),
    Column("scope", N_("Scope"), ColumnType.CHOICE, choices=(
        Choice(TaxScope.DOMESTIC, N_("Domestic")), Choice(TaxScope.REVERSE_CHARGE, N_("Reverse charge")),
        Choice(TaxScope.EXPORT, N_("Export"))), aliases={_FR: ("Portée",), _ES: ("Ámbito",), _FA: ("دامنه",)}),
    Column("collected", N_("Collected VAT account"), ColumnType.CODE,
           aliases={_FR: ("Compte de TVA collectée",), _ES: ("Cuenta de IVA repercutido",),
                    _FA: ("حساب مالیات دریافتنی",)}),
    Column("deductible", N_("Deductible VAT account"), ColumnType.CODE,
           aliases={_FR: ("Compte de TVA déductible",), _ES: ("Cuenta de IVA soportado",),
                    _FA: ("حساب مالیات پرداختنی",)}),
    Column("mention", N_("Mention on invoices"),
           aliases={_FR: ("Mention sur les factures",), _ES: ("Mención en las facturas",), _FA: ("عبارت روی فاکتور",)}),
    Column("default", N_("Default"), ColumnType.BOOLEAN,
           aliases={_FR: ("Par défaut",), _ES: ("Por defecto",), _FA: ("پیش‌فرض",)}),
    Column("active", N_("Active"), ColumnType.BOOLEAN, aliases={_FR: ("Actif",), _ES: ("Activo",), _FA: ("فعال",)}),
)


def _tax_input(record: Record) -> Any:
    from plugins.accounting.taxes import TaxInput

    rate = Decimal(str(record["rate"])) if _is_decimal(record["rate"]) else Decimal("NaN")
    return TaxInput(str(record.key[0]), record["name"] or "", rate, record["scope"] or TaxScope.DOMESTIC,
                    record["collected"], record["deductible"], record["mention"] or "", bool(record["default"]),
                    True if record["active"] is None else bool(record["active"]))


def validate_taxes(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    from plugins.accounting.taxes import check_tax

    incoming = {str(r.key[0]) for r in context.incoming.get("accounts", ()) if not r["header"]}
    return [FieldError(e.field, e.msgid, e.params, record.first.number)
            for record in records for e in check_tax(session, _tax_input(record), incoming)]


def _tax_state(tax: Tax) -> tuple[Any, ...]:
    return (tax.name, tax.rate, tax.scope, tax.collected_account_id, tax.deductible_account_id, tax.mention,
            tax.is_default, tax.active)


def write_taxes(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    from plugins.accounting.taxes import save_tax

    existing = {t.code: t for t in session.scalars(select(Tax))}
    created = updated = 0
    for record in records:
        current = existing.get(str(record.key[0]))
        if current is not None and not context.update:
            continue
        before = _tax_state(current) if current is not None else None
        try:
            tax = save_tax(session, _tax_input(record))
        except ValidationError as error:
            raise _relabel(error, record.first.number) from None
        created += before is None
        updated += before is not None and _tax_state(tax) != before
    return ImportCounts(created, updated, len(records) - created - updated)


def export_taxes(session: Session) -> Iterator[dict[str, Any]]:
    codes = dict(session.execute(select(Account.id, Account.code)).all())
    for tax in session.scalars(select(Tax).order_by(Tax.code)):
        yield {"code": tax.code, "name": tax.name, "rate": tax.rate, "scope": tax.scope,
               "collected": codes.get(tax.collected_account_id or 0), "deductible": codes.get(tax.deductible_account_id or 0),
               "mention": tax.mention or None, "default": tax.is_default, "active": tax.active}


# --- invoicing settings -----------------------------------------------------------------------------

# Every setting but the SMTP password, which never leaves the books (see the module's docstring).
SETTINGS = ("street", "postal_code", "city", "vat_number", "iban", "sender", "smtp_host", "smtp_port",
            "smtp_username", "smtp_security")
SETTING_COLUMNS = (
    Column("setting", N_("Setting"), ColumnType.CODE, required=True, example="city",
           aliases={_FR: ("Paramètre",), _ES: ("Parámetro",), _FA: ("تنظیم",)}),
    Column("value", N_("Value"), ColumnType.TEXT, example="Lyon",
           aliases={_FR: ("Valeur",), _ES: ("Valor",), _FA: ("مقدار",)}),
)


def _setting_value(name: str, value: Any) -> Any:
    if name == "smtp_port":
        return int(value) if value not in (None, "") else 587
    if name in ("vat_number", "iban", "sender", "smtp_host"):
        return str(value) if value not in (None, "") else None
    return "" if value is None else str(value)


def validate_settings(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    problems = []
    for record in records:
        name = str(record.key[0])
        if name not in SETTINGS:
            problems.append(FieldError("setting", N_("Unknown setting %(name)s."), {"name": name},
                                       record.first.number))
        elif name == "smtp_port" and record["value"] not in (None, "") and not str(record["value"]).isdigit():
            problems.append(FieldError("value", N_("%(value)s is not a port number."), {"value": record["value"]},
                                       record.first.number))
        elif name == "smtp_security" and record["value"] not in ("none", "starttls", "ssl"):
            problems.append(FieldError("value", N_("SMTP security is none, starttls or ssl."), {},
                                       record.first.number))
    return problems


def write_settings(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    from plugins.accounting.printing import invoicing_settings, save_invoicing_settings

    current = invoicing_settings(session)
    wanted = {str(r.key[0]): _setting_value(str(r.key[0]), r["value"]) for r in records}
    if current is not None and not context.update:
        return ImportCounts(unchanged=len(records))
    changed = {k: v for k, v in wanted.items() if current is None or getattr(current, k) != v}
    if current is None or changed:
        save_invoicing_settings(session, **(wanted if current is None else changed))
    if current is None:
        return ImportCounts(created=len(records))
    return ImportCounts(updated=len(changed), unchanged=len(records) - len(changed))


def export_settings(session: Session) -> Iterator[dict[str, Any]]:
    from plugins.accounting.printing import invoicing_settings

    settings = invoicing_settings(session)
    if settings is None:
        return
    for name in SETTINGS:
        value = getattr(settings, name)
        yield {"setting": name, "value": str(value) if value not in (None, "") else None}


# --- invoices ---------------------------------------------------------------------------------------

_KINDS = (Choice(InvoiceKind.CUSTOMER_INVOICE, N_("Customer invoice")),
          Choice(InvoiceKind.CUSTOMER_CREDIT_NOTE, N_("Customer credit note")),
          Choice(InvoiceKind.SUPPLIER_INVOICE, N_("Supplier invoice")),
          Choice(InvoiceKind.SUPPLIER_CREDIT_NOTE, N_("Supplier credit note")))
_STATES = (Choice(InvoiceState.DRAFT, N_("Draft")), Choice(InvoiceState.POSTED, N_("Posted")),
           Choice(InvoiceState.CANCELLED, N_("Cancelled")))
_DOCUMENT = Column("document", N_("Document"), ColumnType.TEXT, required=True, example="INV/2026/00001",
                   aliases={_FR: ("Pièce", "Document"), _ES: ("Documento",), _FA: ("مدرک",)})

INVOICE_COLUMNS = (
    _DOCUMENT,
    Column("kind", N_("Kind"), ColumnType.CHOICE, example="customer_invoice", required=True, choices=_KINDS,
           aliases={_FR: ("Type",), _ES: ("Tipo",), _FA: ("نوع",)}),
    Column("state", N_("State"), ColumnType.CHOICE, example="posted", required=True, choices=_STATES,
           aliases={_FR: ("État",), _ES: ("Estado",), _FA: ("وضعیت",)}),
    Column("partner", N_("Partner"), ColumnType.CODE, example="C0001", required=True,
           aliases={_FR: ("Tiers",), _ES: ("Tercero",), _FA: ("طرف حساب",)}),
    Column("year", N_("Fiscal year"), ColumnType.CODE, example="2026",
           aliases={_FR: ("Exercice",), _ES: ("Ejercicio",), _FA: ("سال مالی",)}),
    Column("number", N_("Number"), ColumnType.INTEGER, example=1,
           aliases={_FR: ("Numéro",), _ES: ("Número",), _FA: ("شماره",)}),
    Column("date", N_("Date"), ColumnType.DATE, example=dt.date(2026, 1, 15), required=True,
           aliases={_FR: ("Date",), _ES: ("Fecha",), _FA: ("تاریخ",)}),
    Column("due_date", N_("Due date"), ColumnType.DATE, example=dt.date(2026, 2, 14), required=True,
           aliases={_FR: ("Échéance",), _ES: ("Vencimiento",), _FA: ("سررسید",)}),
    Column("currency", N_("Currency"), ColumnType.CODE, example="EUR", required=True,
           aliases={_FR: ("Devise",), _ES: ("Moneda",), _FA: ("ارز",)}),
    Column("rate", N_("Rate"), ColumnType.TEXT, aliases={_FR: ("Taux",), _ES: ("Tipo de cambio",), _FA: ("نرخ",)}),
    Column("fiscal_position", N_("Fiscal position"), ColumnType.CODE, example="domestic", required=True,
           aliases={_FR: ("Position fiscale",), _ES: ("Posición fiscal",), _FA: ("وضعیت مالیاتی",)}),
    Column("reference", N_("Reference"), aliases={_FR: ("Référence",), _ES: ("Referencia",), _FA: ("مرجع",)}),
    Column("untaxed", N_("Untaxed"), ColumnType.DECIMAL,
           aliases={_FR: ("Hors taxes",), _ES: ("Base imponible",), _FA: ("بدون مالیات",)}),
    Column("tax", N_("Tax"), ColumnType.DECIMAL, aliases={_FR: ("Taxe", "TVA"), _ES: ("Impuesto",), _FA: ("مالیات",)}),
    Column("total", N_("Total"), ColumnType.DECIMAL, aliases={_FR: ("Total",), _ES: ("Total",), _FA: ("جمع",)}),
    Column("total_company", N_("Total in the organization's currency"), ColumnType.DECIMAL,
           aliases={_FR: ("Total en devise de l'organisation",), _ES: ("Total en la moneda de la organización",),
                    _FA: ("جمع به ارز سازمان",)}),
    Column("credit_note_of", N_("Credit note of"),
           aliases={_FR: ("Avoir de",), _ES: ("Rectificativa de",), _FA: ("اعتبارنامه برای",)}),
    Column("entry", N_("Entry"), example="SAL/2026/00001", aliases={_FR: ("Écriture",), _ES: ("Asiento",), _FA: ("سند",)}),
    Column("reminder_level", N_("Reminder level"), ColumnType.INTEGER,
           aliases={_FR: ("Niveau de relance",), _ES: ("Nivel de recordatorio",), _FA: ("سطح یادآوری",)}),
    Column("last_reminder_on", N_("Last reminder"), ColumnType.DATE,
           aliases={_FR: ("Dernière relance",), _ES: ("Último recordatorio",), _FA: ("آخرین یادآوری",)}),
    Column("product", N_("Product"), ColumnType.CODE, aliases={_FR: ("Produit",), _ES: ("Producto",), _FA: ("محصول",)}),
    Column("label", N_("Label"), aliases={_FR: ("Libellé",), _ES: ("Concepto",), _FA: ("شرح",)}),
    Column("quantity", N_("Quantity"), ColumnType.TEXT,
           aliases={_FR: ("Quantité",), _ES: ("Cantidad",), _FA: ("مقدار",)}),
    Column("unit_price", N_("Unit price"), ColumnType.TEXT,
           aliases={_FR: ("Prix unitaire",), _ES: ("Precio unitario",), _FA: ("قیمت واحد",)}),
    Column("account", N_("Account"), ColumnType.CODE, aliases={_FR: ("Compte",), _ES: ("Cuenta",), _FA: ("حساب",)}),
    Column("line_tax", N_("Line tax"), ColumnType.CODE,
           aliases={_FR: ("Taxe de la ligne",), _ES: ("Impuesto de la línea",), _FA: ("مالیات ردیف",)}),
    Column("line_untaxed", N_("Line amount"), ColumnType.DECIMAL,
           aliases={_FR: ("Montant de la ligne",), _ES: ("Importe de la línea",), _FA: ("مبلغ ردیف",)}),
)
_DOCUMENT_FIELDS = tuple(c.key for c in INVOICE_COLUMNS[:20])
_LINE_FIELDS = ("product", "label", "quantity", "unit_price", "account", "line_tax", "line_untaxed")


def document_keys(session: Session) -> dict[int, str]:
    """Each invoice's key in a workbook: its number, or for a draft ``DRAFT/partner/date/rank``
    (its rank among that partner's drafts of the day, in the order they were made)."""
    partners = dict(session.execute(select(Partner.id, Partner.code)).all())
    keys: dict[int, str] = {}
    ranks: dict[tuple[str, dt.date], int] = {}
    for invoice_id, name, partner_id, day in session.execute(
            select(Invoice.id, Invoice.name, Invoice.partner_id, Invoice.date).order_by(Invoice.id)):
        if name:
            keys[invoice_id] = name
        else:
            rank = ranks[(partners[partner_id], day)] = ranks.get((partners[partner_id], day), 0) + 1
            keys[invoice_id] = f"DRAFT/{partners[partner_id]}/{day.isoformat()}/{rank}"
    return keys


def validate_invoices(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    existing = set(document_keys(session).values())
    partners = set(session.scalars(select(Partner.code))) | {str(r.key[0]) for r in context.incoming.get("partners", ())}
    products = set(session.scalars(select(Product.code))) | {str(r.key[0]) for r in context.incoming.get("products", ())}
    taxes = set(session.scalars(select(Tax.code))) | {str(r.key[0]) for r in context.incoming.get("taxes", ())}
    accounts = set(session.scalars(select(Account.code))) | {str(r.key[0]) for r in context.incoming.get("accounts", ())}
    entries = set(_entry_ids(session)) | _incoming_entries(context)
    problems: list[FieldError] = []
    earlier: set[str] = set()
    for record in records:
        key, first = str(record.key[0]), record.first
        earlier.add(key)
        if key in existing:
            continue

        def problem(field: str, msgid: str, row: int = first.number, **params: Any) -> None:
            problems.append(FieldError(field, msgid, params, row))

        if first["partner"] not in partners:
            problem("partner", N_("There is no partner %(code)s."), code=first["partner"])
        posted = first["state"] != InvoiceState.DRAFT
        if posted and (first["entry"] not in entries or first["number"] is None or not first["year"]):
            problem("entry", N_("Document %(document)s is posted: give its number, fiscal year and the entry that booked it (one of the workbook's journal entries)."),
                    document=key)
        if not posted and first["entry"]:
            problem("entry", N_("Document %(document)s is a draft: it has no entry."), document=key)
        if first["credit_note_of"] and first["credit_note_of"] not in earlier | existing:
            problem("credit_note_of", N_("There is no document %(document)s before this one."),
                    document=first["credit_note_of"])
        if first["rate"] is not None and not _is_decimal(first["rate"]):
            problem("rate", N_("%(value)s is not a rate (an exact positive decimal)."), value=first["rate"])
        for row in record.rows:
            for field in _DOCUMENT_FIELDS[1:]:
                if row[field] is not None and row[field] != first[field]:
                    problem(field, N_("The lines of document %(document)s differ in %(field)s (row %(first)s has %(value)s)."),
                            row.number, document=key, field=field, first=first.number, value=first[field])
            if not any(row[f] is not None for f in _LINE_FIELDS):
                continue
            if row["product"] is not None and row["product"] not in products:
                problem("product", N_("There is no product %(code)s."), row.number, code=row["product"])
            if row["line_tax"] is not None and row["line_tax"] not in taxes:
                problem("line_tax", N_("There is no tax %(code)s."), row.number, code=row["line_tax"])
            if row["account"] not in accounts:
                problem("account", N_("There is no account %(code)s."), row.number, code=row["account"])
            for field in ("quantity", "unit_price"):
                if not _is_decimal(row[field]):
                    problem(field, N_("%(value)s is not an amount."), row.number, value=row[field])
    return problems


def write_invoices(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    from plugins.accounting.invoices import RestoredInvoice, restore_invoices

    keys = {key: invoice_id for invoice_id, key in document_keys(session).items()}
    new = [r for r in records if str(r.key[0]) not in keys]
    company = current_organization(session).currency
    partners = dict(session.execute(select(Partner.code, Partner.id)).all())
    products = dict(session.execute(select(Product.code, Product.id)).all())
    taxes = dict(session.execute(select(Tax.code, Tax.id)).all())
    accounts = dict(session.execute(select(Account.code, Account.id)).all())
    entries = _entry_ids(session)
    position = {str(r.key[0]): index for index, r in enumerate(new, start=1)}
    documents = []
    for record in new:
        first, currency = record.first, str(record["currency"]).upper()
        origin = first["credit_note_of"]
        values = {"kind": first["kind"], "partner_id": partners[first["partner"]], "state": first["state"],
                  "year": first["year"] if first["state"] != InvoiceState.DRAFT else None,
                  "number": first["number"] if first["state"] != InvoiceState.DRAFT else None,
                  "name": str(record.key[0]) if first["state"] != InvoiceState.DRAFT else None,
                  "date": first["date"], "due_date": first["due_date"], "currency": currency,
                  "rate": str(first["rate"] or "1"), "fiscal_position": first["fiscal_position"],
                  "reference": first["reference"] or "", "untaxed": _minor(first["untaxed"], currency),
                  "tax": _minor(first["tax"], currency), "total": _minor(first["total"], currency),
                  "total_company": _minor(first["total_company"], company),
                  "reminder_level": first["reminder_level"] or 0, "last_reminder_on": first["last_reminder_on"],
                  "entry_id": entries.get(first["entry"]) if first["entry"] else None,
                  "credit_note_of_id": (keys[origin] if origin in keys else -position[origin]) if origin else None}
        lines = [{"line_no": number, "product_id": products[row["product"]] if row["product"] else None,
                  "label": row["label"] or "", "quantity": str(row["quantity"]), "unit_price": str(row["unit_price"]),
                  "account_id": accounts[row["account"]], "tax_id": taxes[row["line_tax"]] if row["line_tax"] else None,
                  "untaxed": _minor(row["line_untaxed"], currency)}
                 for number, row in enumerate((r for r in record.rows if any(r[f] is not None for f in _LINE_FIELDS)),
                                              start=1)]
        documents.append(RestoredInvoice(values, lines))
    restore_invoices(session, documents)
    return ImportCounts(created=len(new), unchanged=len(records) - len(new))


def export_invoices(session: Session) -> Iterator[dict[str, Any]]:
    company = current_organization(session).currency
    keys = document_keys(session)
    partners = dict(session.execute(select(Partner.id, Partner.code)).all())
    products = dict(session.execute(select(Product.id, Product.code)).all())
    taxes = dict(session.execute(select(Tax.id, Tax.code)).all())
    accounts = dict(session.execute(select(Account.id, Account.code)).all())
    entries = _entry_names(session)
    lines: dict[int, list[InvoiceLine]] = {}
    for line in session.scalars(select(InvoiceLine).order_by(InvoiceLine.invoice_id, InvoiceLine.line_no)):
        lines.setdefault(line.invoice_id, []).append(line)
    for invoice in session.scalars(select(Invoice).order_by(Invoice.id)):
        currency = invoice.currency
        base = {"document": keys[invoice.id], "kind": invoice.kind, "state": invoice.state,
                "partner": partners[invoice.partner_id], "year": invoice.year, "number": invoice.number,
                "date": invoice.date, "due_date": invoice.due_date, "currency": currency, "rate": invoice.rate,
                "fiscal_position": invoice.fiscal_position, "reference": invoice.reference or None,
                "untaxed": _amount(invoice.untaxed, currency), "tax": _amount(invoice.tax, currency),
                "total": _amount(invoice.total, currency), "total_company": _amount(invoice.total_company, company),
                "credit_note_of": keys[invoice.credit_note_of_id] if invoice.credit_note_of_id else None,
                "entry": entries.get(invoice.entry_id) if invoice.entry_id else None,
                "reminder_level": invoice.reminder_level, "last_reminder_on": invoice.last_reminder_on}
        for line in lines.get(invoice.id) or [None]:
            row = dict(base)
            if line is not None:
                row.update(product=products.get(line.product_id or 0), label=line.label or None,
                           quantity=line.quantity, unit_price=line.unit_price, account=accounts[line.account_id],
                           line_tax=taxes.get(line.tax_id or 0), line_untaxed=_amount(line.untaxed, currency))
            yield row


# --- invoice taxes ----------------------------------------------------------------------------------

INVOICE_TAX_COLUMNS = (
    _DOCUMENT,
    Column("tax", N_("Tax"), ColumnType.CODE, example="VAT20", required=True, aliases={_FR: ("Taxe", "TVA"), _ES: ("Impuesto",),
                                                                      _FA: ("مالیات",)}),
    Column("base", N_("Base"), ColumnType.DECIMAL, example=Decimal("1300.00"), required=True, aliases={_FR: ("Base",), _ES: ("Base",),
                                                                          _FA: ("پایه",)}),
    Column("amount", N_("Amount"), ColumnType.DECIMAL, example=Decimal("260.00"), required=True,
           aliases={_FR: ("Montant",), _ES: ("Importe",), _FA: ("مبلغ",)}),
    Column("base_company", N_("Base in the organization's currency"), ColumnType.DECIMAL,
           aliases={_FR: ("Base en devise de l'organisation",), _ES: ("Base en la moneda de la organización",),
                    _FA: ("پایه به ارز سازمان",)}),
    Column("amount_company", N_("Amount in the organization's currency"), ColumnType.DECIMAL,
           aliases={_FR: ("Montant en devise de l'organisation",), _ES: ("Importe en la moneda de la organización",),
                    _FA: ("مبلغ به ارز سازمان",)}),
    Column("self_assessed", N_("Self-assessed"), ColumnType.BOOLEAN,
           aliases={_FR: ("Autoliquidée",), _ES: ("Autorrepercutido",), _FA: ("خوداظهاری",)}),
)


def _currencies(session: Session, context: ImportContext) -> dict[str, str]:
    """Each document's currency by its key, in the books or the workbook."""
    currencies = dict(session.execute(select(Invoice.id, Invoice.currency)).all())
    found = {key: currencies[invoice_id] for invoice_id, key in document_keys(session).items()}
    for record in context.incoming.get("invoices", ()):
        found.setdefault(str(record.key[0]), str(record["currency"]).upper())
    return found


def validate_invoice_taxes(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    documents = _currencies(session, context)
    taxes = set(session.scalars(select(Tax.code))) | {str(r.key[0]) for r in context.incoming.get("taxes", ())}
    problems = []
    for record in records:
        if record["document"] not in documents:
            problems.append(FieldError("document", N_("There is no document %(document)s."),
                                       {"document": record["document"]}, record.first.number))
        if record["tax"] not in taxes:
            problems.append(FieldError("tax", N_("There is no tax %(code)s."), {"code": record["tax"]},
                                       record.first.number))
    return problems


def write_invoice_taxes(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    ids = {key: invoice_id for invoice_id, key in document_keys(session).items()}
    currencies = dict(session.execute(select(Invoice.id, Invoice.currency)).all())
    taxes = dict(session.execute(select(Tax.code, Tax.id)).all())
    existing = {tuple(r) for r in session.execute(select(InvoiceTax.invoice_id, InvoiceTax.tax_id))}
    company = current_organization(session).currency
    created = 0
    for record in records:
        invoice_id, tax_id = ids[record["document"]], taxes[record["tax"]]
        if (invoice_id, tax_id) in existing:
            continue
        currency = currencies[invoice_id]
        session.add(InvoiceTax(invoice_id=invoice_id, tax_id=tax_id, base=_minor(record["base"], currency),
                               amount=_minor(record["amount"], currency),
                               base_company=_minor(record["base_company"], company),
                               amount_company=_minor(record["amount_company"], company),
                               self_assessed=bool(record["self_assessed"])))
        created += 1
    session.flush()
    return ImportCounts(created=created, unchanged=len(records) - created)


def export_invoice_taxes(session: Session) -> Iterator[dict[str, Any]]:
    keys = document_keys(session)
    currencies = dict(session.execute(select(Invoice.id, Invoice.currency)).all())
    taxes = dict(session.execute(select(Tax.id, Tax.code)).all())
    company = current_organization(session).currency
    for item in session.scalars(select(InvoiceTax).order_by(InvoiceTax.invoice_id, InvoiceTax.id)):
        currency = currencies[item.invoice_id]
        yield {"document": keys[item.invoice_id], "tax": taxes[item.tax_id], "base": _amount(item.base, currency),
               "amount": _amount(item.amount, currency), "base_company": _amount(item.base_company, company),
               "amount_company": _amount(item.amount_company, company), "self_assessed": item.self_assessed}


# --- payments ---------------------------------------------------------------------------------------

_ENTRY = Column("entry", N_("Entry"), ColumnType.TEXT, required=True, example="BNK/2026/00001",
                aliases={_FR: ("Écriture",), _ES: ("Asiento",), _FA: ("سند",)})
PAYMENT_COLUMNS = (
    _ENTRY,
    Column("direction", N_("Direction"), ColumnType.CHOICE, example="inbound", required=True,
           choices=(Choice(PaymentDirection.INBOUND, N_("Received")), Choice(PaymentDirection.OUTBOUND, N_("Paid"))),
           aliases={_FR: ("Sens",), _ES: ("Sentido",), _FA: ("جهت",)}),
    Column("partner", N_("Partner"), ColumnType.CODE, example="C0001", required=True,
           aliases={_FR: ("Tiers",), _ES: ("Tercero",), _FA: ("طرف حساب",)}),
    Column("journal", N_("Journal"), ColumnType.CODE, example="BNK", required=True,
           aliases={_FR: ("Journal",), _ES: ("Diario",), _FA: ("دفتر",)}),
    Column("date", N_("Date"), ColumnType.DATE, example=dt.date(2026, 2, 1), required=True, aliases={_FR: ("Date",), _ES: ("Fecha",), _FA: ("تاریخ",)}),
    Column("currency", N_("Currency"), ColumnType.CODE, example="EUR", required=True,
           aliases={_FR: ("Devise",), _ES: ("Moneda",), _FA: ("ارز",)}),
    Column("rate", N_("Rate"), ColumnType.TEXT, aliases={_FR: ("Taux",), _ES: ("Tipo de cambio",), _FA: ("نرخ",)}),
    Column("amount", N_("Amount"), ColumnType.DECIMAL, example=Decimal("1560.00"), required=True,
           aliases={_FR: ("Montant",), _ES: ("Importe",), _FA: ("مبلغ",)}),
    Column("amount_company", N_("Amount in the organization's currency"), ColumnType.DECIMAL, example=Decimal("1560.00"), required=True,
           aliases={_FR: ("Montant en devise de l'organisation",), _ES: ("Importe en la moneda de la organización",),
                    _FA: ("مبلغ به ارز سازمان",)}),
    Column("reference", N_("Reference"), aliases={_FR: ("Référence",), _ES: ("Referencia",), _FA: ("مرجع",)}),
)


def validate_payments(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    done = set(_payment_ids(session))
    entries = set(_entry_ids(session)) | _incoming_entries(context)
    partners = set(session.scalars(select(Partner.code))) | {str(r.key[0]) for r in context.incoming.get("partners", ())}
    journals = set(session.scalars(select(Journal.code))) | {str(r.key[0]) for r in context.incoming.get("journals", ())}
    problems = []
    for record in records:
        key, number = str(record.key[0]), record.first.number
        if key in done:
            continue
        if key not in entries:
            problems.append(FieldError("entry", N_("There is no entry %(reference)s in the books or the workbook."),
                                       {"reference": key}, number))
        if record["partner"] not in partners:
            problems.append(FieldError("partner", N_("There is no partner %(code)s."), {"code": record["partner"]}, number))
        if record["journal"] not in journals:
            problems.append(FieldError("journal", N_("There is no journal %(code)s."), {"code": record["journal"]}, number))
        if record["rate"] is not None and not _is_decimal(record["rate"]):
            problems.append(FieldError("rate", N_("%(value)s is not a rate (an exact positive decimal)."),
                                       {"value": record["rate"]}, number))
    return problems


def _payment_ids(session: Session) -> dict[str, int]:
    entries = _entry_names(session)
    return {entries[entry_id]: payment_id for payment_id, entry_id in
            session.execute(select(Payment.id, Payment.entry_id)) if entry_id in entries}


def write_payments(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    from plugins.accounting.payments import restore_payment

    done = _payment_ids(session)
    entries = _entry_ids(session)
    partners = dict(session.execute(select(Partner.code, Partner.id)).all())
    journals = dict(session.execute(select(Journal.code, Journal.id)).all())
    company = current_organization(session).currency
    created = 0
    for record in records:
        if str(record.key[0]) in done:
            continue
        currency = str(record["currency"]).upper()
        restore_payment(session, {
            "direction": record["direction"], "partner_id": partners[record["partner"]],
            "journal_id": journals[record["journal"]], "date": record["date"], "currency": currency,
            "rate": str(record["rate"] or "1"), "amount": _minor(record["amount"], currency),
            "amount_company": _minor(record["amount_company"], company), "reference": record["reference"] or "",
            "entry_id": entries[str(record.key[0])]})
        created += 1
    return ImportCounts(created=created, unchanged=len(records) - created)


def export_payments(session: Session) -> Iterator[dict[str, Any]]:
    entries = _entry_names(session)
    partners = dict(session.execute(select(Partner.id, Partner.code)).all())
    journals = dict(session.execute(select(Journal.id, Journal.code)).all())
    company = current_organization(session).currency
    for payment in session.scalars(select(Payment).order_by(Payment.id)):
        yield {"entry": entries[payment.entry_id or 0], "direction": payment.direction,
               "partner": partners[payment.partner_id], "journal": journals[payment.journal_id], "date": payment.date,
               "currency": payment.currency, "rate": payment.rate, "amount": _amount(payment.amount, payment.currency),
               "amount_company": _amount(payment.amount_company, company), "reference": payment.reference or None}


# --- allocations ------------------------------------------------------------------------------------

ALLOCATION_COLUMNS = (
    Column("invoice", N_("Invoice"), ColumnType.TEXT, example="INV/2026/00001", required=True,
           aliases={_FR: ("Facture",), _ES: ("Factura",), _FA: ("فاکتور",)}),
    Column("rank", N_("Rank"), ColumnType.INTEGER, example=1, required=True,
           aliases={_FR: ("Rang",), _ES: ("Orden",), _FA: ("ردیف",)}),
    Column("payment", N_("Payment entry"), ColumnType.TEXT, example="BNK/2026/00001",
           aliases={_FR: ("Écriture du paiement",), _ES: ("Asiento del pago",), _FA: ("سند پرداخت",)}),
    Column("credit_note", N_("Credit note"), ColumnType.TEXT,
           aliases={_FR: ("Avoir",), _ES: ("Factura rectificativa",), _FA: ("اعتبارنامه",)}),
    Column("date", N_("Date"), ColumnType.DATE, example=dt.date(2026, 2, 1), required=True, aliases={_FR: ("Date",), _ES: ("Fecha",), _FA: ("تاریخ",)}),
    Column("amount", N_("Amount"), ColumnType.DECIMAL, example=Decimal("1560.00"), required=True,
           aliases={_FR: ("Montant",), _ES: ("Importe",), _FA: ("مبلغ",)}),
    Column("amount_company", N_("At the invoice's rate"), ColumnType.DECIMAL, example=Decimal("1560.00"), required=True,
           aliases={_FR: ("Au taux de la facture",), _ES: ("Al tipo de la factura",), _FA: ("به نرخ فاکتور",)}),
    Column("source_company", N_("At the payment's rate"), ColumnType.DECIMAL, example=Decimal("1560.00"), required=True,
           aliases={_FR: ("Au taux du paiement",), _ES: ("Al tipo del pago",), _FA: ("به نرخ پرداخت",)}),
    Column("fx_entry", N_("Exchange difference entry"), ColumnType.TEXT,
           aliases={_FR: ("Écriture d'écart de change",), _ES: ("Asiento de diferencia de cambio",),
                    _FA: ("سند تفاوت نرخ ارز",)}),
)


def _allocation_keys(session: Session) -> set[tuple[str, int]]:
    keys = document_keys(session)
    counts: dict[int, int] = {}
    for (invoice_id,) in session.execute(select(Allocation.invoice_id).order_by(Allocation.id)):
        counts[invoice_id] = counts.get(invoice_id, 0) + 1
    return {(keys[invoice_id], rank) for invoice_id, count in counts.items() for rank in range(1, count + 1)}


def validate_allocations(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    done = _allocation_keys(session)
    documents = set(document_keys(session).values()) | {str(r.key[0]) for r in context.incoming.get("invoices", ())}
    payments = set(_payment_ids(session)) | {str(r.key[0]) for r in context.incoming.get("payments", ())}
    entries = set(_entry_ids(session)) | _incoming_entries(context)
    problems = []
    for record in records:
        number = record.first.number
        if (record["invoice"], record["rank"]) in done:
            continue
        if record["invoice"] not in documents:
            problems.append(FieldError("invoice", N_("There is no document %(document)s."),
                                       {"document": record["invoice"]}, number))
        if (record["payment"] is None) == (record["credit_note"] is None):
            problems.append(FieldError("payment", N_("An allocation takes either a payment or a credit note."),
                                       {}, number))
        elif record["payment"] is not None and record["payment"] not in payments:
            problems.append(FieldError("payment", N_("There is no payment booked by entry %(reference)s."),
                                       {"reference": record["payment"]}, number))
        elif record["credit_note"] is not None and record["credit_note"] not in documents:
            problems.append(FieldError("credit_note", N_("There is no document %(document)s."),
                                       {"document": record["credit_note"]}, number))
        if record["fx_entry"] is not None and record["fx_entry"] not in entries:
            problems.append(FieldError("fx_entry", N_("There is no entry %(reference)s in the books or the workbook."),
                                       {"reference": record["fx_entry"]}, number))
    return problems


def write_allocations(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    """In the file's order, which is the order they were made (see the module's docstring)."""
    from plugins.accounting.payments import restore_allocation

    done = _allocation_keys(session)
    documents = {key: invoice_id for invoice_id, key in document_keys(session).items()}
    currencies = dict(session.execute(select(Invoice.id, Invoice.currency)).all())
    payments = _payment_ids(session)
    entries = _entry_ids(session)
    company = current_organization(session).currency
    created = 0
    for record in records:
        if (record["invoice"], record["rank"]) in done:
            continue
        invoice_id = documents[record["invoice"]]
        currency = currencies[invoice_id]
        try:
            restore_allocation(
                session, invoice_id, amount=_minor(record["amount"], currency),
                amount_company=_minor(record["amount_company"], company),
                source_company=_minor(record["source_company"], company), date=record["date"],
                payment_id=payments[record["payment"]] if record["payment"] else None,
                credit_note_id=documents[record["credit_note"]] if record["credit_note"] else None,
                fx_entry_id=entries[record["fx_entry"]] if record["fx_entry"] else None)
        except ValidationError as error:
            raise _relabel(error, record.first.number) from None
        created += 1
    return ImportCounts(created=created, unchanged=len(records) - created)


def export_allocations(session: Session) -> Iterator[dict[str, Any]]:
    keys = document_keys(session)
    currencies = dict(session.execute(select(Invoice.id, Invoice.currency)).all())
    payments = {payment_id: name for name, payment_id in _payment_ids(session).items()}
    entries = _entry_names(session)
    company = current_organization(session).currency
    ranks: dict[int, int] = {}
    for allocation in session.scalars(select(Allocation).order_by(Allocation.id)):
        ranks[allocation.invoice_id] = ranks.get(allocation.invoice_id, 0) + 1
        currency = currencies[allocation.invoice_id]
        yield {"invoice": keys[allocation.invoice_id], "rank": ranks[allocation.invoice_id],
               "payment": payments[allocation.payment_id] if allocation.payment_id else None,
               "credit_note": keys[allocation.credit_note_id] if allocation.credit_note_id else None,
               "date": allocation.date, "amount": _amount(allocation.amount, currency),
               "amount_company": _amount(allocation.amount_company, company),
               "source_company": _amount(allocation.source_company, company),
               "fx_entry": entries[allocation.fx_entry_id] if allocation.fx_entry_id else None}


# --- bank statements --------------------------------------------------------------------------------

STATEMENT_COLUMNS = (
    Column("journal", N_("Journal"), ColumnType.CODE, example="BNK", required=True,
           aliases={_FR: ("Journal",), _ES: ("Diario",), _FA: ("دفتر",)}),
    Column("fingerprint", N_("Fingerprint"), ColumnType.CODE, example="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", required=True,
           aliases={_FR: ("Empreinte",), _ES: ("Huella",), _FA: ("اثر انگشت",)}),
    Column("date", N_("Date"), ColumnType.DATE, example=dt.date(2026, 2, 1), required=True, aliases={_FR: ("Date",), _ES: ("Fecha",), _FA: ("تاریخ",)}),
    Column("amount", N_("Amount"), ColumnType.DECIMAL, example=Decimal("1560.00"), required=True,
           aliases={_FR: ("Montant",), _ES: ("Importe",), _FA: ("مبلغ",)}),
    Column("currency", N_("Currency"), ColumnType.CODE, example="EUR", required=True,
           aliases={_FR: ("Devise",), _ES: ("Moneda",), _FA: ("ارز",)}),
    Column("label", N_("Label"), aliases={_FR: ("Libellé",), _ES: ("Concepto",), _FA: ("شرح",)}),
    Column("reference", N_("Reference"), aliases={_FR: ("Référence",), _ES: ("Referencia",), _FA: ("مرجع",)}),
    Column("payment", N_("Payment entry"), ColumnType.TEXT,
           aliases={_FR: ("Écriture du paiement",), _ES: ("Asiento del pago",), _FA: ("سند پرداخت",)}),
    Column("note", N_("Note"), aliases={_FR: ("Note",), _ES: ("Nota",), _FA: ("یادداشت",)}),
)


def validate_statements(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    journals = set(session.scalars(select(Journal.code))) | {str(r.key[0]) for r in context.incoming.get("journals", ())}
    payments = set(_payment_ids(session)) | {str(r.key[0]) for r in context.incoming.get("payments", ())}
    problems = []
    for record in records:
        if record["journal"] not in journals:
            problems.append(FieldError("journal", N_("There is no journal %(code)s."), {"code": record["journal"]},
                                       record.first.number))
        if record["payment"] is not None and record["payment"] not in payments:
            problems.append(FieldError("payment", N_("There is no payment booked by entry %(reference)s."),
                                       {"reference": record["payment"]}, record.first.number))
    return problems


def write_statements(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    from plugins.accounting.treasury import restore_statement_line

    journals = dict(session.execute(select(Journal.code, Journal.id)).all())
    done = {tuple(r) for r in session.execute(select(StatementLine.journal_id, StatementLine.fingerprint))}
    payments = _payment_ids(session)
    created = 0
    for record in records:
        journal_id = journals[record["journal"]]
        if (journal_id, record["fingerprint"]) in done:
            continue
        currency = str(record["currency"]).upper()
        restore_statement_line(session, {
            "journal_id": journal_id, "date": record["date"], "label": record["label"] or "",
            "reference": record["reference"] or "", "amount": _minor(record["amount"], currency), "currency": currency,
            "fingerprint": record["fingerprint"], "payment_id": payments[record["payment"]] if record["payment"] else None,
            "note": record["note"] or ""})
        created += 1
    return ImportCounts(created=created, unchanged=len(records) - created)


def export_statements(session: Session) -> Iterator[dict[str, Any]]:
    journals = dict(session.execute(select(Journal.id, Journal.code)).all())
    payments = {payment_id: name for name, payment_id in _payment_ids(session).items()}
    for line in session.scalars(select(StatementLine).order_by(StatementLine.id)):
        yield {"journal": journals[line.journal_id], "fingerprint": line.fingerprint, "date": line.date,
               "amount": _amount(line.amount, line.currency), "currency": line.currency, "label": line.label or None,
               "reference": line.reference or None,
               "payment": payments[line.payment_id] if line.payment_id else None, "note": line.note or None}


TAXES = Schema(
    name="taxes", sheet=N_("Taxes"), label=N_("VAT rates and their accounts"), columns=TAX_COLUMNS, key=("code",),
    validate=validate_taxes, write=write_taxes, export=export_taxes, order=105, after=("accounts",),
    aliases={_FR: ("Taxes", "TVA"), _ES: ("Impuestos", "IVA"), _FA: ("مالیات‌ها",)},
)
INVOICING_SETTINGS = Schema(
    name="invoicing_settings", sheet=N_("Invoicing settings"),
    label=N_("What invoices print and how they are sent (never the SMTP password)"), columns=SETTING_COLUMNS,
    key=("setting",), validate=validate_settings, write=write_settings, export=export_settings, order=106,
    aliases={_FR: ("Paramètres de facturation",), _ES: ("Ajustes de facturación",), _FA: ("تنظیمات صدور فاکتور",)},
)
INVOICES = Schema(
    name="invoices", sheet=N_("Invoices"), label=N_("Invoices and credit notes, one row per line"),
    columns=INVOICE_COLUMNS, key=("document",), group_by="document", validate=validate_invoices,
    write=write_invoices, export=export_invoices, order=210,
    after=("accounts", "taxes", "products", "partners", "journal_entries"),
    aliases={_FR: ("Factures",), _ES: ("Facturas",), _FA: ("فاکتورها",)},
)
INVOICE_TAXES = Schema(
    name="invoice_taxes", sheet=N_("Invoice taxes"), label=N_("The taxes of each invoice, by rate"),
    columns=INVOICE_TAX_COLUMNS, key=("document", "tax"), validate=validate_invoice_taxes, write=write_invoice_taxes,
    export=export_invoice_taxes, order=211, after=("invoices",),
    aliases={_FR: ("Taxes des factures",), _ES: ("Impuestos de las facturas",), _FA: ("مالیات فاکتورها",)},
)
PAYMENTS = Schema(
    name="payments", sheet=N_("Payments"), label=N_("Payments received and made, by their entry"),
    columns=PAYMENT_COLUMNS, key=("entry",), validate=validate_payments, write=write_payments,
    export=export_payments, order=220, after=("partners", "journal_entries"),
    aliases={_FR: ("Paiements", "Règlements"), _ES: ("Pagos",), _FA: ("پرداخت‌ها",)},
)
ALLOCATIONS = Schema(
    name="allocations", sheet=N_("Allocations"), label=N_("What settles each invoice, in the order it was made"),
    columns=ALLOCATION_COLUMNS, key=("invoice", "rank"), validate=validate_allocations, write=write_allocations,
    export=export_allocations, order=230, after=("invoices", "payments"),
    aliases={_FR: ("Lettrages", "Rapprochements"), _ES: ("Conciliaciones",), _FA: ("تطبیق‌ها",)},
)
STATEMENTS = Schema(
    name="bank_statements", sheet=N_("Bank statements"), label=N_("Imported bank statement lines"),
    columns=STATEMENT_COLUMNS, key=("journal", "fingerprint"), validate=validate_statements,
    write=write_statements, export=export_statements, order=240, after=("journals", "payments"),
    aliases={_FR: ("Relevés bancaires",), _ES: ("Extractos bancarios",), _FA: ("صورت‌حساب‌های بانکی",)},
)


def invoicing_schemas() -> list[Schema]:
    return [TAXES, INVOICING_SETTINGS, INVOICES, INVOICE_TAXES, PAYMENTS, ALLOCATIONS, STATEMENTS]
