"""The ``comptoir`` command line: thin commands that parse, call a service, print.

Errors end as one translated sentence on stderr and exit code 1, never a traceback.
Wherever a command takes ``--org ORG``, ORG is the organization's code or name
(case-insensitive).
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from core.config import Settings, load_settings
from core.db import Database
from core.errors import ComptoirError
from core.i18n import N_, normalize_locale, translate

CLI_ACTOR = "cli"


def cli_locale() -> str:
    return normalize_locale(os.environ.get("COMPTOIR_LOCALE") or os.environ.get("LANG"))


def t(msgid: str, **params: Any) -> str:
    return translate(msgid, cli_locale(), **params)


T = TypeVar("T")


class Context:
    """What every command shares: the settings and a lazily opened database."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._database: Database | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def database(self) -> Database:
        if self._database is None:
            self._database = Database(self.settings.database_url)
            click.get_current_context().call_on_close(self._database.dispose)
        return self._database

    @contextmanager
    def transaction(self, org: str | None = None) -> Iterator[Session]:
        """One transaction, scoped to the organization named ``org`` when given."""
        from core.db import set_tenant
        from core.tenancy import find_organization

        with self.database.transaction() as session:
            if org is not None:
                set_tenant(session, find_organization(session, org).id)
            yield session

    def run(self, work: Callable[[Session], T], org: str | None = None) -> T:
        """``work(session)`` in one transaction scoped like :meth:`transaction`, run again from
        the start if the database aborts it on its own (deadlock, serialization failure)."""
        from core.db import set_tenant
        from core.tenancy import find_organization

        def scoped(session: Session) -> T:
            if org is not None:
                set_tenant(session, find_organization(session, org).id)
            return work(session)

        return self.database.run(scoped)


pass_context = click.make_pass_decorator(Context, ensure=True)
org_option = click.option("--org", "org", required=True, metavar="ORG",
                          help="Organization code or name (case-insensitive).")


@click.group()
def cli() -> None:
    """Comptoir: multi-tenant accounting."""


# --- db --------------------------------------------------------------------------------------

@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_context
def db_upgrade(ctx: Context) -> None:
    """Apply every pending migration (kernel and plugins)."""
    from core.migrate import upgrade

    secured = upgrade(ctx.settings)
    click.echo(t(N_("The database is up to date.")))
    if secured:
        click.echo(t(N_("Row-level security is active on %(count)s tenant tables."), count=len(secured)))


@db.command("citus-plan")
def db_citus_plan() -> None:
    """Print the Citus statements that distribute the tables by organization."""
    from core.migrate import citus_plan

    for statement in citus_plan():
        click.echo(statement)


# --- organizations ------------------------------------------------------------------------------

@cli.group()
def org() -> None:
    """Organizations (tenants)."""


@org.command("create")
@click.argument("name")
@click.option("--country", help="ISO country code, e.g. FR.")
@click.option("--currency", help="ISO currency code, e.g. EUR.")
@click.option("--chart", "chart", help="Chart template id (see `comptoir chart templates`).")
@click.option("--parent", metavar="ORG", help="Head office of this branch.")
@click.option("--code", help="Short unique code (default: made from the name).")
@click.option("--locale", help="Language of the organization: en, fr, es, fa.")
@click.option("--calendar", type=click.Choice(["gregorian", "persian"]), default="gregorian")
@click.option("--fiscal-year-start", "start_month", type=int, default=1, help="Month the fiscal year starts.")
@click.option("--fiscal-year-start-day", "start_day", type=int, default=1)
@pass_context
def org_create(ctx: Context, name: str, country: str | None, currency: str | None, chart: str | None,
               parent: str | None, code: str | None, locale: str | None, calendar: str,
               start_month: int, start_day: int) -> None:
    """Create an organization with its chart of accounts and first fiscal year."""
    from core.tenancy import create_organization, find_organization

    with ctx.transaction() as session:
        head = find_organization(session, parent) if parent else None
        created = create_organization(
            session, name, country=country, currency=currency, chart=chart, parent=head, code=code,
            locale=locale, calendar=calendar, fiscal_year_start_month=start_month,
            fiscal_year_start_day=start_day, actor=CLI_ACTOR,
        )
        click.echo(t(N_("Organization %(name)s created with the code %(code)s."),
                     name=created.name, code=created.code))


