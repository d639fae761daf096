"""Treasury balances and bank statements: CSV and xlsx import, matching to open invoices, idempotency."""
from __future__ import annotations

from decimal import Decimal

import openpyxl
import pytest

from core.errors import ValidationError
from plugins.accounting.invoices import get_invoice
from plugins.accounting.invoicing_models import InvoiceKind, PaymentState
from plugins.accounting.testing import invoice, partner
from plugins.accounting.treasury import import_statement, treasury_balances, unmatched_lines
from tests.plugins.accounting.invoicing_fixtures import D

STATEMENT = """Date,Amount,Label,Reference
2026-03-10,120.00,VIR CLIENT UN,INV/2026/00001
2026-03-11,36.00,VIR CLIENT DEUX,
2026-03-12,-60.00,PRLV FOURNISSEUR,
2026-03-13,999.99,UNKNOWN TRANSFER,
2026-03-13,-15.00,BANK FEES,
"""


@pytest.fixture
def open_invoices(fr):  # noqa: ANN001, ANN201
    partner(fr, "C1")
    partner(fr, "C2")
    partner(fr, "S1", is_supplier=True)
    return [invoice(fr, "C1", ("100",), D(2026, 3, 1)),  # 120, named in the first line
            invoice(fr, "C2", ("30",), D(2026, 3, 2)),  # 36, the only one of that amount
            invoice(fr, "C1", ("30", "0.01"), D(2026, 3, 3)),  # 36.01: not 36
            invoice(fr, "S1", ("50",), D(2026, 3, 4), kind=InvoiceKind.SUPPLIER_INVOICE)]  # 60 to pay


def test_a_csv_statement_is_matched_to_open_invoices_and_imported_once(fr, open_invoices, tmp_path):
    path = tmp_path / "statement.csv"
    path.write_text(STATEMENT, encoding="utf-8")
    result = import_statement(fr, path)
    assert (result.added, result.matched, result.unmatched, result.unchanged) == (5, 3, 2, 0)
    states = [get_invoice(fr, i.id).payment_state for i in open_invoices]
    assert states == [PaymentState.PAID, PaymentState.PAID, PaymentState.NOT_PAID, PaymentState.PAID]
    assert [line.label for line in unmatched_lines(fr)] == ["UNKNOWN TRANSFER", "BANK FEES"]
    again = import_statement(fr, path)
    assert (again.added, again.unchanged) == (0, 5)
    (bank,) = [b for b in treasury_balances(fr, D(2026, 3, 31)) if b.code == "512"]
    assert bank.balance == Decimal("96.00")  # 120 + 36 − 60: unmatched lines are not booked


def test_an_xlsx_statement_in_french_headers(fr, open_invoices, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Date opération", "Libellé", "Montant"])
    sheet.append([D(2026, 3, 10), "Paiement INV/2026/00002", Decimal("36")])
    path = tmp_path / "releve.xlsx"
    workbook.save(path)
    result = import_statement(fr, path, locale="fr")
    assert (result.added, result.matched) == (1, 1)
    assert get_invoice(fr, open_invoices[1].id).payment_state == PaymentState.PAID


def test_bad_statement_lines_are_all_reported_and_nothing_is_written(fr, open_invoices, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Date,Amount,Label\nnot a date,12,x\n2026-03-01,1.234,y\n2026-03-02,36,ok\n", encoding="utf-8")
    with pytest.raises(ValidationError) as error:
        import_statement(fr, path)
    assert [(e.row, e.field) for e in error.value.errors] == [(2, "date"), (3, "amount")]
    assert unmatched_lines(fr) == []
    assert get_invoice(fr, open_invoices[1].id).payment_state == PaymentState.NOT_PAID


def test_an_unmatched_line_is_settled_by_hand_once(fr, open_invoices, tmp_path):
    from core.errors import Conflict
    from plugins.accounting.payments import partner_credit
    from plugins.accounting.treasury import match_statement_line

    path = tmp_path / "statement.csv"
    path.write_text("Date,Amount,Label\n2026-03-20,50.00,CHEQUE 1234\n", encoding="utf-8")
    import_statement(fr, path)
    (line,) = unmatched_lines(fr)
    third = open_invoices[2]  # 36.01 for C1
    match_statement_line(fr, line.id, "C1", [(third.id, Decimal("36.01"))])
    assert get_invoice(fr, third.id).payment_state == PaymentState.PAID
    assert partner_credit(fr, "C1") == Decimal("13.99")
    assert unmatched_lines(fr) == []
    with pytest.raises(Conflict):
        match_statement_line(fr, line.id, "C1")
