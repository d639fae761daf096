"""The VAT report of a period against figures computed by hand, and its .xlsx export."""
from __future__ import annotations

from decimal import Decimal

import openpyxl

from core.i18n import translate

from plugins.accounting.invoices import InvoiceInput, InvoiceLineInput, create_invoice, post_invoice
from plugins.accounting.invoicing_models import InvoiceKind
from plugins.accounting.partners import PartnerInput, save_partner
from plugins.accounting.rates import set_rate
from plugins.accounting.testing import partner
from plugins.accounting.vat import export_vat_report, vat_report
from tests.plugins.accounting.invoicing_fixtures import D


def post(session, code, day, lines, kind=InvoiceKind.CUSTOMER_INVOICE, post_it=True):  # noqa: ANN001, ANN201
    draft = create_invoice(session, InvoiceInput(code, day, [InvoiceLineInput("x", 1, a, tax=t) for a, t in lines],
                                                 kind=kind))
    return post_invoice(session, draft.id) if post_it else draft


def march_book(fr) -> None:  # noqa: ANN001
    partner(fr, "FR1")
    partner(fr, "SUP", is_supplier=True)
    save_partner(fr, PartnerInput("DE1", "Berlin GmbH", country="DE", vat_number="DE136695976"))
    save_partner(fr, PartnerInput("US1", "Yankee Inc", country="US", currency="USD"))
    set_rate(fr, "USD", D(2026, 3, 1), "0.9")
    post(fr, "FR1", D(2026, 3, 2), [("1000", "TVA20"), ("200", "TVA5.5")])
    post(fr, "FR1", D(2026, 3, 3), [("333.33", "TVA20")])  # 66.666 of VAT, rounded to 66.67
    post(fr, "DE1", D(2026, 3, 4), [("500", "TVA20")])  # reverse charge: 0 %
    post(fr, "US1", D(2026, 3, 5), [("1000", "TVA20")])  # export: 0 %, 1000 USD = 900 EUR
    post(fr, "FR1", D(2026, 3, 20), [("100", "TVA20")], InvoiceKind.CUSTOMER_CREDIT_NOTE)
    post(fr, "SUP", D(2026, 3, 10), [("400", "TVA20")], InvoiceKind.SUPPLIER_INVOICE)
    post(fr, "SUP", D(2026, 3, 11), [("50", "TVA10")], InvoiceKind.SUPPLIER_INVOICE)
    post(fr, "FR1", D(2026, 4, 1), [("7000", "TVA20")])  # another period
    post(fr, "FR1", D(2026, 3, 30), [("9000", "TVA20")], post_it=False)  # a draft does not count


def test_the_vat_report_matches_the_hand_computed_figures(fr):
    march_book(fr)
    report = vat_report(fr, D(2026, 3, 1), D(2026, 3, 31))
    assert [(r.side, r.tax, r.base, r.amount) for r in report.rows] == [
        ("collected", "TVA20", Decimal("1233.33"), Decimal("246.67")),  # 1000 + 333.33 − 100
        ("collected", "TVA5.5", Decimal("200.00"), Decimal("11.00")),
        ("collected", "TVA-EXPORT", Decimal("900.00"), Decimal("0.00")),
        ("collected", "TVA-UE", Decimal("500.00"), Decimal("0.00")),
        ("deductible", "TVA20", Decimal("400.00"), Decimal("80.00")),
        ("deductible", "TVA10", Decimal("50.00"), Decimal("5.00")),
    ]
    assert report.total("collected") == Decimal("257.67")
    assert report.balance == Decimal("172.67")


def test_the_vat_report_exports_to_a_workbook_with_number_cells(fr, tmp_path):
    march_book(fr)
    path = export_vat_report(vat_report(fr, D(2026, 3, 1), D(2026, 3, 31)), tmp_path / "vat.xlsx", "fr")
    sheet = openpyxl.load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == (translate("Side", "fr"), translate("Tax", "fr"))
    assert rows[1][:4] == (translate("VAT collected", "fr"), "TVA20", "TVA 20 %", 20)
    assert (rows[1][4], rows[1][5]) == (1233.33, 246.67)  # number cells, read back as numbers
    assert rows[-1][0] == translate("VAT due for the period", "fr") and rows[-1][5] == 172.67
    assert sheet.cell(row=2, column=5).data_type == "n"


def test_a_purchase_from_an_eu_business_is_self_assessed(fr):
    """Reverse charge on a purchase: no VAT on the bill; 20 % due and deductible in the return."""
    from sqlalchemy import select

    from core.chart import Account
    from plugins.accounting.services import entry_lines, get_entry

    save_partner(fr, PartnerInput("DES", "Berlin Lieferant GmbH", country="DE", vat_number="DE136695976",
                                  is_supplier=True))
    bill = post(fr, "DES", D(2026, 3, 6), [("1000", "TVA20")], InvoiceKind.SUPPLIER_INVOICE)
    assert (bill.fiscal_position, bill.tax, bill.total) == ("reverse_charge", 0, 100000)
    codes = {a.id: a.code for a in fr.scalars(select(Account))}
    lines = {codes[line.account_id]: line.amount for line in entry_lines(fr, get_entry(fr, bill.entry_id))}
    assert lines == {"401": -100000, "607": 100000, "44566": 20000, "44571": -20000}
    report = vat_report(fr, D(2026, 3, 1), D(2026, 3, 31))
    assert [(r.side, r.tax, r.base, r.amount, r.self_assessed) for r in report.rows] == [
        ("collected", "TVA20", Decimal("1000.00"), Decimal("200.00"), True),
        ("deductible", "TVA20", Decimal("1000.00"), Decimal("200.00"), True),
    ]
    assert report.balance == 0