@org.command("list")
@pass_context
def org_list(ctx: Context) -> None:
    """List organizations."""
    from core.tenancy import list_organizations

    with ctx.transaction() as session:
        orgs = list_organizations(session)
        by_id = {o.id: o for o in orgs}
        for o in orgs:
            parent = by_id[o.parent_id].code if o.parent_id else ""
            click.echo(f"{o.code}\t{o.name}\t{o.country or '-'}\t{o.currency}\t{o.chart_template or '-'}"
                       f"\t{o.status}\t{parent}")


# --- users -------------------------------------------------------------------------------------------

def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(t(N_("Password")), hide_input=True, confirmation_prompt=True)


@cli.group()
def user() -> None:
    """Users and their memberships."""


@user.command("create")
@click.argument("email")
@org_option
@click.option("--role", default="readonly", show_default=True,
              help="owner, admin, accountant, clerk, readonly or a custom role code.")
@click.option("--name", default="")
@click.option("--locale", default="en")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_context
def user_create(ctx: Context, email: str, org: str, role: str, name: str, locale: str,
                password_stdin: bool) -> None:
    """Create a user (or reuse an existing one) and give them ROLE in ORG."""
    from core.security import add_member, create_user, find_user

    with ctx.transaction(org) as session:
        existing = find_user(session, email)
        member = existing or create_user(session, email, _read_password(password_stdin),
                                         policy=ctx.settings.password_policy, name=name, locale=locale)
        add_member(session, member, role, actor=CLI_ACTOR)
        click.echo(t(N_("%(email)s is %(role)s of %(org)s."), email=member.email, role=role, org=org))


@cli.group()
def token() -> None:
    """API tokens: one user's key to one organization's JSON API."""


@token.command("create")
@click.argument("email")
@org_option
@click.option("--name", required=True, help="What the token is for (shown in lists).")
@pass_context
def token_create(ctx: Context, email: str, org: str, name: str) -> None:
    """Create a token for EMAIL in ORG and print it (once: only its digest is kept)."""
    from core.auth import create_api_token, user_by_email

    with ctx.transaction(org) as session:
        from core.db import require_tenant

        _row, secret = create_api_token(session, user_by_email(session, email), require_tenant(session), name)
        click.echo(secret)


@token.command("list")
@click.argument("email")
@pass_context
def token_list(ctx: Context, email: str) -> None:
    """The active tokens of EMAIL: id, organization id, name, first characters."""
    from core.auth import api_tokens_of, user_by_email

    with ctx.transaction() as session:
        for row in api_tokens_of(session, user_by_email(session, email)):
            click.echo(f"{row.id}\t{row.org_id}\t{row.name}\t{row.hint}…")


@token.command("revoke")
@click.argument("email")
@click.argument("token_id", type=int)
@pass_context
def token_revoke(ctx: Context, email: str, token_id: int) -> None:
    """Revoke the token TOKEN_ID of EMAIL."""
    from core.auth import revoke_api_token, user_by_email

    with ctx.transaction() as session:
        row = revoke_api_token(session, user_by_email(session, email), token_id)
        click.echo(t(N_("Token %(name)s revoked."), name=row.name))


# --- plugins -------------------------------------------------------------------------------------------

@cli.group()
def plugin() -> None:
    """Plugins and their per-organization enablement."""


@plugin.command("list")
@click.option("--org", "org", metavar="ORG", help="Show which plugins this organization has enabled.")
@pass_context
def plugin_list(ctx: Context, org: str | None) -> None:
    """List installed plugins."""
    from core.plugins import KERNEL, enabled_plugins, get_registry

    registry = get_registry()
    with ctx.transaction(org) as session:
        enabled = enabled_plugins(session) if org else set()
        for name, manifest in registry.manifests.items():
            if name == KERNEL:
                continue
            state = ""
            if org:
                state = "\t" + (t(N_("enabled")) if name in enabled else t(N_("disabled")))
            requires = ", ".join(manifest.requires) or "-"
            click.echo(f"{name}\t{manifest.version}\t{t(manifest.title)}\t{requires}{state}")


@plugin.command("enable")
@org_option
@click.argument("name")
@pass_context
def plugin_enable(ctx: Context, org: str, name: str) -> None:
    """Enable plugin NAME (and what it requires) for ORG."""
    from core.plugins import enable_plugin

    with ctx.transaction(org) as session:
        changed = enable_plugin(session, name, actor=CLI_ACTOR)
    if changed:
        click.echo(t(N_("Enabled: %(plugins)s."), plugins=", ".join(changed)))
    else:
        click.echo(t(N_("%(plugin)s was already enabled."), plugin=name))


