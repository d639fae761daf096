"""Invoices and credit notes: totals, the posted entry, gapless numbers per year, due dates,
foreign currencies, and cancellation by credit note only."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core.chart import Account
from core.errors import Conflict, ValidationError
from core.periods import create_next_fiscal_year
from core.tenancy import current_organization
from plugins.accounting.invoices import (
    InvoiceInput,
    InvoiceLineInput,
    cancel_invoice,
    create_invoice,
    create_invoices,
    delete_draft_invoice,
    get_invoice,
    post_invoice,
    post_invoices,
)
from plugins.accounting.invoicing_models import InvoiceKind, InvoiceState, PaymentState
from plugins.accounting.partners import PartnerInput, ProductInput, save_partner, save_product
from plugins.accounting.payments import PaymentInput, register_payment
from plugins.accounting.rates import set_rate
from plugins.accounting.services import entry_lines, get_entry
from plugins.accounting.testing import invoice as make_invoice
from plugins.accounting.testing import partner
from tests.plugins.accounting.invoicing_fixtures import D


def lines_by_account(session, entry_id):  # noqa: ANN001, ANN201
    codes = {a.id: a.code for a in session.scalars(select(Account))}
    found: dict[str, int] = {}
    for line in entry_lines(session, get_entry(session, entry_id)):
        found[codes[line.account_id]] = found.get(codes[line.account_id], 0) + line.amount
    return found


def test_a_customer_invoice_posts_receivable_revenue_and_vat(fr):
    partner(fr, "C1")
    save_product(fr, ProductInput("BOOK", "Book", "30", sale_tax="TVA5.5", income_account="707"))
    draft = create_invoice(fr, InvoiceInput("C1", D(2026, 2, 10), [
        InvoiceLineInput("Consulting", 3, "150.00"),  # 450 at 20 %
        InvoiceLineInput(product="BOOK", quantity=2),  # 60 at 5.5 %
    ]))
    assert (draft.untaxed, draft.tax, draft.total) == (51000, 9000 + 330, 51000 + 9330)
    assert draft.state == InvoiceState.DRAFT and draft.name is None and draft.entry_id is None
    posted = post_invoice(fr, draft.id)
    assert posted.state == InvoiceState.POSTED and posted.name == "INV/2026/00001"
    assert lines_by_account(fr, posted.entry_id) == {"411": 60330, "706": -45000, "707": -6000, "44571": -9330}
    assert get_entry(fr, posted.entry_id).name.startswith("SAL/")
    assert (posted.residual, posted.payment_state) == (60330, PaymentState.NOT_PAID)


def test_a_supplier_invoice_posts_expense_deductible_vat_and_payable(fr):
    partner(fr, "S1", is_supplier=True)
    bill = make_invoice(fr, "S1", ("200",), D(2026, 2, 1), kind=InvoiceKind.SUPPLIER_INVOICE)
    assert bill.name == "BILL/2026/00001"
    assert lines_by_account(fr, bill.entry_id) == {"401": -24000, "607": 20000, "44566": 4000}
    assert get_entry(fr, bill.entry_id).name.startswith("PUR/")


def test_numbers_are_gapless_per_kind_and_per_year(fr, fr_org):
    create_next_fiscal_year(fr, fr_org)
    partner(fr, "C1")
    days = [D(2026, 1, 5), D(2026, 12, 30), D(2027, 1, 2), D(2026, 6, 1)]
    ids = create_invoices(fr, [InvoiceInput("C1", d, [InvoiceLineInput("x", 1, "10")]) for d in days])
    post_invoices(fr, ids[:2])
    post_invoices(fr, ids[2:])
    assert [get_invoice(fr, i).name for i in ids] == [
        "INV/2026/00001", "INV/2026/00002", "INV/2027/00001", "INV/2026/00003"]
    note = cancel_invoice(fr, ids[0])
    assert note.name == "CN/2026/00001"
    with pytest.raises(ValidationError):
        post_invoices(fr, [ids[0]])  # already posted


def test_the_due_date_follows_the_partners_payment_terms(fr):
    save_partner(fr, PartnerInput("C45", "Slow payer", country="FR", payment_terms_days=45))
    invoice = make_invoice(fr, "C45", ("10",), D(2026, 1, 31), post=False)
    assert invoice.due_date == D(2026, 3, 17)
    explicit = make_invoice(fr, "C45", ("10",), D(2026, 1, 31), post=False, due_date=D(2026, 2, 1))
    assert explicit.due_date == D(2026, 2, 1)


def test_a_foreign_currency_invoice_uses_the_rate_of_its_date(fr):
    set_rate(fr, "USD", D(2026, 3, 1), "0.9")
    set_rate(fr, "USD", D(2026, 4, 1), "0.8")
    save_partner(fr, PartnerInput("US1", "Yankee Inc", country="US", currency="USD"))
    invoice = make_invoice(fr, "US1", ("1000.01",), D(2026, 3, 15))  # an export: no VAT
    assert (invoice.currency, invoice.rate, invoice.total, invoice.total_company) == ("USD", "0.9", 100001, 90001)
    lines = entry_lines(fr, get_entry(fr, invoice.entry_id))
    assert [(line.amount, line.currency, line.amount_currency) for line in lines] == [
        (90001, "USD", 100001), (-90001, "USD", -100001)]


def test_a_missing_rate_and_other_problems_are_all_reported(fr):
    partner(fr, "C1")
    with pytest.raises(ValidationError) as error:
        create_invoices(fr, [
            InvoiceInput("NOBODY", D(2026, 1, 1), [InvoiceLineInput("x", 1, "1")]),
            InvoiceInput("C1", D(2026, 1, 1), [InvoiceLineInput("x", 1, "1")], currency="JPY"),
            InvoiceInput("C1", D(2026, 1, 1), [InvoiceLineInput(product="NOPE"), InvoiceLineInput("x", 1, "1",
                                                                                             tax="NOPE")]),
            InvoiceInput("C1", D(2026, 1, 1), []),
        ])
    assert [(e.row, e.field) for e in error.value.errors] == [
        (1, "partner"), (2, "currency"), (3, "product"), (3, "tax"), (4, "lines")]


def test_a_posted_invoice_is_cancelled_by_a_credit_note_only(fr):
    partner(fr, "C1")
    draft = make_invoice(fr, "C1", ("100",), D(2026, 2, 1), post=False)
    delete_draft_invoice(fr, draft.id)
    invoice = make_invoice(fr, "C1", ("100", "20"), D(2026, 2, 1))
    with pytest.raises(Conflict):
        delete_draft_invoice(fr, invoice.id)
    note = cancel_invoice(fr, invoice.id, date=D(2026, 2, 20))
    invoice = get_invoice(fr, invoice.id)
    assert invoice.state == InvoiceState.CANCELLED and invoice.residual == 0
    assert (note.kind, note.total, note.residual, note.credit_note_of_id) == (
        InvoiceKind.CUSTOMER_CREDIT_NOTE, 14400, 0, invoice.id)
    assert lines_by_account(fr, note.entry_id) == {"411": -14400, "706": 12000, "44571": 2400}
    with pytest.raises(Conflict):
        cancel_invoice(fr, invoice.id)


def test_a_paid_invoice_cannot_be_cancelled_until_its_payment_is_undone(fr):
    partner(fr, "C1")
    invoice = make_invoice(fr, "C1", ("100",), D(2026, 2, 1))
    register_payment(fr, PaymentInput("C1", D(2026, 2, 5), "50", allocations=[(invoice.id, "50")]))
    with pytest.raises(Conflict):
        cancel_invoice(fr, invoice.id)


def test_a_foreign_credit_note_keeps_the_rate_of_its_invoice(fr):
    set_rate(fr, "USD", D(2026, 3, 1), "0.9")
    set_rate(fr, "USD", D(2026, 5, 1), "0.7")
    save_partner(fr, PartnerInput("US1", "Yankee Inc", country="US", currency="USD"))
    invoice = make_invoice(fr, "US1", ("500",), D(2026, 3, 2))
    note = cancel_invoice(fr, invoice.id, date=D(2026, 5, 2))
    assert (note.rate, note.total_company) == ("0.9", invoice.total_company)
    assert current_organization(fr).currency == "EUR"
    assert Decimal(note.total_company).scaleb(-2) == Decimal("450.00")


def test_demo_organizations_get_partners_invoices_and_payments(fr):
    from plugins.accounting.debtors import aged_balance
    from plugins.accounting.demo import make_demo_invoices
    from plugins.accounting.reports import verify_ledger

    ids = make_demo_invoices(fr)
    invoices = [get_invoice(fr, i) for i in ids]
    assert len(invoices) == 9 and {i.state for i in invoices} == {InvoiceState.POSTED}
    assert [i.payment_state for i in invoices[:2]] == [PaymentState.PAID, PaymentState.PARTIAL]
    assert [row.code for row in aged_balance(fr, D(2026, 12, 31)).rows] == ["DEMO-C1", "DEMO-C2"]
    assert verify_ledger(fr) == []
