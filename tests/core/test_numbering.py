"""Gapless sequences: consecutive, per organization and scope, given back on rollback."""
from __future__ import annotations

import threading

import pytest

from core.numbering import next_number, next_numbers, peek
from tests.conftest import make_org


def test_numbers_are_consecutive_per_scope_and_organization(database, org, other_org):
    with database.transaction(org.id) as session:
        assert [next_number(session, "journal:VT", "2026") for _ in range(3)] == [1, 2, 3]
        assert next_number(session, "journal:VT", "2027") == 1
        assert list(next_numbers(session, "journal:VT", "2026", 4)) == [4, 5, 6, 7]
    with database.transaction(other_org.id) as session:
        assert next_number(session, "journal:VT", "2026") == 1
    with database.session(org.id) as session:
        assert peek(session, "journal:VT", "2026") == 8


def test_a_rollback_gives_the_number_back(database, org):
    with database.transaction(org.id) as session:
        next_number(session, "s")
    with pytest.raises(RuntimeError), database.transaction(org.id) as session:
        assert next_number(session, "s") == 2
        raise RuntimeError("abandon")
    with database.transaction(org.id) as session:
        assert next_number(session, "s") == 2


@pytest.mark.parametrize("threads", [8])
def test_concurrent_takers_get_distinct_consecutive_numbers(database, threads):
    org = make_org(database, "Busy")
    taken: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            for _ in range(10):
                with database.transaction(org.id) as session:
                    number = next_number(session, "journal:BQ", "2026")
                with lock:
                    taken.append(number)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    assert sorted(taken) == list(range(1, threads * 10 + 1))
