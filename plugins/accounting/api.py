"""The accounting plugin's JSON endpoints: entries (list, read, create, post, reverse) and
reports. Declared on an :class:`core.web.api.ApiBlueprint`, so each is described in the
OpenAPI document and refused (404) to organizations without the plugin."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import g, request

from core.errors import FieldError
from core.i18n import N_
from core.web.access import actor, check
from core.web.api import (
    AMOUNT,
    BOOLEAN,
    DATE,
    INTEGER,
    NULLABLE_STRING,
    STRING,
    ApiBlueprint,
    Fields,
    Param,
    array,
    decimal_text,
    json_body,
    obj,
    query_date,
    query_int,
)
from plugins.accounting import DRAFT, POST, READ, REVERSE

api = ApiBlueprint("accounting_api", __name__, tag="accounting")

NULLABLE_INT = {"type": "integer", "nullable": True}
ENTRY_SUMMARY = obj({"id": INTEGER, "name": NULLABLE_STRING, "journal": STRING, "date": DATE, "label": STRING,
                     "reference": STRING, "state": {"type": "string", "enum": ["draft", "posted"]},
                     "total": AMOUNT, "reversal_of_id": NULLABLE_INT})
LINE = obj({"line_no": INTEGER, "account": STRING, "account_name": STRING, "label": STRING, "debit": AMOUNT,
            "credit": AMOUNT, "currency": NULLABLE_STRING,
            "amount_currency": {**AMOUNT, "nullable": True}})
ENTRY = obj({"entry": ENTRY_SUMMARY, "lines": array(LINE), "reversed_by": NULLABLE_INT})
LINE_INPUT = obj({"account": STRING, "label": STRING, "debit": AMOUNT, "credit": AMOUNT,
                  "currency": STRING, "amount_currency": AMOUNT}, ["account"])
ENTRY_INPUT = obj({"journal": STRING, "date": DATE, "label": STRING, "reference": STRING,
                   "idempotency_key": STRING, "post": BOOLEAN, "lines": {**array(LINE_INPUT), "minItems": 2}},
                  ["journal", "date", "lines"])
RANGE = [Param("from", DATE, description="first day (default: the start of the fiscal year)"),
         Param("to", DATE, description="last day (default: today)")]


def _summary(entry: Any) -> dict[str, Any]:
    return {"id": entry.id, "name": entry.name, "journal": entry.journal, "date": entry.date.isoformat(),
            "label": entry.label, "reference": entry.reference, "state": entry.state,
            "total": decimal_text(entry.total), "reversal_of_id": entry.reversal_of_id}


def _entry(entry_id: int) -> dict[str, Any]:
    from plugins.accounting.browse import entry_view

    view = entry_view(g.db, entry_id)
    return {"entry": _summary(view.entry), "reversed_by": view.reversed_by, "lines": [
        {"line_no": line.line_no, "account": line.account, "account_name": line.account_name, "label": line.label,
         "debit": decimal_text(line.debit), "credit": decimal_text(line.credit), "currency": line.currency,
         "amount_currency": decimal_text(line.amount_currency)} for line in view.lines]}


def _range() -> tuple[dt.date, dt.date]:
    from plugins.accounting.web import requested_range

    return requested_range(query_date)


# --- entries ----------------------------------------------------------------------------------------

@api.operation("/entries", "GET", permission=READ, summary="Journal entries, newest first",
               params=[Param("journal", STRING), Param("state", {"type": "string", "enum": ["draft", "posted"]}),
                       Param("from", DATE), Param("to", DATE), Param("q", STRING),
                       Param("limit", {"type": "integer", "minimum": 1, "maximum": 500}), Param("cursor", STRING)],
               response=obj({"entries": array(ENTRY_SUMMARY), "next_cursor": NULLABLE_STRING}))
def list_entries() -> dict[str, Any]:
    from plugins.accounting.browse import list_entries as entries

    page = entries(g.db, journal=request.args.get("journal") or None, state=request.args.get("state") or None,
                   date_from=query_date("from", dt.date.min), date_to=query_date("to", dt.date.max),
                   text=request.args.get("q") or None, limit=query_int("limit", 50),
                   cursor=request.args.get("cursor") or None)
    return {"entries": [_summary(e) for e in page.entries], "next_cursor": page.next_cursor}


@api.operation("/entries/<int:entry_id>", "GET", permission=READ, summary="One entry with its lines",
               response=ENTRY)
def get_entry(entry_id: int) -> dict[str, Any]:
    return _entry(entry_id)


def _entry_input(data: dict[str, Any]) -> Any:
    from plugins.accounting.services import EntryInput, LineInput

    fields = Fields(data)
    journal, day = fields.string("journal"), fields.date("date")
    label = fields.string("label", required=False)
    reference = fields.string("reference", required=False)
    key = fields.string("idempotency_key", required=False) or None
    raw_lines = data.get("lines")
    lines = []
    if not isinstance(raw_lines, list) or len(raw_lines) < 2:
        fields.problems.append(FieldError("lines", N_("An entry needs at least two lines.")))
        raw_lines = []
    for number, raw in enumerate(raw_lines, start=1):
        if not isinstance(raw, dict):
            fields.problems.append(FieldError(f"lines[{number}]", N_("%(field)s must be a JSON object."),
                                              {"field": f"lines[{number}]"}, number))
            continue
        line = Fields(raw, prefix=f"lines[{number}].")
        account = line.string("account")
        debit, credit = line.decimal("debit") or Decimal(0), line.decimal("credit") or Decimal(0)
        currency = line.string("currency", required=False) or None
        foreign = line.decimal("amount_currency", required=currency is not None)
        fields.problems.extend(line.problems)
        lines.append(LineInput(account, debit - credit, line.string("label", required=False), currency, foreign))
    fields.raise_problems()
    return EntryInput(journal, day, lines, label=label, reference=reference, idempotency_key=key)


@api.operation("/entries", "POST", permission=DRAFT, status=201, body=ENTRY_INPUT, response=ENTRY,
               summary="Create an entry: a draft, or posted at once with \"post\": true "
                       "(which needs the permission accounting.post)")
def create_entry() -> dict[str, Any]:
    from plugins.accounting.services import create_draft, post_entry

    data = json_body()
    entry = _entry_input(data)
    if data.get("post") is True:
        check(POST)
        created = post_entry(g.db, entry, actor=actor())
    else:
        created = create_draft(g.db, entry, actor=actor())
    g.db.commit()
    return _entry(created.id)


@api.operation("/entries/<int:entry_id>/post", "POST", permission=POST, summary="Post a draft", response=ENTRY)
def post_entry(entry_id: int) -> dict[str, Any]:
    from plugins.accounting.services import post_draft

    post_draft(g.db, entry_id, actor=actor())
    g.db.commit()
    return _entry(entry_id)


@api.operation("/entries/<int:entry_id>/reverse", "POST", permission=REVERSE, status=201,
               summary="Post the reversal of a posted entry", body=obj({"date": DATE, "label": STRING}, []),
               response=ENTRY)
def reverse_entry(entry_id: int) -> dict[str, Any]:
    from plugins.accounting.services import reverse_entry as reverse

    data = request.get_json(silent=True) or {}
    fields = Fields(data if isinstance(data, dict) else {})
    day = fields.date("date", required=False)
    label = fields.string("label", required=False) or None
    fields.raise_problems()
    reversal = reverse(g.db, entry_id, date=day, label=label, actor=actor())
    g.db.commit()
    return _entry(reversal.id)


# --- reports -----------------------------------------------------------------------------------------

TRIAL_ROW = obj({"code": STRING, "name": STRING, "opening": AMOUNT, "debit": AMOUNT, "credit": AMOUNT,
                 "balance": AMOUNT})
STATEMENT_LINE = obj({"code": STRING, "name": STRING, "balance": AMOUNT, "amount": AMOUNT})
SECTION = obj({"type": STRING, "amount": AMOUNT, "lines": array(STATEMENT_LINE)})


def _section(section: Any) -> dict[str, Any]:
    return {"type": section.type, "amount": decimal_text(section.amount), "lines": [
        {"code": line.code, "name": line.name, "balance": decimal_text(line.balance),
         "amount": decimal_text(line.amount)} for line in section.lines]}


@api.operation("/reports/trial-balance", "GET", permission=READ, summary="Trial balance of a range",
               params=RANGE, response=obj({"from": DATE, "to": DATE, "rows": array(TRIAL_ROW)}))
def trial_balance() -> dict[str, Any]:
    from plugins.accounting.reports import trial_balance as report

    start, end = _range()
    return {"from": start.isoformat(), "to": end.isoformat(), "rows": [
        {"code": r.code, "name": r.name, "opening": decimal_text(r.opening), "debit": decimal_text(r.debit),
         "credit": decimal_text(r.credit), "balance": decimal_text(r.balance)} for r in report(g.db, start, end)]}


@api.operation("/reports/general-ledger", "GET", permission=READ, summary="One account's ledger, by keyset pages",
               params=[Param("account", STRING, required=True), *RANGE,
                       Param("limit", {"type": "integer", "minimum": 1, "maximum": 10000}), Param("cursor", STRING)],
               response=obj({"account": STRING, "name": STRING, "opening": AMOUNT, "closing": AMOUNT,
                             "next_cursor": NULLABLE_STRING,
                             "rows": array(obj({"date": DATE, "entry": STRING, "entry_id": INTEGER, "journal": STRING,
                                                "label": STRING, "debit": AMOUNT, "credit": AMOUNT,
                                                "balance": AMOUNT}))}))
def general_ledger() -> dict[str, Any]:
    from core.errors import ValidationError
    from plugins.accounting.reports import general_ledger as report

    account = request.args.get("account")
    if not account:
        raise ValidationError(FieldError("account", N_("%(field)s is required."), {"field": "account"}))
    start, end = _range()
    page = report(g.db, account, start, end, limit=query_int("limit", 100), cursor=request.args.get("cursor") or None)
    return {"account": page.account, "name": page.name, "opening": decimal_text(page.opening),
            "closing": decimal_text(page.closing), "next_cursor": page.next_cursor, "rows": [
                {"date": r.date.isoformat(), "entry": r.entry, "entry_id": r.entry_id, "journal": r.journal,
                 "label": r.label, "debit": decimal_text(r.debit), "credit": decimal_text(r.credit),
                 "balance": decimal_text(r.balance)} for r in page.rows]}


@api.operation("/reports/balance-sheet", "GET", permission=READ, summary="Balance sheet on a day",
               params=[Param("date", DATE, description="the day (default: today)")],
               response=obj({"date": DATE, "assets": SECTION, "liabilities": SECTION, "equity": SECTION,
                             "result": AMOUNT, "balanced": BOOLEAN}))
def balance_sheet() -> dict[str, Any]:
    from plugins.accounting.reports import balance_sheet as report

    day = query_date("date", dt.date.today())
    sheet = report(g.db, day)
    return {"date": day.isoformat(), "assets": _section(sheet.assets), "liabilities": _section(sheet.liabilities),
            "equity": _section(sheet.equity), "result": decimal_text(sheet.result), "balanced": sheet.balanced}


@api.operation("/reports/profit-and-loss", "GET", permission=READ, summary="Income and expenses of a range",
               params=RANGE, response=obj({"from": DATE, "to": DATE, "income": SECTION, "expenses": SECTION,
                                           "result": AMOUNT}))
def profit_and_loss() -> dict[str, Any]:
    from plugins.accounting.reports import profit_and_loss as report

    start, end = _range()
    statement = report(g.db, start, end)
    return {"from": start.isoformat(), "to": end.isoformat(), "income": _section(statement.income),
            "expenses": _section(statement.expenses), "result": decimal_text(statement.result)}
