"""A stateful property test: any sequence of postings (with and without idempotency keys),
rejected postings, workbook imports, reversals, locks and a closing leaves the ledger
balanced, gapless and verifiable."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select

from core.errors import ComptoirError, ValidationError
from core.excel import ImportFailed, import_file
from core.periods import set_period_lock
from plugins.accounting.closing import close_fiscal_year
from plugins.accounting.models import JournalEntry, JournalLine
from plugins.accounting.reports import trial_balance, verify_ledger
from plugins.accounting.services import EntryInput, credit, debit, post_entries, reverse_entry
from tests.conftest import make_org
from tests.core.excel.helpers import xlsx

ACCOUNTS = ["100", "110", "400", "410", "500", "510", "600", "700", "800"]
YEAR = 2026
amounts = st.integers(min_value=1, max_value=10**8).map(lambda cents: Decimal(cents).scaleb(-2))
months = st.integers(min_value=1, max_value=12)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, backend, tmp_factory) -> None:  # noqa: ANN001
        super().__init__()
        from core.db import Database

        settings_ = backend.fresh(tmp_factory.mktemp("machine"))
        self.database = Database(settings_.database_url)
        self.org = make_org(self.database, "Machine", chart="example_tiny", first_fiscal_year=YEAR)
        self.posted: list[int] = []
        self.reversed: set[int] = set()
        self.locked: set[int] = set()
        self.closed = False
        self.tmp = tmp_factory.mktemp("imports")
        self.imports = 0

    def teardown(self) -> None:
        self.database.dispose()

    def _count(self) -> int:
        with self.database.session(self.org.id, readonly=True) as session:
            return session.scalar(select(func.count()).select_from(JournalEntry))

    @rule(debit_account=st.sampled_from(ACCOUNTS), credit_account=st.sampled_from(ACCOUNTS), amount=amounts,
          month=months)
    def post(self, debit_account: str, credit_account: str, amount: Decimal, month: int) -> None:
        entry = EntryInput("MISC", dt.date(YEAR, month, 15), [debit(debit_account, amount),
                                                              credit(credit_account, amount)])
        allowed = not self.closed and month not in self.locked
        before = self._count()
        try:
            with self.database.transaction(self.org.id) as session:
                self.posted.extend(post_entries(session, [entry]))
            assert allowed
        except ValidationError:
            assert not allowed
            assert self._count() == before

    @rule(amount=amounts, month=months)
    def post_twice_with_one_key(self, amount: Decimal, month: int) -> None:
        """A client retrying with its idempotency key gets the same entry, not a second one."""
        self.imports += 1
        entry = EntryInput("MISC", dt.date(YEAR, month, 5), [debit("100", amount), credit("700", amount)],
                           idempotency_key=f"client-{self.imports}")
        allowed = not self.closed and month not in self.locked
        before = self._count()
        try:
            for _ in range(2):
                with self.database.transaction(self.org.id) as session:
                    ids = post_entries(session, [entry])
            assert allowed
            self.posted.extend(ids)
            assert self._count() == before + 1
        except ValidationError:
            assert not allowed
            assert self._count() == before

    @rule(rows=st.lists(st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS), amounts, months),
                        min_size=1, max_size=3))
    def import_workbook(self, rows: list[tuple[str, str, Decimal, int]]) -> None:
        """Entries from a workbook: all or nothing, and the same file twice posts them once."""
        self.imports += 1
        cells = [["Reference", "Date", "Journal", "Account", "Label", "Debit", "Credit"]]
        for n, (debit_account, credit_account, amount, month) in enumerate(rows):
            day, reference = dt.date(YEAR, month, 20), f"IMP-{self.imports}-{n}"
            cells += [[reference, day, "MISC", debit_account, reference, amount, None],
                      [reference, day, "MISC", credit_account, reference, None, amount]]
        path = xlsx(self.tmp / f"import-{self.imports}.xlsx", cells, title="Journal entries")
        allowed = not self.closed and not {month for *_, month in rows} & self.locked
        before = self._count()
        try:
            for _ in range(2):
                with self.database.transaction(self.org.id) as session:
                    import_file(session, path, schema="journal_entries")
                assert self._count() == before + len(rows)
            assert allowed
        except ImportFailed:
            assert not allowed
            assert self._count() == before

    @rule(amount=amounts, month=months)
    def post_unbalanced(self, amount: Decimal, month: int) -> None:
        before = self._count()
        entry = EntryInput("MISC", dt.date(YEAR, month, 10), [debit("100", amount),
                                                              credit("700", amount + Decimal("0.01"))])
        with pytest.raises(ValidationError), self.database.transaction(self.org.id) as session:
            post_entries(session, [entry])
        assert self._count() == before

    @precondition(lambda self: bool(set(self.posted) - self.reversed) and not self.closed)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        candidates = sorted(set(self.posted) - self.reversed)
        target = data.draw(st.sampled_from(candidates))
        try:
            with self.database.transaction(self.org.id) as session:
                new = reverse_entry(session, target)
                self.posted.append(new.id)
            self.reversed.add(target)
        except ComptoirError:  # its period is locked now
            pass

    @precondition(lambda self: not self.closed)
    @rule(month=months, lock=st.booleans())
    def lock(self, month: int, lock: bool) -> None:
        with self.database.transaction(self.org.id) as session:
            set_period_lock(session, f"{YEAR}-{month:02d}", lock)
        (self.locked.add if lock else self.locked.discard)(month)

    @precondition(lambda self: not self.closed and 12 not in self.locked)
    @rule()
    def close(self) -> None:
        with self.database.transaction(self.org.id) as session:
            close_fiscal_year(session, str(YEAR))
        self.closed = True

    @invariant()
    def books_balance_and_verify(self) -> None:
        with self.database.session(self.org.id, readonly=True) as session:
            rows = trial_balance(session, dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))
            assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
            assert sum(r.balance for r in rows) == 0
            assert session.scalar(select(func.coalesce(func.sum(JournalLine.amount), 0))) == 0
            assert verify_ledger(session) == []
            numbers: dict[int, list[int]] = {}
            for journal_id, year_id, number in session.execute(
                    select(JournalEntry.journal_id, JournalEntry.fiscal_year_id, JournalEntry.number)):
                numbers.setdefault((journal_id, year_id), []).append(number)
            for taken in numbers.values():
                assert sorted(taken) == list(range(1, len(taken) + 1))


def test_the_ledger_state_machine(backend, tmp_path_factory):
    run_state_machine_as_test(
        lambda: LedgerMachine(backend, tmp_path_factory),
        settings=settings(max_examples=15, stateful_step_count=12, deadline=None),
    )
