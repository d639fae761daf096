"""Schemas come from plugins through comptoir_register_excel_schemas; an organization sees only
those of the plugins it has enabled."""
from __future__ import annotations

import types

import openpyxl
import pytest

from core import hookimpl
from core.errors import PluginConfigurationError, PluginDisabled
from core.excel import Column, ColumnType, ImportCounts, Schema, export_workbook, get_schema, import_file
from core.excel import registered_schemas, schemas
from core.excel.schema import dependency_order
from core.plugins import PluginManifest, enable_plugin, get_registry, load_plugins, reset_registry
from tests.conftest import make_org
from tests.core.excel.helpers import xlsx


def test_register_excel_schemas_collects_every_plugins_schemas_attributed_to_it():
    """comptoir_register_excel_schemas: the kernel, accounting and the example each register theirs."""
    found = registered_schemas()
    assert list(found) == ["accounts", "fiscal_years", "journals", "exchange_rates", "example_notes", "taxes",
                           "invoicing_settings", "products", "partners", "opening_balances", "journal_entries",
                           "invoices", "invoice_taxes", "payments", "allocations", "bank_statements"]
    assert {name: s.plugin for name, s in found.items()} == {
        "accounts": "core", "fiscal_years": "core", "example_notes": "example", "opening_balances": "accounting",
        "journal_entries": "accounting", "journals": "accounting", "exchange_rates": "accounting",
        "products": "accounting", "partners": "accounting",
        **{name: "accounting" for name in ("taxes", "invoicing_settings", "invoices", "invoice_taxes", "payments", "allocations", "bank_statements")}}
    callers = get_registry().pm.hook.comptoir_register_excel_schemas.get_hookimpls()
    assert {impl.plugin_name for impl in callers} >= {"core", "accounting", "example"}


def test_an_organization_is_offered_only_its_enabled_plugins_schemas(database, tmp_path):
    org = make_org(database, "Plain", chart="example_tiny")
    notes = xlsx(tmp_path / "notes.xlsx", [["Compte", "Texte"], ["100", "checked monthly"]], title="Notes")
    with database.transaction(org.id) as session:
        assert [s.name for s in schemas(session)] == [
            "accounts", "fiscal_years", "journals", "exchange_rates", "taxes", "invoicing_settings", "products",
            "partners", "opening_balances", "journal_entries", "invoices", "invoice_taxes", "payments", "allocations", "bank_statements"]
        with pytest.raises(PluginDisabled):
            get_schema(session, "example_notes")
        with pytest.raises(PluginDisabled):
            import_file(session, notes, schema="example_notes")
    with database.transaction(org.id) as session:
        enable_plugin(session, "example")
        report = import_file(session, notes, locale="fr")  # told from the sheet's title
        assert [(s.schema, s.counts) for s in report.sheets] == [("example_notes", ImportCounts(created=1))]
    with database.transaction(org.id) as session:
        assert import_file(session, notes).counts == ImportCounts(unchanged=1)
        path = export_workbook(session, tmp_path / "out.xlsx", [get_schema(session, "example_notes")])
    assert [c.value for c in openpyxl.load_workbook(path)["Notes"][2]] == ["100", "checked monthly"]


def test_a_schema_name_registered_twice_stops_with_a_clear_error():
    def write(session, records, context):  # noqa: ANN001, ANN202
        return ImportCounts()

    clash = types.ModuleType("comptoir_clash")
    clash.manifest = PluginManifest(name="clash", title="Clash", version="1")

    @hookimpl
    def comptoir_register_excel_schemas() -> list[Schema]:
        return [Schema(name="accounts", sheet="Accounts", label="Accounts again",
                       columns=(Column("code", "Code", ColumnType.CODE),), key=("code",), write=write)]

    clash.comptoir_register_excel_schemas = comptoir_register_excel_schemas
    previous = get_registry()
    reset_registry(load_plugins(extra=[clash]))
    try:
        with pytest.raises(PluginConfigurationError) as failed:
            registered_schemas()
        assert failed.value.translate("en") == \
            "The Excel schema accounts is registered twice (by core and clash)."
    finally:
        reset_registry(previous)


def test_a_schema_is_checked_when_it_is_declared():
    with pytest.raises(PluginConfigurationError, match="has a key naming no column: ref"):
        Schema(name="bad", sheet="Bad", label="Bad", columns=(Column("code", "Code"),), key=("ref",),
               write=lambda *a: ImportCounts())
    with pytest.raises(PluginConfigurationError, match="lists no choices"):
        Column("kind", "Kind", ColumnType.CHOICE)


def _schema(name: str, order: int = 100, after: tuple[str, ...] = ()) -> Schema:
    def write(session, records, context):  # noqa: ANN001, ANN202
        return ImportCounts()

    return Schema(name=name, sheet=name, label=name, columns=(Column("code", "Code", ColumnType.CODE),),
                  key=("code",), write=write, order=order, after=after)


def test_schemas_come_after_those_they_wait_for_whatever_their_order():
    entries = _schema("entries", order=1, after=("accounts", "years", "not_installed"))
    accounts, years = _schema("accounts", order=50), _schema("years", order=60, after=("accounts",))
    notes = _schema("notes", order=5)
    assert [s.name for s in dependency_order([entries, years, notes, accounts])] == [
        "notes", "accounts", "years", "entries"]
    with pytest.raises(PluginConfigurationError) as raised:
        dependency_order([_schema("a", after=("b",)), _schema("b", after=("a",)), notes])
    assert raised.value.params == {"schemas": "a, b"}
