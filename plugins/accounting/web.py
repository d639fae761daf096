"""Accounting pages: dashboard, journal entries (list, draft, post, reverse), reports with
their .xlsx export, exchange rates. Thin views: parse, call a service, render."""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from core.chart import list_accounts
from core.errors import ComptoirError, FieldError, ValidationError
from core.i18n import N_
from core.periods import FiscalYear, fiscal_year_of
from core.tenancy import current_organization
from core.web import url_maker
from core.web.access import actor, can, requires, t
from plugins.accounting import DRAFT, POST, READ, REVERSE

bp = Blueprint("accounting", __name__, url_prefix="/accounting",
               template_folder=str(Path(__file__).parent / "templates"))

REPORT_PAGES = {
    "trial-balance": N_("Trial balance"),
    "general-ledger": N_("General ledger"),
    "balance-sheet": N_("Balance sheet"),
    "profit-and-loss": N_("Profit and loss"),
    "aged-receivables": N_("Aged receivables"),
    "aged-payables": N_("Aged payables"),
    "vat": N_("VAT report"),
}


def _crumbs(*pairs: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(t(N_("Accounting")), url_for("accounting.dashboard")), *pairs]


def default_range(day: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The fiscal year of today (or the latest one) from its start to today or its end."""
    from sqlalchemy import select

    day = day or dt.date.today()
    year = fiscal_year_of(g.db, day) or g.db.scalars(
        select(FiscalYear).order_by(FiscalYear.start_date.desc())).first()
    if year is None:
        return day.replace(month=1, day=1), day
    return year.start_date, min(day, year.end_date)


def requested_range(read_date: Callable[[str, dt.date | None], dt.date]) -> tuple[dt.date, dt.date]:
    """The request's ``from`` and ``to``, read by ``read_date(name, default)``; the default range
    (a fiscal-year query) only when one of them is missing."""
    given = request.args.get("from") and request.args.get("to")
    start, end = (None, None) if given else default_range()
    return read_date("from", start), read_date("to", end)


def _date_arg(name: str, default: dt.date) -> dt.date:
    value = request.args.get(name)
    if not value:
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(FieldError(name, N_("%(value)s is not a date (YYYY-MM-DD)."), {"value": value})) from None


# --- dashboard -------------------------------------------------------------------------------------

@bp.route("/")
@requires(READ)
def dashboard() -> str:
    from core.money import Money, format_money
    from core.web.charts import Series, bar_chart
    from plugins.accounting.dashboard import dashboard as figures

    data = figures(g.db)
    labels = [m.period for m in data.months]
    locale = g.locale
    shown: dict[Decimal, str] = {}  # the tables and the charts' tooltips show the same figures

    def money(value: Decimal) -> str:
        if value not in shown:
            shown[value] = format_money(Money(value, data.currency), locale)
        return shown[value]

    def digits_of(label: str) -> str:
        from core.i18n import native_digits

        return native_digits(label[-2:] if len(label) >= 7 else label, locale)

    cash_chart = bar_chart(t(N_("Cash position")), labels,
                           [Series(t(N_("Bank and cash")), "bar-a", [m.cash for m in data.months])],
                           money, _compact, digits_of)
    result_chart = bar_chart(t(N_("Monthly income and expenses")), labels,
                             [Series(t(N_("Income")), "bar-a", [m.income for m in data.months]),
                              Series(t(N_("Expenses")), "bar-b", [m.expense for m in data.months])],
                             money, _compact, digits_of)
    from plugins.accounting.invoicing_web import receivables_chart

    return render_template("accounting/dashboard.html", data=data, cash_chart=cash_chart, result_chart=result_chart,
                           receivables_chart=receivables_chart(g.locale),
                           format_money=money,
                           crumbs=[(t(N_("Dashboard")), None)])


def _compact(value: Decimal) -> str:
    """An axis label: 12k, 1.5M, in the user's digits."""
    from core.money import format_number

    for size, suffix in ((Decimal(1_000_000), "M"), (Decimal(1_000), "k")):
        if abs(value) >= size:
            return format_number((value / size).quantize(Decimal("0.1")).normalize(), g.locale) + suffix
    return format_number(value.quantize(Decimal(1)), g.locale)


# --- entries ----------------------------------------------------------------------------------------

@bp.route("/entries")
@requires(READ)
def entries() -> str:
    from plugins.accounting.browse import list_entries
    from plugins.accounting.services import list_journals

    filters = {key: request.args.get(key) or None for key in ("journal", "state", "from", "to", "q")}
    page = list_entries(g.db, journal=filters["journal"], state=filters["state"],
                        date_from=_date_arg("from", dt.date.min) if filters["from"] else None,
                        date_to=_date_arg("to", dt.date.max) if filters["to"] else None,
                        text=filters["q"], cursor=request.args.get("cursor") or None)
    next_url = url_for("accounting.entries", cursor=page.next_cursor,
                       **{key: value for key, value in filters.items() if value}) if page.next_cursor else None
    return render_template("accounting/entries.html", page=page, filters=filters, journals=list_journals(g.db),
                           next_url=next_url,
                           currency=current_organization(g.db).currency, can_draft=can(DRAFT),
                           crumbs=_crumbs((t(N_("Journal entries")), None)))


def _entry_form(errors: dict[str | None, list[str]] | None = None, form: Any = None, status: int = 200) -> Any:
    from plugins.accounting.services import list_journals

    lines = []
    if form is not None:
        lines = list(zip(form.getlist("account"), form.getlist("line_label"), form.getlist("debit"),
                         form.getlist("credit"), strict=False))
    while len(lines) < 2:
        lines.append(("", "", "", ""))
    body = render_template("accounting/entry_form.html", journals=list_journals(g.db),
                           accounts=list_accounts(g.db, include_deprecated=False), errors=errors or {},
                           form=form or {}, lines=lines, today=dt.date.today().isoformat(),
                           crumbs=_crumbs((t(N_("Journal entries")), url_for("accounting.entries")),
                                          (t(N_("New entry")), None)))
    return body, status


@bp.route("/entries/new")
@requires(DRAFT)
def new_entry() -> Any:
    return _entry_form()


def _parse_entry(form: Any) -> Any:
    """The form's entry as a service input, or every problem at once."""
    from core.excel.parsing import NotParsed, parse_decimal
    from plugins.accounting.services import EntryInput, LineInput

    problems: list[FieldError] = []
    try:
        day = dt.date.fromisoformat(form.get("date", ""))
    except ValueError:
        problems.append(FieldError("date", N_("%(value)s is not a date (YYYY-MM-DD)."), {"value": form.get("date", "")}))
        day = dt.date.today()
    lines = []
    rows = zip(form.getlist("account"), form.getlist("line_label"), form.getlist("debit"), form.getlist("credit"),
               strict=False)
    for number, (account, label, debit, credit) in enumerate(rows, start=1):
        if not (account.strip() or debit.strip() or credit.strip()):
            continue
        amounts = []
        for text in (debit, credit):
            try:
                amounts.append(parse_decimal(text, g.locale) if text.strip() else Decimal(0))
            except NotParsed:
                problems.append(FieldError("lines", N_("Line %(line)s: %(value)s is not an amount."),
                                           {"line": number, "value": text}, number))
                amounts.append(Decimal(0))
        lines.append(LineInput(account.strip(), amounts[0] - amounts[1], label.strip()))
    if len(lines) < 2:
        problems.append(FieldError("lines", N_("An entry needs at least two lines.")))
    if problems:
        raise ValidationError(problems)
    return EntryInput(form.get("journal", ""), day, lines, label=form.get("label", "").strip(),
                      reference=form.get("reference", "").strip())


@bp.route("/entries/new", methods=["POST"])
@requires(DRAFT)
def create_entry() -> Any:
    from core.web import field_errors
    from plugins.accounting.services import create_draft, post_draft

    try:
        draft = create_draft(g.db, _parse_entry(request.form), actor=actor())
        if request.form.get("then") == "post":
            if not can(POST):
                abort(403)
            post_draft(g.db, draft.id, actor=actor())
    except ValidationError as error:
        g.db.rollback()
        return _entry_form(field_errors(error), request.form, 422)
    g.db.commit()
    flash(t(N_("The entry was saved.")), "success")
    return redirect(url_for("accounting.entry", entry_id=draft.id))


@bp.route("/entries/<int:entry_id>")
@requires(READ)
def entry(entry_id: int) -> str:
    from plugins.accounting.browse import entry_view

    view = entry_view(g.db, entry_id)
    title = view.entry.name or t(N_("Draft"))
    return render_template("accounting/entry.html", view=view, currency=current_organization(g.db).currency,
                           can_post=can(POST), can_reverse=can(REVERSE), can_draft=can(DRAFT),
                           crumbs=_crumbs((t(N_("Journal entries")), url_for("accounting.entries")), (title, None)))


def _entry_action(entry_id: int, action: Any, message: str) -> Response:
    try:
        result = action()
    except ComptoirError as error:
        if error.http_status == 404:
            raise
        g.db.rollback()
        flash(error.translate(g.locale), "error")
        return redirect(url_for("accounting.entry", entry_id=entry_id))
    g.db.commit()
    flash(t(message, name=getattr(result, "name", "") or ""), "success")
    target = getattr(result, "id", None)
    return redirect(url_for("accounting.entry", entry_id=target) if target else url_for("accounting.entries"))


@bp.route("/entries/<int:entry_id>/post", methods=["POST"])
@requires(POST)
def post_entry(entry_id: int) -> Response:
    from plugins.accounting.services import get_entry, post_draft

    get_entry(g.db, entry_id)  # another organization's id: 404 before anything else
    return _entry_action(entry_id, lambda: post_draft(g.db, entry_id, actor=actor()),
                         N_("Entry %(name)s posted."))


@bp.route("/entries/<int:entry_id>/reverse", methods=["POST"])
@requires(REVERSE)
def reverse_entry(entry_id: int) -> Response:
    from plugins.accounting.services import get_entry, reverse_entry as reverse

    get_entry(g.db, entry_id)
    day = request.form.get("date") or None
    return _entry_action(entry_id, lambda: reverse(g.db, entry_id, date=dt.date.fromisoformat(day) if day else None,
                                                   actor=actor()),
                         N_("Reversal %(name)s posted."))


@bp.route("/entries/<int:entry_id>/delete", methods=["POST"])
@requires(DRAFT)
def delete_entry(entry_id: int) -> Response:
    from plugins.accounting.services import delete_draft, get_entry

    get_entry(g.db, entry_id)
    return _entry_action(entry_id, lambda: delete_draft(g.db, entry_id), N_("The draft was deleted."))


# --- reports ------------------------------------------------------------------------------------------

def _report_options() -> Any:
    from plugins.accounting.reports_cli import Options

    date_from, date_to = requested_range(_date_arg)
    return Options(date_from=date_from, date_to=date_to, account=request.args.get("account") or None,
                   journal=None, compare=request.args.get("compare") == "1", rates={}, locale=g.locale)


@bp.route("/reports/trial-balance")
@requires(READ)
def trial_balance() -> str:
    from plugins.accounting.reports import trial_balance as report

    options = _report_options()
    rows = report(g.db, options.date_from, options.date_to, compare=options.compare)
    totals = {key: sum((getattr(r, key) for r in rows), Decimal(0)) for key in ("opening", "debit", "credit", "balance")}
    return _report("accounting/trial_balance.html", "trial-balance", options, rows=rows, totals=totals)


@bp.route("/reports/general-ledger")
@requires(READ)
def general_ledger() -> str:
    from plugins.accounting.reports import general_ledger as report

    from plugins.accounting.browse import account_choices

    options = _report_options()
    page = None
    if options.account:
        page = report(g.db, options.account, options.date_from, options.date_to, limit=50,
                      cursor=request.args.get("cursor") or None)
    return _report("accounting/general_ledger.html", "general-ledger", options, page=page,
                   account_options=_options(tuple(account_choices(g.db)), options.account),
                   entry_url=url_maker("accounting.entry", "entry_id"))


def _options(choices: tuple[tuple[str, str], ...], selected: str | None) -> Markup:
    """The ``<option>`` list of an account picker, written in Python (a chart's hundreds of
    accounts looped over in Jinja cost more than the rest of a ledger page) and kept for the
    next page showing the same chart."""
    options = _all_options(choices)
    if selected is None:
        return options
    chosen = f'<option value="{escape(selected)}">'
    return Markup(options.replace(chosen, chosen[:-1] + " selected>", 1))


@lru_cache(maxsize=64)
def _all_options(choices: tuple[tuple[str, str], ...]) -> Markup:
    return Markup("".join(f'<option value="{escape(code)}">{escape(code)} {escape(name)}</option>'
                          for code, name in choices))


@bp.route("/reports/balance-sheet")
@requires(READ)
def balance_sheet() -> str:
    from plugins.accounting.reports import balance_sheet as report

    options = _report_options()
    return _report("accounting/balance_sheet.html", "balance-sheet", options, sheet=report(g.db, options.date_to))


@bp.route("/reports/profit-and-loss")
@requires(READ)
def profit_and_loss() -> str:
    from plugins.accounting.reports import profit_and_loss as report

    options = _report_options()
    return _report("accounting/profit_and_loss.html", "profit-and-loss", options,
                   statement=report(g.db, options.date_from, options.date_to))


def _report(template: str, name: str, options: Any, **values: Any) -> str:
    return render_template(template, options=options, name=name, title=t(REPORT_PAGES[name]),
                           currency=current_organization(g.db).currency, reports=REPORT_PAGES,
                           crumbs=_crumbs((t(REPORT_PAGES[name]), None)), **values)


@bp.route("/reports/<name>.xlsx")
@requires(READ)
def export_report(name: str) -> Response:
    """The report as a workbook, built and written by the same code as ``comptoir report``."""
    from plugins.accounting.reports_cli import BUILDERS, render_xlsx

    if name not in REPORT_PAGES:
        abort(404)
    table = BUILDERS[name](g.db, _report_options())
    buffer = io.BytesIO()
    render_xlsx(table, buffer)  # type: ignore[arg-type]
    buffer.seek(0)
    return send_file(buffer, as_attachment=True, download_name=f"{name}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# --- exchange rates ------------------------------------------------------------------------------------

@bp.route("/rates")
@requires(READ)
def rates() -> str:
    from plugins.accounting.rates import latest_rates

    day = _date_arg("date", dt.date.today())
    return render_template("accounting/rates.html", rates=latest_rates(g.db, day), day=day, can_set=can(POST),
                           currency=current_organization(g.db).currency,
                           crumbs=_crumbs((t(N_("Exchange rates")), None)))


@bp.route("/rates", methods=["POST"])
@requires(POST)
def set_rate() -> Response:
    from plugins.accounting.rates import set_rate as store

    try:
        day = dt.date.fromisoformat(request.form.get("date", ""))
        store(g.db, request.form.get("currency", "").strip().upper(), day, request.form.get("rate", "").strip(),
              actor=actor())
    except ValueError:
        g.db.rollback()
        flash(t(N_("%(value)s is not a date (YYYY-MM-DD)."), value=request.form.get("date", "")), "error")
        return redirect(url_for("accounting.rates"))
    except ComptoirError as error:
        g.db.rollback()
        flash(error.translate(g.locale), "error")
        return redirect(url_for("accounting.rates"))
    g.db.commit()
    flash(t(N_("The rate was saved.")), "success")
    return redirect(url_for("accounting.rates"))
