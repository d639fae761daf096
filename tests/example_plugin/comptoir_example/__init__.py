"""A tiny third-party plugin used by the test suite and shown in docs/plugins.md.

It is installed through its entry point (``comptoir.plugins``), exactly as ``pip install``
would, and implements every hook of ``core/hookspecs.py``.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import Blueprint, g
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, hookimpl
from core.chart import Account
from core.i18n import N_
from core.plugins import DataSummary, MenuItem, PluginManifest
from core.security import STAFF, Permission

manifest = PluginManifest(
    name="example",
    title=N_("Example"),
    version="1.0.0",
    requires=("accounting",),
    description=N_("A plugin that shows every hook."),
    models="comptoir_example.models",
    migrations=Path(__file__).parent / "migrations" / "versions",
    translations=Path(__file__).parent / "translations",
)

USE = "example.use"
IN_USE_MARK = "[in use]"
TEMPLATES = Path(__file__).parent / "templates"

blueprint = Blueprint("example", __name__, url_prefix="/example")


@blueprint.route("/")
def home() -> str:
    return f"example for organization {g.membership.org_id}"


@hookimpl
def comptoir_register_permissions() -> list[Permission]:
    return [Permission(USE, N_("Use the example"), STAFF)]


@hookimpl
def comptoir_register_chart_templates() -> list[Path]:
    return sorted(TEMPLATES.glob("*.yaml"))


@hookimpl
def comptoir_register_cli_commands(cli: click.Group) -> None:
    @cli.command("example-hello")
    @click.argument("name")
    def hello(name: str) -> None:
        """Say hello (proves plugins add commands)."""
        click.echo(f"hello {name}")


@hookimpl
def comptoir_register_blueprints() -> list[Blueprint]:
    return [blueprint]


@hookimpl
def comptoir_menu_items() -> list[MenuItem]:
    return [MenuItem(plugin="example", endpoint="example.home", label=N_("Example"), permission=USE)]


@hookimpl
def comptoir_organization_created(session: Session, organization: object) -> None:
    audit.record(session, "example.organization_created", target=getattr(organization, "code", ""))


@hookimpl
def comptoir_period_locked(session: Session, period: object, locked: bool) -> None:
    audit.record(session, "example.period_locked", target=getattr(period, "name", ""), locked=locked)


@hookimpl
def comptoir_entries_posted(session: Session, entry_ids: list[int]) -> None:
    audit.record(session, "example.entries_posted", count=len(entry_ids))


@hookimpl
def comptoir_fiscal_year_closed(session: Session, fiscal_year: object, reopened: bool) -> None:
    audit.record(session, "example.fiscal_year_closed", target=getattr(fiscal_year, "name", ""),
                 reopened=reopened)


@hookimpl
def comptoir_accounts_in_use(session: Session, account_ids: frozenset[int]) -> list[int]:
    # Accounts with notes are in use; so is any whose name carries the mark (stands in
    # for postings in tests).
    from comptoir_example.models import ExampleNote

    noted = session.scalars(select(ExampleNote.account_id).where(ExampleNote.account_id.in_(account_ids)))
    marked = session.scalars(select(Account.id).where(
        Account.id.in_(account_ids), Account.name.contains(IN_USE_MARK)))
    return [*noted, *marked]


@hookimpl
def comptoir_data_summary(session: Session) -> list[DataSummary]:
    count = len(audit.events(session, action="example.organization_created"))
    return [DataSummary(N_("%(count)s example records"), {"count": count})]


@hookimpl
def comptoir_demo_data(session: Session, organization: object) -> None:
    audit.record(session, "example.demo_data", target=getattr(organization, "code", ""))
