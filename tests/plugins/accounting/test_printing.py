"""The printable invoice: in the partner's language, with its legal mention, and the Swiss QR-bill."""
from __future__ import annotations

import re

from plugins.accounting.invoicing_models import PartnerKind
from plugins.accounting.partners import AddressInput, PartnerInput, save_partner
from plugins.accounting.printing import render_invoice_html, save_invoicing_settings
from plugins.accounting.testing import invoice
from tests.plugins.accounting.invoicing_fixtures import D, make_invoicing_org


def test_an_invoice_prints_in_the_partners_language_with_the_reverse_charge_mention(fr):
    save_invoicing_settings(fr, street="1 rue de la Paix", postal_code="75002", city="Paris",
                            vat_number="FR40303265045", iban="FR7630006000011234567890189")
    save_partner(fr, PartnerInput("DE1", "Berlin <GmbH>", country="DE", vat_number="DE136695976", language="es",
                                  addresses=[AddressInput("Unter den Linden 1", postal_code="10117", city="Berlin",
                                                          country="DE")]))
    posted = invoice(fr, "DE1", ("1234.5",), D(2026, 3, 1))
    html = render_invoice_html(fr, posted.id)
    assert '<html lang="es" dir="ltr">' in html
    assert "Factura INV/2026/00001" in html
    assert "1.234,50\xa0€" in html  # babel's Spanish money format
    assert "Berlin &lt;GmbH&gt;" in html  # escaped
    assert "Autoliquidation" in html and "10117 Berlin" in html and "FR7630006000011234567890189" in html
    assert "<svg" not in html  # a French organization: no QR-bill


def test_persian_prints_right_to_left_with_persian_digits(fr):
    save_partner(fr, PartnerInput("IR1", "شرکت نمونه", country="FR", language="fa", kind=PartnerKind.COMPANY))
    html = render_invoice_html(fr, invoice(fr, "IR1", ("100",), D(2026, 3, 1)).id)
    assert 'dir="rtl"' in html and "۱۲۰" in html


def test_a_swiss_chf_invoice_carries_the_qr_bill(database):
    org = make_invoicing_org(database, "Genève Conseil SA", "ch_pme", country="CH", currency="CHF")
    with database.transaction(org.id) as session:
        save_invoicing_settings(session, street="Rue du Rhône 1", postal_code="1204", city="Genève",
                                iban="CH44 3199 9123 0008 8901 2")
        save_partner(session, PartnerInput("C1", "Client Lausanne", country="CH", language="fr",
                                           addresses=[AddressInput("Avenue de la Gare 2", postal_code="1003",
                                                                   city="Lausanne", country="CH")]))
        html = render_invoice_html(session, invoice(session, "C1", ("100",), D(2026, 3, 1)).id)
    section = re.search(r'<section class="qr-bill">(.*?)</section>', html, re.S)
    assert section is not None and section.group(1).startswith("<svg")
    assert "Récépissé" in section.group(1)  # the payment part, in French
    assert "108.10" in section.group(1)  # 100 CHF + 8.1 % VAT
