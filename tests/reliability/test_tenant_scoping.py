"""Tenants never see each other through the ORM: every tenant table, found from the metadata."""
from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from core import models  # noqa: F401 - every kernel model
from core.chart import Account, AccountTag
from core.db import Base, OrgOwned, fetch, set_tenant, tenant_tables
from core.errors import CrossTenantWrite, NotFound, TenantContextMissing
from core.plugins import get_registry
from core.tenancy import Organization
from tests.conftest import make_org, populate_everything

get_registry()  # loads every plugin's models before the tables are listed
TENANT_MODELS = sorted(
    (m.class_ for m in Base.registry.mappers if issubclass(m.class_, OrgOwned)),
    key=lambda cls: cls.__tablename__,
)


@pytest.fixture
def two_orgs(database):  # noqa: ANN001, ANN201
    orgs = [make_org(database, "Tenant A"), make_org(database, "Tenant B")]
    for org in orgs:
        with database.transaction(org.id) as session:
            populate_everything(session)
    return orgs


def test_the_metadata_knows_tenant_tables():
    assert {m.__tablename__ for m in TENANT_MODELS} == {t.name for t in tenant_tables()}
    assert len(TENANT_MODELS) >= 9


@pytest.mark.parametrize("table", tenant_tables(), ids=lambda t: t.name)
def test_org_id_leads_a_key_and_every_index(table):
    org_id = table.c.org_id
    assert not org_id.nullable
    keys = [table.primary_key, *[c for c in table.constraints if c.__class__.__name__ == "UniqueConstraint"]]
    assert any(list(k.columns)[0] is org_id for k in keys), "org_id must lead the primary key or a unique key"
    for index in table.indexes:
        assert list(index.columns)[0] is org_id, f"index {index.name} must start with org_id"
    for fk in table.foreign_key_constraints:
        if "org_id" in fk.referred_table.c:
            assert "org_id" in [c.name for c in fk.columns], f"{fk.name} must include org_id"


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m.__tablename__)
def test_a_tenant_sees_only_its_rows(database, owner_engine, two_orgs, model):
    a, b = two_orgs
    table = model.__table__
    with owner_engine.connect() as raw:
        counts = dict(raw.execute(select(table.c.org_id, func.count()).group_by(table.c.org_id)).all())
        assert counts.get(b.id, 0) > 0, f"no factory fills {table.name}: add one to a testing.populate"
        assert counts.get(a.id, 0) > 0
        some_b_id = raw.execute(select(table.c.id).where(table.c.org_id == b.id).limit(1)).scalar_one()
    with database.session(a.id, readonly=True) as session:
        rows = session.scalars(select(model)).all()
        assert {r.org_id for r in rows} == {a.id}
        assert len(rows) == counts[a.id]
        assert session.scalar(select(func.count()).select_from(model)) == counts[a.id]
        with pytest.raises(NotFound):
            fetch(session, model, some_b_id)
        assert session.scalars(select(model).where(model.id == some_b_id)).first() is None


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m.__tablename__)
def test_no_tenant_context_raises(database, org, model):
    with database.session() as session, pytest.raises(TenantContextMissing):
        session.scalars(select(model)).all()


def test_a_tenant_table_reached_by_a_join_without_context_shows_nothing(database, org):
    with database.session() as session:
        rows = session.execute(
            select(Organization.code).join(Account, Account.org_id == Organization.id)
        ).all()
        assert rows == []


def test_insert_takes_the_tenant_and_refuses_another(database, two_orgs):
    a, b = two_orgs
    with database.transaction(a.id) as session:
        account = Account(code="999", name="Suspense", type="asset")
        session.add(account)
        session.flush()
        assert account.org_id == a.id and account.id is not None
    with database.session(a.id) as session, pytest.raises(CrossTenantWrite):
        session.add(Account(org_id=b.id, code="998", name="Sneaky", type="asset"))
        session.flush()
    with database.session() as session, pytest.raises(TenantContextMissing):
        session.add(Account(code="997", name="Nobody's", type="asset"))
        session.flush()


