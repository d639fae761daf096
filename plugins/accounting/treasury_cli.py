"""`comptoir bank …` commands: treasury balances and bank statement import."""
from __future__ import annotations

import datetime as dt

import click

from core.cli import Context, cli_locale, org_option, pass_context, t
from core.i18n import N_


@click.group()
def bank() -> None:
    """Bank and cash: balances, statement import."""


@bank.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@org_option
@click.option("--journal", default="BNK", show_default=True, help="The bank or cash journal of the statement.")
@pass_context
def import_command(ctx: Context, path: str, org: str, journal: str) -> None:
    """Import the bank statement PATH (CSV or a workbook: date, amount, label, reference) and match
    its lines to open invoices."""
    from plugins.accounting.treasury import import_statement

    with ctx.transaction(org) as session:
        result = import_statement(session, path, journal, locale=cli_locale(), actor="cli")
    click.echo(t(N_("%(added)s statement lines added (%(matched)s matched to invoices, %(unmatched)s to match), "
                    "%(unchanged)s already imported."),
                 added=result.added, matched=result.matched, unmatched=result.unmatched,
                 unchanged=result.unchanged))


@bank.command("balances")
@org_option
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="The day (default: today).")
@pass_context
def balances(ctx: Context, org: str, day: dt.datetime | None) -> None:
    """Print each bank and cash account with its balance."""
    from plugins.accounting.treasury import treasury_balances

    with ctx.transaction(org) as session:
        rows = treasury_balances(session, day.date() if day else dt.date.today())
    for row in rows:
        click.echo(f"{row.code}\t{row.name}\t{row.balance}")
