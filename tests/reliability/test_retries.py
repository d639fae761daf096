"""Transactions the database aborts on its own (deadlock, serialization failure, lock wait)
are run again by ``Database.run``; other errors are not."""
from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from core.chart import Account
from core.db import is_transient

DEADLOCK_WAIT = 20  # seconds; PostgreSQL detects the deadlock after deadlock_timeout (1 s)


def _rename(session, code: str, suffix: str) -> None:  # noqa: ANN001
    account = session.scalars(select(Account).where(Account.code == code)).one()
    account.name += suffix
    session.flush()


def _two_codes(database, org) -> tuple[str, str]:  # noqa: ANN001
    with database.session(org.id) as session:
        first, second = session.scalars(select(Account.code).order_by(Account.code).limit(2))
    return first, second


def _names(database, org, codes) -> list[str]:  # noqa: ANN001
    with database.session(org.id) as session:
        return [session.scalars(select(Account.name).where(Account.code == c)).one() for c in codes]


def _crossing_writers(database, org, codes, run):  # noqa: ANN001, ANN202
    """Two writers lock the same two rows in opposite orders, meeting in the middle."""
    barrier = threading.Barrier(2)
    attempts: Counter[str] = Counter()
    failures: list[BaseException] = []

    def writer(name: str, order: tuple[str, str]) -> None:
        def work(session) -> None:  # noqa: ANN001
            attempts[name] += 1
            _rename(session, order[0], name)
            if attempts[name] == 1:
                barrier.wait(timeout=DEADLOCK_WAIT)
            _rename(session, order[1], name)

        try:
            run(work)
        except BaseException as error:  # noqa: BLE001 - reported to the test
            failures.append(error)

    threads = [threading.Thread(target=writer, args=("A", codes)),
               threading.Thread(target=writer, args=("B", codes[::-1]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return attempts, failures


@pytest.mark.postgresql_only
def test_a_deadlock_aborts_one_plain_transaction(database, org):
    codes = _two_codes(database, org)

    def once(work) -> None:  # noqa: ANN001
        with database.transaction(org.id) as session:
            work(session)

    attempts, failures = _crossing_writers(database, org, codes, once)
    assert len(failures) == 1
    assert isinstance(failures[0], DBAPIError) and is_transient(failures[0])
    assert failures[0].orig.sqlstate == "40P01"


@pytest.mark.postgresql_only
def test_a_deadlocked_transaction_is_run_again_and_both_writers_succeed(database, org):
    codes = _two_codes(database, org)
    before = _names(database, org, codes)
    attempts, failures = _crossing_writers(database, org, codes, lambda work: database.run(work, org.id))
    assert failures == []
    assert sum(attempts.values()) == 3  # the deadlock victim ran twice
    # Each writer's change is there exactly once, the winner's first: the aborted attempt left nothing.
    names = _names(database, org, codes)
    assert names in ([f"{name}AB" for name in before], [f"{name}BA" for name in before])


@pytest.mark.postgresql_only
def test_a_serialization_failure_is_run_again(database, org):
    code, _ = _two_codes(database, org)
    (before,) = _names(database, org, [code])
    barrier = threading.Barrier(2)
    attempts: Counter[str] = Counter()
    failures: list[BaseException] = []

    def writer(name: str) -> None:
        def work(session) -> None:  # noqa: ANN001
            attempts[name] += 1
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            session.scalars(select(Account.name).where(Account.code == code)).one()  # the snapshot
            if attempts[name] == 1:
                barrier.wait(timeout=DEADLOCK_WAIT)
                if name == "B":  # let A commit first: B's snapshot is then stale
                    done.wait(timeout=DEADLOCK_WAIT)
            _rename(session, code, name)

        try:
            database.run(work, org.id)
        except BaseException as error:  # noqa: BLE001 - reported to the test
            failures.append(error)
        finally:
            if name == "A":
                done.set()

    done = threading.Event()
    threads = [threading.Thread(target=writer, args=(n,)) for n in "AB"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert attempts == {"A": 1, "B": 2}
    assert _names(database, org, [code]) == [f"{before}AB"]


def test_errors_that_would_happen_again_are_not_retried(database, org):
    calls = []

    def work(session) -> None:  # noqa: ANN001
        calls.append(1)
        code, _ = session.scalars(select(Account.code).limit(2))
        session.add(Account(code=code, name="duplicate", type="asset"))
        session.flush()

    with pytest.raises(IntegrityError):
        database.run(work, org.id)
    assert calls == [1]


def test_sqlite_lock_timeouts_are_transient(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'locked.sqlite'}", connect_args={"timeout": 0})
    with engine.connect() as holder, engine.connect() as waiter:
        holder.exec_driver_sql("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError) as raised:
            waiter.exec_driver_sql("BEGIN IMMEDIATE")
        holder.exec_driver_sql("ROLLBACK")
    engine.dispose()
    assert is_transient(raised.value)
