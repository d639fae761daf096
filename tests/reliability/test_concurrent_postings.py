"""Concurrent posters into one journal: gapless numbers, an unbroken chain, right balances."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

from sqlalchemy import func, select

from plugins.accounting.models import JournalEntry
from plugins.accounting.reports import trial_balance, verify_ledger
from plugins.accounting.services import EntryInput, credit, debit, post_entries
from tests.conftest import make_org

THREADS = 8
PER_THREAD = 25  # 200 postings


class Abandon(Exception):
    """A poster that changes its mind after posting: its transaction rolls back."""


def test_concurrent_postings_with_rollbacks_are_gapless(database):
    org = make_org(database, "Busy books", chart="example_tiny", first_fiscal_year=2026)
    committed: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def poster(worker: int) -> None:
        for n in range(PER_THREAD):
            entry = EntryInput("SAL", dt.date(2026, 2, 1 + n % 28),
                               [debit("400", "10.00"), credit("700", "10.00")], label=f"{worker}-{n}")
            try:
                with database.transaction(org.id) as session:
                    (entry_id,) = post_entries(session, [entry])
                    if (worker * PER_THREAD + n) % 10 == 3:  # 10 % roll back after posting
                        raise Abandon()
                with lock:
                    committed.append(entry_id)
            except Abandon:
                pass
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

    threads = [threading.Thread(target=poster, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    expected = THREADS * PER_THREAD - THREADS * PER_THREAD // 10
    assert len(committed) == expected
    with database.session(org.id) as session:
        numbers = sorted(session.scalars(select(JournalEntry.number)))
        assert numbers == list(range(1, expected + 1))
        chain = sorted(session.scalars(select(JournalEntry.chain_index)))
        assert chain == list(range(1, expected + 1))
        assert session.scalar(select(func.count()).select_from(JournalEntry)) == expected
        assert verify_ledger(session) == []
        rows = {r.code: r for r in trial_balance(session, dt.date(2026, 1, 1), dt.date(2026, 12, 31))}
        assert rows["700"].credit == Decimal("10.00") * expected
