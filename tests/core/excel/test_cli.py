"""`comptoir import`, `comptoir export` and `comptoir import-template`, run for real."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from core.i18n import translate
from tests.core.excel.helpers import xlsx


@pytest.fixture
def acme(comptoir):  # noqa: ANN001, ANN201
    code, _, err = comptoir("org", "create", "Acme", "--chart", "example_tiny", "--currency", "EUR", "--code", "acme")
    assert code == 0, err
    return "acme"


def test_import_prints_counts_then_nothing_changes_the_second_time(comptoir, acme, tmp_path):
    path = xlsx(tmp_path / "accounts.xlsx", [["Code", "Name", "Type"], ["4711", "Suspense", "asset"],
                                             ["4712", "Transit", "asset"]], title="Accounts")
    code, out, err = comptoir("import", str(path), "--org", acme, "--dry-run")
    assert code == 0, err
    assert out == "accounts: 2 created, 0 updated, 0 unchanged.\nDry run: nothing was written.\n"
    assert comptoir("import", str(path), "--org", acme)[1] == "accounts: 2 created, 0 updated, 0 unchanged.\n"
    assert comptoir("import", str(path), "--org", acme)[1] == "accounts: 0 created, 0 updated, 2 unchanged.\n"


def test_import_errors_are_one_line_each_and_point_to_the_annotated_workbook(comptoir, acme, tmp_path):
    rows = [["Reference", "Date", "Journal", "Account", "Debit", "Credit", "Remarks"]]
    for number in range(25):
        rows += [[f"E{number}", dt.date(2026, 1, 5), "MISC", "100", 10, None, ""],
                 [f"E{number}", dt.date(2026, 1, 5), "MISC", "999", None, 10, ""]]
    path = xlsx(tmp_path / "entries.xlsx", rows)
    out_path = tmp_path / "marked" / "errors.xlsx"
    code, out, err = comptoir("import", str(path), "--org", acme, "--schema", "journal_entries",
                              "--errors-out", str(out_path))
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[0] == "Row 3, Account: There is no account 999."
    assert len(lines) == 22 and lines[20] == "… and 5 more problems."
    assert lines[21] == f"Nothing was imported. The annotated workbook is at {out_path}."
    assert "Traceback" not in err
    assert openpyxl.load_workbook(out_path)["Sheet1"]["D3"].comment.text == "There is no account 999."


def test_a_hostile_file_is_one_line_on_stderr(comptoir, acme, tmp_path):
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    code, out, err = comptoir("import", str(path), "--org", acme)
    assert code == 1 and out == ""
    assert err == "Error: This is not a spreadsheet (it looks like a PNG image). Send an .xlsx, .xls, .ods or .csv file.\n"


def test_export_all_and_one_schema(comptoir, acme, tmp_path):
    code, out, err = comptoir("export", "--org", acme, "--all", "-o", str(tmp_path / "all.xlsx"))
    assert code == 0, err
    assert out == ("Exported accounts, fiscal_years, journals, exchange_rates, taxes, invoicing_settings, products, "
                   "partners, journal_entries, invoices, invoice_taxes, payments, allocations, bank_statements "
                   f"to {tmp_path / 'all.xlsx'}.\n")
    assert openpyxl.load_workbook(tmp_path / "all.xlsx").sheetnames == [
        "Accounts", "Fiscal years", "Journals", "Exchange rates", "Taxes", "Invoicing settings", "Products", "Partners",
        "Journal entries", "Invoices", "Invoice taxes", "Payments", "Allocations", "Bank statements"]
    code, _, _ = comptoir("export", "--org", acme, "--schema", "accounts", "-o", str(tmp_path / "a.xlsx"),
                          "--locale", "fr")
    assert code == 0
    code, _, err = comptoir("export", "--org", acme, "-o", str(tmp_path / "x.xlsx"))
    assert code == 1 and "Give --schema NAME or --all." in err
    code, _, err = comptoir("export", "--org", acme, "--schema", "example_notes", "-o", str(tmp_path / "n.xlsx"))
    assert code == 1 and err == "Error: This feature is not enabled for this organization.\n"


def test_import_template_then_import_it(comptoir, acme, tmp_path):
    target = tmp_path / "template.xlsx"
    code, out, err = comptoir("import-template", "--schema", "journal_entries", "-o", str(target))
    assert code == 0, err
    assert out == f"Template for journal_entries written to {target}.\n"
    sheet = openpyxl.load_workbook(target).active
    assert sheet["A2"].value == "INV-2026-001" and sheet["B2"].is_date
    code, _, err = comptoir("import-template", "--schema", "nothing", "-o", str(target))
    assert code == 1 and "There is no import schema nothing" in err


def test_opening_balances_take_their_date_from_the_command_line(comptoir, acme, tmp_path):
    path = xlsx(tmp_path / "opening.xlsx", [["Account", "Debit", "Credit"], ["100", 500, None], ["600", None, 500]])
    code, _, err = comptoir("import", str(path), "--org", acme, "--schema", "opening_balances")
    assert code == 1 and "Row 1, Date: The column Date is missing (or give the option date)." in err
    code, out, err = comptoir("import", str(path), "--org", acme, "--schema", "opening_balances",
                              "--date", "02/01/2026", "--locale", "fr")
    assert code == 0, err
    assert out == translate("%(schema)s: %(created)s created, %(updated)s updated, %(unchanged)s unchanged.", "fr",
                            schema="opening_balances", created=1, updated=0, unchanged=0) + "\n"
    assert "créé" in out


def test_a_long_file_shows_a_progress_bar(comptoir, acme, tmp_path, monkeypatch):
    monkeypatch.setattr("core.cli.PROGRESS_MIN_ROWS", 100)
    rows = [["Code", "Name", "Type"], *[[f"9{n:04d}", f"Account {n}", "expense"] for n in range(1200)]]
    code, out, err = comptoir("import", str(xlsx(tmp_path / "many.xlsx", rows)), "--org", acme)
    assert code == 0, err
    assert out == "accounts: 1200 created, 0 updated, 0 unchanged.\n"
    assert "Reading Sheet1" in err
