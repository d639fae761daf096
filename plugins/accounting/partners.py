"""Partners (customers and suppliers) with their addresses, and products with prices and taxes.

Both are found by a natural key (the partner's ``code``, the product's ``code``) and saved
by ``save_*``, which creates or updates: importing the same data twice changes nothing.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.chart import Account, default_account
from core.errors import FieldError, NotFound, ValidationError
from core.i18n import N_, SUPPORTED_LOCALES
from core.money import is_known_currency
from core.tenancy import current_organization
from plugins.accounting.invoicing_models import Partner, PartnerAddress, PartnerKind, Product, Tax
from plugins.accounting.taxes import EU_COUNTRIES


@dataclass(frozen=True)
class AddressInput:
    street: str = ""
    street2: str = ""
    postal_code: str = ""
    city: str = ""
    country: str | None = None
    kind: str = "invoice"


@dataclass(frozen=True)
class PartnerInput:
    code: str
    name: str
    kind: str = PartnerKind.COMPANY
    is_customer: bool = True
    is_supplier: bool = False
    country: str | None = None
    vat_number: str | None = None
    email: str | None = None
    language: str | None = None
    currency: str | None = None
    payment_terms_days: int = 30
    receivable_account: str | None = None  # account codes; default: the organization's
    payable_account: str | None = None
    addresses: Sequence[AddressInput] = field(default_factory=tuple)


def _known_country(code: str) -> bool:
    return len(code) == 2 and code.upper() in Locale("en").territories


def check_vat_number(number: str, country: str | None) -> str | None:
    """The VAT number in its compact form, or ``None`` if python-stdnum finds it invalid.

    EU numbers are checked with their country prefix (added from ``country`` when missing);
    other countries with stdnum's validator when there is one, and kept as given otherwise.
    """
    from stdnum import get_cc_module
    from stdnum.eu import vat as eu_vat

    text = number.strip().upper().replace(" ", "")
    country = (country or "").upper()
    if country in EU_COUNTRIES or (text[:2].isalpha() and text[:2] in EU_COUNTRIES | {"EL"}):
        prefix = "EL" if country == "GR" else country
        candidate = text if text[:2].isalpha() else prefix + text
        return eu_vat.compact(candidate) if eu_vat.is_valid(candidate) else None
    module = get_cc_module(country.lower(), "vat") if country else None
    if module is None:
        return text
    return module.compact(text) if module.is_valid(text) else None


def _account_id(session: Session, code: str | None, role: str, problems: list[FieldError], name: str) -> int | None:
    if code:
        account = session.scalars(select(Account).where(Account.code == code)).one_or_none()
        if account is None or account.header:
            problems.append(FieldError(name, N_("There is no account %(code)s."), {"code": code}))
            return None
        return account.id
    try:
        return default_account(session, role).id
    except NotFound:
        return None


def check_partner(session: Session, data: PartnerInput) -> tuple[dict[str, Any], list[FieldError]]:
    """The partner's column values and every problem found (nothing written)."""
    problems: list[FieldError] = []
    code = data.code.strip()
    if not code:
        problems.append(FieldError("code", N_("The partner needs a reference.")))
    if not data.name.strip():
        problems.append(FieldError("name", N_("The partner needs a name.")))
    if data.kind not in PartnerKind.__members__.values():
        problems.append(FieldError("kind", N_("A partner is a company or an individual, not %(value)s."),
                                   {"value": data.kind}))
    country = data.country.strip().upper() if data.country else None
    if country and not _known_country(country):
        problems.append(FieldError("country", N_("%(country)s is not a country code."), {"country": country}))
    vat_number = data.vat_number.strip() if data.vat_number else None
    if vat_number:
        checked = check_vat_number(vat_number, country)
        if checked is None:
            problems.append(FieldError("vat_number", N_("%(value)s is not a valid VAT number."), {"value": vat_number}))
        vat_number = checked
    email = data.email.strip() if data.email else None
    if email and ("@" not in email or " " in email or email.startswith("@") or email.endswith("@")):
        problems.append(FieldError("email", N_("%(value)s is not an email address."), {"value": email}))
    if data.language and data.language not in SUPPORTED_LOCALES:
        problems.append(FieldError("language", N_("Unsupported language %(locale)s."), {"locale": data.language}))
    currency = data.currency.strip().upper() if data.currency else None
    if currency and not is_known_currency(currency):
        problems.append(FieldError("currency", N_("%(currency)s is not a currency code."), {"currency": currency}))
    if not 0 <= data.payment_terms_days <= 3650:
        problems.append(FieldError("payment_terms_days", N_("Payment terms are between 0 and 3650 days.")))
    for address in data.addresses:
        if address.country and not _known_country(address.country):
            problems.append(FieldError("addresses", N_("%(country)s is not a country code."),
                                       {"country": address.country}))
    values = {
        "code": code, "name": data.name.strip(), "kind": data.kind, "is_customer": data.is_customer,
        "is_supplier": data.is_supplier, "country": country, "vat_number": vat_number, "email": email,
        "language": data.language or None, "currency": currency, "payment_terms_days": data.payment_terms_days,
        "receivable_account_id": _account_id(session, data.receivable_account, "receivable", problems,
                                             "receivable_account"),
        "payable_account_id": _account_id(session, data.payable_account, "payable", problems, "payable_account"),
    }
    return values, problems


