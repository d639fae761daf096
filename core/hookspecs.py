"""Every hook a plugin can implement, grouped by when it fires.

Hooks are called with keyword arguments only. Unless a spec says "first result wins",
pluggy collects every plugin's non-None result into a list. A plugin implements a hook
with ``@core.hookimpl`` on a function of the same name in its package.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from core import hookspec

if TYPE_CHECKING:  # pragma: no cover - typing only
    import click
    from flask import Blueprint
    from sqlalchemy.orm import Session

    from core.excel.schema import Schema
    from core.periods import FiscalYear, Period
    from core.plugins import DataSummary, MenuItem
    from core.security import Permission
    from core.tenancy import Organization
    from plugins.accounting.rates import RateProvider


# --- Start-up: registrations (called once when the plugin registry is built) --------------

@hookspec
def comptoir_register_permissions() -> list[Permission]:
    """Permissions the plugin declares.

    Called once at start-up. Returns a list of :class:`core.security.Permission`; each says
    which built-in roles hold it by default. A code declared twice stops start-up.
    """


@hookspec
def comptoir_register_chart_templates() -> list[Path]:
    """Extra chart-of-accounts template files (``.yaml``, format of ``chart_templates/``).

    Called when templates are listed. Returns paths; a template id given twice is an error.
    """


@hookspec
def comptoir_register_cli_commands(cli: click.Group) -> None:
    """Add commands or groups to the ``comptoir`` command line.

    Called once when the CLI starts, with the root group; attach with ``cli.add_command``.
    """


@hookspec
def comptoir_register_blueprints() -> list[Blueprint]:
    """Flask blueprints of the plugin.

    Called once by ``create_app``. Each blueprint's views are refused (404) to an
    organization that has not enabled the plugin.
    """


@hookspec
def comptoir_menu_items() -> list[MenuItem]:
    """Menu entries (:class:`core.plugins.MenuItem`) the plugin adds to the layout.

    Called when a page is rendered; items are filtered by the user's permission and by the
    organization's enabled plugins.
    """


@hookspec
def comptoir_register_rate_providers() -> list[RateProvider]:
    """Sources of exchange rates (:class:`plugins.accounting.rates.RateProvider`).

    Called when ``comptoir rates update`` looks for the configured provider. Returns a list;
    a provider name given twice is an error.
    """


@hookspec
def comptoir_register_excel_schemas() -> list[Schema]:
    """What the plugin imports from and exports to workbooks (:class:`core.excel.Schema`).

    Called each time the schemas are listed (``comptoir import``, ``export``,
    ``import-template``), for every installed plugin; only the schemas of the plugins an
    organization has enabled are offered to it. Returns a list; a schema name given twice
    is an error.
    """


# --- Tenant lifecycle events ------------------------------------------------------------

@hookspec
def comptoir_organization_created(session: Session, organization: Organization) -> None:
    """An organization starts using the plugin, inside that transaction.

    Called once per organization and plugin: when the organization is created with the
    plugin enabled (its chart already loaded), or when the plugin is enabled for it the first
    time (re-enabling after a disable does not call it again). The session is scoped to the
    organization: create the plugin's defaults here (journals, sequences…). Returns nothing;
    raising aborts the creation or the enabling.
    """


@hookspec
def comptoir_period_locked(session: Session, period: Period, locked: bool) -> None:
    """A period was locked (``locked=True``) or unlocked, inside that transaction.

    Returns nothing; raising refuses the change.
    """


@hookspec
def comptoir_entries_posted(session: Session, entry_ids: list[int]) -> None:
    """Journal entries were just posted (ids in posting order), inside the posting transaction.

    Called once per batch, for the plugins enabled for the organization. Returns nothing;
    raising rolls the posting back.
    """


@hookspec
def comptoir_fiscal_year_closed(session: Session, fiscal_year: FiscalYear, reopened: bool) -> None:
    """A fiscal year was closed (``reopened=False``) or reopened, inside that transaction.

    Returns nothing; raising refuses the change.
    """


# --- Questions the kernel asks the plugins ----------------------------------------------

@hookspec
def comptoir_accounts_in_use(session: Session, account_ids: frozenset[int]) -> Iterable[int]:
    """Which of ``account_ids`` (of the session's organization) the plugin's data uses.

    Asked before an account is deleted, and by ``comptoir chart update`` before it renames
    or removes one. Returns the ids in use (any iterable); the kernel takes the union.
    """


@hookspec
def comptoir_data_summary(session: Session) -> list[DataSummary]:
    """What data of the plugin the organization holds (e.g. "1 234 journal entries").

    Called only on the plugin being disabled, to show what becomes unavailable (the data is
    kept). Returns a list of :class:`core.plugins.DataSummary`.
    """


@hookspec
def comptoir_demo_data(session: Session, organization: Organization) -> None:
    """Fill a demo or training organization with sample data.

    Called by ``comptoir demo`` after the organization is created, for each enabled plugin,
    in dependency order. Returns nothing.
    """
