"""PostgreSQL enforces tenancy again, below the ORM: row-level security on every tenant table."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from core import models  # noqa: F401 - every kernel model
from core.chart import Account
from core.db import Database, RLS_POLICY, tenant_tables
from core.plugins import get_registry
from tests.conftest import make_org

pytestmark = pytest.mark.postgresql_only
get_registry()  # loads every plugin's models before the tables are listed


def test_the_application_role_is_neither_owner_superuser_nor_bypassrls(settings, owner_engine):
    app_role = make_url(settings.database_url).username
    with owner_engine.connect() as raw:
        row = raw.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"),
                          {"r": app_role}).one()
        assert row == (False, False)
        owners = set(raw.execute(text("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")).scalars())
        assert app_role not in owners


@pytest.mark.parametrize("table", tenant_tables(), ids=lambda t: t.name)
def test_every_tenant_table_has_forced_rls_with_using_and_with_check(owner_engine, table):
    with owner_engine.connect() as raw:
        enabled, forced = raw.execute(
            text("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = :t"), {"t": table.name}
        ).one()
        assert enabled and forced
        policy = raw.execute(
            text("SELECT qual, with_check FROM pg_policies WHERE tablename = :t AND policyname = :p"),
            {"t": table.name, "p": RLS_POLICY},
        ).one()
        assert "comptoir.org_id" in policy.qual and "comptoir.org_id" in policy.with_check


def test_raw_sql_without_the_setting_sees_no_tenant_rows(database, org, other_org):
    with database.engine.connect() as connection:
        for table in tenant_tables():
            count = connection.execute(text(f'SELECT count(*) FROM "{table.name}"')).scalar()
            assert count == 0, table.name


def test_raw_sql_with_the_setting_sees_only_that_tenant(database, org, other_org):
    with database.engine.begin() as connection:
        connection.execute(text("SELECT set_config('comptoir.org_id', :o, true)"), {"o": str(org.id)})
        orgs = set(connection.execute(text("SELECT DISTINCT org_id FROM account")).scalars())
        assert orgs == {org.id}


def test_a_pooled_connection_does_not_carry_the_tenant_to_the_next_request(settings, org):
    pooled = Database(settings.database_url, pool_size=1)
    try:
        with pooled.session(org.id) as request_a:
            assert request_a.scalars(select(Account)).first() is not None
            request_a.commit()
        with pooled.engine.connect() as request_b:
            assert request_b.execute(text("SELECT count(*) FROM account")).scalar() == 0
            setting = request_b.execute(text("SELECT current_setting('comptoir.org_id', true)")).scalar()
            assert setting in (None, "")
    finally:
        pooled.dispose()


def test_with_check_refuses_writing_a_row_for_another_tenant(database, org, other_org):
    with database.engine.connect() as connection:
        connection.execute(text("SELECT set_config('comptoir.org_id', :o, true)"), {"o": str(org.id)})
        with pytest.raises(ProgrammingError):
            connection.execute(text(
                "INSERT INTO audit_event (org_id, id, at, actor, action, target, details) "
                "VALUES (:other, 1, now(), 'x', 'x', '', '{}')"), {"other": other_org.id})


def test_a_second_org_created_by_the_app_role_is_isolated(database):
    first = make_org(database, "First")
    second = make_org(database, "Second")
    with database.session(second.id) as session:
        assert {a.org_id for a in session.scalars(select(Account))} == {second.id}
    assert first.id != second.id
