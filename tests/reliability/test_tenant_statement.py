"""TenantStatement: compiled Core statements run at the driver level keep the ORM's tenant rules."""
from __future__ import annotations

import pytest
from sqlalchemy import bindparam, insert, select, update

from core.chart import Account
from core.db import TenantStatement, allocate_ids
from core.errors import CrossTenantWrite, TenantContextMissing
from core.numbering import SequenceCounter
from core.tenancy import Organization
from tests.conftest import make_org

COUNTER = SequenceCounter.__table__
INSERT = TenantStatement(insert(COUNTER))
BUMP = TenantStatement(update(SequenceCounter).where(SequenceCounter.name == bindparam("name"))
                       .values(next_value=SequenceCounter.next_value + 1).returning(SequenceCounter.next_value))
READ = TenantStatement(select(SequenceCounter.name, SequenceCounter.next_value).where(SequenceCounter.scope == "t"))


@pytest.fixture
def two_orgs(database):  # noqa: ANN001, ANN201
    return make_org(database, "Tenant A"), make_org(database, "Tenant B")


def add_counter(database, org_id: int, value: int) -> None:  # noqa: ANN001
    with database.transaction(org_id) as session:
        INSERT.execute(session, [{"id": allocate_ids(session, 1)[0], "name": "shared", "scope": "t",
                                  "next_value": value}])


def test_rows_get_the_sessions_organization_and_reads_and_updates_see_only_it(database, two_orgs):
    a, b = two_orgs
    add_counter(database, a.id, 10)
    add_counter(database, b.id, 20)
    with database.transaction(a.id) as session:
        assert READ.execute(session) == [("shared", 10)]
        assert BUMP.execute(session, {"name": "shared"}) == [(11,)]
    with database.session(b.id) as session:
        assert READ.execute(session) == [("shared", 20)]  # b's counter was not bumped by a
        assert session.scalars(select(SequenceCounter.org_id).where(SequenceCounter.scope == "t")).all() == [b.id]


def test_a_row_of_another_organization_is_refused(database, two_orgs):
    a, b = two_orgs
    with database.transaction(a.id) as session, pytest.raises(CrossTenantWrite):
        INSERT.execute(session, [{"org_id": a.id, "id": 1, "name": "x", "scope": "t", "next_value": 1},
                                 {"org_id": b.id, "id": 2, "name": "y", "scope": "t", "next_value": 1}])
    with database.session(b.id) as session:
        assert READ.execute(session) == []


def test_no_tenant_no_statement(database, two_orgs):
    with database.session() as session:
        for statement, params in ((READ, None), (BUMP, {"name": "shared"})):
            with pytest.raises(TenantContextMissing):
                statement.execute(session, params)


def test_only_single_tenant_tables(database):
    with pytest.raises(TypeError):
        TenantStatement(select(Organization.id))
    with pytest.raises(TypeError):
        TenantStatement(select(Account.id, SequenceCounter.id).where(Account.org_id == SequenceCounter.org_id))
    with pytest.raises(TypeError):  # a subquery would read another table unscoped
        TenantStatement(update(SequenceCounter).where(
            SequenceCounter.name == select(Account.code).where(Account.id == 1).scalar_subquery()))


def test_rows_of_one_insert_name_the_same_columns(database, two_orgs):
    a, _ = two_orgs
    with database.transaction(a.id) as session, pytest.raises(ValueError):
        INSERT.execute(session, [{"id": 1, "name": "x", "scope": "t", "next_value": 1},
                                 {"id": 2, "name": "y", "scope": "t"}])


def test_many_rows_go_in_in_one_call(database, two_orgs):
    """On SQLite, as multi-row ``VALUES`` statements of up to 500 rows: 1,234 rows take three."""
    a, _ = two_orgs
    with database.transaction(a.id) as session:
        ids = allocate_ids(session, 1234)
        INSERT.execute(session, [{"id": i, "name": f"n{n}", "scope": "t", "next_value": n}
                                 for n, i in enumerate(ids)])
    with database.session(a.id) as session:
        assert sorted(READ.execute(session), key=lambda row: row[1]) == [(f"n{n}", n) for n in range(1234)]


def test_a_bad_row_in_a_later_chunk_fails_the_insert(database, two_orgs):
    from sqlalchemy.exc import IntegrityError

    a, _ = two_orgs
    with pytest.raises(IntegrityError), database.transaction(a.id) as session:
        ids = allocate_ids(session, 700)
        rows = [{"id": i, "name": f"n{n}", "scope": "t", "next_value": n} for n, i in enumerate(ids)]
        rows[650]["name"] = "n3"  # the same (org, name, scope) as row 3
        INSERT.execute(session, rows)
    with database.session(a.id) as session:
        assert READ.execute(session) == []


def test_statements_reach_listeners_when_someone_listens(database, two_orgs):
    """The driver-level shortcut is taken only when nobody listens to the engine's statements."""
    from sqlalchemy import event

    a, _ = two_orgs
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001, ARG001
        seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", listen)
    try:
        add_counter(database, a.id, 5)
        with database.transaction(a.id) as session:  # several rows: a multi-row VALUES on SQLite
            INSERT.execute(session, [{"id": i, "name": f"more{i}", "scope": "u", "next_value": 1}
                                     for i in allocate_ids(session, 3)])
        with database.session(a.id) as session:
            assert READ.execute(session) == [("shared", 5)]
    finally:
        event.remove(database.engine, "before_cursor_execute", listen)
    assert any("comptoir_id_block" in s or "nextval" in s for s in seen)
    assert any(s.startswith("INSERT INTO sequence_counter") for s in seen)
    assert any(s.startswith("SELECT sequence_counter.name") for s in seen)


def test_a_driver_error_is_sqlalchemys(database, two_orgs):
    from sqlalchemy.exc import IntegrityError

    a, _ = two_orgs
    add_counter(database, a.id, 5)
    with database.transaction(a.id) as session, pytest.raises(IntegrityError):
        INSERT.execute(session, [{"id": allocate_ids(session, 1)[0], "name": "shared", "scope": "t", "next_value": 1}])
