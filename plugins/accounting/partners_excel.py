"""Sheets of partners (one row per address, grouped by the partner's reference) and products.

Both are idempotent by their natural key: importing the same file twice changes nothing; a
partner or product that exists is left as it is, or brought up to the file with ``--update``.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.chart import Account
from core.errors import FieldError, ValidationError
from core.excel.schema import Choice, Column, ColumnType, ImportContext, ImportCounts, Record, Schema
from core.i18n import N_
from plugins.accounting.invoicing_models import Partner, PartnerAddress, PartnerKind, Product, Tax
from plugins.accounting.partners import (
    AddressInput,
    PartnerInput,
    ProductInput,
    check_partner,
    save_partner,
    save_product,
)

PARTNER_COLUMNS = (
    Column("code", N_("Reference"), ColumnType.CODE, required=True, example="C0001",
           aliases={"en": ("Partner", "Customer code"), "fr": ("Référence", "Code client", "Code tiers"),
                    "es": ("Referencia", "Código"), "fa": ("کد", "کد طرف حساب")}),
    # Required on a partner's first row only (the others carry more addresses): checked by the service.
    Column("name", N_("Name"), example="Berlin Maschinen GmbH",
           aliases={"fr": ("Nom", "Raison sociale"), "es": ("Nombre", "Razón social"), "fa": ("نام",)}),
    Column("kind", N_("Kind"), ColumnType.CHOICE,
           choices=(Choice(PartnerKind.COMPANY, N_("Company")), Choice(PartnerKind.INDIVIDUAL, N_("Individual"))),
           aliases={"fr": ("Type",), "es": ("Tipo",), "fa": ("نوع",)}),
    Column("customer", N_("Customer"), ColumnType.BOOLEAN, aliases={"fr": ("Client",), "es": ("Cliente",),
                                                                    "fa": ("مشتری",)}),
    Column("supplier", N_("Supplier"), ColumnType.BOOLEAN, aliases={"fr": ("Fournisseur",), "es": ("Proveedor",),
                                                                    "fa": ("تأمین‌کننده",)}),
    Column("country", N_("Country"), ColumnType.CODE, example="DE",
           aliases={"fr": ("Pays",), "es": ("País",), "fa": ("کشور",)}),
    Column("vat_number", N_("VAT number"), ColumnType.CODE, example="DE136695976",
           aliases={"fr": ("N° de TVA", "TVA intracommunautaire"), "es": ("NIF-IVA", "NIF"),
                    "fa": ("شماره اقتصادی",)}),
    Column("email", N_("Email"), aliases={"fr": ("Courriel", "E-mail"), "es": ("Correo electrónico",),
                                          "fa": ("ایمیل",)}),
    Column("language", N_("Language"), ColumnType.CODE, aliases={"fr": ("Langue",), "es": ("Idioma",),
                                                                 "fa": ("زبان",)}),
    Column("currency", N_("Currency"), ColumnType.CODE, aliases={"fr": ("Devise",), "es": ("Moneda",),
                                                                 "fa": ("ارز",)}),
    Column("payment_terms_days", N_("Payment terms (days)"), ColumnType.INTEGER, example=30,
           aliases={"fr": ("Délai de paiement (jours)",), "es": ("Plazo de pago (días)",),
                    "fa": ("مهلت پرداخت (روز)",)}),
    Column("street", N_("Street"), aliases={"fr": ("Adresse", "Rue"), "es": ("Dirección", "Calle"),
                                            "fa": ("نشانی",)}),
    Column("street2", N_("Street (continued)"), aliases={"fr": ("Complément d'adresse",),
                                                         "es": ("Dirección (continuación)",), "fa": ("ادامه نشانی",)}),
    Column("postal_code", N_("Postal code"), ColumnType.CODE, aliases={"fr": ("Code postal",),
                                                                       "es": ("Código postal",), "fa": ("کد پستی",)}),
    Column("city", N_("City"), aliases={"fr": ("Ville",), "es": ("Ciudad",), "fa": ("شهر",)}),
    Column("address_country", N_("Address country"), ColumnType.CODE,
           aliases={"fr": ("Pays de l'adresse",), "es": ("País de la dirección",), "fa": ("کشور نشانی",)}),
    Column("receivable_account", N_("Receivable account"), ColumnType.CODE,
           aliases={"fr": ("Compte client",), "es": ("Cuenta de clientes",), "fa": ("حساب دریافتنی",)}),
    Column("payable_account", N_("Payable account"), ColumnType.CODE,
           aliases={"fr": ("Compte fournisseur",), "es": ("Cuenta de proveedores",), "fa": ("حساب پرداختنی",)}),
    Column("address_kind", N_("Address kind"), ColumnType.CHOICE,
           choices=(Choice("invoice", N_("Invoicing")), Choice("delivery", N_("Delivery")),
                    Choice("other", N_("Other"))),
           aliases={"fr": ("Type d'adresse",), "es": ("Tipo de dirección",), "fa": ("نوع نشانی",)}),
)

PRODUCT_COLUMNS = (
    Column("code", N_("Code"), ColumnType.CODE, required=True, example="CONSULT",
           aliases={"fr": ("Code", "Référence"), "es": ("Código",), "fa": ("کد",)}),
    Column("name", N_("Name"), required=True, example="Consulting day",
           aliases={"fr": ("Désignation", "Nom"), "es": ("Nombre", "Descripción"), "fa": ("نام", "شرح")}),
    Column("kind", N_("Kind"), ColumnType.CHOICE,
           choices=(Choice("service", N_("Service")), Choice("goods", N_("Goods"))),
           aliases={"fr": ("Type",), "es": ("Tipo",), "fa": ("نوع",)}),
    Column("price", N_("Unit price"), ColumnType.DECIMAL, example=Decimal("650.00"),
           aliases={"fr": ("Prix unitaire", "Prix"), "es": ("Precio unitario", "Precio"), "fa": ("قیمت واحد",)}),
    Column("currency", N_("Currency"), ColumnType.CODE, aliases={"fr": ("Devise",), "es": ("Moneda",),
                                                                 "fa": ("ارز",)}),
    Column("sale_tax", N_("Sales tax"), ColumnType.CODE, aliases={"fr": ("TVA vente",), "es": ("IVA venta",),
                                                                  "fa": ("مالیات فروش",)}),
    Column("purchase_tax", N_("Purchase tax"), ColumnType.CODE,
           aliases={"fr": ("TVA achat",), "es": ("IVA compra",), "fa": ("مالیات خرید",)}),
    Column("income_account", N_("Income account"), ColumnType.CODE,
           aliases={"fr": ("Compte de produit",), "es": ("Cuenta de ingresos",), "fa": ("حساب درآمد",)}),
    Column("expense_account", N_("Expense account"), ColumnType.CODE,
           aliases={"fr": ("Compte de charge",), "es": ("Cuenta de gastos",), "fa": ("حساب هزینه",)}),
)


# --- partners ------------------------------------------------------------------------------------

def _partner_input(record: Record, context: ImportContext) -> PartnerInput:
    """An address's country defaults to the partner's when the file has no column for it (a
    whole-organization export has it, and keeps an address without a country as it is)."""
    first = record.first
    own_country = "address_country" in context.columns
    addresses = [AddressInput(row["street"] or "", row["street2"] or "", row["postal_code"] or "", row["city"] or "",
                              row["address_country"] if own_country else first["country"],
                              row["address_kind"] or "invoice")
                 for row in record.rows if any(row[k] for k in ("street", "street2", "postal_code", "city"))]
    return PartnerInput(
        code=str(record.key[0]), name=first["name"] or "", kind=first["kind"] or PartnerKind.COMPANY,
        is_customer=first["customer"] if first["customer"] is not None else True,
        is_supplier=bool(first["supplier"]), country=first["country"], vat_number=first["vat_number"],
        email=first["email"], language=first["language"], currency=first["currency"],
        payment_terms_days=first["payment_terms_days"] if first["payment_terms_days"] is not None else 30,
        receivable_account=first["receivable_account"], payable_account=first["payable_account"],
        addresses=tuple(addresses))


def validate_partners(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    problems = []
    incoming = {str(r.key[0]) for r in context.incoming.get("accounts", ())}  # written before partners
    for record in records:
        _values, found = check_partner(session, _partner_input(record, context))
        problems += [FieldError(e.field, e.msgid, e.params, record.first.number) for e in found
                     if not (e.field in ("receivable_account", "payable_account")
                             and record[e.field] in incoming)]
    return problems


def _partner_state(session: Session, partner: Partner) -> tuple[Any, ...]:
    addresses = session.scalars(select(PartnerAddress).where(PartnerAddress.partner_id == partner.id)
                                .order_by(PartnerAddress.position))
    return (partner.name, partner.kind, partner.is_customer, partner.is_supplier, partner.country, partner.vat_number,
            partner.email, partner.language, partner.currency, partner.payment_terms_days,
            partner.receivable_account_id, partner.payable_account_id, tuple((a.kind, a.street, a.street2, a.postal_code, a.city, a.country) for a in addresses))


def write_partners(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    existing = {p.code: p for p in session.scalars(select(Partner))}
    created = updated = unchanged = 0
    for record in records:
        data = _partner_input(record, context)
        current = existing.get(data.code)
        if current is not None and not context.update:
            unchanged += 1
            continue
        before = _partner_state(session, current) if current is not None else None
        try:
            partner = save_partner(session, data)
        except ValidationError as error:
            raise ValidationError([FieldError(e.field, e.msgid, e.params, record.first.number)
                                   for e in error.errors]) from None
        if before is None:
            created += 1
        elif _partner_state(session, partner) != before:
            updated += 1
        else:
            unchanged += 1
    return ImportCounts(created, updated, unchanged)


def export_partners(session: Session) -> Iterator[dict[str, Any]]:
    addresses: dict[int, list[PartnerAddress]] = {}
    for address in session.scalars(select(PartnerAddress).order_by(PartnerAddress.partner_id,
                                                                   PartnerAddress.position)):
        addresses.setdefault(address.partner_id, []).append(address)
    codes = {a.id: a.code for a in session.scalars(select(Account))}
    for partner in session.scalars(select(Partner).order_by(Partner.code)):
        base = {"receivable_account": codes.get(partner.receivable_account_id or 0),
                "payable_account": codes.get(partner.payable_account_id or 0),"code": partner.code, "name": partner.name, "kind": partner.kind, "customer": partner.is_customer,
                "supplier": partner.is_supplier, "country": partner.country, "vat_number": partner.vat_number,
                "email": partner.email, "language": partner.language, "currency": partner.currency,
                "payment_terms_days": partner.payment_terms_days}
        for address in addresses.get(partner.id) or [None]:
            row = dict(base)
            if address is not None:
                row.update(street=address.street, street2=address.street2, postal_code=address.postal_code,
                           city=address.city, address_country=address.country, address_kind=address.kind)
            yield row


# --- products ---------------------------------------------------------------------------------------

def _product_input(record: Record) -> ProductInput:
    return ProductInput(str(record.key[0]), record["name"] or "", record["price"] if record["price"] is not None
                        else Decimal(0), record["currency"], record["kind"] or "service", record["sale_tax"],
                        record["purchase_tax"], record["income_account"], record["expense_account"])


def validate_products(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    taxes = set(session.scalars(select(Tax.code))) | {str(r.key[0]) for r in context.incoming.get("taxes", ())}
    problems = []
    for record in records:
        for field in ("sale_tax", "purchase_tax"):
            if record[field] and record[field] not in taxes:
                problems.append(FieldError(field, N_("There is no tax %(code)s."), {"code": record[field]},
                                           record.first.number))
        if record["price"] is not None and record["price"] < 0:
            problems.append(FieldError("price", N_("%(value)s is not an amount."), {"value": str(record["price"])},
                                       record.first.number))
    return problems


def write_products(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    existing = {p.code: p for p in session.scalars(select(Product))}
    created = updated = unchanged = 0
    for record in records:
        data = _product_input(record)
        current = existing.get(data.code)
        if current is not None and not context.update:
            unchanged += 1
            continue
        before = None if current is None else (current.name, current.kind, current.price, current.currency,
                                               current.sale_tax_id, current.purchase_tax_id,
                                               current.income_account_id, current.expense_account_id)
        try:
            product = save_product(session, data)
        except ValidationError as error:
            raise ValidationError([FieldError(e.field, e.msgid, e.params, record.first.number)
                                   for e in error.errors]) from None
        after = (product.name, product.kind, product.price, product.currency, product.sale_tax_id,
                 product.purchase_tax_id, product.income_account_id, product.expense_account_id)
        created += before is None
        updated += before is not None and after != before
        unchanged += before is not None and after == before
    return ImportCounts(created, updated, unchanged)


def export_products(session: Session) -> Iterator[dict[str, Any]]:
    taxes = {t.id: t.code for t in session.scalars(select(Tax))}
    codes = {a.id: a.code for a in session.scalars(select(Account))}
    for product in session.scalars(select(Product).order_by(Product.code)):
        yield {"code": product.code, "name": product.name, "kind": product.kind, "price": Decimal(product.price),
               "currency": product.currency, "sale_tax": taxes.get(product.sale_tax_id or 0),
               "purchase_tax": taxes.get(product.purchase_tax_id or 0),
               "income_account": codes.get(product.income_account_id or 0),
               "expense_account": codes.get(product.expense_account_id or 0)}


PARTNERS = Schema(
    name="partners", sheet=N_("Partners"), label=N_("Customers and suppliers, one row per address"),
    columns=PARTNER_COLUMNS, key=("code",), group_by="code", validate=validate_partners, write=write_partners,
    export=export_partners, order=120,
    aliases={"en": ("Customers", "Suppliers"), "fr": ("Tiers", "Clients", "Fournisseurs"),
             "es": ("Terceros", "Clientes", "Proveedores"), "fa": ("طرف حساب‌ها", "مشتریان")},
)

PRODUCTS = Schema(
    name="products", sheet=N_("Products"), label=N_("Products and services with their prices and taxes"),
    columns=PRODUCT_COLUMNS, key=("code",), validate=validate_products, write=write_products,
    export=export_products, order=110, after=("taxes",),
    aliases={"en": ("Services", "Items"), "fr": ("Produits", "Articles"), "es": ("Productos", "Artículos"),
             "fa": ("محصولات", "کالاها")},
)


def partner_schemas() -> list[Schema]:
    return [PRODUCTS, PARTNERS]
