"""Journal entries and opening balances from workbooks: balance per entry, references to accounts,
idempotency by reference, and an export imported into another organization with the same books."""
from __future__ import annotations

import datetime as dt
import gc
from decimal import Decimal

import openpyxl
import pytest

from sqlalchemy import select

from core.chart import create_account, get_account
from core.excel import ImportFailed, export_workbook, get_schema, import_file, schemas
from core.periods import set_period_lock
from plugins.accounting.closing import close_fiscal_year
from plugins.accounting.models import JournalLine
from plugins.accounting.reports import trial_balance, verify_ledger
from plugins.accounting.services import EntryInput, credit, debit, entry_lines, get_entry, post_entries
from tests.conftest import make_org, make_user
from tests.core.excel.helpers import table_counts, xlsx

D = dt.date
HEADERS = ["Reference", "Date", "Journal", "Account", "Label", "Debit", "Credit"]
ENTRIES = [
    HEADERS,
    ["INV-1", D(2026, 3, 10), "SAL", "400", "Invoice 1", 1200, None],
    ["INV-1", D(2026, 3, 10), "SAL", "700", "Invoice 1", None, 1200],
    ["PAY-1", "15/03/2026", "BNK", "100", "Payment", "1 200,00", ""],
    ["PAY-1", "15/03/2026", "BNK", "400", "Payment", "", "1 200,00"],
    ["BILL-7", D(2026, 4, 2), "PUR", "800", "Supplies", 99.9, None],
    ["BILL-7", D(2026, 4, 2), "PUR", "410", "VAT", 19.98, None],
    ["BILL-7", D(2026, 4, 2), "PUR", "500", "Supplier", None, 119.88],
]


@pytest.fixture
def books(database):  # noqa: ANN001, ANN201
    return make_org(database, "Ledgers", chart="example_tiny", first_fiscal_year=2026)


def balances(database, org) -> dict[str, Decimal]:  # noqa: ANN001
    with database.session(org.id) as session:
        return {r.code: r.balance for r in trial_balance(session, D(2026, 1, 1), D(2026, 12, 31)) if r.balance}


def test_entries_post_once_by_reference_and_a_second_import_posts_nothing(database, books, tmp_path):
    path = xlsx(tmp_path / "entries.xlsx", ENTRIES, title="Écritures")
    with database.transaction(books.id) as session:
        report = import_file(session, path, schema="journal_entries", locale="fr")
    assert (report.counts.created, report.counts.unchanged) == (3, 0)
    assert balances(database, books) == {"100": Decimal("1200.00"), "410": Decimal("19.98"),
                                         "500": Decimal("-119.88"), "700": Decimal("-1200.00"),
                                         "800": Decimal("99.90")}
    before = table_counts(database, books.id)
    with database.transaction(books.id) as session:
        again = import_file(session, path, schema="journal_entries", locale="fr")
    assert (again.counts.created, again.counts.unchanged) == (0, 3)
    assert table_counts(database, books.id)["journal_entry"] == before["journal_entry"]
    with database.session(books.id) as session:
        assert verify_ledger(session) == []


def test_an_unbalanced_entry_an_unknown_account_and_a_locked_period_are_reported_together(database, books, tmp_path):
    with database.transaction(books.id) as session:
        set_period_lock(session, "2026-04", True)
    rows = [HEADERS,
            ["A", D(2026, 3, 1), "MISC", "100", "", 100, None],
            ["A", D(2026, 3, 1), "MISC", "600", "", None, 90],  # A does not balance
            ["B", D(2026, 3, 2), "MISC", "100", "", 5, None],
            ["B", D(2026, 3, 2), "MISC", "999", "", None, 5],  # no account 999
            ["C", D(2026, 4, 3), "MISC", "100", "", 1, None],  # April is locked
            ["C", D(2026, 4, 3), "MISC", "600", "", None, 1],
            ["D", D(2026, 3, 4), "MISC", "100", "", "12.345", None],  # too many decimals for EUR
            ["D", D(2026, 3, 4), "MISC", "600", "", None, "12.345"]]
    path = xlsx(tmp_path / "bad.xlsx", rows)
    before = table_counts(database, books.id)
    with database.transaction(books.id) as session, pytest.raises(ImportFailed) as failed:
        import_file(session, path, schema="journal_entries")
    assert table_counts(database, books.id) == before
    found = [(p.row, p.column, p.reason("en")) for p in failed.value.problems]
    assert (2, "Debit", "Entry A is not balanced: debits 100, credits 90.") in found
    assert (3, "Debit", "Entry A is not balanced: debits 100, credits 90.") in found
    assert (5, "Account", "There is no account 999.") in found
    assert (6, "Date", "The period 2026-04 is locked.") in found
    assert (8, "Debit", "12.345 has more decimals than EUR allows.") in found
    assert (9, "Credit", "12.345 has more decimals than EUR allows.") in found
    assert len(found) == 6
    sheet = openpyxl.load_workbook(failed.value.workbook)["Sheet1"]
    assert sheet["F2"].comment.text == "Entry A is not balanced: debits 100, credits 90."


