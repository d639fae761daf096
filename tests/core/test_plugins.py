"""The plugin manager: discovery through entry points, dependency order, per-tenant enablement."""
from __future__ import annotations

import types

import pytest

from core.errors import NotFound, PluginConfigurationError, PluginDisabled, ValidationError
from core.plugins import (
    OrgPlugin,
    PluginManifest,
    disable_plugin,
    enable_plugin,
    enabled_plugins,
    get_registry,
    load_plugins,
    plan_disable,
    require_plugin,
)
from core import audit, hookimpl

BUILT_IN = ["accounting", "payroll", "assets", "pettycash", "crm"]


def plugin(name: str, *requires: str) -> types.ModuleType:
    module = types.ModuleType(f"fake_{name}")
    module.manifest = PluginManifest(name=name, title=name, version="1", requires=requires)
    return module


def test_built_ins_and_a_third_party_plugin_come_from_entry_points():
    registry = get_registry()
    assert set(BUILT_IN + ["example", "core"]) == set(registry.names)
    assert registry.names[0] == "core"
    order = registry.names
    assert order.index("accounting") < order.index("payroll")
    assert order.index("accounting") < order.index("example")
    assert registry.manifest("example").version == "1.0.0"


def test_dependency_order_of_extra_plugins():
    registry = load_plugins(discover=False, extra=[plugin("c", "b"), plugin("b", "a"), plugin("a")])
    assert registry.names == ["core", "a", "b", "c"]
    assert registry.requirements_of("c") == ["a", "b"]
    assert registry.dependents_of("a") == ["b", "c"]


def test_a_missing_dependency_is_a_clear_error():
    with pytest.raises(PluginConfigurationError, match="b requires zzz, which is not installed"):
        load_plugins(discover=False, extra=[plugin("b", "zzz")])


def test_a_dependency_cycle_is_a_clear_error():
    with pytest.raises(PluginConfigurationError, match="cycle"):
        load_plugins(discover=False, extra=[plugin("a", "b"), plugin("b", "a")])


def test_two_plugins_with_one_name_are_refused():
    with pytest.raises(PluginConfigurationError, match="Two plugins are named a"):
        load_plugins(discover=False, extra=[plugin("a"), plugin("a")])


def test_a_module_without_manifest_is_refused():
    with pytest.raises(PluginConfigurationError, match="no manifest"):
        load_plugins(discover=False, extra=[types.ModuleType("bare")])


def test_a_hookimpl_without_spec_is_refused():
    module = plugin("typo")

    @hookimpl
    def comptoir_registr_permissions():  # noqa: ANN202 - misspelt on purpose
        return []

    module.comptoir_registr_permissions = comptoir_registr_permissions
    with pytest.raises(PluginConfigurationError, match="unknown hook"):
        load_plugins(discover=False, extra=[module])


def test_a_permission_declared_twice_is_refused():
    from core.security import Permission

    first, second = plugin("one"), plugin("two")
    for module in (first, second):
        module.comptoir_register_permissions = hookimpl(lambda: [Permission("same.code", "x")])
    with pytest.raises(PluginConfigurationError, match="same.code"):
        load_plugins(discover=False, extra=[first, second])


def test_enable_brings_requirements_and_is_per_organization(database, org, other_org):
    with database.transaction(org.id) as session:
        disable_plugin(session, "accounting")
        assert enable_plugin(session, "example") == ["accounting", "example"]
        assert enable_plugin(session, "example") == []
    with database.session(org.id) as session:
        assert {"accounting", "example"} <= enabled_plugins(session)
        require_plugin(session, "example")
    with database.session(other_org.id) as session:
        assert "example" not in enabled_plugins(session)
        with pytest.raises(PluginDisabled):
            require_plugin(session, "example")


def test_disable_shows_the_impact_first_then_keeps_the_data(database, org):
    with database.transaction(org.id) as session:
        enable_plugin(session, "example")
    with database.transaction(org.id) as session:
        impact = plan_disable(session, "accounting")
        assert impact.also_disabled == ("example",)
        assert "example.use" in impact.permissions
        assert [i.endpoint for i in impact.menu_items] == [
            "accounting.dashboard", "accounting.invoices", "accounting.payments", "accounting.entries",
            "accounting.partners", "accounting.products", "accounting.trial_balance", "accounting.rates",
            "example.home"]
        assert {d.msgid for d in impact.data} == {"%(count)s example records", "%(count)s journal entries"}
        assert "accounting" in enabled_plugins(session)  # planning changed nothing
        disable_plugin(session, "accounting")
    with database.transaction(org.id) as session:
        assert enabled_plugins(session) == {"core"}
        assert session.query(OrgPlugin).count() == 2  # rows kept, flagged disabled
        enable_plugin(session, "example")
        assert {"accounting", "example"} <= enabled_plugins(session)
        actions = [e.action for e in audit.events(session)]
        assert actions.count("plugin.disabled") == 2


def test_unknown_plugin_and_the_kernel(database, org):
    with database.session(org.id) as session:
        with pytest.raises(NotFound):
            enable_plugin(session, "nope")
        with pytest.raises(ValidationError):
            plan_disable(session, "core")
        assert "core" in enabled_plugins(session)


def test_enabling_later_sets_the_plugin_up_once(database):
    from plugins.accounting.services import list_journals
    from tests.conftest import make_org

    org = make_org(database, "Late adopter", plugins=[])
    with database.transaction(org.id) as session:
        assert list_journals(session) == []
        enable_plugin(session, "accounting")
        assert len(list_journals(session)) == 7
        disable_plugin(session, "accounting")
        enable_plugin(session, "accounting")  # re-enabling does not set up twice
        assert len(list_journals(session)) == 7


def test_a_disabled_plugins_permissions_grant_nothing(database, org):
    from core.security import has_permission
    from tests.conftest import make_user

    clerk = make_user(database, org, "clerk@acme.test", "clerk")
    with database.transaction(org.id) as session:
        assert not has_permission(session, clerk, "example.use")
        enable_plugin(session, "example")
        assert has_permission(session, clerk, "example.use")