def save_partner(session: Session, data: PartnerInput) -> Partner:
    """Create the partner with this code, or bring the existing one up to ``data``."""
    values, problems = check_partner(session, data)
    if problems:
        raise ValidationError(problems)
    partner = session.scalars(select(Partner).where(Partner.code == values["code"])).one_or_none()
    if partner is None:
        partner = Partner(**values)
        session.add(partner)
        session.flush()
    else:
        for key, value in values.items():
            if getattr(partner, key) != value:
                setattr(partner, key, value)
    if data.addresses or partner.id is not None:
        _save_addresses(session, partner, data.addresses)
    return partner


def _save_addresses(session: Session, partner: Partner, addresses: Sequence[AddressInput]) -> None:
    current = list(session.scalars(select(PartnerAddress).where(PartnerAddress.partner_id == partner.id)
                                   .order_by(PartnerAddress.position)))
    wanted = [{"position": n, "kind": a.kind, "street": a.street, "street2": a.street2,
               "postal_code": a.postal_code, "city": a.city,
               "country": a.country.upper() if a.country else None} for n, a in enumerate(addresses, start=1)]
    have = [{"position": a.position, "kind": a.kind, "street": a.street, "street2": a.street2,
             "postal_code": a.postal_code, "city": a.city, "country": a.country} for a in current]
    if have == wanted:
        return
    session.execute(delete(PartnerAddress).where(PartnerAddress.partner_id == partner.id))
    session.add_all(PartnerAddress(partner_id=partner.id, **row) for row in wanted)
    session.flush()


def get_partner(session: Session, code: str) -> Partner:
    partner = session.scalars(select(Partner).where(Partner.code == code)).one_or_none()
    if partner is None:
        raise NotFound(N_("There is no partner %(code)s."), code=code)
    return partner


def partner_addresses(session: Session, partner: Partner) -> list[PartnerAddress]:
    return list(session.scalars(select(PartnerAddress).where(PartnerAddress.partner_id == partner.id)
                                .order_by(PartnerAddress.position)))


def list_partners(session: Session) -> list[Partner]:
    return list(session.scalars(select(Partner).order_by(Partner.code)))


# --- products ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProductInput:
    code: str
    name: str
    price: Decimal | str = "0"
    currency: str | None = None  # default: the organization's
    kind: str = "service"
    sale_tax: str | None = None  # tax codes; default: the organization's default tax
    purchase_tax: str | None = None
    income_account: str | None = None
    expense_account: str | None = None


def save_product(session: Session, data: ProductInput) -> Product:
    """Create the product with this code, or bring the existing one up to ``data``."""
    from plugins.accounting.taxes import default_tax

    problems: list[FieldError] = []
    code = data.code.strip()
    if not code:
        problems.append(FieldError("code", N_("The product needs a code.")))
    if not data.name.strip():
        problems.append(FieldError("name", N_("The product needs a name.")))
    if data.kind not in ("service", "goods"):
        problems.append(FieldError("kind", N_("A product is a service or goods, not %(value)s."), {"value": data.kind}))
    currency = (data.currency or current_organization(session).currency).upper()
    if not is_known_currency(currency):
        problems.append(FieldError("currency", N_("%(currency)s is not a currency code."), {"currency": currency}))
        currency = current_organization(session).currency
    try:
        price = Decimal(str(data.price))
        if not price.is_finite() or price < 0:
            raise InvalidOperation
    except InvalidOperation:
        problems.append(FieldError("price", N_("%(value)s is not an amount."), {"value": data.price}))
        price = Decimal(0)
    fallback = default_tax(session)
    taxes = {t.code: t for t in session.scalars(select(Tax))}

    def tax_id(tax_code: str | None, name: str) -> int | None:
        if not tax_code:
            return fallback.id if fallback else None
        if tax_code not in taxes:
            problems.append(FieldError(name, N_("There is no tax %(code)s."), {"code": tax_code}))
            return None
        return taxes[tax_code].id

    values = {
        "code": code, "name": data.name.strip(), "kind": data.kind, "price": format(price, "f"),
        "currency": currency, "sale_tax_id": tax_id(data.sale_tax, "sale_tax"),
        "purchase_tax_id": tax_id(data.purchase_tax, "purchase_tax"),
        "income_account_id": _account_id(session, data.income_account, "income", problems, "income_account"),
        "expense_account_id": _account_id(session, data.expense_account, "expense", problems, "expense_account"),
    }
    if problems:
        raise ValidationError(problems)
    product = session.scalars(select(Product).where(Product.code == code)).one_or_none()
    if product is None:
        product = Product(**values)
        session.add(product)
        session.flush()
        return product
    for key, value in values.items():
        if getattr(product, key) != value:
            setattr(product, key, value)
    return product


def get_product(session: Session, code: str) -> Product:
    product = session.scalars(select(Product).where(Product.code == code)).one_or_none()
    if product is None:
        raise NotFound(N_("There is no product %(code)s."), code=code)
    return product


def list_products(session: Session) -> list[Product]:
    return list(session.scalars(select(Product).order_by(Product.code)))
