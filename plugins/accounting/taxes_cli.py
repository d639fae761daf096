"""`comptoir taxes …` commands: the organization's VAT rates."""
from __future__ import annotations

import click

from core.cli import Context, org_option, pass_context, t
from core.i18n import N_


@click.group()
def taxes() -> None:
    """VAT rates: list them, load the chart template's."""


@taxes.command("list")
@org_option
@pass_context
def list_command(ctx: Context, org: str) -> None:
    """Print each tax: code, rate, scope, name."""
    from plugins.accounting.taxes import list_taxes

    with ctx.transaction(org) as session:
        for tax in list_taxes(session):
            click.echo(f"{tax.code}\t{tax.rate}\t{tax.scope}\t{tax.name}")


@taxes.command("load")
@org_option
@pass_context
def load_command(ctx: Context, org: str) -> None:
    """Add the taxes of the organization's chart template that it lacks (for organizations made
    before invoicing existed, or after the template gained a rate)."""
    from core.tenancy import current_organization
    from plugins.accounting.taxes import create_template_taxes

    with ctx.transaction(org) as session:
        added = create_template_taxes(session, current_organization(session).chart_template)
    click.echo(t(N_("%(count)s taxes added."), count=len(added)))
