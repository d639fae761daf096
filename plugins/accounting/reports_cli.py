"""`comptoir report NAME …`: a ledger report as CSV, JSON or an Excel workbook.

Thin: parse, call the report service, lay its result out as one table with stable column
names, render. Amounts are plain decimals (``1234.50``; strings in JSON, so no reader turns
them into floats), dates ISO 8601; in a workbook, real number and date cells (the Excel
framework's). Text a spreadsheet would run as a formula gets an apostrophe first in CSV and
the quote-prefix style in a workbook.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import click
from sqlalchemy.orm import Session

from core.cli import Context, cli_locale, org_option, pass_context
from core.errors import FieldError, ValidationError
from core.excel.writer import FORMULA_TRIGGERS
from core.i18n import N_, translate

REPORTS = ("trial-balance", "general-ledger", "journal", "balance-sheet", "profit-and-loss",
           "consolidated-trial-balance", "aged-receivables", "aged-payables", "overdue", "vat")
FORMATS = ("csv", "json", "xlsx")
PAGE = 1000
STATEMENT_COLUMNS = ("section", "kind", "code", "name", "balance", "amount")


@dataclass
class Table:
    """A report laid out for rendering: column names that never change, typed values."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    date_from: dt.date
    date_to: dt.date
    account: str | None
    journal: str | None
    compare: bool
    rates: dict[str, Decimal]
    locale: str  # the language of titles and labels: the CLI's, or the web user's


@click.command("report")
@click.argument("name", type=click.Choice(REPORTS))
@org_option
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]),
              help="First day (default: the start of the fiscal year of --to).")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]),
              help="Last day; the balance sheet's day (default: today).")
@click.option("--account", help="general-ledger: one account's code (default: every account with postings).")
@click.option("--journal", help="journal: one journal's code (default: every journal).")
@click.option("--compare", is_flag=True, help="trial-balance: add the same range one year earlier.")
@click.option("--rate", "rates", multiple=True, metavar="CUR=RATE",
              help="consolidated-trial-balance: head-office units for one CUR, e.g. USD=0.92 (repeatable).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE (required for xlsx).")
@pass_context
def report(ctx: Context, name: str, org: str, date_from: dt.datetime | None, date_to: dt.datetime | None,
           account: str | None, journal: str | None, compare: bool, rates: tuple[str, ...], fmt: str,
           output: str | None) -> None:
    """Print the report NAME of ORG: trial-balance, general-ledger, journal, balance-sheet,
    profit-and-loss, consolidated-trial-balance (ORG being the head office), aged-receivables,
    aged-payables (on --to), overdue (invoices past due on --to) or vat (--from to --to)."""
    from core.periods import fiscal_year_of

    if fmt == "xlsx" and not output:
        raise ValidationError(FieldError("output", N_("An xlsx report is written to a file: add -o FILE.")))
    parsed_rates = _parse_rates(rates)
    with _reading(ctx, org) as session:
        end = date_to.date() if date_to else dt.date.today()
        if date_from is not None:
            start = date_from.date()
        else:
            year = fiscal_year_of(session, end)
            start = year.start_date if year is not None else end.replace(month=1, day=1)
        options = Options(start, end, account, journal, compare, parsed_rates, cli_locale())
        table = BUILDERS[name](session, options)
    for warning in table.warnings:
        click.echo(warning, err=True)
    RENDERERS[fmt](table, output)


@contextmanager
def _reading(ctx: Context, org: str) -> Iterator[Session]:
    """A read-only transaction scoped to ORG (on SQLite it takes no write lock)."""
    from core.db import set_tenant
    from core.tenancy import find_organization

    with ctx.database.session(readonly=True) as session, session.begin():
        set_tenant(session, find_organization(session, org).id)
        yield session


def _parse_rates(pairs: tuple[str, ...]) -> dict[str, Decimal]:
    rates = {}
    for pair in pairs:
        currency, _, value = pair.partition("=")
        try:
            rate = Decimal(value.strip())
        except InvalidOperation:
            rate = Decimal(0)
        if not currency.strip() or not rate.is_finite() or rate <= 0:
            raise ValidationError(FieldError("rate", N_("%(value)s is not a rate: write CUR=RATE, e.g. USD=0.92."),
                                             {"value": pair}))
        rates[currency.strip().upper()] = rate
    return rates


# --- building the tables ---------------------------------------------------------------------------

def tr(options: Options, msgid: str, **params: Any) -> str:
    """``msgid`` in the report's language (``options.locale``)."""
    return translate(msgid, options.locale, **params)


