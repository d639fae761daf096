"""A sale without a quote, told as a story: a Swedish consultancy (books in SEK) invoices a
German company in EUR, is paid in two parts at two rates, and watches its aged receivables.

- 1 March: invoice of 10,000 EUR of consulting, payable in 30 days. The buyer is a German
  company with a VAT number: reverse charge, no VAT, and the mention on the invoice.
  EUR is worth 11.50 SEK: 115,000 SEK receivable.
- 15 March: 4,000 EUR received at 11.50 — no exchange difference.
- 15 April, the aged balance shows 6,000 EUR (69,000 SEK) 1-30 days overdue.
- 20 April: the last 6,000 EUR received when EUR is worth 11.20: 67,200 SEK for 69,000 SEK
  owed, a realized exchange loss of 1,800 SEK.
- After it, nobody owes anything; the ledger still verifies.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from core.chart import default_account
from plugins.accounting.debtors import BUCKETS, aged_balance
from plugins.accounting.invoices import InvoiceInput, InvoiceLineInput, create_invoice, get_invoice, post_invoice
from plugins.accounting.invoicing_models import PaymentState
from plugins.accounting.models import JournalLine
from plugins.accounting.partners import PartnerInput, ProductInput, save_partner, save_product
from plugins.accounting.payments import PaymentInput, register_payment
from plugins.accounting.rates import set_rate
from plugins.accounting.reports import verify_ledger
from plugins.accounting.taxes import get_tax
from tests.plugins.accounting.invoicing_fixtures import D, make_invoicing_org


def balance(session, role: str) -> Decimal:  # noqa: ANN001
    account = default_account(session, role)
    total = session.scalar(select(func.coalesce(func.sum(JournalLine.amount), 0))
                           .where(JournalLine.account_id == account.id))
    return Decimal(total).scaleb(-2)


def test_a_sale_in_euros_to_a_german_company_paid_in_two_parts_at_two_rates(database):
    org = make_invoicing_org(database, "Stockholm Konsult AB", "generic_service", country="SE", currency="SEK")
    with database.transaction(org.id) as session:
        set_rate(session, "EUR", D(2026, 3, 1), "11.50")
        set_rate(session, "EUR", D(2026, 4, 20), "11.20")
        save_partner(session, PartnerInput("BERLIN", "Berlin Maschinen GmbH", country="DE",
                                           vat_number="DE 136 695 976", currency="EUR", payment_terms_days=30,
                                           email="ap@berlin.test", language="en"))
        save_product(session, ProductInput("CONSULT", "Consulting day", "1000", currency="EUR"))

        # 1 March: the invoice.
        draft = create_invoice(session, InvoiceInput("BERLIN", D(2026, 3, 1), [
            InvoiceLineInput(product="CONSULT", quantity=10)]))
        invoice = post_invoice(session, draft.id)
        assert (invoice.fiscal_position, invoice.currency, invoice.tax) == ("reverse_charge", "EUR", 0)
        assert "reverse charge" in get_tax(session, "VAT-RC").mention.lower()
        assert (invoice.total, invoice.total_company, invoice.due_date) == (1000000, 11500000, D(2026, 3, 31))
        assert balance(session, "receivable") == Decimal("115000.00")

        # 15 March: a first part, at the invoice's rate.
        set_rate(session, "EUR", D(2026, 3, 15), "11.50")
        first = register_payment(session, PaymentInput("BERLIN", D(2026, 3, 15), "4000", currency="EUR",
                                                       allocations=[(invoice.id, "4000")]))
        invoice = get_invoice(session, invoice.id)
        assert (invoice.payment_state, invoice.residual, invoice.residual_company) == (
            PaymentState.PARTIAL, 600000, 6900000)
        assert first.amount_company == 4600000

        # 15 April: 6,000 EUR are 15 days overdue.
        before = aged_balance(session, D(2026, 4, 15))
        (row,) = before.rows
        assert dict(zip(BUCKETS, row.buckets, strict=True)) == {
            "not_due": 0, "1_30": Decimal("69000.00"), "31_60": 0, "61_90": 0, "over_90": 0}

        # 20 April: the rest, at 11.20.
        register_payment(session, PaymentInput("BERLIN", D(2026, 4, 20), "6000", currency="EUR",
                                               allocations=[(invoice.id, "6000")]))
        invoice = get_invoice(session, invoice.id)
        assert (invoice.payment_state, invoice.residual, invoice.residual_company) == (PaymentState.PAID, 0, 0)
        assert balance(session, "fx_loss") == Decimal("1800.00")
        assert balance(session, "bank") == Decimal("113200.00")  # 46,000 + 67,200
        assert balance(session, "receivable") == 0

        # After it: nothing is owed; before it, the history still shows what was.
        assert aged_balance(session, D(2026, 4, 30)).rows == []
        assert aged_balance(session, D(2026, 4, 15)).total == Decimal("69000.00")
        assert aged_balance(session, D(2026, 3, 10)).total == Decimal("115000.00")
        assert verify_ledger(session) == []
