"""Accounting: journals, posting, the maintained balances, the hash chain and reports."""
from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import hookimpl
from core.excel.schema import Schema
from core.i18n import N_
from core.plugins import DataSummary, MenuItem, PluginManifest
from core.security import BOOKKEEPERS, EVERYONE, STAFF, Permission

manifest = PluginManifest(
    name="accounting",
    title=N_("Accounting"),
    version="0.1.0",
    description=N_("Journals, posting, invoices, VAT, payments and reports."),
    default_enabled=True,
    models="plugins.accounting.models",
    migrations=Path(__file__).parent / "migrations",
)

READ = "accounting.read"
DRAFT = "accounting.draft"
POST = "accounting.post"
REVERSE = "accounting.reverse"


@hookimpl
def comptoir_register_permissions() -> list[Permission]:
    return [
        Permission(READ, N_("See journals, entries and reports"), EVERYONE),
        Permission(DRAFT, N_("Prepare draft entries"), STAFF),
        Permission(POST, N_("Post entries"), BOOKKEEPERS),
        Permission(REVERSE, N_("Reverse posted entries"), BOOKKEEPERS),
    ]


@hookimpl
def comptoir_organization_created(session: Session, organization: object) -> None:
    from plugins.accounting.services import create_default_journals
    from plugins.accounting.taxes import create_template_taxes

    create_default_journals(session, getattr(organization, "locale", "en"))
    create_template_taxes(session, getattr(organization, "chart_template", None))


@hookimpl
def comptoir_accounts_in_use(session: Session, account_ids: frozenset[int]) -> list[int]:
    from plugins.accounting.invoicing_models import InvoiceLine, Partner, Product, Tax
    from plugins.accounting.models import JournalLine

    used = set(session.scalars(select(JournalLine.account_id).distinct()
                               .where(JournalLine.account_id.in_(account_ids))))
    used |= set(session.scalars(select(InvoiceLine.account_id).distinct()
                                .where(InvoiceLine.account_id.in_(account_ids))))
    # Accounts that partners, products and taxes name are in use even before any posting.
    for column in (Partner.receivable_account_id, Partner.payable_account_id, Product.income_account_id,
                   Product.expense_account_id, Tax.collected_account_id, Tax.deductible_account_id):
        used |= set(session.scalars(select(column).distinct().where(column.in_(account_ids))))
    return list(used)


@hookimpl
def comptoir_data_summary(session: Session) -> list[DataSummary]:
    from plugins.accounting.models import JournalEntry

    count = session.scalar(select(func.count()).select_from(JournalEntry))
    return [DataSummary(N_("%(count)s journal entries"), {"count": count})]


@hookimpl
def comptoir_register_cli_commands(cli: click.Group) -> None:
    from plugins.accounting.cli import ledger
    from plugins.accounting.fec_cli import fec
    from plugins.accounting.rates_cli import rates
    from plugins.accounting.reports_cli import report
    from plugins.accounting.taxes_cli import taxes
    from plugins.accounting.treasury_cli import bank

    cli.add_command(ledger)
    cli.add_command(bank)
    cli.add_command(taxes)
    cli.add_command(report)
    cli.add_command(rates)
    cli.add_command(fec)


@hookimpl
def comptoir_register_excel_schemas() -> list[Schema]:
    from plugins.accounting.excel import excel_schemas
    from plugins.accounting.partners_excel import partner_schemas

    return excel_schemas() + partner_schemas()


@hookimpl
def comptoir_demo_data(session: Session, organization: object) -> None:
    from plugins.accounting.demo import make_demo_invoices, post_demo_entries

    post_demo_entries(session)
    make_demo_invoices(session)


@hookimpl
def comptoir_register_rate_providers() -> list[object]:
    from plugins.accounting.rates import ECB_PROVIDER

    return [ECB_PROVIDER]


# --- web pages and API ------------------------------------------------------------------------------

@hookimpl
def comptoir_register_blueprints() -> list[object]:
    from plugins.accounting import invoicing_api, invoicing_web  # noqa: F401 - their routes join bp and api
    from plugins.accounting.api import api
    from plugins.accounting.web import bp

    return [bp, api]


@hookimpl
def comptoir_menu_items() -> list[MenuItem]:
    return [
        MenuItem("accounting", "accounting.dashboard", N_("Dashboard"), READ, order=10),
        MenuItem("accounting", "accounting.invoices", N_("Invoices"), READ, order=20),
        MenuItem("accounting", "accounting.payments", N_("Payments"), READ, order=25),
        MenuItem("accounting", "accounting.entries", N_("Journal entries"), READ, order=30),
        MenuItem("accounting", "accounting.partners", N_("Partners"), READ, order=40),
        MenuItem("accounting", "accounting.products", N_("Products"), READ, order=45),
        MenuItem("accounting", "accounting.trial_balance", N_("Reports"), READ, order=60),
        MenuItem("accounting", "accounting.rates", N_("Exchange rates"), READ, order=70),
    ]