def trial_balance_table(session: Session, options: Options) -> Table:
    from plugins.accounting.reports import trial_balance

    columns: tuple[str, ...] = ("code", "name", "opening", "debit", "credit", "balance")
    if options.compare:
        columns += ("previous_opening", "previous_debit", "previous_credit", "previous_balance")
    table = Table(tr(options, N_("Trial balance")), columns)
    for row in trial_balance(session, options.date_from, options.date_to, compare=options.compare):
        table.rows.append(tuple(getattr(row, column) for column in columns))
    return table


def general_ledger_table(session: Session, options: Options) -> Table:
    from plugins.accounting.reports import general_ledger, trial_balance

    table = Table(tr(options, N_("General ledger")),
                  ("account", "date", "entry", "journal", "label", "debit", "credit", "balance"))
    if options.account:
        codes = [options.account]
    else:
        codes = [row.code for row in trial_balance(session, options.date_from, options.date_to)
                 if row.debit or row.credit]
    for code in codes:
        cursor = None
        while True:
            page = general_ledger(session, code, options.date_from, options.date_to, limit=PAGE, cursor=cursor)
            table.rows.extend((page.account, row.date, row.entry, row.journal, row.label, row.debit, row.credit,
                               row.balance) for row in page.rows)
            cursor = page.next_cursor
            if cursor is None:
                break
    return table


def journal_table(session: Session, options: Options) -> Table:
    from plugins.accounting.reports import journal_listing
    from plugins.accounting.services import list_journals

    table = Table(tr(options, N_("Journal")),
                  ("journal", "entry", "date", "reference", "entry_label", "line", "account", "account_name",
                   "label", "debit", "credit"))
    codes = [options.journal] if options.journal else [j.code for j in list_journals(session)]
    for code in codes:
        cursor = None
        while True:
            page = journal_listing(session, code, options.date_from, options.date_to, limit=PAGE, cursor=cursor)
            for entry in page.entries:
                table.rows.extend((page.journal, entry.name, entry.date, entry.reference, entry.label, line.line_no,
                                   line.account, line.account_name, line.label, line.debit, line.credit)
                                  for line in entry.lines)
            cursor = page.next_cursor
            if cursor is None:
                break
    return table


def _section_rows(table: Table, section: Any, total_name: str) -> None:  # noqa: ANN401 - a StatementSection
    for group in section.groups:
        table.rows.extend((section.type, "account", line.code, line.name, line.balance, line.amount)
                          for line in group.lines)
        if group.code is not None:
            table.rows.append((section.type, "subtotal", group.code, group.name, group.balance, group.amount))
    if total_name:
        table.rows.append((section.type, "total", "", total_name, section.balance, section.amount))


def balance_sheet_table(session: Session, options: Options) -> Table:
    from plugins.accounting.reports import balance_sheet

    sheet = balance_sheet(session, options.date_to)
    table = Table(tr(options, N_("Balance sheet")), STATEMENT_COLUMNS)
    _section_rows(table, sheet.assets, tr(options, N_("Total assets")))
    _section_rows(table, sheet.liabilities, tr(options, N_("Total liabilities")))
    _section_rows(table, sheet.equity, "")
    table.rows.append(("equity", "result", "", tr(options, N_("Result of the year not yet closed")), -sheet.result,
                       sheet.result))
    table.rows.append(("equity", "total", "", tr(options, N_("Total equity")), sheet.equity.balance - sheet.result,
                       sheet.equity.amount + sheet.result))
    total = sheet.total_liabilities_and_equity
    table.rows.append(("", "total", "", tr(options, N_("Total liabilities and equity")), -total, total))
    if sheet.unclosed_previous_year:
        table.warnings.append(tr(options, N_("Warning: the fiscal year %(year)s is not closed, so its balances are not "
                                   "carried into this balance sheet."), year=sheet.unclosed_previous_year))
    return table


def profit_and_loss_table(session: Session, options: Options) -> Table:
    from plugins.accounting.reports import profit_and_loss

    statement = profit_and_loss(session, options.date_from, options.date_to)
    table = Table(tr(options, N_("Profit and loss")), STATEMENT_COLUMNS)
    _section_rows(table, statement.income, tr(options, N_("Total income")))
    _section_rows(table, statement.expenses, tr(options, N_("Total expenses")))
    table.rows.append(("", "result", "", tr(options, N_("Result")), -statement.result, statement.result))
    return table


