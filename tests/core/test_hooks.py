"""Every hook of core/hookspecs.py, exercised through the example plugin and the real kernel.

The example plugin (tests/example_plugin) is installed through its entry point by
tests/conftest.py, exactly as ``pip install`` would. The last test is the meta-test: a hook
added to core/hookspecs.py without a test here, a section in docs/plugins.md and an
implementation in the example plugin fails it.
"""
from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from flask import url_for

from core import audit, hookspecs
from core.chart import (
    create_account,
    default_account,
    delete_account,
    get_account,
    list_accounts,
    list_templates,
)
from core.cli import main
from core.db import set_tenant
from core.errors import Conflict
from core.periods import list_fiscal_years, periods_of, set_period_lock
from core.plugins import (
    DataSummary,
    MenuItem,
    disable_plugin,
    enable_plugin,
    enabled_plugins,
    get_registry,
    plan_disable,
)
from core.security import STAFF, BuiltinRole, has_permission, role_permissions
from core.tenancy import find_organization
from core.web import create_app
from tests.conftest import STRONG_PASSWORD, make_org, make_user

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
PLUGIN_GUIDE = ROOT / "docs" / "plugins.md"
EXAMPLE_MODULE = "comptoir_example"


# --- helpers ---------------------------------------------------------------------------------------

