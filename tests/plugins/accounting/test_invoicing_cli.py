"""`comptoir report aged-receivables|aged-payables|overdue|vat` and `comptoir bank import|balances`."""
from __future__ import annotations

import csv
import io
import json

from plugins.accounting.testing import invoice, partner
from tests.plugins.accounting.invoicing_fixtures import D


def test_aged_receivables_overdue_and_vat_reports(comptoir, database, fr_org, tmp_path):
    with database.transaction(fr_org.id) as session:
        partner(session, "C1", "Client Un")
        invoice(session, "C1", ("100",), D(2026, 1, 10), due_date=D(2026, 2, 9))
    code, out, err = comptoir("report", "aged-receivables", "--org", fr_org.code, "--to", "2026-03-01")
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["partner", "name", "not_due", "1_30", "31_60", "61_90", "over_90", "total"]
    assert rows[1:] == [["C1", "Client Un", "0", "120.00", "0", "0", "0", "120.00"],
                        ["", "Total", "0", "120.00", "0", "0", "0", "120.00"]]
    code, out, _ = comptoir("report", "overdue", "--org", fr_org.code, "--to", "2026-03-01", "--format", "json")
    assert json.loads(out) == [{"invoice": "INV/2026/00001", "partner": "C1", "due_date": "2026-02-09",
                                "days_overdue": 20, "residual": "120.00", "currency": "EUR", "reminder_level": 0,
                                "due_level": 2}]
    code, out, _ = comptoir("report", "vat", "--org", fr_org.code, "--from", "2026-01-01", "--to", "2026-01-31")
    vat = list(csv.reader(io.StringIO(out)))
    assert vat[1] == ["collected", "TVA20", "TVA 20 %", "20", "100.00", "20.00"]
    assert vat[-1][-1] == "20.00"
    path = tmp_path / "vat.xlsx"
    assert comptoir("report", "vat", "--org", fr_org.code, "--from", "2026-01-01", "--to", "2026-01-31",
                    "--format", "xlsx", "-o", str(path))[0] == 0
    assert path.stat().st_size > 0
    assert comptoir("report", "aged-payables", "--org", fr_org.code)[0] == 0


def test_bank_import_matches_and_balances_show_the_bank(comptoir, database, fr_org, tmp_path):
    with database.transaction(fr_org.id) as session:
        partner(session, "C1")
        invoice(session, "C1", ("100",), D(2026, 1, 10))
    statement = tmp_path / "statement.csv"
    statement.write_text("Date,Amount,Reference\n2026-01-20,120.00,INV/2026/00001\n2026-01-21,5.00,?\n",
                         encoding="utf-8")
    code, out, err = comptoir("bank", "import", str(statement), "--org", fr_org.code, "--journal", "BNK")
    assert code == 0, err
    assert out.strip() == ("2 statement lines added (1 matched to invoices, 1 to match), 0 already imported.")
    code, out, _ = comptoir("bank", "import", str(statement), "--org", fr_org.code)
    assert "0 statement lines added" in out and "2 already imported" in out
    code, out, _ = comptoir("bank", "balances", "--org", fr_org.code, "--date", "2026-01-31")
    assert "512\t" in out and "\t120.00" in out
    code, _, err = comptoir("bank", "import", str(statement), "--org", fr_org.code, "--journal", "SAL")
    assert code == 1 and "not a bank or cash journal" in err


def test_taxes_list_and_load_the_templates_missing_ones(comptoir, database, fr_org):
    from sqlalchemy import delete

    from plugins.accounting.invoicing_models import Tax

    code, out, _ = comptoir("taxes", "list", "--org", fr_org.code)
    assert code == 0 and "TVA5.5\t5.5\tdomestic\tTVA 5,5 %" in out.splitlines()
    with database.transaction(fr_org.id) as session:
        session.execute(delete(Tax).where(Tax.code.in_(["TVA2.1", "TVA-EXPORT"])))
    assert comptoir("taxes", "load", "--org", fr_org.code)[1] == "2 taxes added.\n"
    assert comptoir("taxes", "load", "--org", fr_org.code)[1] == "0 taxes added.\n"
