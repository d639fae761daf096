"""No tenant table is forgotten by the whole-organization workbook: what every installed
plugin's ``testing.populate`` puts in an organization comes back, table by table, in another."""
from __future__ import annotations

from core.db import tenant_tables
from core.excel import export_workbook, import_file, schemas
from core.plugins import enable_plugin, get_registry
from tests.conftest import make_org, populate_everything
from tests.tenant_dump import IGNORED_COLUMNS, LOOSE_REFERENCES, NOT_COMPARED, canonical_dump, differences


def test_every_tenant_table_is_compared_or_said_why():
    tables = {t.name: t for t in tenant_tables()}
    assert set(NOT_COMPARED) <= set(tables), "NOT_COMPARED names a table that no longer exists"
    assert all(reason.strip() for reason in (*NOT_COMPARED.values(), *IGNORED_COLUMNS.values()))
    for table, column in (*IGNORED_COLUMNS, *LOOSE_REFERENCES):
        assert column in tables[table].c, f"{table}.{column} no longer exists"


def _plugins() -> list[str]:
    registry = get_registry()
    return [name for name in registry.names if name != "core"]


def test_what_every_plugin_populates_comes_back_through_one_workbook(database, tmp_path):
    """Every tenant table not listed in NOT_COMPARED must have rows after the populates (so a
    new plugin's table is exercised) and be equal in the copy (so its plugin exports it)."""
    source = make_org(database, "Everything", country="FR")
    with database.transaction(source.id) as session:
        for plugin in _plugins():
            enable_plugin(session, plugin)
        populate_everything(session)
        books = export_workbook(session, tmp_path / "everything.xlsx", schemas(session))
    copy = make_org(database, "Copy", chart=None, country="FR")
    with database.transaction(copy.id) as session:
        for plugin in _plugins():
            enable_plugin(session, plugin)
        import_file(session, books)
    original, copied = canonical_dump(database, source.id), canonical_dump(database, copy.id)
    assert [table for table, rows in original.items() if not rows] == [], \
        "a tenant table no populate fills: fill it in the plugin's testing.populate"
    found = differences(original, copied)
    assert found == {}, __import__("pprint").pformat(found, width=160)