@plugin.command("disable")
@org_option
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def plugin_disable(ctx: Context, org: str, name: str, yes: bool) -> None:
    """Disable plugin NAME for ORG; shows first what becomes unavailable. Data is kept."""
    from core.plugins import disable_plugin, plan_disable

    with ctx.transaction(org) as session:
        impact = plan_disable(session, name)
        click.echo(t(N_("Disabling %(plugin)s makes the following unavailable (its data is kept):"), plugin=name))
        if impact.also_disabled:
            click.echo("  " + t(N_("plugins that require it: %(plugins)s"), plugins=", ".join(impact.also_disabled)))
        if impact.permissions:
            click.echo("  " + t(N_("permissions: %(permissions)s"), permissions=", ".join(impact.permissions)))
        for item in impact.menu_items:
            click.echo("  " + t(N_("menu: %(label)s"), label=t(item.label)))
        for summary in impact.data:
            click.echo("  " + t(summary.msgid, **summary.params))
        if not yes and not click.confirm(t(N_("Disable it?"))):
            raise click.Abort()
        disable_plugin(session, name, actor=CLI_ACTOR)
        click.echo(t(N_("%(plugin)s is disabled."), plugin=name))


# --- chart ------------------------------------------------------------------------------------------------

@cli.group()
def chart() -> None:
    """Chart-of-accounts templates and updates."""


@chart.command("templates")
def chart_templates() -> None:
    """List the chart templates."""
    from core.chart import list_templates

    for template in list_templates().values():
        click.echo(f"{template.id}\tv{template.version}\t{template.country or '-'}\t{template.language}"
                   f"\t{template.currency or '-'}\t{','.join(template.activities)}\t{template.name}")


@chart.command("update")
@org_option
@click.option("--yes", is_flag=True, help="Apply without asking.")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@pass_context
def chart_update(ctx: Context, org: str, yes: bool, dry_run: bool) -> None:
    """Bring ORG's chart to the newest version of its template (adds; never deletes)."""
    from core.chart import apply_chart_update, plan_chart_update
    from core.tenancy import current_organization

    with ctx.transaction(org) as session:
        organization = current_organization(session)
        plan = plan_chart_update(session, organization)
        click.echo(t(N_("Template %(template)s: version %(old)s → %(new)s."),
                     template=plan.template, old=plan.from_version, new=plan.to_version))
        for change in plan.changes:
            mark = "+" if change.applied else "="
            click.echo(f"  {mark} {t(change.msgid, **change.params)}")
        if not plan.applicable:
            click.echo(t(N_("Nothing to change.")))
            return
        if dry_run or (not yes and not click.confirm(t(N_("Apply these changes?")))):
            session.rollback()
            return
        apply_chart_update(session, organization, actor=CLI_ACTOR)
        click.echo(t(N_("The chart is up to date.")))


# --- fiscal years -----------------------------------------------------------------------------------------

@cli.group("fiscal-year")
def fiscal_year() -> None:
    """Fiscal years and period locks."""


@fiscal_year.command("create")
@org_option
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First day (default: after the last year).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last day (a short or long first year).")
@pass_context
def fiscal_year_create(ctx: Context, org: str, start: dt.datetime | None, end: dt.datetime | None) -> None:
    """Create a fiscal year with monthly periods."""
    from core.periods import create_fiscal_year, create_next_fiscal_year
    from core.tenancy import current_organization

    with ctx.transaction(org) as session:
        organization = current_organization(session)
        if start is None and end is None:
            year = create_next_fiscal_year(session, organization, actor=CLI_ACTOR)
        else:
            year = create_fiscal_year(session, organization, start=start.date() if start else None,
                                      end=end.date() if end else None, actor=CLI_ACTOR)
        click.echo(t(N_("Fiscal year %(name)s: %(start)s – %(end)s."), name=year.name,
                     start=year.start_date.isoformat(), end=year.end_date.isoformat()))


@fiscal_year.command("list")
@org_option
@pass_context
def fiscal_year_list(ctx: Context, org: str) -> None:
    """List fiscal years and their periods."""
    from core.periods import list_fiscal_years, periods_of

    with ctx.transaction(org) as session:
        for year in list_fiscal_years(session):
            click.echo(f"{year.name}\t{year.start_date}\t{year.end_date}\t{year.state}")
            for period in periods_of(session, year):
                lock = t(N_("locked")) if period.locked else ""
                click.echo(f"  {period.name}\t{period.start_date}\t{period.end_date}\t{lock}")


