"""Year-end closing, reopening by an owner, opening balances, and the events they fire."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core import audit
from core.errors import Conflict, PermissionDenied, ValidationError
from core.periods import list_fiscal_years
from plugins.accounting.closing import close_fiscal_year, post_opening_balances, reopen_fiscal_year
from plugins.accounting.reports import trial_balance, verify_ledger
from plugins.accounting.services import EntryInput, credit, debit, entry_lines, get_entry, post_entries
from tests.conftest import make_org, make_user

D = dt.date


@pytest.fixture
def books(database):  # noqa: ANN001, ANN201
    org = make_org(database, "Closer", chart="example_tiny", first_fiscal_year=2026, plugins=["example"])
    with database.transaction(org.id) as session:
        post_entries(session, [
            EntryInput("MISC", D(2026, 1, 2), [debit("100", "5000"), credit("600", "5000")], label="capital"),
            EntryInput("SAL", D(2026, 3, 10), [debit("400", "1200"), credit("700", "1200")], label="sale"),
            EntryInput("PUR", D(2026, 4, 5), [debit("800", "300"), credit("500", "300")], label="purchase"),
            EntryInput("BNK", D(2026, 5, 1), [debit("100", "1200"), credit("400", "1200")], label="paid"),
        ])
    return org


def balances(session, start: dt.date, end: dt.date) -> dict[str, Decimal]:  # noqa: ANN001
    return {r.code: r.balance for r in trial_balance(session, start, end) if r.balance}


def test_closing_moves_the_result_and_opens_the_next_year(database, books):
    """Also: comptoir_fiscal_year_closed and comptoir_entries_posted reach the enabled example plugin."""
    owner = make_user(database, books, "boss@closer.test")
    with database.transaction(books.id) as session:
        closing_id, opening_id = close_fiscal_year(session, "2026", actor=owner)
        closing = get_entry(session, closing_id)
        assert closing.date == D(2026, 12, 31) and closing.name.startswith("CLOSE/2026/")
        assert sorted(line.amount for line in entry_lines(session, closing)) == [-90000, -30000, 120000]
    with database.session(books.id) as session:
        years = list_fiscal_years(session)
        assert [(y.name, y.state) for y in years] == [("2026", "closed"), ("2027", "open")]
        assert balances(session, D(2026, 1, 1), D(2026, 12, 31)) == {
            "100": Decimal("6200.00"), "500": Decimal("-300.00"), "600": Decimal("-5000.00"),
            "620": Decimal("-900.00")}
        assert balances(session, D(2027, 1, 1), D(2027, 12, 31)) == {
            "100": Decimal("6200.00"), "500": Decimal("-300.00"), "600": Decimal("-5000.00"),
            "610": Decimal("-900.00")}
        assert verify_ledger(session) == []
        events = audit.events(session)
        assert {"fiscal_year.closed", "example.fiscal_year_closed", "example.entries_posted"} <= {
            e.action for e in events}


def test_a_closed_year_takes_no_postings(database, books):
    with database.transaction(books.id) as session:
        close_fiscal_year(session, "2026")
    with database.session(books.id) as session, pytest.raises(ValidationError, match="2026 is closed"):
        post_entries(session, [EntryInput("MISC", D(2026, 6, 1), [debit("100", "1"), credit("600", "1")])])


def test_only_an_owner_reopens_and_it_is_audited(database, books):
    owner = make_user(database, books, "boss@closer.test")
    admin = make_user(database, books, "admin@closer.test", "admin")
    with database.transaction(books.id) as session:
        close_fiscal_year(session, "2026", actor=owner)
    with database.session(books.id) as session, pytest.raises(PermissionDenied):
        reopen_fiscal_year(session, "2026", actor=admin)
    with database.transaction(books.id) as session:
        reopen_fiscal_year(session, "2026", actor=owner)
    with database.session(books.id) as session:
        assert list_fiscal_years(session)[0].state == "open"
        assert balances(session, D(2027, 1, 1), D(2027, 12, 31)) == {}
        assert balances(session, D(2026, 1, 1), D(2026, 12, 31))["700"] == Decimal("-1200.00")
        reopened = [e for e in audit.events(session) if e.action == "fiscal_year.reopened"]
        assert reopened and reopened[0].actor == "boss@closer.test"
        assert any(e.action == "example.fiscal_year_closed" and e.detail_values["reopened"]
                   for e in audit.events(session))
        assert verify_ledger(session) == []
    with database.transaction(books.id) as session:  # and it can be closed again
        close_fiscal_year(session, "2026", actor=owner)
    with database.session(books.id) as session:
        assert balances(session, D(2027, 1, 1), D(2027, 12, 31))["610"] == Decimal("-900.00")


def test_closing_order_and_twice(database, books):
    with database.transaction(books.id) as session:
        close_fiscal_year(session, "2026")
        with pytest.raises(Conflict, match="already closed"):
            close_fiscal_year(session, "2026")


def test_opening_balances_at_a_migration_date(database):
    org = make_org(database, "Migrated", chart="example_tiny", first_fiscal_year=2026)
    with database.transaction(org.id) as session:
        entry_id = post_opening_balances(session, D(2026, 7, 1), [
            ("100", Decimal("10000")), ("400", Decimal("2500.50")), ("500", Decimal("-1500.50")),
            ("600", Decimal("-11000")),
        ])
        assert get_entry(session, entry_id).name.startswith("OPEN/2026/")
        with pytest.raises(ValidationError, match="not balanced"):
            post_opening_balances(session, D(2026, 7, 1), [("100", Decimal("1")), ("600", Decimal("-2"))])
    with database.session(org.id) as session:
        assert balances(session, D(2026, 7, 1), D(2026, 12, 31))["400"] == Decimal("2500.50")


def test_posting_announces_the_entries(database, books):
    """comptoir_entries_posted fires once per posted batch, for enabled plugins only."""
    plain = make_org(database, "Plain", chart="example_tiny", first_fiscal_year=2026)
    with database.transaction(plain.id) as session:
        post_entries(session, [EntryInput("MISC", D(2026, 1, 2), [debit("100", "1"), credit("600", "1")])])
        assert not any(e.action == "example.entries_posted" for e in audit.events(session))
    with database.session(books.id) as session:
        announced = [e for e in audit.events(session) if e.action == "example.entries_posted"]
        assert [e.detail_values["count"] for e in announced] == [4]


def test_demo_organizations_get_sample_books(database):
    from core.plugins import get_registry
    from plugins.accounting.demo import post_demo_entries

    for chart in ("fr_pcg", "ch_pme", "mx_sat", "ir_standard", "generic_trading"):
        org = make_org(database, f"Demo {chart}", chart=chart, currency=None if chart[:7] != "generic" else "USD")
        with database.transaction(org.id) as session:
            assert len(post_demo_entries(session)) == 16
            assert verify_ledger(session) == []
    assert get_registry().manifest("accounting").default_enabled


def test_closing_carries_foreign_currency_balances(database):
    from core.chart import create_account

    org = make_org(database, "Dollars", chart="example_tiny", first_fiscal_year=2026)
    with database.transaction(org.id) as session:
        create_account(session, "105", "Bank USD", type="asset", subtype="bank", currency="USD", tags=["bank"])
        post_entries(session, [EntryInput("SAL", D(2026, 3, 1), [
            debit("105", "1100", currency="USD", amount_currency=Decimal("1000")), credit("700", "1100")])])
        close_fiscal_year(session, "2026")
    with database.session(org.id) as session:
        from sqlalchemy import select

        from plugins.accounting.models import JournalEntry, JournalLine

        opening = session.scalars(select(JournalEntry).where(JournalEntry.date == D(2027, 1, 1))).one()
        usd = [line for line in entry_lines(session, opening) if line.currency == "USD"]
        assert [(line.amount, line.amount_currency) for line in usd] == [(110000, 100000)]
        assert verify_ledger(session) == []
        assert JournalLine
