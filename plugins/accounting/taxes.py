"""VAT rates and fiscal positions: which tax an invoice line gets from the seller and the buyer.

An organization's taxes come from the ``taxes:`` section of its chart template, loaded when
it starts using accounting. The fiscal position is decided once per invoice:

- same country (or an unknown seller country) → domestic VAT, the line's own tax;
- a business buyer with a VAT number in another EU country, seller in the EU → 0 %,
  reverse charge, with the legal mention;
- a buyer outside the EU (or outside the seller's country, for a non-EU seller) → export, 0 %;
- otherwise (an individual, or a company without a VAT number, elsewhere in the EU) → the
  seller's VAT, as domestic.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.chart import Account, get_template
from core.db import allocate_ids, require_tenant
from core.errors import ChartTemplateError, FieldError, NotFound, ValidationError
from core.i18n import N_
from plugins.accounting.invoicing_models import PartnerKind, Tax, TaxScope

EU_COUNTRIES = frozenset("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())


class FiscalPosition(enum.StrEnum):
    DOMESTIC = "domestic"
    SELLER_VAT = "seller_vat"  # elsewhere in the EU, but the buyer pays the seller's VAT
    REVERSE_CHARGE = "reverse_charge"
    EXPORT = "export"


@dataclass(frozen=True)
class Party:
    """What the fiscal position needs to know about a seller or a buyer."""

    country: str | None
    is_business: bool = True
    vat_number: str | None = None


def fiscal_position(seller: Party, buyer: Party) -> FiscalPosition:
    seller_country = (seller.country or "").upper()
    buyer_country = (buyer.country or "").upper()
    if not seller_country or not buyer_country or seller_country == buyer_country:
        return FiscalPosition.DOMESTIC
    if seller_country in EU_COUNTRIES and buyer_country in EU_COUNTRIES:
        if buyer.is_business and buyer.vat_number:
            return FiscalPosition.REVERSE_CHARGE
        return FiscalPosition.SELLER_VAT
    return FiscalPosition.EXPORT


def party_of_partner(partner: Any) -> Party:
    return Party(partner.country, partner.kind == PartnerKind.COMPANY, partner.vat_number)


def tax_for_position(position: FiscalPosition, own_tax: Tax | None, by_scope: dict[str, Tax]) -> Tax | None:
    """The tax a line gets: its own one at home, the 0 % tax of the position otherwise."""
    if position in (FiscalPosition.DOMESTIC, FiscalPosition.SELLER_VAT):
        return own_tax
    scope = TaxScope.REVERSE_CHARGE if position is FiscalPosition.REVERSE_CHARGE else TaxScope.EXPORT
    found = by_scope.get(scope)
    if found is None:
        raise ValidationError(FieldError("tax", N_("No tax is defined for the fiscal position %(position)s."),
                                         {"position": str(position)}))
    return found


def rate_of(tax: Tax) -> Decimal:
    return Decimal(tax.rate)


# --- the organization's set ----------------------------------------------------------------------

@dataclass(frozen=True)
class TemplateTax:
    code: str
    name: str
    rate: Decimal
    scope: TaxScope
    collected: str | None
    deductible: str | None
    mention: str
    default: bool


def template_taxes(template_id: str) -> list[TemplateTax]:
    """The ``taxes:`` section of a chart template, checked (codes unique, rates, accounts named)."""
    template = get_template(template_id)
    data = yaml.safe_load(template.path.read_text(encoding="utf-8")) or {}
    raw = data.get("taxes") or []
    codes = {a.code for a in template.accounts if not a.header}
    taxes: list[TemplateTax] = []
    for item in raw:
        code = str(item.get("code", ""))
        try:
            rate = Decimal(str(item.get("rate")))
        except InvalidOperation:
            rate = Decimal(-1)
        scope = item.get("scope", TaxScope.DOMESTIC)
        accounts = [item.get("collected"), item.get("deductible")]
        if (not code or rate < 0 or rate >= 100 or scope not in TaxScope.__members__.values()
                or any(a is not None and str(a) not in codes for a in accounts)
                or any(t.code == code for t in taxes)
                or (scope == TaxScope.DOMESTIC and (None in accounts))):
            raise ChartTemplateError(N_("%(file)s: the tax %(value)s is malformed."),
                                     file=str(template.path), value=code)
        taxes.append(TemplateTax(code, str(item.get("name", code)), rate, TaxScope(scope),
                                 str(accounts[0]) if accounts[0] is not None else None,
                                 str(accounts[1]) if accounts[1] is not None else None,
                                 str(item.get("mention", "")), bool(item.get("default", False))))
    return taxes


def create_template_taxes(session: Session, template_id: str | None) -> list[str]:
    """Create the template's taxes in the session's organization; returns their codes."""
    org_id = require_tenant(session)
    if not template_id:
        return []
    wanted = template_taxes(template_id)
    existing = set(session.scalars(select(Tax.code)))
    wanted = [t for t in wanted if t.code not in existing]
    if not wanted:
        return []
    accounts = {a.code: a.id for a in session.scalars(select(Account))}
    ids = allocate_ids(session, len(wanted))
    session.execute(insert(Tax), [
        {"org_id": org_id, "id": new_id, "code": t.code, "name": t.name, "rate": format(t.rate, "f"),
         "scope": t.scope, "collected_account_id": accounts.get(t.collected or ""),
         "deductible_account_id": accounts.get(t.deductible or ""), "mention": t.mention,
         "is_default": t.default, "active": True}
        for t, new_id in zip(wanted, ids, strict=True)])
    return [t.code for t in wanted]


def list_taxes(session: Session) -> list[Tax]:
    return list(session.scalars(select(Tax).order_by(Tax.code)))


def get_tax(session: Session, code: str) -> Tax:
    tax = session.scalars(select(Tax).where(Tax.code == code)).one_or_none()
    if tax is None:
        raise NotFound(N_("There is no tax %(code)s."), code=code)
    return tax


def default_tax(session: Session) -> Tax | None:
    return session.scalars(select(Tax).where(Tax.is_default.is_(True), Tax.active.is_(True))).first()


def taxes_by_scope(session: Session) -> dict[str, Tax]:
    """The first active tax of each non-domestic scope (reverse charge, export)."""
    found: dict[str, Tax] = {}
    for tax in session.scalars(select(Tax).where(Tax.scope != TaxScope.DOMESTIC, Tax.active.is_(True))
                               .order_by(Tax.code)):
        found.setdefault(tax.scope, tax)
    return found


@dataclass(frozen=True)
class TaxInput:
    code: str
    name: str
    rate: Decimal
    scope: str = TaxScope.DOMESTIC
    collected: str | None = None  # account codes
    deductible: str | None = None
    mention: str = ""
    is_default: bool = False
    active: bool = True


def check_tax(session: Session, data: TaxInput, accounts: set[str] | None = None) -> list[FieldError]:
    """The problems of a tax (rate, scope, accounts: ``accounts`` are more codes that will exist)."""
    problems = []
    known = set(session.scalars(select(Account.code).where(Account.header.is_(False)))) | (accounts or set())
    if not data.code or len(data.code) > 32:
        problems.append(FieldError("code", N_("%(value)s is not a tax code."), {"value": data.code}))
    if not data.rate.is_finite() or data.rate < 0 or data.rate >= 100:
        problems.append(FieldError("rate", N_("%(value)s is not a VAT rate (a percentage from 0 to 100)."),
                                   {"value": str(data.rate)}))
    if data.scope not in TaxScope.__members__.values():
        problems.append(FieldError("scope", N_("%(value)s is not a tax scope."), {"value": data.scope}))
    for field_name, code in (("collected", data.collected), ("deductible", data.deductible)):
        if code is not None and code not in known:
            problems.append(FieldError(field_name, N_("There is no account %(code)s."), {"code": code}))
        elif code is None and data.scope == TaxScope.DOMESTIC:
            problems.append(FieldError(field_name, N_("A domestic tax needs a collected and a deductible account.")))
    return problems


def save_tax(session: Session, data: TaxInput) -> Tax:
    """Create the tax ``data.code``, or bring it to ``data``."""
    problems = check_tax(session, data)
    if problems:
        raise ValidationError(problems)
    accounts = {a.code: a.id for a in session.scalars(select(Account).where(
        Account.code.in_([c for c in (data.collected, data.deductible) if c])))}
    tax = session.scalars(select(Tax).where(Tax.code == data.code)).one_or_none()
    if tax is None:
        tax = Tax(code=data.code)
        session.add(tax)
    tax.name, tax.rate, tax.scope = data.name[:200], format(data.rate, "f"), str(data.scope)
    tax.collected_account_id = accounts.get(data.collected or "")
    tax.deductible_account_id = accounts.get(data.deductible or "")
    tax.mention, tax.is_default, tax.active = data.mention[:300], data.is_default, data.active
    session.flush()
    return tax