def test_an_entry_already_posted_with_other_lines_is_refused(database, books, tmp_path):
    with database.transaction(books.id) as session:
        import_file(session, xlsx(tmp_path / "one.xlsx", ENTRIES[:3]), schema="journal_entries")
    changed = [row[:] for row in ENTRIES[:3]]
    changed[1][5], changed[2][6] = 1300, 1300
    with database.transaction(books.id) as session, pytest.raises(ImportFailed) as failed:
        import_file(session, xlsx(tmp_path / "two.xlsx", changed), schema="journal_entries", update=True)
    assert [p.reason("en") for p in failed.value.problems] == [
        "Entry INV-1 is already posted with other lines; a posted entry does not change: "
        "reverse it and import the correction under a new reference."]


def test_entries_may_use_accounts_created_by_the_same_workbook(database, books, tmp_path):
    accounts = [["Code", "Name", "Type"], ["4711", "Suspense", "asset"]]
    entries = [HEADERS, ["S-1", D(2026, 5, 5), "MISC", "4711", "", 7, None],
               ["S-1", D(2026, 5, 5), "MISC", "100", "", None, 7]]
    path = xlsx(tmp_path / "both.xlsx", entries, title="Journal entries", Accounts=accounts)
    with database.transaction(books.id) as session:
        report = import_file(session, path)
    assert [(s.sheet, s.counts.created) for s in report.sheets] == [("Accounts", 1), ("Journal entries", 1)]
    assert balances(database, books)["4711"] == Decimal("7.00")


def test_opening_balances_at_a_date_given_as_an_option_are_posted_once(database, books, tmp_path):
    rows = [["Compte", "Débit", "Crédit"], ["100", "5 000,00", ""], ["400", "1 250,50", ""],
            ["600", "", "6 250,50"]]
    path = xlsx(tmp_path / "ouverture.xlsx", rows, title="Soldes d'ouverture")
    with database.transaction(books.id) as session, pytest.raises(ImportFailed) as failed:
        import_file(session, path, locale="fr")
    assert [(p.row, p.column) for p in failed.value.problems] == [(1, "Date")]  # no date column, no option
    with database.transaction(books.id) as session:
        report = import_file(session, path, locale="fr", options={"date": "01/02/2026"})
    assert report.sheets[0].schema == "opening_balances" and report.counts.created == 1
    with database.transaction(books.id) as session:
        assert import_file(session, path, locale="fr", options={"date": "01/02/2026"}).counts.unchanged == 1
    with database.session(books.id) as session:
        assert balances(database, books) == {"100": Decimal("5000.00"), "400": Decimal("1250.50"),
                                             "600": Decimal("-6250.50")}
    unbalanced = xlsx(tmp_path / "faux.xlsx", [["Date", "Compte", "Débit", "Crédit"],
                                              [D(2026, 3, 1), "100", 10, None], [D(2026, 3, 1), "600", None, 9]])
    with database.transaction(books.id) as session, pytest.raises(ImportFailed) as failed:
        import_file(session, unbalanced, schema="opening_balances")
    assert {p.reason("en") for p in failed.value.problems} == {
        "The opening balances at 2026-03-01 are not balanced: debits 10, credits 9."}


def test_export_then_import_into_an_empty_organization_gives_the_same_books(database, books, tmp_path):
    owner = make_user(database, books, "owner@ledgers.test")
    with database.transaction(books.id) as session:
        post_entries(session, [
            EntryInput("MISC", D(2026, 1, 2), [debit("100", "5000"), credit("600", "5000")], label="capital"),
            EntryInput("SAL", D(2026, 3, 10), [debit("400", "1200"), credit("700", "1000"),
                                               credit("510", "200")], label="sale 'quoted' = text"),
        ])
        import_file(session, xlsx(tmp_path / "entries.xlsx", ENTRIES), schema="journal_entries", locale="fr")
        close_fiscal_year(session, "2026", actor=owner)
        export = export_workbook(session, tmp_path / "export.xlsx", schemas(session), locale="fr")
    copy = make_org(database, "Copy", chart=None, first_fiscal_year=2026)
    with database.transaction(copy.id) as session:
        report = import_file(session, export, locale="fr")
    assert [s.schema for s in report.sheets] == [
        "accounts", "fiscal_years", "journals", "exchange_rates", "taxes", "invoicing_settings", "products", "partners",
        "journal_entries", "invoices", "invoice_taxes", "payments", "allocations", "bank_statements"]
    with database.transaction(copy.id) as session:
        again = import_file(session, export, locale="fr")
    assert again.counts.created == 0
    for year in (2026, 2027):
        with database.session(books.id) as session:
            original = trial_balance(session, D(year, 1, 1), D(year, 12, 31))
        with database.session(copy.id) as session:
            copied = trial_balance(session, D(year, 1, 1), D(year, 12, 31))
            assert verify_ledger(session) == []
        assert copied == original and original
    with database.session(copy.id) as session:
        assert get_account(session, "100").parent_id == get_account(session, "1").id

    # and the export imports back into its own books as unchanged
    with database.transaction(books.id) as session:
        back = import_file(session, export, locale="fr")
    assert back.counts.created == 0


