"""`comptoir fec import|export`: the French Fichier des Écritures Comptables."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from core.cli import CLI_ACTOR, Context, cli_locale, org_option, pass_context, t
from core.errors import ValidationError
from core.i18n import N_

PLUGIN = "accounting"


@click.group()
def fec() -> None:
    """FEC (Fichier des Écritures Comptables): import and export."""


@fec.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@org_option
@click.option("--dry-run", is_flag=True, help="Check and compare, then write nothing.")
@pass_context
def fec_import(ctx: Context, file: Path, org: str, dry_run: bool) -> None:
    """Import the FEC FILE into ORG: everything or, on any error, nothing."""
    from core.plugins import require_plugin
    from plugins.accounting.fec import import_fec

    data = file.read_bytes()
    try:
        with ctx.transaction(org) as session:
            require_plugin(session, PLUGIN)
            report = import_fec(session, data, dry_run=dry_run, actor=CLI_ACTOR)
    except ValidationError as error:
        for problem in error.errors:
            click.echo(problem.translate(cli_locale()), err=True)
        click.echo(t(N_("Nothing was imported.")), err=True)
        sys.exit(1)
    for account in report.accounts_created:
        click.echo(t(N_("Account created: %(code)s %(name)s (%(type)s, %(subtype)s)."), code=account.code,
                     name=account.name, type=account.type, subtype=account.subtype))
    for journal in report.journals_created:
        click.echo(t(N_("Journal created: %(code)s."), code=journal))
    click.echo(t(N_("%(posted)s entries posted, %(unchanged)s already imported."),
                 posted=report.entries_posted, unchanged=report.entries_unchanged))
    if report.auxiliary_lines:
        click.echo(t(N_("%(count)s lines name an auxiliary account (CompAuxNum): it is kept in their label."),
                     count=report.auxiliary_lines))
    if report.lettered_lines:
        click.echo(t(N_("%(count)s lines are lettered (EcritureLet): lettering is not imported."),
                     count=report.lettered_lines))
    click.echo(t(N_("Migration comparison (file / books): %(count)s accounts, %(differences)s differences."),
                 count=len(report.comparison), differences=len(report.differences)))
    for row in report.comparison:
        mark = "" if row.matches else " *"
        click.echo(f"{row.code}\t{row.file_debit}\t{row.file_credit}\t{row.file_balance}\t"
                   f"{row.books_debit}\t{row.books_credit}\t{row.books_balance}{mark}")
    if dry_run:
        click.echo(t(N_("Dry run: nothing was written.")))


@fec.command("export")
@org_option
@click.option("--from", "date_from", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day.")
@click.option("--to", "date_to", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The FEC file.")
@pass_context
def fec_export(ctx: Context, org: str, date_from: dt.datetime, date_to: dt.datetime, output: Path) -> None:
    """Export the posted entries of ORG from --from to --to as a FEC (pipe-separated UTF-8)."""
    from core.plugins import require_plugin
    from plugins.accounting.fec import export_fec

    with ctx.transaction(org) as session:
        require_plugin(session, PLUGIN)
        data = export_fec(session, date_from.date(), date_to.date())
    output.write_bytes(data)
    click.echo(t(N_("FEC written to %(path)s (%(count)s lines)."), path=str(output), count=data.count(b"\n") - 1))
