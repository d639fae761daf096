"""A tiny third-party plugin used by the test suite and shown in docs/plugins.md.

It is installed through its entry point (``comptoir.plugins``), exactly as ``pip install``
would, and implements every hook of ``core/hookspecs.py``.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import Blueprint, g
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, hookimpl
from core.chart import Account
from core.errors import FieldError
from core.excel import Column, ColumnType, ImportContext, ImportCounts, Record, Schema
from core.i18n import N_
from core.plugins import DataSummary, MenuItem, PluginManifest
from core.security import STAFF, Permission
from core.web.access import requires

if TYPE_CHECKING:  # pragma: no cover - typing only
    from plugins.accounting.rates import Rate, RateProvider

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
@requires(USE)
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


# Fixed rates quoted per 1 EUR; the example provider crosses them into the asked currency.
EXAMPLE_RATES = {"EUR": Decimal("1"), "USD": Decimal("1.25"), "CHF": Decimal("0.8")}


def fetch_example_rates(base_currency: str, day: dt.date) -> list[Rate]:
    from plugins.accounting.rates import Rate, exact_rate

    per_euro = EXAMPLE_RATES[base_currency]
    return [Rate(day, currency, exact_rate(per_euro, quote))
            for currency, quote in sorted(EXAMPLE_RATES.items()) if currency != base_currency]


def fetch_broken_rates(base_currency: str, day: dt.date) -> list[Rate]:
    raise ConnectionError(f"rates.example is unreachable for {base_currency} on {day}")


@hookimpl
def comptoir_register_rate_providers() -> list[RateProvider]:
    from plugins.accounting.rates import RateProvider

    return [RateProvider("example", N_("Example rates"), fetch_example_rates),
            RateProvider("example-broken", N_("Example rates (always failing)"), fetch_broken_rates)]


def _validate_notes(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    codes = set(session.scalars(select(Account.code)))
    codes.update(str(r.key[0]) for r in context.incoming.get("accounts", ()))  # the workbook's accounts sheet
    return [FieldError("account", N_("There is no account %(code)s."), {"code": r["account"]}, r.first.number)
            for r in records if r["account"] not in codes]


def _write_notes(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    from comptoir_example.models import ExampleNote

    accounts = {a.code: a.id for a in session.scalars(select(Account))}
    existing = set(session.execute(select(ExampleNote.account_id, ExampleNote.text)))
    new = [r for r in records if (accounts[r["account"]], r["text"]) not in existing]
    session.add_all(ExampleNote(account_id=accounts[r["account"]], text=r["text"]) for r in new)
    return ImportCounts(created=len(new), unchanged=len(records) - len(new))


def _export_notes(session: Session) -> list[dict[str, object]]:
    from comptoir_example.models import ExampleNote

    codes = {a.id: a.code for a in session.scalars(select(Account))}
    return [{"account": codes[n.account_id], "text": n.text}
            for n in session.scalars(select(ExampleNote).order_by(ExampleNote.id))]


NOTES = Schema(
    name="example_notes", sheet=N_("Notes"), label=N_("Notes on accounts"),
    columns=(Column("account", N_("Account"), ColumnType.CODE, required=True, example="100",
                    aliases={"fr": ("Compte",)}),
             Column("text", N_("Note"), ColumnType.TEXT, required=True, example="Checked every month",
                    aliases={"fr": ("Texte",)})),
    key=("account", "text"), validate=_validate_notes, write=_write_notes, export=_export_notes,
    after=("accounts",),
)


@hookimpl
def comptoir_register_excel_schemas() -> list[Schema]:
    return [NOTES]


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
