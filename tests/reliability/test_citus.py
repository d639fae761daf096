"""Beyond one machine: every tenant table can be distributed by org_id (Citus rules)."""
from __future__ import annotations

import pytest
from sqlalchemy import UniqueConstraint

from core import models  # noqa: F401 - every kernel table
from core.db import tenant_tables
from core.migrate import citus_plan
from core.plugins import get_registry

get_registry()  # loads every plugin's models before the tables are listed


@pytest.mark.parametrize("table", tenant_tables(), ids=lambda t: t.name)
def test_every_key_of_a_distributed_table_includes_org_id(table):
    assert "org_id" in table.primary_key.columns
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            assert "org_id" in constraint.columns, f"{table.name}: {constraint.name} lacks org_id"
    for fk in table.foreign_key_constraints:
        if fk.referred_table in tenant_tables():
            assert "org_id" in [c.name for c in fk.columns], f"{table.name}: {fk.name} lacks org_id"


def test_the_citus_plan_distributes_tenant_tables_and_replicates_the_rest(comptoir):
    plan = citus_plan()
    assert "SELECT create_reference_table('organization');" in plan
    assert "SELECT create_reference_table('membership');" in plan
    assert "SELECT create_distributed_table('account', 'org_id');" in plan
    assert "SELECT create_distributed_table('journal_line', 'org_id', colocate_with => 'account');" in plan
    distributed = {s.split("'")[1] for s in plan if "create_distributed_table" in s}
    assert distributed == {t.name for t in tenant_tables()}
    code, out, _ = comptoir("db", "citus-plan")
    assert code == 0 and out.splitlines() == plan
