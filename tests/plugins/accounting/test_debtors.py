"""Aged receivables and payables at a date, partner statements, overdue invoices and reminders."""
from __future__ import annotations

from decimal import Decimal

import pytest

from plugins.accounting.debtors import (
    BUCKETS,
    aged_balance,
    overdue_invoices,
    partner_statement,
    record_reminders,
)
from plugins.accounting.invoices import InvoiceInput, InvoiceLineInput, create_invoice, post_invoice
from plugins.accounting.invoicing_models import InvoiceKind, PaymentDirection
from plugins.accounting.payments import PaymentInput, register_payment, undo_allocation, allocations_of
from plugins.accounting.testing import partner
from tests.plugins.accounting.invoicing_fixtures import D

DAY = D(2026, 6, 30)


def invoice(session, code, amount, due, *, day=None, kind=InvoiceKind.CUSTOMER_INVOICE):  # noqa: ANN001, ANN201
    """An invoice without VAT (an export tax), so its total is ``amount``."""
    draft = create_invoice(session, InvoiceInput(code, day or D(2026, 1, 2), [
        InvoiceLineInput("x", 1, amount, tax="TVA-EXPORT")], kind=kind, due_date=due))
    return post_invoice(session, draft.id)


def amounts(row) -> dict[str, Decimal]:  # noqa: ANN001
    return {bucket: value for bucket, value in zip(BUCKETS, row.buckets, strict=True) if value}


@pytest.fixture
def book(fr):  # noqa: ANN001, ANN201
    partner(fr, "C1")
    partner(fr, "C2")
    partner(fr, "S1", is_supplier=True)
    made = {
        "not_due": invoice(fr, "C1", "100", D(2026, 7, 10)),
        "due_today": invoice(fr, "C1", "40", DAY),  # due on the day: not yet overdue
        "15_days": invoice(fr, "C1", "200", D(2026, 6, 15)),
        "30_days": invoice(fr, "C1", "10", D(2026, 5, 31)),
        "41_days": invoice(fr, "C1", "300", D(2026, 5, 20)),
        "60_days": invoice(fr, "C1", "20", D(2026, 5, 1)),
        "71_days": invoice(fr, "C1", "400", D(2026, 4, 20)),
        "90_days": invoice(fr, "C1", "30", D(2026, 4, 1)),
        "149_days": invoice(fr, "C1", "500", D(2026, 2, 1)),
        "later": invoice(fr, "C1", "999", D(2026, 8, 1), day=D(2026, 7, 1)),  # issued after the day
        "other": invoice(fr, "C2", "70", D(2026, 7, 30)),
        "bill": invoice(fr, "S1", "80", D(2026, 6, 1), kind=InvoiceKind.SUPPLIER_INVOICE),
    }
    # Paid in part before the day, in full after it.
    register_payment(fr, PaymentInput("C1", D(2026, 6, 1), "100", allocations=[(made["149_days"].id, "100")]))
    register_payment(fr, PaymentInput("C1", D(2026, 7, 5), "300", allocations=[(made["41_days"].id, "300")]))
    # A credit note of 50 left open, and 25 received and not allocated: the partner's credit.
    create = create_invoice(fr, InvoiceInput("C1", D(2026, 6, 10), [InvoiceLineInput("refund", 1, "50",
                                                                                     tax="TVA-EXPORT")],
                                             kind=InvoiceKind.CUSTOMER_CREDIT_NOTE))
    post_invoice(fr, create.id)
    register_payment(fr, PaymentInput("C1", D(2026, 6, 25), "25"))
    return made


def test_aged_receivables_at_a_date(fr, book):
    aged = aged_balance(fr, DAY)
    rows = {row.code: row for row in aged.rows}
    assert set(rows) == {"C1", "C2"}
    assert amounts(rows["C1"]) == {"not_due": Decimal("140.00"),
                                   "1_30": Decimal("135.00"),  # 200 + 10 − 50 (credit note) − 25 (credit)
                                   "31_60": Decimal("320.00"), "61_90": Decimal("430.00"),
                                   "over_90": Decimal("400.00")}
    assert amounts(rows["C2"]) == {"not_due": Decimal("70.00")}
    assert aged.total == Decimal("1495.00")


def test_aged_receivables_later_see_the_later_payment_and_invoice(fr, book):
    rows = {row.code: row for row in aged_balance(fr, D(2026, 7, 31)).rows}
    assert amounts(rows["C1"]) == {"not_due": Decimal("999.00"), "1_30": Decimal("100.00"),
                                   "31_60": Decimal("165.00"),  # 40 + 200 − 50 − 25
                                   "61_90": Decimal("10.00"), "over_90": Decimal("850.00")}
    assert rows["C1"].total == Decimal("1495.00") - Decimal("70.00") - Decimal("300.00") + Decimal("999.00")


def test_undoing_a_payment_puts_the_amount_back_in_its_bucket(fr, book):
    (allocation,) = allocations_of(fr, book["149_days"])
    undo_allocation(fr, allocation.id)
    rows = {row.code: row for row in aged_balance(fr, DAY).rows}
    assert amounts(rows["C1"])["over_90"] == Decimal("500.00")
    assert amounts(rows["C1"])["1_30"] == Decimal("35.00")  # the 100 received is now unallocated credit


def test_aged_payables_list_the_suppliers(fr, book):
    aged = aged_balance(fr, DAY, "payable")
    assert [(row.code, amounts(row)) for row in aged.rows] == [("S1", {"1_30": Decimal("80.00")})]
    register_payment(fr, PaymentInput("S1", D(2026, 6, 20), "80", direction=PaymentDirection.OUTBOUND,
                                      allocations=[(book["bill"].id, "80")]))
    assert aged_balance(fr, DAY, "payable").rows == []


def test_a_partner_statement_runs_a_balance(fr):
    partner(fr, "C1")
    first = invoice(fr, "C1", "100", D(2026, 2, 1), day=D(2026, 1, 15))
    invoice(fr, "C1", "40", D(2026, 3, 1), day=D(2026, 2, 10))
    register_payment(fr, PaymentInput("C1", D(2026, 2, 20), "60", reference="TRF-1",
                                      allocations=[(first.id, "60")]))
    statement = partner_statement(fr, "C1", D(2026, 2, 1), D(2026, 2, 28))
    assert statement.opening == Decimal("100.00")
    assert [(line.document, line.debit, line.credit, line.balance) for line in statement.lines] == [
        ("INV/2026/00002", Decimal("40.00"), Decimal("0.00"), Decimal("140.00")),
        ("TRF-1", Decimal("0.00"), Decimal("60.00"), Decimal("80.00")),
    ]
    assert statement.closing == Decimal("80.00")


def test_overdue_invoices_and_their_reminder_levels(fr, book):
    overdue = {o.days_overdue: o for o in overdue_invoices(fr, DAY)}
    assert sorted(overdue) == [15, 30, 60, 71, 90, 149]  # 41 days: paid after the day, so not listed now
    assert {days: o.due_level for days, o in overdue.items()} == {15: 2, 30: 3, 60: 3, 71: 3, 90: 3, 149: 3}
    assert overdue[149].residual == Decimal("400.00")
    reminded = record_reminders(fr, DAY)
    assert len(reminded) == 6
    assert record_reminders(fr, DAY) == []
    assert {o.reminder_level for o in overdue_invoices(fr, DAY)} == {2, 3}
    assert overdue_invoices(fr, D(2026, 6, 2))[0].due_level == 3
