"""Taxes from the chart templates and the fiscal position of each seller × buyer case."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core.chart import Account, list_templates
from plugins.accounting.invoices import InvoiceInput, InvoiceLineInput, create_invoice, invoice_taxes
from plugins.accounting.invoicing_models import PartnerKind, Tax, TaxScope
from plugins.accounting.partners import PartnerInput, save_partner
from plugins.accounting.taxes import FiscalPosition, Party, fiscal_position, list_taxes, template_taxes
from tests.plugins.accounting.invoicing_fixtures import D, make_invoicing_org

EXPECTED_RATES = {
    "fr_pcg": {"20", "10", "5.5", "2.1"},
    "ch_pme": {"8.1", "3.8", "2.6"},
    "mx_sat": {"16", "0"},
    "ir_standard": {"10"},
    "generic_service": {"20", "10", "5", "0"},
    "generic_trading": {"20", "10", "5", "0"},
    "generic_manufacturing": {"20", "10", "5", "0"},
}


@pytest.mark.parametrize("template", sorted(EXPECTED_RATES))
def test_every_template_has_its_domestic_rates_and_an_export_tax(template):
    taxes = template_taxes(template)
    domestic = {format(t.rate, "f") for t in taxes if t.scope is TaxScope.DOMESTIC}
    assert domestic == EXPECTED_RATES[template]
    assert sum(t.default for t in taxes) == 1
    assert any(t.scope is TaxScope.EXPORT for t in taxes)
    codes = {a.code: a for a in list_templates()[template].accounts}
    for tax in taxes:
        if tax.scope is TaxScope.DOMESTIC:
            assert "tax.vat.collected" in codes[tax.collected].tags
            assert "tax.vat.deductible" in codes[tax.deductible].tags


def test_eu_templates_have_a_reverse_charge_tax_the_others_not():
    scopes = {name: {t.scope for t in template_taxes(name)} for name in EXPECTED_RATES}
    assert TaxScope.REVERSE_CHARGE in scopes["fr_pcg"]
    assert TaxScope.REVERSE_CHARGE not in scopes["ch_pme"]


def test_an_organization_gets_its_templates_taxes_with_their_accounts(database):
    org = make_invoicing_org(database, "Suisse SA", "ch_pme")
    with database.session(org.id) as session:
        taxes = {t.code: t for t in list_taxes(session)}
        assert {t.rate for t in taxes.values()} == {"8.1", "3.8", "2.6", "0"}
        accounts = {a.id: a.code for a in session.scalars(select(Account))}
        assert accounts[taxes["TVA8.1"].collected_account_id] == "2200"
        assert accounts[taxes["TVA8.1"].deductible_account_id] == "1170"
        assert taxes["TVA8.1"].is_default


@pytest.mark.parametrize(("seller", "buyer", "expected"), [
    (Party("FR"), Party("FR", True, "FR40303265045"), FiscalPosition.DOMESTIC),
    (Party("FR"), Party("FR", False), FiscalPosition.DOMESTIC),
    (Party("FR"), Party("DE", True, "DE136695976"), FiscalPosition.REVERSE_CHARGE),
    (Party("FR"), Party("DE", True, None), FiscalPosition.SELLER_VAT),  # no VAT number: seller's VAT
    (Party("FR"), Party("DE", False), FiscalPosition.SELLER_VAT),  # an individual pays the seller's VAT
    (Party("FR"), Party("US", True, "123"), FiscalPosition.EXPORT),
    (Party("FR"), Party("CH", False), FiscalPosition.EXPORT),
    (Party("CH"), Party("FR", True, "FR40303265045"), FiscalPosition.EXPORT),  # outside the EU: export
    (Party("CH"), Party("CH", True), FiscalPosition.DOMESTIC),
    (Party(None), Party("US"), FiscalPosition.DOMESTIC),  # no seller country: nothing to decide on
    (Party("MX"), Party("US"), FiscalPosition.EXPORT),
])
def test_fiscal_position(seller, buyer, expected):
    assert fiscal_position(seller, buyer) is expected


# An invoice of a French company, 1000 € of services at the default rate, to each buyer.
@pytest.mark.parametrize(("country", "kind", "vat_number", "position", "tax", "amount", "mention"), [
    ("FR", PartnerKind.COMPANY, "FR40303265045", "domestic", "TVA20", "200.00", ""),
    ("DE", PartnerKind.COMPANY, "DE136695976", "reverse_charge", "TVA-UE", "0.00", "Autoliquidation"),
    ("DE", PartnerKind.INDIVIDUAL, None, "seller_vat", "TVA20", "200.00", ""),
    ("US", PartnerKind.COMPANY, None, "export", "TVA-EXPORT", "0.00", "exportation"),
])
def test_the_fiscal_position_sets_the_tax_of_the_invoice(fr, country, kind, vat_number, position, tax, amount,
                                                         mention):
    save_partner(fr, PartnerInput("B1", "Buyer", kind=kind, country=country, vat_number=vat_number))
    invoice = create_invoice(fr, InvoiceInput("B1", D(2026, 3, 1), [InvoiceLineInput("Audit", 1, "1000")]))
    assert invoice.fiscal_position == position
    (line,) = invoice_taxes(fr, invoice)
    found = fr.get(Tax, (line.org_id, line.tax_id))
    assert found.code == tax
    assert Decimal(line.amount).scaleb(-2) == Decimal(amount)
    assert mention.lower() in found.mention.lower()
    assert invoice.total == 100000 + line.amount


def test_a_swiss_company_exports_to_france_without_vat(database):
    org = make_invoicing_org(database, "Suisse SA", "ch_pme")
    with database.transaction(org.id) as session:
        save_partner(session, PartnerInput("F1", "Client FR", country="FR", vat_number="FR40303265045"))
        save_partner(session, PartnerInput("S1", "Client CH", country="CH"))
        export = create_invoice(session, InvoiceInput("F1", D(2026, 3, 1), [InvoiceLineInput("x", 1, "1000")]))
        home = create_invoice(session, InvoiceInput("S1", D(2026, 3, 1), [InvoiceLineInput("x", 1, "1000")]))
        assert (export.fiscal_position, export.tax) == ("export", 0)
        assert (home.fiscal_position, home.tax) == ("domestic", 8100)