def test_the_ledger_service_problems_point_at_rows(database, books, tmp_path):
    """A problem found only when posting (a deprecated account) still names its row."""
    with database.transaction(books.id) as session:
        entry = get_entry(session, post_entries(session, [
            EntryInput("MISC", D(2026, 1, 2), [debit("100", "1"), credit("600", "1")])])[0])
        assert len(entry_lines(session, entry)) == 2
        get_account(session, "110").deprecated = True
    rows = [HEADERS, ["X", D(2026, 2, 2), "MISC", "100", "", 1, None], ["X", D(2026, 2, 2), "MISC", "110", "", None, 1]]
    with database.transaction(books.id) as session, pytest.raises(ImportFailed) as failed:
        import_file(session, xlsx(tmp_path / "dep.xlsx", rows), schema="journal_entries")
    assert [(p.row, p.column, p.reason("en")) for p in failed.value.problems] == [
        (3, "Account", "Account 110 is deprecated.")]


def test_foreign_amounts_are_written_positive_and_take_the_sign_of_their_line(database, books, tmp_path):
    with database.transaction(books.id) as session:
        create_account(session, "105", "Bank USD", type="asset", subtype="bank", currency="USD")
    rows = [[*HEADERS, "Currency", "Amount in currency"],
            ["FX-1", D(2026, 6, 1), "BNK", "105", "Dollars in", "1 100,00", None, "usd", "1 000,00"],
            ["FX-1", D(2026, 6, 1), "BNK", "600", "Dollars in", None, "1 100,00", None, None],
            ["FX-2", D(2026, 6, 2), "BNK", "105", "Dollars out", None, "55,00", "USD", "50"],
            ["FX-2", D(2026, 6, 2), "BNK", "800", "Dollars out", "55,00", None, None, None]]
    path = xlsx(tmp_path / "fx.xlsx", rows)
    with database.transaction(books.id) as session:
        assert import_file(session, path, schema="journal_entries", locale="fr").counts.created == 2
        assert import_file(session, path, schema="journal_entries", locale="fr").counts.unchanged == 2
        exported = export_workbook(session, tmp_path / "fx-out.xlsx", [get_schema(session, "journal_entries")])
    with database.session(books.id) as session:
        usd = [(line.amount, line.amount_currency) for line in session.scalars(
            select(JournalLine).where(JournalLine.currency == "USD").order_by(JournalLine.date))]
    assert usd == [(110000, 100000), (-5500, -5000)]
    sheet = openpyxl.load_workbook(exported).active
    assert [(c[6].value, c[7].value, c[8].value) for c in sheet.iter_rows(min_row=2) if c[7].value] == [
        (None, "USD", 1000), (55, "USD", 50)]


def test_an_import_leaves_the_collectors_frozen_objects_as_it_found_them(database, books, tmp_path):
    """The import freezes the objects it finds (see importer._earlier_objects_frozen) and
    unfreezes them, whatever happens; a process that froze objects itself keeps them frozen."""
    good = xlsx(tmp_path / "entries.xlsx", ENTRIES)
    bad = xlsx(tmp_path / "bad.xlsx", [HEADERS, ["X-1", D(2026, 3, 10), "SAL", "400", "x", 10, None]])
    assert gc.get_freeze_count() == 0
    with database.transaction(books.id) as session:
        import_file(session, good, schema="journal_entries", locale="fr")
    assert gc.get_freeze_count() == 0
    with database.transaction(books.id) as session, pytest.raises(ImportFailed):
        import_file(session, bad, schema="journal_entries")
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        with database.transaction(books.id) as session:
            assert import_file(session, good, schema="journal_entries", locale="fr").counts.unchanged == 3
        assert gc.get_freeze_count() > 0  # not unfrozen by the import (a few frozen objects may be freed)
    finally:
        gc.unfreeze()