@fiscal_year.command("lock")
@org_option
@click.argument("period")
@click.option("--unlock", is_flag=True, help="Unlock instead.")
@pass_context
def fiscal_year_lock(ctx: Context, org: str, period: str, unlock: bool) -> None:
    """Lock (or unlock) PERIOD, e.g. 2026-03."""
    from core.periods import set_period_lock

    with ctx.transaction(org) as session:
        set_period_lock(session, period, not unlock, actor=CLI_ACTOR)
    click.echo(t(N_("Period %(period)s unlocked.") if unlock else N_("Period %(period)s locked."),
                 period=period))


# --- Excel ---------------------------------------------------------------------------------------------------

PROBLEMS_SHOWN = 20
PROGRESS_MIN_ROWS = 2000


class _ProgressBar:
    """click's progress bar on stderr, for sheets long enough to need one."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.bar: Any = None
        self.long_sheets: set[str] = set()

    def start(self, sheet: str, total: int | None) -> None:
        if total is not None and total >= PROGRESS_MIN_ROWS:
            self.long_sheets.add(sheet)
            self.bar = click.progressbar(length=total, file=sys.stderr,
                                         label=translate(N_("Reading %(sheet)s"), self.locale, sheet=sheet))
            self.bar.__enter__()

    def advance(self, rows: int) -> None:
        if self.bar is not None:
            self.bar.update(rows)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def writing(self, sheet: str) -> None:
        if sheet in self.long_sheets:  # writing a long sheet takes a while too: say it started
            click.echo(translate(N_("Writing %(sheet)s…"), self.locale, sheet=sheet), err=True)


@cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@org_option
@click.option("--schema", metavar="NAME", help="What the file holds (default: told from its sheet names or headers).")
@click.option("--dry-run", is_flag=True, help="Check everything and count; write nothing.")
@click.option("--update", is_flag=True, help="Change the existing records the file names (by their key).")
@click.option("--date", "on_date", metavar="DATE", help="The date of rows that have none (opening balances).")
@click.option("--locale", help="Language of the file's numbers and dates and of the messages: en, fr, es, fa.")
@click.option("--errors-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the annotated workbook on errors (default: FILE.errors.xlsx).")
@pass_context
def import_command(ctx: Context, file: Path, org: str, schema: str | None, dry_run: bool, update: bool,
                   on_date: str | None, locale: str | None, errors_out: Path | None) -> None:
    """Import FILE (.xlsx, .xls, .ods, .csv) into ORG: everything or, on any error, nothing."""
    from core.excel import ImportFailed, import_file

    language = normalize_locale(locale) if locale else cli_locale()
    try:
        report = ctx.run(lambda session: import_file(
            session, file, schema=schema, locale=language, dry_run=dry_run, update=update,
            options={"date": on_date} if on_date else {}, errors_path=errors_out,
            progress=_ProgressBar(language), actor=CLI_ACTOR), org)
    except ImportFailed as failure:
        several = len({p.sheet for p in failure.problems}) > 1
        for problem in failure.problems[:PROBLEMS_SHOWN]:
            click.echo(problem.describe(language, with_sheet=several), err=True)
        if len(failure.problems) > PROBLEMS_SHOWN:
            click.echo(translate(N_("… and %(count)s more problems."), language,
                                 count=len(failure.problems) - PROBLEMS_SHOWN), err=True)
        click.echo(translate(N_("Nothing was imported. The annotated workbook is at %(path)s."), language,
                             path=str(failure.workbook)), err=True)
        sys.exit(1)
    for sheet in report.sheets:
        counts = sheet.counts
        click.echo(translate(N_("%(schema)s: %(created)s created, %(updated)s updated, %(unchanged)s unchanged."),
                             language, schema=sheet.schema, created=counts.created, updated=counts.updated,
                             unchanged=counts.unchanged))
        if sheet.ignored_columns:
            click.echo(translate(N_("Columns ignored: %(columns)s."), language, columns=", ".join(sheet.ignored_columns)))
    if report.ignored_sheets:
        click.echo(translate(N_("Sheets ignored (no list of this organization matches them): %(sheets)s."), language,
                             sheets=", ".join(report.ignored_sheets)))
    if dry_run:
        click.echo(translate(N_("Dry run: nothing was written."), language))


@cli.command("export")
@org_option
@click.option("--schema", "names", multiple=True, metavar="NAME", help="What to export (repeatable).")
@click.option("--all", "everything", is_flag=True, help="Every list the organization's plugins export.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="An .xlsx file.")
@click.option("--locale", help="Language of the headers: en, fr, es, fa.")
@pass_context
def export_command(ctx: Context, org: str, names: tuple[str, ...], everything: bool, output: Path,
                   locale: str | None) -> None:
    """Export lists of ORG to one .xlsx workbook, a sheet each."""
    from core.excel import export_workbook, get_schema, schemas

    if bool(names) == everything:
        raise click.UsageError(t(N_("Give --schema NAME or --all.")))
    language = normalize_locale(locale) if locale else cli_locale()
    with ctx.transaction(org) as session:
        chosen = schemas(session) if everything else [get_schema(session, name) for name in names]
        path = export_workbook(session, output, chosen, locale=language)
    exported = ", ".join(s.name for s in chosen if s.export is not None)
    click.echo(translate(N_("Exported %(schemas)s to %(path)s."), language, schemas=exported, path=str(path)))


@cli.command("import-template")
@click.option("--schema", required=True, metavar="NAME", help="The schema to fill, e.g. accounts.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="An .xlsx file.")
@click.option("--locale", help="Language of the headers: en, fr, es, fa.")
def import_template(schema: str, output: Path, locale: str | None) -> None:
    """Write an empty workbook to fill for SCHEMA, with one example row."""
    from core.excel import get_schema, template_workbook

    language = normalize_locale(locale) if locale else cli_locale()
    path = template_workbook(get_schema(None, schema), language, output)
    click.echo(translate(N_("Template for %(schema)s written to %(path)s."), language, schema=schema, path=str(path)))


# --- demo and server ----------------------------------------------------------------------------------------

DEMO_CODE = "demo"
DEMO_EMAIL = "demo@comptoir.example"


@cli.command()
@pass_context
def demo(ctx: Context) -> None:
    """Create (or refresh) a demo organization and a demo user; prints the credentials."""
    from core.migrate import upgrade
    from core.plugins import enabled_plugins, get_registry
    from core.security import add_member, create_user, find_user, set_password
    from core.tenancy import Organization, create_organization

    upgrade(ctx.settings)
    password = f"Demo-{secrets.token_urlsafe(6)}-7a"
    policy = ctx.settings.password_policy
    with ctx.transaction() as session:
        organization = session.scalars(select(Organization).where(Organization.code == DEMO_CODE)).one_or_none()
        created = organization is None
        if created:
            organization = create_organization(session, "Comptoir Demo", code=DEMO_CODE, chart="fr_pcg",
                                               currency="EUR", country="FR", locale="en", actor=CLI_ACTOR)
        else:
            from core.db import set_tenant

            set_tenant(session, organization.id)
        demo_user = find_user(session, DEMO_EMAIL)
        if demo_user is None:
            demo_user = create_user(session, DEMO_EMAIL, password, policy=policy, name="Demo")
        else:
            set_password(session, demo_user, password, policy=policy)
        add_member(session, demo_user, "owner", actor=CLI_ACTOR)
        if created:
            get_registry().call_enabled(enabled_plugins(session), "comptoir_demo_data",
                                        session=session, organization=organization)
    click.echo(t(N_("Demo organization: %(org)s"), org=DEMO_CODE))
    click.echo(t(N_("Sign in as %(email)s with the password %(password)s"), email=DEMO_EMAIL, password=password))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@pass_context
def run(ctx: Context, host: str, port: int) -> None:
    """Serve the web UI (development server; use gunicorn in production)."""
    from core.web import create_app

    app = create_app(settings=ctx.settings)
    click.echo(t(N_("Comptoir is running on http://%(host)s:%(port)s/"), host=host, port=port))
    app.run(host=host, port=port)


# --- entry point -------------------------------------------------------------------------------------------

def _fail(message: str) -> NoReturn:
    click.echo(t(N_("Error: %(message)s"), message=message), err=True)
    sys.exit(1)


def build_cli() -> click.Group:
    from core.plugins import get_registry

    get_registry().hook.comptoir_register_cli_commands(cli=cli)
    return cli


def main(argv: list[str] | None = None) -> None:
    try:
        group = build_cli()
        group.main(args=argv, prog_name="comptoir", standalone_mode=False)
    except ComptoirError as error:
        _fail(error.translate(cli_locale()))
    except click.exceptions.Abort:
        _fail(t(N_("Cancelled.")))
    except click.ClickException as error:
        _fail(error.format_message())
    except (OperationalError, ProgrammingError) as error:
        _fail(t(N_("The database cannot be used (%(reason)s); run `comptoir db upgrade` first."),
                reason=str(error.orig).splitlines()[0] if error.orig else type(error).__name__))


if __name__ == "__main__":  # pragma: no cover
    main()
