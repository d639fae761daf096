"""Posting: balanced, numbered without gaps, chained, reversible — or refused whole. The
database's own guards, tampering and idempotency keys: tests/reliability/test_ledger_integrity.py."""
from __future__ import annotations

from decimal import Decimal

import pytest

from core.chart import deprecate_account
from core.errors import Conflict, ValidationError
from core.periods import set_period_lock
from plugins.accounting.models import JournalEntry
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
from tests.plugins.accounting.ledger_fixtures import YEAR, D, count, make_books, sale


@pytest.fixture
def books(database):  # noqa: ANN001, ANN201
    return make_books(database)


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
