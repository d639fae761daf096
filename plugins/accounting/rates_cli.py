"""`comptoir rates …` commands: import a rates file, update from a provider, list, revalue.

Stale-rate warnings go to stderr (the command still succeeds); a failing provider ends as one
line on stderr and exit code 1, so a scheduled `comptoir rates update` is noticed.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from core.cli import CLI_ACTOR, Context, cli_locale, org_option, pass_context, t
from core.i18n import N_

if TYPE_CHECKING:  # pragma: no cover - typing only
    from plugins.accounting.rates import Notice, RateImport

PLUGIN = "accounting"

date_option = click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]),
                           help="The day (YYYY-MM-DD); default: today.")


def _day(value: dt.datetime | None) -> dt.date:
    return value.date() if value is not None else dt.date.today()


def _echo_import(result: RateImport) -> None:
    click.echo(t(N_("%(added)s rates added, %(updated)s updated, %(unchanged)s unchanged (%(source)s, "
                    "%(first)s – %(last)s)."),
                 added=result.added, updated=result.updated, unchanged=result.unchanged, source=result.source,
                 first=result.first.isoformat() if result.first else "-",
                 last=result.last.isoformat() if result.last else "-"))


def _warn(notices: list[Notice | None]) -> None:
    for notice in filter(None, notices):
        click.echo(t(N_("Warning: %(message)s"), message=notice.translate(cli_locale())), err=True)


@click.group()
def rates() -> None:
    """Exchange rates: import, update from a provider, list; revaluation."""


@rates.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@org_option
@click.option("--format", "file_format", type=click.Choice(["ecb", "csv"]),
              help="ecb (the ECB's XML) or csv (date,currency,rate); default: recognized from the content.")
@pass_context
def rates_import(ctx: Context, file: Path, org: str, file_format: str | None) -> None:
    """Import the rates of FILE into ORG (importing the same file again changes nothing)."""
    from core.plugins import require_plugin
    from plugins.accounting.rates import MAX_FILE_BYTES, import_rates_file

    with file.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    with ctx.transaction(org) as session:
        require_plugin(session, PLUGIN)
        result = import_rates_file(session, data, file_format, actor=CLI_ACTOR)
    _echo_import(result)


@rates.command("update")
@org_option
@click.option("--provider", required=True, envvar="COMPTOIR_RATE_PROVIDER", show_envvar=True,
              help="The rate provider's name (see `comptoir rates providers`).")
@date_option
@pass_context
def rates_update(ctx: Context, org: str, provider: str, day: dt.datetime | None) -> None:
    """Fetch the rates of the day from the provider (for a scheduled job); exit 1 if it fails."""
    from core.plugins import require_plugin
    from plugins.accounting.rates import latest_rates, update_rates

    when = _day(day)
    with ctx.transaction(org) as session:
        require_plugin(session, PLUGIN)
        result = update_rates(session, provider, when, actor=CLI_ACTOR)
        stale = [r.warning for r in latest_rates(session, when) if r.currency in result.currencies and r.stale]
    _echo_import(result)
    _warn(stale)


@rates.command("providers")
@org_option
@pass_context
def rates_providers(ctx: Context, org: str) -> None:
    """List the rate providers available to ORG."""
    from core.plugins import require_plugin
    from plugins.accounting.rates import rate_providers

    with ctx.transaction(org) as session:
        require_plugin(session, PLUGIN)
        providers = rate_providers(session)
    for name, provider in providers.items():
        click.echo(f"{name}\t{t(provider.title)}")


@rates.command("list")
@org_option
@date_option
@click.option("--currency", help="Every stored rate of this currency instead, newest first.")
@pass_context
def rates_list(ctx: Context, org: str, day: dt.datetime | None, currency: str | None) -> None:
    """The rate each currency has on a day (and its date and source)."""
    from core.plugins import require_plugin
    from plugins.accounting.rates import latest_rates, rates_of

    when = _day(day)
    with ctx.transaction(org) as session:
        require_plugin(session, PLUGIN)
        if currency:
            for row in rates_of(session, currency):
                if row.date <= when:
                    click.echo(f"{row.currency}\t{row.date.isoformat()}\t{row.rate}\t{row.source}")
            return
        used = latest_rates(session, when)
    for rate in used:
        mark = "\t" + t(N_("stale")) if rate.stale else ""
        click.echo(f"{rate.currency}\t{rate.date.isoformat()}\t{rate.rate}\t{rate.source}{mark}")
    _warn([rate.warning for rate in used if rate.stale])


@rates.command("revaluation")
@org_option
@date_option
@click.option("--post", is_flag=True, help="Post the revaluation entry and its reversal on the next day.")
@click.option("--journal", default="MISC", show_default=True, help="Journal of the revaluation entry.")
@pass_context
def rates_revaluation(ctx: Context, org: str, day: dt.datetime | None, post: bool, journal: str) -> None:
    """Each foreign-currency balance on a day: booked, revalued, the difference, and why."""
    from core.money import format_money, format_number
    from core.plugins import require_plugin
    from plugins.accounting.rates import revaluation_report, revalue
    from plugins.accounting.services import get_entry

    when = _day(day)
    locale = cli_locale()
    with ctx.transaction(org) as session:
        require_plugin(session, PLUGIN)
        result = revalue(session, when, journal=journal, actor=CLI_ACTOR) if post else revaluation_report(
            session, when)
        names = [get_entry(session, i).name for i in (result.entry_id, result.reversal_id) if i is not None]
    for line in result.lines:
        rate = f"{format_number(line.rate.rate, locale)} ({line.rate.date.isoformat()})" if line.rate else "-"
        click.echo("\t".join([line.account, line.currency, format_money(line.foreign, locale),
                              format_money(line.booked, locale), rate, format_money(line.revalued, locale),
                              format_money(line.difference, locale)]))
        click.echo("  " + line.explanation(locale))
    if not result.lines:
        click.echo(t(N_("No foreign-currency balance on %(date)s."), date=when.isoformat()))
    if post:
        if names:
            click.echo(t(N_("Posted %(entry)s and its reversal %(reversal)s."), entry=names[0], reversal=names[1]))
        else:
            click.echo(t(N_("Nothing to revalue.")))
    _warn(result.warnings)
