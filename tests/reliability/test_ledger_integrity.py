"""The ledger keeps its invariants (issue 7, ledger integrity): any postings keep the books
balanced and verifiable; the database itself refuses an unbalanced entry and any change to a
posted one; ``ledger verify`` names what was tampered with behind the triggers; a client's
idempotency key posts once. The stateful test: test_ledger_state_machine.py; concurrent
posters: test_concurrent_postings.py."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from plugins.accounting import testing
from plugins.accounting.models import AccountBalance, JournalEntry, JournalLine
from plugins.accounting.reports import trial_balance, verify_ledger
from plugins.accounting.services import EntryInput, credit, debit, entry_lines, post_entries, post_entry
from tests.conftest import make_org
from tests.plugins.accounting.ledger_fixtures import YEAR, D, count, make_books, sale


@pytest.fixture
def books(database):  # noqa: ANN001, ANN201
    return make_books(database)


@given(st.lists(st.tuples(st.sampled_from(["400", "410", "100", "800"]), st.sampled_from(["700", "500", "510", "600"]),
                          st.integers(min_value=1, max_value=10**9), st.integers(min_value=1, max_value=12)),
                min_size=1, max_size=25))
def test_any_postings_keep_the_books_balanced_and_consistent(backend, tmp_path_factory, postings):
    from core.db import Database

    settings = backend.fresh(tmp_path_factory.mktemp("prop"))
    database = Database(settings.database_url)
    try:
        org = make_org(database, "Prop", chart="example_tiny", first_fiscal_year=YEAR)
        entries = [EntryInput("MISC", D(YEAR, month, 1), [LineDebit(a, c) for a, c in [(debit_account, cents)]]
                              + [credit(credit_account, Decimal(cents).scaleb(-2))])
                   for debit_account, credit_account, cents, month in postings]
        with database.transaction(org.id) as session:
            post_entries(session, entries)
        with database.session(org.id) as session:
            rows = trial_balance(session, D(YEAR, 1, 1), D(YEAR, 12, 31))
            assert sum(r.balance for r in rows) == 0
            assert sum(r.debit for r in rows) == sum(r.credit for r in rows) == Decimal(sum(p[2] for p in postings)).scaleb(-2)
            assert verify_ledger(session) == []
            assert session.scalar(select(func.sum(JournalLine.amount))) == 0
            assert session.scalar(select(func.sum(AccountBalance.debit - AccountBalance.credit))) == 0
    finally:
        database.dispose()


def LineDebit(account: str, cents: int):  # noqa: N802, ANN201 - reads like the ledger it builds
    return debit(account, Decimal(cents).scaleb(-2))


def test_the_database_refuses_to_post_an_unbalanced_entry(database, owner_engine, books):
    with database.transaction(books.id) as session:
        entry = post_entry(session, sale())
        line = entry_lines(session, entry)[0]
    with owner_engine.connect() as raw, pytest.raises(DatabaseError):
        raw.execute(text("INSERT INTO journal_entry (org_id, id, journal_id, date, period_id, fiscal_year_id, state,"
                         " label, reference, created_at) SELECT org_id, 999999, journal_id, date, period_id,"
                         " fiscal_year_id, 'draft', '', '', created_at FROM journal_entry WHERE id = :id"),
                    {"id": entry.id})
        raw.execute(text("INSERT INTO journal_line (org_id, id, entry_id, line_no, account_id, date, amount, label)"
                         " VALUES (:org, 999998, 999999, 1, :account, :day, 500, '')"),
                    {"org": books.id, "account": line.account_id, "day": entry.date})
        raw.execute(text("UPDATE journal_entry SET state = 'posted' WHERE id = 999999"))
        raw.commit()


@pytest.mark.parametrize("statement", [
    "UPDATE journal_line SET amount = amount + 1 WHERE org_id = :org",
    "UPDATE journal_entry SET label = 'changed' WHERE org_id = :org",
    "DELETE FROM journal_line WHERE org_id = :org",
    "DELETE FROM journal_entry WHERE org_id = :org",
])
def test_the_database_refuses_to_change_a_posted_entry(database, owner_engine, books, statement):
    with database.transaction(books.id) as session:
        post_entry(session, sale())
    with owner_engine.connect() as raw, pytest.raises(DatabaseError):
        raw.execute(text(statement), {"org": books.id})
        raw.commit()


@pytest.mark.parametrize(("table", "column", "value"), [
    ("journal_line", "amount", "amount + 100"), ("journal_line", "account_id", "account_id"),
    ("journal_line", "label", "'tampered'"), ("journal_entry", "label", "'tampered'"),
    ("journal_entry", "date", "date"),
])
def test_verify_names_an_entry_tampered_with_behind_the_triggers(database, owner_engine, books, table, column, value):
    with database.transaction(books.id) as session:
        post_entries(session, [sale("10"), sale("20"), sale("30")])
    with owner_engine.connect() as raw:
        # Someone with the database's keys goes around the triggers.
        if raw.dialect.name == "postgresql":
            raw.exec_driver_sql("SET session_replication_role = replica")
        else:
            trigger = "ledger_line_immutable" if table == "journal_line" else "ledger_entry_immutable"
            raw.exec_driver_sql(f"DROP TRIGGER {trigger}")
        key = "entry_id" if table == "journal_line" else "id"
        target = raw.execute(text("SELECT id FROM journal_entry WHERE number = 2 AND org_id = :o"), {"o": books.id}).scalar()
        if column in ("account_id", "date"):
            value = "(SELECT id FROM account WHERE code = '110' AND org_id = :o)" if column == "account_id" else "'2026-05-05'"
        raw.execute(text(f"UPDATE {table} SET {column} = {value} WHERE {key} = :t AND org_id = :o"),
                    {"t": target, "o": books.id})
        raw.commit()
    with database.session(books.id) as session:
        messages = [p.msgid % p.params for p in verify_ledger(session)]
    assert any("SAL/2026/00002 does not match its hash" in m for m in messages)
    assert not any("00001" in m or "00003" in m for m in messages)


def test_verify_an_intact_then_a_tampered_ledger(comptoir, database, owner_engine):
    org = make_org(database, "Verified", chart="fr_pcg", code="verified")
    with database.transaction(org.id) as session:
        post_entries(session, [testing.sale(session, "10.00"), testing.sale(session, "20.00")])
    code, out, err = comptoir("ledger", "verify", "--org", "verified")
    assert code == 0 and "intact" in out, err
    with owner_engine.connect() as raw:
        raw.execute(text("UPDATE account_balance SET debit = debit + 1 WHERE org_id = :o "
                         "AND debit > 0"), {"o": org.id})
        raw.commit()
    code, out, err = comptoir("ledger", "verify", "--org", "verified")
    assert code == 1
    assert "The balance of account 512" in err and "differs from its lines" in err


def test_the_same_idempotency_key_posts_once(database, books):
    with database.transaction(books.id) as session:
        first = post_entries(session, [sale(idempotency_key="bank-tx-1")])
    with database.transaction(books.id) as session:
        again = post_entries(session, [sale(idempotency_key="bank-tx-1"), sale(idempotency_key="bank-tx-2")])
        assert again[0] == first[0]
        assert count(session, JournalEntry) == 2


def test_one_entry_posted_twice_with_its_key_is_posted_once(database, books):
    ids = []
    for _ in range(2):
        with database.transaction(books.id) as session:
            ids.append(post_entry(session, sale(idempotency_key="invoice-7")).id)
    with database.session(books.id) as session:
        assert ids[0] == ids[1] and count(session, JournalEntry) == 1
