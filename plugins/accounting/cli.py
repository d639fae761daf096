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