def consolidated_table(session: Session, options: Options) -> Table:
    from core.tenancy import current_organization
    from plugins.accounting.reports import ROUNDING_CODE, consolidated_trial_balance

    consolidated = consolidated_trial_balance(session, current_organization(session), options.date_from,
                                              options.date_to, rates=options.rates)
    table = Table(tr(options, N_("Consolidated trial balance")),
                  ("code", "name", "opening", "debit", "credit", "balance", "organizations"))
    for row in consolidated.rows:
        name = tr(options, row.name) if row.code == ROUNDING_CODE else row.name
        table.rows.append((row.code, name, row.opening, row.debit, row.credit, row.balance,
                           " ".join(row.organizations)))
    table.warnings.extend(notice.translate(options.locale) for notice in consolidated.notices)
    return table


BUILDERS: dict[str, Callable[[Session, Options], Table]] = {
    "trial-balance": trial_balance_table,
    "general-ledger": general_ledger_table,
    "journal": journal_table,
    "balance-sheet": balance_sheet_table,
    "profit-and-loss": profit_and_loss_table,
    "consolidated-trial-balance": consolidated_table,
}


def _aged_table(side: str) -> Callable[[Session, Options], Table]:
    def build(session: Session, options: Options) -> Table:
        from plugins.accounting.debtors import BUCKETS, aged_balance

        aged = aged_balance(session, options.date_to, side)
        title = tr(options, N_("Aged receivables")) if side == "receivable" else tr(options, N_("Aged payables"))
        table = Table(title, ("partner", "name", *BUCKETS, "total"))
        for row in aged.rows:
            table.rows.append((row.code, row.name, *row.buckets, row.total))
        table.rows.append(("", tr(options, N_("Total")), *aged.totals, aged.total))
        return table
    return build


def overdue_table(session: Session, options: Options) -> Table:
    from plugins.accounting.debtors import overdue_invoices

    table = Table(tr(options, N_("Overdue invoices")), ("invoice", "partner", "due_date", "days_overdue", "residual",
                                               "currency", "reminder_level", "due_level"))
    for item in overdue_invoices(session, options.date_to):
        table.rows.append((item.name, item.partner, item.due_date, item.days_overdue, item.residual, item.currency,
                           item.reminder_level, item.due_level))
    return table


def vat_table(session: Session, options: Options) -> Table:
    from plugins.accounting.vat import vat_report

    report = vat_report(session, options.date_from, options.date_to)
    table = Table(tr(options, N_("VAT report")), ("side", "tax", "name", "rate", "base", "amount"))
    for row in report.rows:
        table.rows.append((row.side, row.tax, row.name, row.rate, row.base, row.amount))
    table.rows.append(("balance", "", tr(options, N_("VAT due for the period")), None, None, report.balance))
    return table


BUILDERS.update({
    "aged-receivables": _aged_table("receivable"),
    "aged-payables": _aged_table("payable"),
    "overdue": overdue_table,
    "vat": vat_table,
})


# --- rendering -----------------------------------------------------------------------------------------

def _text(value: Any) -> str:  # noqa: ANN401
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _neutralized(value: Any) -> str:  # noqa: ANN401
    text = _text(value)
    if isinstance(value, str) and text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def _write_text(content: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
    else:
        click.echo(content, nl=False)


def render_csv(table: Table, output: str | None) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows([_neutralized(value) for value in row] for row in table.rows)
    _write_text(buffer.getvalue(), output)


def render_json(table: Table, output: str | None) -> None:
    def value(item: Any) -> Any:  # noqa: ANN401
        return item if item is None or isinstance(item, (str, int)) else _text(item)

    rows = [{column: value(item) for column, item in zip(table.columns, row, strict=True)} for row in table.rows]
    _write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", output)


def render_xlsx(table: Table, output: str | None) -> None:
    """A streamed workbook with the Excel framework's cells: numbers, dates, text never a formula."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    from core.excel.writer import HEADER_FONT, MAX_WIDTH, sheet_title, text_cell, typed_cell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title(table.title))
    for number, column in enumerate(table.columns, start=1):
        width = max([len(column), *(len(_text(row[number - 1])) for row in table.rows[:200])]) + 2
        sheet.column_dimensions[get_column_letter(number)].width = min(width, MAX_WIDTH)
    sheet.freeze_panes = "A2"
    sheet.append([text_cell(sheet, column, font=HEADER_FONT) for column in table.columns])
    for row in table.rows:
        sheet.append([typed_cell(sheet, value) for value in row])
    workbook.save(output)


RENDERERS: dict[str, Callable[[Table, str | None], None]] = {
    "csv": render_csv,
    "json": render_json,
    "xlsx": render_xlsx,
}
