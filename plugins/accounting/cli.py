"""`comptoir ledger …` commands."""
from __future__ import annotations

import sys

import click

from core.cli import Context, org_option, pass_context, t
from core.i18n import N_


@click.group()
def ledger() -> None:
    """The ledger: verification."""


@ledger.command("verify")
@org_option
@pass_context
def verify(ctx: Context, org: str) -> None:
    """Recompute balances from the lines and re-check the hash chain; exit 1 on any difference."""
    from plugins.accounting.reports import verify_ledger

    with ctx.transaction(org) as session:
        problems = verify_ledger(session)
    for problem in problems:
        click.echo(t(problem.msgid, **problem.params), err=True)
    if problems:
        sys.exit(1)
    click.echo(t(N_("The ledger is intact: balances match the lines and the hash chain holds.")))


@ledger.command("close-year")
@org_option
@click.argument("year")
@pass_context
def close_year(ctx: Context, org: str, year: str) -> None:
    """Close fiscal year YEAR: result to the result account, opening entry in the next year."""
    from plugins.accounting.closing import close_fiscal_year

    with ctx.transaction(org) as session:
        close_fiscal_year(session, year, actor="cli")
    click.echo(t(N_("The fiscal year %(year)s is closed."), year=year))


@ledger.command("reopen-year")
@org_option
@click.argument("year")
@click.option("--user", "email", required=True, help="The owner who reopens it (recorded in the audit log).")
@pass_context
def reopen_year(ctx: Context, org: str, year: str, email: str) -> None:
    """Reopen a closed fiscal year (an owner only): its closing and opening entries are reversed."""
    from core.errors import NotFound
    from core.security import find_user
    from plugins.accounting.closing import reopen_fiscal_year

    with ctx.transaction(org) as session:
        user = find_user(session, email)
        if user is None:
            raise NotFound(N_("User %(id)s was not found."), id=email)
        reopen_fiscal_year(session, year, actor=user)
    click.echo(t(N_("The fiscal year %(year)s is reopened."), year=year))
