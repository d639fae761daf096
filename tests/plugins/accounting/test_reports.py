"""Ledger reports: figures worked out by hand on the tiny chart, pages that join up, a
consolidation across currencies, the `comptoir report` command, and properties."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.chart import create_account
from core.db import tenant_id
from core.errors import NotFound, ValidationError
from core.periods import create_next_fiscal_year
from core.tenancy import current_organization
from plugins.accounting.reports import (
    balance_sheet,
    consolidated_trial_balance,
    general_ledger,
    journal_listing,
    profit_and_loss,
    trial_balance,
)
from plugins.accounting.services import EntryInput, create_draft, credit, debit, post_entries
from tests.conftest import make_org

YEAR = 2026
D = dt.date
Q1 = (D(YEAR, 1, 1), D(YEAR, 3, 31))
Q2 = (D(YEAR, 4, 1), D(YEAR, 6, 30))

# The books of a small trading company, as the test reads them:
#   1  05.01  MISC  capital paid in         100 Bank 10,000.00 / 600 Capital
#   2  10.02  SAL   invoice                 400 Customers 1,200.00 / 700 Sales 1,000.00, 510 VAT payable 200.00
#   3  20.02  PUR   supplier invoice        800 Purchases 500.00, 410 VAT receivable 100.00 / 500 Suppliers 600.00
#   4  15.03  BNK   customer pays           100 Bank 1,200.00 / 400 Customers
#   5  31.03  BNK   supplier paid           500 Suppliers 600.00 / 100 Bank
#   6  10.04  CSH   cash sale               110 Cash 50.00 / 700 Sales
#   7  20.04  MISC  exchange loss           810 Exchange losses 10.00 / 100 Bank
BOOKS = [
    EntryInput("MISC", D(YEAR, 1, 5), [debit("100", "10000"), credit("600", "10000")], label="capital paid in"),
    EntryInput("SAL", D(YEAR, 2, 10), [debit("400", "1200"), credit("700", "1000"), credit("510", "200")],
               label="invoice 1", reference="INV-1"),
    EntryInput("PUR", D(YEAR, 2, 20), [debit("800", "500"), debit("410", "100"), credit("500", "600")],
               label="supplier invoice"),
    EntryInput("BNK", D(YEAR, 3, 15), [debit("100", "1200"), credit("400", "1200")], label="customer pays"),
    EntryInput("BNK", D(YEAR, 3, 31), [debit("500", "600"), credit("100", "600")], label="supplier paid"),
    EntryInput("CSH", D(YEAR, 4, 10), [debit("110", "50"), credit("700", "50")], label="cash sale"),
    EntryInput("MISC", D(YEAR, 4, 20), [debit("810", "10"), credit("100", "10")], label="exchange loss"),
]


def dec(text: str) -> Decimal:
    return Decimal(text)


def figures(rows) -> dict[str, tuple[str, str, str, str]]:  # noqa: ANN001
    return {r.code: (str(r.opening), str(r.debit), str(r.credit), str(r.balance)) for r in rows}


@pytest.fixture
def books(database):  # noqa: ANN001, ANN201
    org = make_org(database, "X", chart="example_tiny", first_fiscal_year=YEAR, code="x")
    with database.transaction(org.id) as session:
        post_entries(session, BOOKS)
    return org


# --- trial balance ---------------------------------------------------------------------------------

def test_trial_balance_of_the_first_quarter(database, books):
    with database.session(books.id) as session:
        rows = trial_balance(session, *Q1)
    assert figures(rows) == {
        "100": ("0.00", "11200.00", "600.00", "10600.00"),
        "400": ("0.00", "1200.00", "1200.00", "0.00"),
        "410": ("0.00", "100.00", "0.00", "100.00"),
        "500": ("0.00", "600.00", "600.00", "0.00"),
        "510": ("0.00", "0.00", "200.00", "-200.00"),
        "600": ("0.00", "0.00", "10000.00", "-10000.00"),
        "700": ("0.00", "0.00", "1000.00", "-1000.00"),
        "800": ("0.00", "500.00", "0.00", "500.00"),
    }
    assert [r.name for r in rows][:2] == ["Bank", "Customers"]
    assert all(r.previous_balance is None for r in rows)


def test_trial_balance_of_the_second_quarter_opens_with_the_first(database, books):
    with database.session(books.id) as session:
        rows = trial_balance(session, *Q2)
    assert figures(rows) == {
        "100": ("10600.00", "0.00", "10.00", "10590.00"),
        "110": ("0.00", "50.00", "0.00", "50.00"),
        "400": ("0.00", "0.00", "0.00", "0.00"),
        "410": ("100.00", "0.00", "0.00", "100.00"),
        "500": ("0.00", "0.00", "0.00", "0.00"),
        "510": ("-200.00", "0.00", "0.00", "-200.00"),
        "600": ("-10000.00", "0.00", "0.00", "-10000.00"),
        "700": ("-1000.00", "0.00", "50.00", "-1050.00"),
        "800": ("500.00", "0.00", "0.00", "500.00"),
        "810": ("0.00", "10.00", "0.00", "10.00"),
    }


def test_trial_balance_between_any_two_days(database, books):
    """15 February to 20 March cuts two periods: their lines are summed for the cut parts."""
    with database.session(books.id) as session:
        rows = trial_balance(session, D(YEAR, 2, 15), D(YEAR, 3, 20))
    assert figures(rows) == {
        "100": ("10000.00", "1200.00", "0.00", "11200.00"),
        "400": ("1200.00", "0.00", "1200.00", "0.00"),
        "410": ("0.00", "100.00", "0.00", "100.00"),
        "500": ("0.00", "0.00", "600.00", "-600.00"),
        "510": ("-200.00", "0.00", "0.00", "-200.00"),
        "600": ("-10000.00", "0.00", "0.00", "-10000.00"),
        "700": ("-1000.00", "0.00", "0.00", "-1000.00"),
        "800": ("0.00", "500.00", "0.00", "500.00"),
    }


def test_trial_balance_with_the_previous_year_beside(database, books):
    with database.transaction(books.id) as session:
        create_next_fiscal_year(session, current_organization(session))
        post_entries(session, [EntryInput("SAL", D(YEAR + 1, 1, 10), [debit("100", "2000"), credit("700", "2000")])])
    with database.session(books.id) as session:
        rows = {r.code: r for r in trial_balance(session, D(YEAR + 1, 1, 1), D(YEAR + 1, 3, 31), compare=True)}
    assert set(rows) == {"100", "400", "410", "500", "510", "600", "700", "800"}
    bank, sales, capital = rows["100"], rows["700"], rows["600"]
    # 2026 is not closed: 2027 carries nothing yet (a fiscal year's books stand alone).
    assert (bank.opening, bank.debit, bank.credit, bank.balance) == (0, dec("2000.00"), 0, dec("2000.00"))
    assert (bank.previous_opening, bank.previous_debit, bank.previous_credit, bank.previous_balance) == (
        0, dec("11200.00"), dec("600.00"), dec("10600.00"))
    assert (sales.balance, sales.previous_credit, sales.previous_balance) == (
        dec("-2000.00"), dec("1000.00"), dec("-1000.00"))
    assert (capital.debit, capital.credit, capital.balance, capital.previous_balance) == (
        0, 0, 0, dec("-10000.00"))


def test_a_range_over_two_fiscal_years_is_refused(database, books):
    with database.transaction(books.id) as session:
        create_next_fiscal_year(session, current_organization(session))
    with database.session(books.id) as session:
        with pytest.raises(ValidationError, match="spans the fiscal years 2026, 2027"):
            trial_balance(session, D(YEAR, 7, 1), D(YEAR + 1, 6, 30))
        with pytest.raises(ValidationError, match="starts on 2026-05-01, after its end on 2026-04-01"):
            trial_balance(session, D(YEAR, 5, 1), D(YEAR, 4, 1))
        assert trial_balance(session, D(2020, 1, 1), D(2020, 12, 31)) == []


# --- balance sheet and profit and loss ------------------------------------------------------------

def test_balance_sheet_balances_with_the_result_of_the_year(database, books):
    with database.session(books.id) as session:
        sheet = balance_sheet(session, D(YEAR, 4, 30))
    # Assets: bank 10,590 + cash 50 + VAT receivable 100 (customers are settled: not shown).
    assert [(g.code, g.name) for g in sheet.assets.groups] == [("1", "Assets")]
    assert [(line.code, line.amount) for line in sheet.assets.lines] == [
        ("100", dec("10590.00")), ("110", dec("50.00")), ("410", dec("100.00"))]
    assert sheet.assets.groups[0].amount == sheet.total_assets == dec("10740.00")
    # Liabilities and equity are presented credit-positive; the ledger's sign stays in balance.
    assert [(line.code, line.amount, line.balance) for line in sheet.liabilities.lines] == [
        ("510", dec("200.00"), dec("-200.00"))]
    assert sheet.liabilities.groups[0].code is None and sheet.liabilities.amount == dec("200.00")
    assert [(line.code, line.amount) for line in sheet.equity.lines] == [("600", dec("10000.00"))]
    # Result: sales 1,050 - purchases 500 - exchange loss 10.
    assert sheet.result == dec("540.00")
    assert sheet.total_liabilities_and_equity == dec("10740.00") and sheet.balanced
    assert sheet.unclosed_previous_year is None and sheet.currency == "EUR"


def test_balance_sheet_on_a_day_inside_a_period(database, books):
    with database.session(books.id) as session:
        sheet = balance_sheet(session, D(YEAR, 2, 15))
        with pytest.raises(NotFound, match="No fiscal year covers 2031-01-01"):
            balance_sheet(session, D(2031, 1, 1))
    assert [(line.code, line.amount) for line in sheet.assets.lines] == [
        ("100", dec("10000.00")), ("400", dec("1200.00"))]
    assert sheet.liabilities.amount == dec("200.00") and sheet.result == dec("1000.00") and sheet.balanced


def test_profit_and_loss(database, books):
    with database.session(books.id) as session:
        year_to_april = profit_and_loss(session, D(YEAR, 1, 1), D(YEAR, 4, 30))
        first_quarter = profit_and_loss(session, *Q1)
    assert [(line.code, line.name, line.amount) for line in year_to_april.income.lines] == [
        ("700", "Sales", dec("1050.00"))]
    assert [(line.code, line.amount) for line in year_to_april.expenses.lines] == [
        ("800", dec("500.00")), ("810", dec("10.00"))]
    assert (year_to_april.income.amount, year_to_april.expenses.amount, year_to_april.result) == (
        dec("1050.00"), dec("510.00"), dec("540.00"))
    assert first_quarter.result == dec("500.00")


def test_closing_the_year_keeps_the_statements_right(database, books):
    from plugins.accounting.closing import close_fiscal_year

    with database.transaction(books.id) as session:
        close_fiscal_year(session, str(YEAR))
    with database.session(books.id) as session:
        year = profit_and_loss(session, D(YEAR, 1, 1), D(YEAR, 12, 31))
        at_year_end = balance_sheet(session, D(YEAR, 12, 31))
        next_year = balance_sheet(session, D(YEAR + 1, 1, 31))
    assert year.result == dec("540.00")  # the closing entry moves the result; it is not a movement
    assert at_year_end.result == 0 and at_year_end.balanced
    assert [(line.code, line.amount) for line in at_year_end.equity.lines] == [
        ("600", dec("10000.00")), ("620", dec("540.00"))]
    assert [(line.code, line.amount) for line in next_year.equity.lines] == [
        ("600", dec("10000.00")), ("610", dec("540.00"))]
    assert next_year.total_assets == dec("10740.00") and next_year.balanced


def test_a_new_year_before_the_previous_is_closed_says_so(database, books):
    with database.transaction(books.id) as session:
        create_next_fiscal_year(session, current_organization(session))
    with database.session(books.id) as session:
        sheet = balance_sheet(session, D(YEAR + 1, 1, 31))
    assert sheet.unclosed_previous_year == str(YEAR) and sheet.total_assets == 0 and sheet.balanced


# --- general ledger ----------------------------------------------------------------------------------

@pytest.fixture
def busy_bank(database):  # noqa: ANN001, ANN201
    """Account 100 with 1,005.00 before 15 February, then 120 lines: 70 on 10 March, 50 on 2 April.

    Every third line is a payment (a credit); the others are receipts of n euros.
    """
    org = make_org(database, "Busy", chart="example_tiny", first_fiscal_year=YEAR, code="busy")
    entries = [EntryInput("MISC", D(YEAR, 1, 5), [debit("100", "1000"), credit("600", "1000")]),
               EntryInput("MISC", D(YEAR, 2, 5), [debit("100", "5"), credit("600", "5")])]
    for n in range(1, 121):
        day = D(YEAR, 3, 10) if n <= 70 else D(YEAR, 4, 2)
        if n % 3 == 0:
            entries.append(EntryInput("BNK", day, [debit("800", n), credit("100", n)], label=f"payment {n}"))
        else:
            entries.append(EntryInput("BNK", day, [debit("100", n), credit("700", n)], label=f"receipt {n}"))
    with database.transaction(org.id) as session:
        post_entries(session, entries)
        create_draft(session, EntryInput("BNK", D(YEAR, 3, 10), [debit("100", "999"), credit("700", "999")]))
    return org


def test_general_ledger_pages_join_up(database, busy_bank):
    start, end = D(YEAR, 2, 15), D(YEAR, 12, 31)
    pages = []
    with database.session(busy_bank.id) as session:
        cursor = None
        while True:
            page = general_ledger(session, "100", start, end, limit=50, cursor=cursor)
            pages.append(page)
            cursor = page.next_cursor
            if cursor is None:
                break
        bank = {r.code: r for r in trial_balance(session, start, end)}["100"]
    assert [len(p.rows) for p in pages] == [50, 50, 20]
    assert pages[0].rows[49].date == pages[1].rows[0].date == D(YEAR, 3, 10)  # a page ends inside a day
    assert pages[0].opening == dec("1005.00") == bank.opening
    for before, after in zip(pages, pages[1:], strict=False):
        assert after.opening == before.closing
    rows = [row for page in pages for row in page.rows]
    expected = dec("1005.00")
    for n, row in enumerate(rows, start=1):
        amount = Decimal(n).quantize(dec("0.01"))
        expected += -amount if n % 3 == 0 else amount
        assert (row.debit, row.credit) == ((0, amount) if n % 3 == 0 else (amount, 0))
        assert row.balance == expected
        assert row.label == (f"payment {n}" if n % 3 == 0 else f"receipt {n}")
        assert row.journal == "BNK" and row.entry.startswith("BNK/2026/")
    assert [(r.date, r.entry_id, r.line_no) for r in rows] == sorted((r.date, r.entry_id, r.line_no) for r in rows)
    assert pages[-1].closing == bank.balance == expected  # the draft of 999.00 counts nowhere
    assert sum(r.debit for r in rows) == bank.debit and sum(r.credit for r in rows) == bank.credit


def test_general_ledger_first_page_inside_a_day_and_bad_cursors(database, busy_bank):
    with database.session(busy_bank.id) as session:
        april = general_ledger(session, "100", D(YEAR, 4, 1), D(YEAR, 4, 30), limit=10)
        first = general_ledger(session, "100", D(YEAR, 2, 15), D(YEAR, 12, 31), limit=5)
        empty = general_ledger(session, "410", D(YEAR, 1, 1), D(YEAR, 12, 31))
        with pytest.raises(ValidationError, match="cursor does not belong"):
            general_ledger(session, "700", D(YEAR, 2, 15), D(YEAR, 12, 31), cursor=first.next_cursor)
        with pytest.raises(ValidationError, match="cursor does not belong"):
            general_ledger(session, "100", D(YEAR, 2, 15), D(YEAR, 12, 31), cursor="not-a-cursor")
        with pytest.raises(ValidationError, match="cursor does not belong"):
            journal_listing(session, "BNK", D(YEAR, 1, 1), D(YEAR, 12, 31), cursor=first.next_cursor)
        with pytest.raises(ValidationError, match="1 to 10000 rows"):
            general_ledger(session, "100", D(YEAR, 1, 1), D(YEAR, 12, 31), limit=0)
        with pytest.raises(NotFound, match="no account 999"):
            general_ledger(session, "999", D(YEAR, 1, 1), D(YEAR, 12, 31))
        march = {r.code: r for r in trial_balance(session, D(YEAR, 1, 1), D(YEAR, 3, 31))}["100"]
    assert april.opening == march.balance and [r.date for r in april.rows] == [D(YEAR, 4, 2)] * 10
    assert empty.rows == () and empty.opening == 0 and empty.next_cursor is None


# --- journal listing ---------------------------------------------------------------------------------

def test_journal_listing_in_number_order_with_lines(database, books):
    with database.transaction(books.id) as session:
        post_entries(session, [EntryInput("BNK", D(YEAR, 1, 2), [debit("100", "1"), credit("600", "1")],
                                          label="posted late, dated early")])
    with database.session(books.id) as session:
        first = journal_listing(session, "BNK", D(YEAR, 1, 1), D(YEAR, 12, 31), limit=2)
        rest = journal_listing(session, "BNK", D(YEAR, 1, 1), D(YEAR, 12, 31), limit=2, cursor=first.next_cursor)
        sales = journal_listing(session, "SAL", D(YEAR, 1, 1), D(YEAR, 12, 31))
        march = journal_listing(session, "BNK", D(YEAR, 3, 1), D(YEAR, 3, 31))
    assert [e.name for e in first.entries] == ["BNK/2026/00001", "BNK/2026/00002"]
    assert [(e.name, e.date) for e in rest.entries] == [("BNK/2026/00003", D(YEAR, 1, 2))]
    assert rest.next_cursor is None and first.journal == "BNK"
    (invoice,) = sales.entries
    assert (invoice.label, invoice.reference, invoice.total) == ("invoice 1", "INV-1", dec("1200.00"))
    assert [(x.line_no, x.account, x.account_name, x.debit, x.credit) for x in invoice.lines] == [
        (1, "400", "Customers", dec("1200.00"), 0), (2, "700", "Sales", 0, dec("1000.00")),
        (3, "510", "VAT payable", 0, dec("200.00"))]
    assert [e.number for e in march.entries] == [1, 2]


# --- consolidation -------------------------------------------------------------------------------------

@pytest.fixture
def group(database):  # noqa: ANN001, ANN201
    """A head office (EUR) with a branch in EUR and one in USD, all on the tiny chart.

    Branch one adds "105 Second bank" (tagged bank: consolidates into the head office's 100)
    and "900 Branch fees" (an expense tagged expense.other: the head office has no such account).
    """
    head = make_org(database, "Head", chart="example_tiny", first_fiscal_year=YEAR, code="head")
    one = make_org(database, "Branch One", chart="example_tiny", first_fiscal_year=YEAR, code="b1", parent=head)
    two = make_org(database, "Branch Two", chart="example_tiny", first_fiscal_year=YEAR, code="b2", parent=head,
                   currency="USD")
    with database.transaction(head.id) as session:
        post_entries(session, [
            EntryInput("MISC", D(YEAR, 1, 5), [debit("100", "1000"), credit("600", "1000")]),
            EntryInput("SAL", D(YEAR, 2, 5), [debit("400", "300"), credit("700", "300")]),
        ])
    with database.transaction(one.id) as session:
        create_account(session, "105", "Second bank", type="asset", subtype="bank", parent="1", tags=["bank"])
        create_account(session, "900", "Branch fees", type="expense", tags=["expense.other"])
        post_entries(session, [
            EntryInput("SAL", D(YEAR, 2, 6), [debit("100", "200"), credit("700", "200")]),
            EntryInput("SAL", D(YEAR, 2, 7), [debit("105", "50"), credit("700", "50")]),
            EntryInput("MISC", D(YEAR, 2, 8), [debit("900", "30"), credit("100", "30")]),
        ])
    with database.transaction(two.id) as session:
        post_entries(session, [
            EntryInput("MISC", D(YEAR, 1, 5), [debit("100", "1000"), credit("600", "1000")]),
            # 0.045 → 0.04, 0.009 → 0.01, 0.036 → 0.04 at 0.9: one cent of rounding
            EntryInput("SAL", D(YEAR, 3, 5), [debit("400", "0.05"), credit("700", "0.01"), credit("710", "0.04")]),
        ])
    return head


def test_consolidated_trial_balance_in_the_head_office_currency(database, group):
    with database.session(group.id) as session:
        result = consolidated_trial_balance(session, group, D(YEAR, 1, 1), D(YEAR, 12, 31),
                                            rates={"USD": dec("0.9")})
        assert tenant_id(session) == group.id  # the session is back on the head office
    assert result.organizations == ("head", "b1", "b2") and result.currency == "EUR"
    assert result.rates == {"USD": dec("0.9")} and result.unmatched == ("b1:900",)
    assert {r.code: (str(r.debit), str(r.credit), str(r.balance), r.organizations) for r in result.rows} == {
        "100": ("2150.00", "30.00", "2120.00", ("head", "b1", "b2")),
        "400": ("300.04", "0.00", "300.04", ("head", "b2")),
        "600": ("0.00", "1900.00", "-1900.00", ("head", "b2")),
        "700": ("0.00", "550.01", "-550.01", ("head", "b1", "b2")),
        "710": ("0.00", "0.04", "-0.04", ("b2",)),
        "b1:900": ("30.00", "0.00", "30.00", ("b1",)),
        "": ("0.01", "0.00", "0.01", ()),
    }
    assert [r.name for r in result.rows if r.code in ("b1:900", "")] == ["Branch fees", "Conversion rounding"]
    assert result.rounding == dec("0.01")
    assert sum(r.balance for r in result.rows) == 0 and result.total_debit == result.total_credit


def test_consolidation_takes_the_head_office_rate_when_none_is_given(database, group):
    from plugins.accounting.rates import set_rate

    with database.session(group.id) as session, pytest.raises(NotFound, match="No USD rate is known on or before"):
        consolidated_trial_balance(session, "head", D(YEAR, 1, 1), D(YEAR, 12, 31))
    with database.transaction(group.id) as session:
        set_rate(session, "USD", D(YEAR, 12, 1), "0.9")
    with database.session(group.id) as session:
        result = consolidated_trial_balance(session, "head", D(YEAR, 1, 1), D(YEAR, 12, 31))
    assert result.rates == {"USD": dec("0.9")} and result.rounding == dec("0.01")
    (notice,) = result.notices  # a rate 30 days old is used, with a warning
    assert "dates from 2026-12-01" in notice.translate("en")


# --- the command line ------------------------------------------------------------------------------------

def test_report_trial_balance_as_csv_and_json(comptoir, books):
    code, out, err = comptoir("report", "trial-balance", "--org", "x", "--from", "2026-01-01", "--to", "2026-03-31")
    assert code == 0, err
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == ["code", "name", "opening", "debit", "credit", "balance"]
    assert table[1] == ["100", "Bank", "0.00", "11200.00", "600.00", "10600.00"]
    assert len(table) == 9
    code, out, err = comptoir("report", "trial-balance", "--org", "X", "--from", "2026-04-01", "--to", "2026-06-30",
                              "--format", "json", "--compare")
    assert code == 0, err
    rows = json.loads(out)
    assert rows[0] == {"code": "100", "name": "Bank", "opening": "10600.00", "debit": "0.00", "credit": "10.00",
                       "balance": "10590.00", "previous_opening": "0.00", "previous_debit": "0.00",
                       "previous_credit": "0.00", "previous_balance": "0.00"}


def test_report_general_ledger_as_xlsx(comptoir, books, database, tmp_path):
    from openpyxl import load_workbook

    with database.transaction(books.id) as session:
        create_account(session, "120", "=HYPERLINK(\"http://evil\")", type="asset")
        post_entries(session, [EntryInput("MISC", D(YEAR, 5, 2), [debit("120", "1"), credit("100", "1")],
                                          label="+cmd|calc")])
    target = tmp_path / "ledger.xlsx"
    code, out, err = comptoir("report", "general-ledger", "--org", "x", "--from", "2026-01-01", "--to", "2026-12-31",
                              "--account", "100", "--format", "xlsx", "-o", str(target))
    assert code == 0 and out == "", err
    sheet = load_workbook(target).active
    assert [c.value for c in sheet[1]] == ["account", "date", "entry", "journal", "label", "debit", "credit", "balance"]
    assert sheet.freeze_panes == "A2" and sheet.max_row == 6
    first = sheet[2]
    assert first[0].value == "100" and first[1].is_date and first[1].value.date() == D(YEAR, 1, 5)
    assert first[5].data_type == "n" and first[5].value == 10000 and first[5].number_format == "#,##0.00"
    assert sheet["H6"].value == 10589 and sheet["E6"].value == "+cmd|calc" and sheet["E6"].data_type == "s"

    target = tmp_path / "tb.xlsx"
    assert comptoir("report", "trial-balance", "--org", "x", "--from", "2026-01-01", "--to", "2026-12-31",
                    "--format", "xlsx", "-o", str(target))[0] == 0
    sheet = load_workbook(target).active
    hostile = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == "120")
    assert hostile[1].data_type == "s" and hostile[1].quotePrefix and hostile[1].value.startswith("=HYPERLINK")
    code, out, _ = comptoir("report", "trial-balance", "--org", "x", "--to", "2026-12-31")
    assert "120,\"'=HYPERLINK(\"\"http://evil\"\")\"" in out  # neutralized for spreadsheets opening the CSV


def test_report_statements_journal_and_every_account_ledger(comptoir, books, database):
    code, out, err = comptoir("report", "balance-sheet", "--org", "x", "--to", "2026-04-30", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert set(rows[0]) == {"section", "kind", "code", "name", "balance", "amount"}
    by_kind = {(r["section"], r["kind"], r["code"]): r["amount"] for r in rows}
    assert by_kind[("asset", "subtotal", "1")] == "10740.00"
    assert by_kind[("asset", "total", "")] == "10740.00"
    assert by_kind[("equity", "result", "")] == "540.00"
    assert by_kind[("", "total", "")] == "10740.00"

    code, out, err = comptoir("report", "profit-and-loss", "--org", "x", "--from", "2026-01-01", "--to", "2026-04-30")
    assert code == 0, err
    last = list(csv.reader(io.StringIO(out)))[-1]
    assert last == ["", "result", "", "Result", "-540.00", "540.00"]

    code, out, err = comptoir("report", "journal", "--org", "x", "--from", "2026-01-01", "--to", "2026-12-31",
                              "--journal", "SAL")
    assert code == 0, err
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == ["journal", "entry", "date", "reference", "entry_label", "line", "account", "account_name",
                        "label", "debit", "credit"]
    assert [row[6] for row in table[1:]] == ["400", "700", "510"] and table[1][1] == "SAL/2026/00001"

    code, out, err = comptoir("report", "general-ledger", "--org", "x", "--from", "2026-01-01", "--to", "2026-12-31")
    assert code == 0, err
    table = list(csv.reader(io.StringIO(out)))
    assert len(table) == 1 + 16  # every line of every entry, grouped by account
    assert [row[0] for row in table[1:6]] == ["100"] * 4 + ["110"]

    with database.transaction(books.id) as session:
        create_next_fiscal_year(session, current_organization(session))
    code, out, err = comptoir("report", "balance-sheet", "--org", "x", "--to", "2027-01-31")
    assert code == 0 and out.splitlines()[-1] == ",total,,Total liabilities and equity,0.00,0.00"
    assert err.strip() == ("Warning: the fiscal year 2026 is not closed, so its balances are not carried into "
                           "this balance sheet.")


def test_report_consolidated_and_errors(comptoir, group, database):
    code, out, err = comptoir("report", "consolidated-trial-balance", "--org", "head", "--from", "2026-01-01",
                              "--to", "2026-12-31", "--rate", "USD=0.9", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert rows[0] == {"code": "100", "name": "Bank", "opening": "0.00", "debit": "2150.00", "credit": "30.00",
                       "balance": "2120.00", "organizations": "head b1 b2"}
    assert rows[-1]["name"] == "Conversion rounding"

    for args, message in [
        (("--rate", "USD=abc"), "USD=abc is not a rate"),
        ((), "No USD rate is known on or before 2026-12-31"),
        (("--format", "xlsx"), "An xlsx report is written to a file: add -o FILE."),
    ]:
        code, out, err = comptoir("report", "consolidated-trial-balance", "--org", "head", "--from", "2026-01-01",
                                  "--to", "2026-12-31", *args)
        assert code == 1 and out == "" and message in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    code, _, err = comptoir("report", "general-ledger", "--org", "head", "--account", "999", "--to", "2026-12-31")
    assert code == 1 and err.strip() == "Error: There is no account 999."
    code, _, err = comptoir("report", "nonsense", "--org", "head")
    assert code == 1 and "nonsense" in err

    from plugins.accounting.rates import set_rate

    with database.transaction(group.id) as session:
        set_rate(session, "USD", D(YEAR, 12, 1), "0.9")
    code, out, err = comptoir("report", "consolidated-trial-balance", "--org", "head", "--from", "2026-01-01",
                              "--to", "2026-12-31")
    assert code == 0 and out.startswith("code,name,opening,debit,credit,balance,organizations\n100,Bank,")
    assert "The USD rate used for 2026-12-31 dates from 2026-12-01" in err


# --- properties ------------------------------------------------------------------------------------------

POSTABLE = ["100", "110", "400", "410", "500", "510", "600", "610", "620", "700", "710", "800", "810"]
days = st.integers(min_value=0, max_value=364).map(lambda n: D(YEAR, 1, 1) + dt.timedelta(days=n))


@settings(max_examples=25)
@given(postings=st.lists(st.tuples(st.sampled_from(POSTABLE), st.sampled_from(POSTABLE),
                                   st.integers(min_value=1, max_value=10**9), days), min_size=1, max_size=30),
       cut=st.tuples(days, days).map(sorted))
def test_statements_and_ledgers_agree_whatever_is_posted(backend, tmp_path_factory, postings, cut):
    """Any balanced postings: the balance sheet balances with the year's result, the P&L of a
    range is the change of that result, and each account's general ledger adds up to its
    line of the trial balance (opening, debits, credits, closing), for any two days."""
    from core.db import Database

    settings_ = backend.fresh(tmp_path_factory.mktemp("reports"))
    database = Database(settings_.database_url)
    try:
        org = make_org(database, "Prop", chart="example_tiny", first_fiscal_year=YEAR)
        entries = [EntryInput("MISC", day, [debit(a, Decimal(cents).scaleb(-2)), credit(b, Decimal(cents).scaleb(-2))])
                   for a, b, cents, day in postings]
        start, end = cut
        with database.transaction(org.id) as session:
            post_entries(session, entries)
        with database.session(org.id) as session:
            year_end = balance_sheet(session, D(YEAR, 12, 31))
            at_end = balance_sheet(session, end)
            assert year_end.balanced and at_end.balanced
            whole_year = profit_and_loss(session, D(YEAR, 1, 1), D(YEAR, 12, 31))
            assert whole_year.result == year_end.result
            before = balance_sheet(session, start - dt.timedelta(days=1)).result if start > D(YEAR, 1, 1) else 0
            assert profit_and_loss(session, start, end).result == at_end.result - before

            rows = trial_balance(session, start, end)
            assert sum(r.balance for r in rows) == 0 and sum(r.debit for r in rows) == sum(r.credit for r in rows)
            for row in rows:
                cursor, debits, credits, pages = None, Decimal(0), Decimal(0), []
                while True:
                    page = general_ledger(session, row.code, start, end, limit=7, cursor=cursor)
                    pages.append(page)
                    debits += sum(r.debit for r in page.rows)
                    credits += sum(r.credit for r in page.rows)
                    cursor = page.next_cursor
                    if cursor is None:
                        break
                assert (pages[0].opening, debits, credits, pages[-1].closing) == (
                    row.opening, row.debit, row.credit, row.balance)
    finally:
        database.dispose()


def test_report_tables_speak_the_language_they_are_given_not_the_environments(database, books, monkeypatch):
    from plugins.accounting.reports_cli import BUILDERS, Options

    monkeypatch.setenv("COMPTOIR_LOCALE", "fr")
    with database.session(books.id) as session:
        options = Options(dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31), None, None, False, {}, "es")
        assert BUILDERS["trial-balance"](session, options).title == "Balance de comprobación"
        sheet = BUILDERS["balance-sheet"](session, options)
        assert ("", "total", "", "Total de pasivos y patrimonio") == sheet.rows[-1][:4]
