"""Posting: balanced, numbered without gaps, chained, immutable, reversible — or refused whole."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from core.chart import deprecate_account
from core.errors import Conflict, ValidationError
from core.periods import set_period_lock
from plugins.accounting.models import AccountBalance, JournalEntry, JournalLine
from plugins.accounting.reports import trial_balance, verify_ledger
from plugins.accounting.services import (
    EntryInput,
    credit,
    debit,
    entry_lines,
    list_journals,
    post_entries,
    post_entry,
    reverse_entry,
)
from tests.conftest import make_org

YEAR = 2026
D = dt.date


@pytest.fixture
def books(database):  # noqa: ANN001, ANN201
    """An organization on the tiny example chart, fiscal year 2026."""
    return make_org(database, "Books", chart="example_tiny", first_fiscal_year=YEAR)


MID_MARCH = D(YEAR, 3, 15)


def sale(amount: str = "100.00", day: dt.date = MID_MARCH, **extra) -> EntryInput:  # noqa: ANN003
    return EntryInput("SAL", day, [debit("400", amount, "invoice"), credit("700", amount, "sale")], **extra)


def count(session, model) -> int:  # noqa: ANN001
    return session.scalar(select(func.count()).select_from(model))


def test_an_organization_gets_its_journals(database, books):
    with database.session(books.id) as session:
        assert [j.code for j in list_journals(session)] == ["BNK", "CLOSE", "CSH", "MISC", "OPEN", "PUR", "SAL"]


def test_post_numbers_chains_and_balances(database, books):
    with database.transaction(books.id) as session:
        first = post_entry(session, sale("100.00"))
        second = post_entry(session, sale("20.50", D(YEAR, 4, 1)))
    assert (first.number, first.name, second.name) == (1, "SAL/2026/00001", "SAL/2026/00002")
    assert first.is_posted and second.previous_hash == first.hash and len(first.hash) == 64
    with database.session(books.id) as session:
        rows = {r.code: r for r in trial_balance(session, D(YEAR, 1, 1), D(YEAR, 12, 31))}
        assert rows["400"].debit == Decimal("120.50") and rows["700"].credit == Decimal("120.50")
        assert sum(r.balance for r in rows.values()) == 0
        assert [line.amount for line in entry_lines(session, first)] == [10000, -10000]
        assert verify_ledger(session) == []


def test_an_unbalanced_entry_is_refused_and_nothing_is_written(database, books):
    bad = EntryInput("SAL", D(YEAR, 3, 1), [debit("400", "100"), credit("700", "99.99")])
    with database.transaction(books.id) as session:
        post_entry(session, sale())
    with database.session(books.id) as session:
        with pytest.raises(ValidationError, match="not balanced.*0.01"):
            post_entries(session, [sale("5"), bad])
        session.rollback()
        assert count(session, JournalEntry) == 1


def test_every_problem_of_a_batch_is_reported(database, books):
    with database.transaction(books.id) as session:
        deprecate_account(session, "810")
    entries = [
        EntryInput("NOPE", D(YEAR, 1, 5), [debit("400", "1"), credit("700", "1")]),
        EntryInput("SAL", D(1999, 1, 5), [debit("999", "1"), credit("1", "1")]),
        EntryInput("SAL", D(YEAR, 1, 5), [debit("810", "1.001"), credit("700", "1")]),
        EntryInput("SAL", D(YEAR, 1, 5), [debit("400", "1")]),
    ]
    with database.session(books.id) as session, pytest.raises(ValidationError) as caught:
        post_entries(session, entries)
    message = caught.value.translate("en")
    for fragment in ("Entry 1: there is no journal NOPE", "Entry 2: no fiscal year covers 1999-01-05",
                     "Entry 2, line 1: there is no account 999", "Entry 2, line 2: account 1 is a heading",
                     "Entry 3, line 1: account 810 is deprecated", "Line 1 has more decimals",
                     "Entry 4 needs at least two lines"):
        assert fragment in message


def test_a_locked_period_refuses_postings(database, books):
    with database.transaction(books.id) as session:
        set_period_lock(session, "2026-03", True)
    with database.session(books.id) as session, pytest.raises(ValidationError, match="period 2026-03 is locked"):
        post_entry(session, sale())


def test_floats_are_refused():
    with pytest.raises(TypeError):
        from plugins.accounting.services import LineInput, _minor

        _minor(1.5, "EUR", [], 1)  # type: ignore[arg-type]
    assert LineInput


def test_reverse_makes_the_opposite_entry_once(database, books):
    with database.transaction(books.id) as session:
        original = post_entry(session, sale("80"))
        reversal = reverse_entry(session, original.id, date=D(YEAR, 3, 31))
        assert reversal.reversal_of_id == original.id and reversal.name == "SAL/2026/00002"
        assert [line.amount for line in entry_lines(session, reversal)] == [-8000, 8000]
        with pytest.raises(Conflict, match="already reversed"):
            reverse_entry(session, original.id)
    with database.session(books.id) as session:
        assert all(r.balance == 0 for r in trial_balance(session, D(YEAR, 1, 1), D(YEAR, 12, 31)))


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


def test_a_draft_changes_nothing_until_posted_and_keeps_its_id(database, books):
    from plugins.accounting.services import create_draft, delete_draft, post_draft

    unbalanced = EntryInput("SAL", D(YEAR, 3, 2), [debit("400", "10"), credit("700", "9")])
    with database.transaction(books.id) as session:
        draft = create_draft(session, sale("42.00", D(YEAR, 3, 1)))
        broken = create_draft(session, unbalanced)
        assert draft.number is None and not draft.is_posted
        assert trial_balance(session, D(YEAR, 1, 1), D(YEAR, 12, 31)) == []
        posted = post_draft(session, draft.id)
        assert posted.id == draft.id and posted.name == "SAL/2026/00001" and posted.is_posted
        with pytest.raises(ValidationError, match="not balanced"):
            post_draft(session, broken.id)
        with pytest.raises(Conflict):
            post_draft(session, draft.id)
        with pytest.raises(Conflict):
            delete_draft(session, draft.id)
        delete_draft(session, broken.id)
    with database.session(books.id) as session:
        assert count(session, JournalEntry) == 1
        rows = {r.code: r for r in trial_balance(session, D(YEAR, 1, 1), D(YEAR, 12, 31))}
        assert rows["700"].credit == Decimal("42.00")
        assert verify_ledger(session) == []


def test_a_draft_with_unknown_accounts_is_refused(database, books):
    from plugins.accounting.services import create_draft

    with database.session(books.id) as session, pytest.raises(ValidationError, match="no account 999"):
        create_draft(session, EntryInput("SAL", D(YEAR, 3, 2), [debit("999", "1"), credit("700", "1")]))
