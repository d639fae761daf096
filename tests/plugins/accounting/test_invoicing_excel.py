"""The invoicing sheets' parts: taxes saved by code, restored documents and allocations that
post nothing, numbering that goes on after restored numbers, and bad references reported."""
from __future__ import annotations

from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select

from core import numbering
from core.errors import ValidationError
from core.excel.importer import ImportFailed, import_file
from plugins.accounting.invoices import (
    InvoiceInput,
    InvoiceLineInput,
    RestoredInvoice,
    create_invoice,
    get_invoice,
    invoice_lines,
    post_invoice,
    restore_invoices,
)
from plugins.accounting.invoicing_models import InvoiceKind, InvoiceState, PaymentDirection, TaxScope
from plugins.accounting.models import JournalEntry
from plugins.accounting.payments import PaymentInput, register_payment, restore_allocation, restore_payment
from plugins.accounting.taxes import TaxInput, get_tax, save_tax
from plugins.accounting.testing import partner
from tests.plugins.accounting.invoicing_fixtures import YEAR, D


def _entries(session) -> int:  # noqa: ANN001
    return session.scalar(select(func.count()).select_from(JournalEntry))


def test_a_tax_is_saved_by_its_code_and_every_problem_is_said_at_once(fr):
    with pytest.raises(ValidationError) as failure:
        save_tax(fr, TaxInput("X", "Bad", Decimal("100"), "nowhere", collected="999999"))
    assert sorted(e.field for e in failure.value.errors) == ["collected", "rate", "scope"]
    with pytest.raises(ValidationError) as failure:
        save_tax(fr, TaxInput("Y", "No accounts", Decimal("20")))
    assert sorted(e.field for e in failure.value.errors) == ["collected", "deductible"]
    save_tax(fr, TaxInput("TVA8.5", "TVA 8,5 % (DOM)", Decimal("8.5"), collected="44571", deductible="44566"))
    save_tax(fr, TaxInput("TVA8.5", "TVA 8,5 %", Decimal("8.5"), collected="44571", deductible="44566",
                          active=False))
    tax = get_tax(fr, "TVA8.5")
    assert (tax.name, tax.rate, tax.scope, tax.active) == ("TVA 8,5 %", "8.5", TaxScope.DOMESTIC, False)


def test_numbering_advances_to_a_restored_number_and_never_goes_back(fr):
    numbering.advance_to(fr, "invoice:customer_invoice", str(YEAR), 8)
    numbering.advance_to(fr, "invoice:customer_invoice", str(YEAR), 3)
    assert numbering.next_number(fr, "invoice:customer_invoice", str(YEAR)) == 8


def test_restored_documents_and_allocations_post_nothing_and_follow_residuals(fr):
    """An invoice restored with its entry, paid in two restored allocations: states and
    residuals go as with ``allocate``, no entry is posted, and numbering goes on after it."""
    partner(fr, "C1")
    original = post_invoice(fr, create_invoice(fr, InvoiceInput("C1", D(YEAR, 3, 1), [
        InvoiceLineInput("Work", 1, "100", tax="TVA20")])).id)
    paid = register_payment(fr, PaymentInput("C1", D(YEAR, 3, 5), "120"))
    before = _entries(fr)
    (restored_id,) = restore_invoices(fr, [RestoredInvoice(
        {"kind": InvoiceKind.CUSTOMER_INVOICE, "partner_id": original.partner_id, "state": InvoiceState.POSTED,
         "year": str(YEAR), "number": 7, "name": f"INV/{YEAR}/00007", "date": D(YEAR, 3, 1),
         "due_date": D(YEAR, 3, 31), "currency": "EUR", "rate": "1", "fiscal_position": "domestic",
         "untaxed": 10000, "tax": 2000, "total": 12000, "total_company": 12000, "entry_id": original.entry_id},
        [{"line_no": 1, "label": "Work", "quantity": "1", "unit_price": "100",
          "account_id": invoice_lines(fr, original)[0].account_id, "untaxed": 10000}])])
    restored = get_invoice(fr, restored_id)
    assert (restored.residual, restored.payment_state, restored.closed_on) == (12000, "not_paid", None)
    payment = restore_payment(fr, {"direction": PaymentDirection.INBOUND, "partner_id": paid.partner_id,
                                   "journal_id": paid.journal_id, "date": D(YEAR, 3, 5), "currency": "EUR",
                                   "rate": "1", "amount": 12000, "amount_company": 12000, "reference": "",
                                   "entry_id": paid.entry_id})
    restore_allocation(fr, restored_id, amount=2000, amount_company=2000, source_company=2000, date=D(YEAR, 3, 6),
                       payment_id=payment.id)
    assert (restored.residual, restored.payment_state, payment.unallocated) == (10000, "partial", 10000)
    restore_allocation(fr, restored_id, amount=10000, amount_company=10000, source_company=10000,
                       date=D(YEAR, 3, 9), payment_id=payment.id)
    assert (restored.residual, restored.payment_state, restored.closed_on) == (0, "paid", D(YEAR, 3, 9))
    assert (payment.unallocated, payment.closed_on) == (0, D(YEAR, 3, 9))
    assert _entries(fr) == before
    with pytest.raises(ValidationError):
        restore_allocation(fr, restored_id, amount=1, amount_company=1, source_company=1, date=D(YEAR, 3, 9))
    following = post_invoice(fr, create_invoice(fr, InvoiceInput("C1", D(YEAR, 4, 1), [
        InvoiceLineInput("More", 1, "1", tax="TVA20")])).id)
    assert following.name == f"INV/{YEAR}/00008"


def _book(path, sheets):  # noqa: ANN001, ANN201
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_invoicing_sheets_report_every_bad_reference_with_its_row(fr, tmp_path):
    partner(fr, "C1")
    path = _book(tmp_path / "bad.xlsx", {
        "Invoices": [
            ["Document", "Kind", "State", "Partner", "Fiscal year", "Number", "Date", "Due date", "Currency",
             "Fiscal position", "Entry", "Account", "Quantity", "Unit price", "Line amount"],
            ["INV/X/1", "customer_invoice", "posted", "NOBODY", str(YEAR), 1, D(YEAR, 1, 5), D(YEAR, 2, 5), "EUR",
             "domestic", "SAL/NONE", "706", "1", "10", 10],
            ["DRAFT/C1/1", "customer_invoice", "draft", "C1", None, None, D(YEAR, 1, 5), D(YEAR, 2, 5), "EUR",
             "domestic", "SAL/NONE", "999", "x", "10", 10]],
        "Allocations": [
            ["Invoice", "Rank", "Payment entry", "Date", "Amount", "At the invoice's rate", "At the payment's rate"],
            ["INV/NONE", 1, "BNK/NONE", D(YEAR, 1, 6), 5, 5, 5]],
    })
    with pytest.raises(ImportFailed) as failure:
        import_file(fr, path)
    assert sorted((p.sheet, p.row, p.column) for p in failure.value.problems) == [
        ("Allocations", 2, "Invoice"), ("Allocations", 2, "Payment entry"),
        ("Invoices", 2, "Entry"), ("Invoices", 2, "Partner"),
        ("Invoices", 3, "Account"), ("Invoices", 3, "Entry"), ("Invoices", 3, "Quantity")]
    assert _entries(fr) == 0
