"""Posting caches each organization's accounts, journals and periods; a change is seen at once.

The cache is checked against a stamp that database triggers change on every insert, update
or delete of an account, journal, period or fiscal year, whoever makes it: these tests
change them behind the service's back (another session, the tables' owner with raw SQL, a
rolled-back transaction) and expect the next posting to see the change.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DatabaseError

from core.chart import Account, deprecate_account
from core.db import Database, TenantStatement, allocate_ids
from core.errors import ValidationError
from core.periods import set_period_lock
from plugins.accounting.models import JournalEntry, JournalLine
from plugins.accounting.reports import verify_ledger
from plugins.accounting.services import EntryInput, credit, debit, entry_lines, post_entries, post_entry
from tests.conftest import make_org

YEAR = 2026
MARCH = dt.date(YEAR, 3, 15)
APRIL = dt.date(YEAR, 4, 15)
JUNE = dt.date(YEAR, 6, 15)


@pytest.fixture
def books(database):  # noqa: ANN001, ANN201
    return make_org(database, "Cached books", chart="example_tiny", first_fiscal_year=YEAR)


def sale(day: dt.date = MARCH, account: str = "700", journal: str = "SAL") -> EntryInput:
    return EntryInput(journal, day, [debit("400", "10.00"), credit(account, "10.00")])


def post(database, org_id: int, entry: EntryInput) -> int:  # noqa: ANN001
    with database.transaction(org_id) as session:
        return post_entries(session, [entry])[0]


def test_an_account_deprecated_in_another_session_is_refused_at_once(database, books):
    post(database, books.id, sale(account="810"))  # the cache now holds 810 as postable
    with database.transaction(books.id) as session:
        deprecate_account(session, "810")
    with pytest.raises(ValidationError, match="account 810 is deprecated"):
        post(database, books.id, sale(account="810"))


@pytest.mark.parametrize(("statement", "entry", "message"), [
    ("UPDATE account SET deprecated = true WHERE code = '810' AND org_id = :o", sale(account="810"),
     "account 810 is deprecated"),
    ("UPDATE period SET locked = true WHERE name = '2026-03' AND org_id = :o", sale(MARCH), "period 2026-03 is locked"),
    ("UPDATE fiscal_year SET state = 'closed' WHERE org_id = :o", sale(APRIL), "fiscal year 2026 is closed"),
    ("DELETE FROM period WHERE name = '2026-06' AND org_id = :o", sale(JUNE), "no fiscal year covers"),
    ("UPDATE account SET code = '811' WHERE code = '810' AND org_id = :o", sale(account="810"), "no account 810"),
    ("UPDATE journal SET code = 'VEN' WHERE code = 'SAL' AND org_id = :o", sale(), "no journal SAL"),
])
def test_a_change_made_by_another_process_with_raw_sql_is_seen(database, owner_engine, books, statement, entry,
                                                               message):
    post(database, books.id, sale(APRIL, account="810"))  # the cache is filled
    if not statement.startswith("DELETE"):  # (a period with postings cannot be deleted)
        post(database, books.id, entry)  # what the cache holds allows the entry
    with owner_engine.begin() as raw:  # another program, straight to the tables
        raw.execute(text(statement), {"o": books.id})
    with pytest.raises(ValidationError, match=message):
        post(database, books.id, entry)


def test_another_database_object_sees_the_change_too(database, settings, books):
    other = Database(settings.database_url)  # another process's engine and cache
    try:
        post(other, books.id, sale(account="810"))
        with database.transaction(books.id) as session:
            set_period_lock(session, "2026-03", True)
            deprecate_account(session, "810")
        with pytest.raises(ValidationError, match="period 2026-03 is locked"):
            post(other, books.id, sale(account="810"))
        with pytest.raises(ValidationError, match="account 810 is deprecated"):
            post(other, books.id, sale(APRIL, account="810"))
    finally:
        other.dispose()


def test_what_a_rolled_back_transaction_saw_is_not_kept(database, books):
    with database.session(books.id) as session, session.begin():
        set_period_lock(session, "2026-03", True)
        with pytest.raises(ValidationError, match="locked"):
            post_entries(session, [sale(MARCH)])
        post_entries(session, [sale(APRIL)])  # the cache is filled while March is locked
        session.rollback()
    post(database, books.id, sale(MARCH))  # March was never locked for good
    with database.session(books.id) as session:
        assert session.scalar(select(JournalEntry.name)) == "SAL/2026/00001"


def test_an_account_added_in_the_same_transaction_takes_postings(database, books):
    from core.chart import create_account

    post(database, books.id, sale())
    with database.transaction(books.id) as session:
        create_account(session, "7010", "New sales", type="income")
        entry = post_entry(session, sale(account="7010"))
        assert entry.name == "SAL/2026/00002"


# --- the database's own checks, reached through core.db's reviewed helpers ------------------------

INSERT_LINES = TenantStatement(insert(JournalLine.__table__))
INSERT_ENTRIES = TenantStatement(insert(JournalEntry.__table__))


def entry_and_lines(session, amounts: list[int]) -> tuple[dict, list[dict]]:  # noqa: ANN001
    """A posted entry's row and its lines' rows, written by hand (no service checks)."""
    template = post_entry(session, sale())
    account_id = session.scalar(select(Account.id).where(Account.code == "400"))
    entry_id, *line_ids = allocate_ids(session, 1 + len(amounts))
    entry = {"id": entry_id, "journal_id": template.journal_id, "date": template.date,
             "period_id": template.period_id, "fiscal_year_id": template.fiscal_year_id, "state": "posted",
             "number": 999, "name": "SAL/2026/00999", "label": "", "reference": "", "reversal_of_id": None,
             "idempotency_key": None, "chain_index": None, "previous_hash": None, "hash": None,
             "posted_at": template.posted_at, "posted_by": None, "created_at": template.created_at}
    lines = [{"id": line_id, "entry_id": entry_id, "line_no": n, "account_id": account_id, "date": template.date,
              "amount": amount, "currency": None, "amount_currency": None, "partner_id": None, "label": ""}
             for n, (line_id, amount) in enumerate(zip(line_ids, amounts, strict=True), start=1)]
    return entry, lines


def test_the_database_refuses_an_unbalanced_entry_inserted_as_posted(database, books):
    with database.session(books.id) as session, session.begin():
        entry, lines = entry_and_lines(session, [500, -400])
        INSERT_LINES.execute(session, lines)
        with pytest.raises(DatabaseError, match="unbalanced journal entry cannot be posted"):
            INSERT_ENTRIES.execute(session, [entry])
        session.rollback()


def test_the_database_refuses_lines_added_after_a_posted_entry(database, books):
    with database.session(books.id) as session, session.begin():
        entry, lines = entry_and_lines(session, [500, -500, 100])
        INSERT_LINES.execute(session, lines[:2])
        INSERT_ENTRIES.execute(session, [entry])  # balanced so far
        with pytest.raises(DatabaseError, match="lines cannot be added to a posted journal entry"):
            INSERT_LINES.execute(session, lines[2:])
        session.rollback()


def test_a_line_whose_entry_never_comes_fails_the_commit(database, books):
    with pytest.raises(DatabaseError, match="(?i)foreign key"):
        with database.transaction(books.id) as session:
            _, lines = entry_and_lines(session, [500, -500])
            INSERT_LINES.execute(session, lines)
    with database.session(books.id) as session:
        assert session.scalar(select(JournalEntry.id)) is None  # the whole transaction is gone


def test_a_balanced_entry_inserted_as_posted_is_accepted_and_verified(database, books):
    with database.transaction(books.id) as session:
        first = post_entry(session, sale())
        second = post_entry(session, sale(APRIL))
        assert [line.amount for line in entry_lines(session, second)] == [1000, -1000]
        assert first.previous_hash == "" and second.previous_hash == first.hash
    with database.session(books.id) as session:
        assert verify_ledger(session) == []
