"""The kernel registers itself like a plugin: its permissions come through the same hook."""
from __future__ import annotations

from typing import TYPE_CHECKING

from core import hookimpl
from core.i18n import N_
from core.plugins import KERNEL, MenuItem, PluginManifest
from core.security import BOOKKEEPERS, EVERYONE, MANAGERS, BuiltinRole, Permission

if TYPE_CHECKING:  # pragma: no cover - typing only
    from core.excel.schema import Schema

manifest = PluginManifest(
    name="core",
    title=N_("Kernel"),
    version="0.1.0",
    description=N_("Organizations, users and roles, chart of accounts, fiscal years."),
)

ORG_READ = "core.org.read"
ORG_SETTINGS = "core.org.settings"
USERS_MANAGE = "core.users.manage"
PLUGINS_MANAGE = "core.plugins.manage"
PERIODS_MANAGE = "core.periods.manage"
CHART_READ = "core.chart.read"
CHART_WRITE = "core.chart.write"
AUDIT_READ = "core.audit.read"
YEAR_REOPEN = "core.fiscal_year.reopen"
EXCEL_IMPORT = "core.excel.import"


@hookimpl
def comptoir_register_permissions() -> list[Permission]:
    return [
        Permission(ORG_READ, N_("See the organization"), EVERYONE),
        Permission(ORG_SETTINGS, N_("Change the organization's settings"), MANAGERS),
        Permission(USERS_MANAGE, N_("Manage users and roles"), MANAGERS),
        Permission(PLUGINS_MANAGE, N_("Enable and disable plugins"), MANAGERS),
        Permission(PERIODS_MANAGE, N_("Create fiscal years and lock periods"), BOOKKEEPERS),
        Permission(CHART_READ, N_("See the chart of accounts"), EVERYONE),
        Permission(CHART_WRITE, N_("Change the chart of accounts"), BOOKKEEPERS),
        Permission(AUDIT_READ, N_("Read the audit log"), MANAGERS),
        Permission(YEAR_REOPEN, N_("Reopen a closed fiscal year"), frozenset({BuiltinRole.OWNER})),
        Permission(EXCEL_IMPORT, N_("Import workbooks"), BOOKKEEPERS),
    ]


@hookimpl
def comptoir_menu_items() -> list[MenuItem]:
    return [
        MenuItem(KERNEL, "settings.accounts", N_("Chart of accounts"), CHART_READ, order=20),
        MenuItem(KERNEL, "settings.import_workbook", N_("Import"), EXCEL_IMPORT, order=80),
        MenuItem(KERNEL, "settings.members", N_("Users and roles"), USERS_MANAGE, order=90),
        MenuItem(KERNEL, "settings.plugins", N_("Plugins"), PLUGINS_MANAGE, order=91),
        MenuItem(KERNEL, "settings.fiscal_years", N_("Fiscal years"), PERIODS_MANAGE, order=92),
    ]


@hookimpl
def comptoir_register_excel_schemas() -> list[Schema]:
    from core.excel.accounts import ACCOUNTS
    from core.excel.periods import FISCAL_YEARS

    return [ACCOUNTS, FISCAL_YEARS]