def test_bulk_insert_refuses_another_tenant(database, two_orgs):
    a, b = two_orgs
    with database.session(a.id) as session, pytest.raises(CrossTenantWrite):
        session.execute(insert(Account), [{"org_id": b.id, "id": 1, "code": "X", "name": "x", "type": "asset"}])


def test_moving_a_row_to_another_tenant_is_refused(database, two_orgs):
    a, b = two_orgs
    with database.session(a.id) as session, pytest.raises(CrossTenantWrite):
        account = session.scalars(select(Account)).first()
        account.org_id = b.id
        session.flush()


def test_orm_update_and_delete_are_scoped(database, two_orgs):
    a, b = two_orgs
    with database.transaction(a.id) as session:
        session.execute(update(Account).values(name="renamed"), execution_options={"synchronize_session": False})
    with database.session(b.id) as session:
        names = set(session.scalars(select(Account.name)))
        assert "renamed" not in names


def test_bulk_update_by_primary_key_cannot_reach_another_tenant(database, two_orgs):
    a, b = two_orgs
    with database.session(a.id) as session:
        b_ids = None
        set_tenant(session, b.id)
        b_ids = session.scalars(select(Account.id).limit(2)).all()
        set_tenant(session, a.id)
        with pytest.raises(CrossTenantWrite):
            session.execute(update(Account), [{"org_id": b.id, "id": i, "name": "hijacked"} for i in b_ids])
        with pytest.raises(CrossTenantWrite):
            session.execute(update(Account), [{"id": i, "name": "hijacked"} for i in b_ids])


def test_switching_tenant_between_identical_cached_queries(database, two_orgs):
    a, b = two_orgs
    query = select(Account.org_id).where(Account.code == "1100")
    with database.session(a.id) as session:
        first = session.scalars(query).all()
        set_tenant(session, b.id)
        second = session.scalars(query).all()
        set_tenant(session, a.id)
        third = session.scalars(query).all()
    assert first == [a.id] and second == [b.id] and third == [a.id]


def test_interleaved_sessions_of_two_tenants_in_one_thread(database, two_orgs):
    a, b = two_orgs
    query = select(Account.org_id).where(Account.code == "1100")
    with database.session(a.id, readonly=True) as session_a, database.session(b.id, readonly=True) as session_b:
        for _ in range(3):
            assert session_a.scalars(query).all() == [a.id]
            assert session_b.scalars(query).all() == [b.id]
        results_a = session_a.execute(select(Account.org_id))
        assert {row[0] for row in session_b.execute(select(Account.org_id))} == {b.id}
        assert {row[0] for row in results_a} == {a.id}


def test_threads_of_two_tenants_never_mix(database, two_orgs):
    import threading

    seen: dict[int, set[int]] = {org.id: set() for org in two_orgs}

    def reader(org_id: int) -> None:
        with database.session(org_id, readonly=True) as session:
            for _ in range(50):
                seen[org_id].update(session.scalars(select(Account.org_id).limit(5)))

    threads = [threading.Thread(target=reader, args=(org.id,)) for org in two_orgs for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {org.id: {org.id} for org in two_orgs}


def test_composite_foreign_keys_reject_a_reference_to_another_tenant(owner_engine, two_orgs):
    a, b = two_orgs
    with owner_engine.connect() as raw:
        b_account = raw.execute(select(Account.__table__.c.id).where(Account.__table__.c.org_id == b.id).limit(1)).scalar_one()
        with pytest.raises(IntegrityError):
            raw.execute(insert(AccountTag.__table__).values(org_id=a.id, id=10**12, account_id=b_account, tag="bank"))
            raw.commit()


@pytest.mark.sqlite_only
def test_sqlite_connections_always_enforce_foreign_keys(database):
    for _ in range(3):
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    with database.session() as session:
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