@pytest.fixture
def cli(settings, monkeypatch, capsys, tmp_path) -> Callable[..., str]:  # noqa: ANN001
    """Run ``comptoir ARGS…`` against the test database; returns what it printed."""
    monkeypatch.setenv("COMPTOIR_DATABASE_URL", settings.database_url)
    if settings.owner_database_url:
        monkeypatch.setenv("COMPTOIR_DATABASE_OWNER_URL", settings.owner_database_url)
    else:
        monkeypatch.delenv("COMPTOIR_DATABASE_OWNER_URL", raising=False)
    monkeypatch.setenv("COMPTOIR_SECRET_KEY", "test")
    monkeypatch.setenv("COMPTOIR_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("COMPTOIR_LOCALE", "en")

    def run(*args: str) -> str:
        capsys.readouterr()
        main(list(args))
        return capsys.readouterr().out

    return run


@pytest.fixture
def client(settings, database):  # noqa: ANN001, ANN201
    app = create_app(settings=settings, database=database,
                     test_config={"WTF_CSRF_ENABLED": False, "TESTING": True})
    return app.test_client()


def login(client, email: str) -> None:  # noqa: ANN001
    response = client.post("/login", data={"email": email, "password": STRONG_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def example_events(database, org, action: str) -> list[audit.AuditEvent]:  # noqa: ANN001
    with database.transaction(org.id) as session:
        return audit.events(session, action=action)


def first_period_name(database, org) -> str:  # noqa: ANN001
    with database.transaction(org.id) as session:
        return periods_of(session, list_fiscal_years(session)[0])[0].name


# --- start-up registrations -------------------------------------------------------------------------

def test_register_permissions_declares_example_use_for_staff(database):
    """comptoir_register_permissions: the example's permission joins the registry with its roles."""
    registry = get_registry()
    permission = registry.permissions["example.use"]
    assert permission.roles == STAFF
    assert registry.permission_plugin["example.use"] == "example"

    org = make_org(database, "Staffed", plugins=["example"])
    clerk = make_user(database, org, "clerk@staffed.test", BuiltinRole.CLERK)
    reader = make_user(database, org, "reader@staffed.test", BuiltinRole.READONLY)
    with database.transaction(org.id) as session:
        assert "example.use" in role_permissions(session, BuiltinRole.OWNER)
        assert "example.use" in role_permissions(session, BuiltinRole.CLERK)
        assert "example.use" not in role_permissions(session, BuiltinRole.READONLY)
        assert has_permission(session, clerk, "example.use")
        assert not has_permission(session, reader, "example.use")


def test_register_chart_templates_adds_example_tiny(database, cli):
    """comptoir_register_chart_templates: a plugin's template is listed and builds an organization."""
    template = list_templates()["example_tiny"]
    assert template.path.parent.name == "templates"
    assert template.path.parent.parent.name == EXAMPLE_MODULE
    assert "example_tiny\tv1" in cli("chart", "templates")

    org = make_org(database, "Tiny", chart="example_tiny")
    assert (org.chart_template, org.chart_version) == ("example_tiny", 1)
    with database.transaction(org.id) as session:
        assert [a.code for a in list_accounts(session)] == sorted(a.code for a in template.accounts)
        assert default_account(session, "bank").code == "100"


def test_register_cli_commands_adds_example_hello(cli):
    """comptoir_register_cli_commands: the plugin's command runs inside `comptoir`."""
    assert cli("example-hello", "world") == "hello world\n"
    assert "example-hello" in cli("--help")


def test_register_blueprints_serves_only_organizations_that_enabled_the_plugin(client, database, org, owner):
    """comptoir_register_blueprints: 404 until the organization enables the plugin, then 200."""
    assert client.get("/example/").status_code == 404  # nobody signed in
    login(client, owner.email)
    assert client.get("/").status_code == 200
    assert client.get("/example/").status_code == 404

    with database.transaction(org.id) as session:
        assert enable_plugin(session, "example") == ["example"]
    response = client.get("/example/")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == f"example for organization {org.id}"

    with database.transaction(org.id) as session:
        disable_plugin(session, "example")
    assert client.get("/example/").status_code == 404


def test_menu_items_point_to_the_example_blueprint(settings, database):
    """comptoir_menu_items: the item is attributed to the plugin, guarded by its permission."""
    items = get_registry().menu_items("example")
    assert items == [MenuItem(plugin="example", endpoint="example.home", label="Example",
                              permission="example.use")]
    assert items[0].permission in get_registry().permissions
    app = create_app(settings=settings, database=database, test_config={"TESTING": True})
    with app.test_request_context():
        assert url_for(items[0].endpoint) == "/example/"

    org = make_org(database, "Menus", plugins=["example"])
    with database.transaction(org.id) as session:
        assert plan_disable(session, "example").menu_items == tuple(items)


# --- tenant lifecycle events ---------------------------------------------------------------------

def test_organization_created_fires_only_where_the_plugin_is_enabled(database, org):
    """comptoir_organization_created: called inside the creation, for enabled plugins only."""
    with_example = make_org(database, "With Example", plugins=["example"])
    events = example_events(database, with_example, "example.organization_created")
    assert [e.target for e in events] == [with_example.code]
    assert example_events(database, org, "example.organization_created") == []
    with database.transaction(with_example.id) as session:
        assert enabled_plugins(session) == {"core", "accounting", "example"}


def test_period_locked_is_announced_to_enabled_plugins(database, org, cli):
    """comptoir_period_locked: called on lock and unlock, in the same transaction."""
    with_example = make_org(database, "Locker", plugins=["example"])
    name = first_period_name(database, with_example)
    with database.transaction(with_example.id) as session:
        assert set_period_lock(session, name, True).locked
    assert cli("fiscal-year", "lock", "--org", with_example.code, name, "--unlock") == \
        f"Period {name} unlocked.\n"
    events = example_events(database, with_example, "example.period_locked")
    assert sorted((e.target, e.detail_values["locked"]) for e in events) == [(name, False), (name, True)]

    plain = first_period_name(database, org)
    with database.transaction(org.id) as session:
        set_period_lock(session, plain, True)
    assert [e.target for e in example_events(database, org, "period.locked")] == [plain]
    assert example_events(database, org, "example.period_locked") == []


# --- questions the kernel asks ------------------------------------------------------------------------

def test_accounts_in_use_prevents_deleting_an_account(database, org):
    """comptoir_accounts_in_use: asked of every installed plugin, enabled or not."""
    from comptoir_example.models import ExampleNote

    with database.transaction(org.id) as session:
        assert "example" not in enabled_plugins(session)  # its data is kept when disabled
        create_account(session, "4711", "Suspense [in use]", type="asset")
        noted = create_account(session, "4712", "Transit", type="asset")
        session.add(ExampleNote(account_id=noted.id, text="reconciled monthly"))
        create_account(session, "4713", "Suspense", type="asset")
    for used in ("4711", "4712"):
        with database.transaction(org.id) as session, pytest.raises(Conflict) as refused:
            delete_account(session, used)
        assert refused.value.params == {"code": used}
    with database.transaction(org.id) as session:
        delete_account(session, "4713")
    with database.transaction(org.id) as session:
        codes = {a.code for a in list_accounts(session)}
        assert {"4711", "4712"} <= codes and "4713" not in codes


def test_accounts_in_use_keeps_names_in_a_chart_update(database, cli):
    """comptoir_accounts_in_use: `comptoir chart update` does not rename an account in use."""
    org = make_org(database, "Renamer", chart="example_tiny")
    with database.transaction(org.id) as session:
        get_account(session, "700").name = "Sales [in use]"
        get_account(session, "800").name = "Purchases (old)"
    output = cli("chart", "update", "--org", org.code, "--dry-run")
    assert "= Keep the name of account 700 (Sales [in use]): it is in use; the template calls it Sales." in output
    assert "+ Rename account 800 from Purchases (old) to Purchases." in output


def test_data_summary_is_shown_before_disabling(database, cli):
    """comptoir_data_summary: what the plugin holds, for the plugin being disabled and its dependents."""
    org = make_org(database, "Summarized", plugins=["example"])
    summary = DataSummary("%(count)s example records", {"count": 1})
    with database.transaction(org.id) as session:
        assert plan_disable(session, "example").data == (summary,)
        cascade = plan_disable(session, "accounting")
        assert cascade.also_disabled == ("example",)
        assert summary in cascade.data

    output = cli("plugin", "disable", "--org", org.code, "example", "--yes")
    assert "  1 example records\n" in output
    assert "  permissions: example.use\n" in output
    assert "  menu: Example\n" in output
    assert output.endswith("example is disabled.\n")
    with database.transaction(org.id) as session:
        assert plan_disable(session, "example").data == ()  # no longer enabled: nothing to lose


def test_demo_data_is_asked_of_the_demo_organizations_plugins(database, cli):
    """comptoir_demo_data: `comptoir demo` calls it for the demo organization's enabled plugins."""
    output = cli("demo")
    assert "Demo organization: demo" in output
    with database.session() as session:
        demo = find_organization(session, "demo")
        set_tenant(session, demo.id)
        enabled = enabled_plugins(session)
        # The example is not enabled by default, so `comptoir demo` did not ask it.
        assert "example" not in enabled
        assert audit.events(session, action="example.demo_data") == []

    # The same call `comptoir demo` makes, once the demo organization enables the example.
    with database.transaction(demo.id) as session:
        enable_plugin(session, "example")
        get_registry().call_enabled(enabled_plugins(session), "comptoir_demo_data",
                                    session=session, organization=demo)
    with database.transaction(demo.id) as session:
        assert [e.target for e in audit.events(session, action="example.demo_data")] == ["demo"]


# --- the meta-test ----------------------------------------------------------------------------------

META_TEST = "test_every_hook_is_tested_documented_and_implemented_by_the_example"


def hook_specs() -> dict[str, Callable[..., object]]:
    """The hooks of core/hookspecs.py, by name."""
    return {name: function for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
            if name.startswith("comptoir_")}


def guide_sections(text: str) -> dict[str, str]:
    """The "### `hook`" subsections of the plugin guide's "## Hooks" section, by hook name."""
    hooks = text.split("\n## Hooks\n", 1)
    if len(hooks) < 2:
        return {}
    body = re.split(r"\n## ", hooks[1], maxsplit=1)[0]
    sections = {}
    for chunk in re.split(r"\n### ", "\n" + body)[1:]:
        heading, _, content = chunk.partition("\n")
        match = re.search(r"`(comptoir_\w+)`", heading)
        if match:
            sections[match.group(1)] = content
    return sections


def sources_of_tests(excluded: tuple[Path, str]) -> list[str]:
    """The source of every test function under tests/, but the one named by ``excluded``."""
    sources = []
    for path in sorted(TESTS.rglob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                if (path.resolve(), node.name) == excluded:
                    continue
                sources.append(ast.get_source_segment(text, node) or "")
    return sources



def hook_problems(specs: dict[str, Callable[..., object]]) -> list[str]:
    """Everything missing for these hooks: a test, a documented section, an example hookimpl."""
    documented = guide_sections(PLUGIN_GUIDE.read_text(encoding="utf-8"))
    tests = sources_of_tests((Path(__file__).resolve(), META_TEST))
    pm = get_registry().pm
    problems = []
    for name, spec in sorted(specs.items()):
        if not any(name in source for source in tests):
            problems.append(f"{name}: no test under tests/ mentions it")
        if name not in documented:
            problems.append(f"{name}: no '### `{name}`' section under '## Hooks' in docs/plugins.md")
        else:
            for parameter in inspect.signature(spec).parameters:
                if f"`{parameter}`" not in documented[name]:
                    problems.append(f"{name}: docs/plugins.md does not describe the parameter `{parameter}`")
        caller = getattr(pm.hook, name, None)
        if caller is None or "example" not in {impl.plugin_name for impl in caller.get_hookimpls()}:
            problems.append(f"{name}: the example plugin does not implement it")
    return problems


def only_hooks(names: Iterable[str]) -> set[str]:
    return {name for name in names if name.startswith("comptoir_")}


def test_every_hook_is_tested_documented_and_implemented_by_the_example():
    specs = hook_specs()
    assert len(specs) >= 10
    assert hook_problems(specs) == []
    # No section documents a hook that no longer exists.
    assert set(guide_sections(PLUGIN_GUIDE.read_text(encoding="utf-8"))) == set(specs)
    example = get_registry().pm.get_plugin("example")
    assert only_hooks(vars(example)) == set(specs)


def test_the_meta_test_notices_a_hook_nobody_tested_or_documented():
    def new_hook(session):  # noqa: ANN001, ANN202 - stands for a spec someone just added
        """A new hook."""

    name = "comptoir_" + "hook_nobody_wrote_about"  # never spelled whole in any source
    problems = hook_problems({name: new_hook})
    assert problems == [
        f"{name}: no test under tests/ mentions it",
        f"{name}: no '### `{name}`' section under '## Hooks' in docs/plugins.md",
        f"{name}: the example plugin does not implement it",
    ]


def test_the_guide_parser_reads_hook_sections():
    text = "# Guide\n\n## Hooks\n\n### `comptoir_a`\nTakes `session`.\n\n### The `comptoir_b` hook\nNone.\n\n## Next\n### `comptoir_c`\n"
    assert guide_sections(text) == {"comptoir_a": "Takes `session`.\n", "comptoir_b": "None.\n"}
    assert guide_sections("# Guide without hooks\n### `comptoir_a`\n") == {}
