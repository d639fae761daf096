"""The kernel's sheet of fiscal years: one row per period, the rows of a year grouped by its name.

A migrated year keeps its own periods (a Jalali or short year too). Years are created before
the entries that fall in them; their locks and closed state are applied last (``finish``),
once the workbook's entries are posted into them. In a year that exists already, the file
only adds locks; unlocking and closing it take ``--update`` (reopening takes the ledger's
reopen command, which reverses the closing).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.errors import FieldError, ValidationError
from core.excel.schema import Column, ColumnType, ImportContext, ImportCounts, Record, Schema
from core.i18n import N_
from core.periods import FiscalYear, FiscalYearState, Period, create_fiscal_year, list_fiscal_years
from core.tenancy import current_organization

COLUMNS = (
    Column("fiscal_year", N_("Fiscal year"), ColumnType.TEXT, required=True, example="2026",
           aliases={"en": ("Year",), "fr": ("Exercice",), "es": ("Ejercicio",), "fa": ("سال مالی",)}),
    Column("period", N_("Period"), ColumnType.INTEGER, required=True, example=1,
           aliases={"en": ("Period number",), "fr": ("Période", "N° de période"), "es": ("Período",),
                    "fa": ("دوره",)}),
    Column("name", N_("Name"), ColumnType.TEXT, required=True, example="2026-01",
           aliases={"fr": ("Nom",), "es": ("Nombre",), "fa": ("نام",)}),
    Column("start", N_("Start"), ColumnType.DATE, required=True, example=dt.date(2026, 1, 1),
           aliases={"en": ("Start date", "From"), "fr": ("Début", "Date de début"), "es": ("Inicio",),
                    "fa": ("شروع", "تاریخ شروع")}),
    Column("end", N_("End"), ColumnType.DATE, required=True, example=dt.date(2026, 1, 31),
           aliases={"en": ("End date", "To"), "fr": ("Fin", "Date de fin"), "es": ("Fin",),
                    "fa": ("پایان", "تاریخ پایان")}),
    Column("locked", N_("Locked"), ColumnType.BOOLEAN, example=False,
           aliases={"fr": ("Verrouillée",), "es": ("Bloqueado",), "fa": ("قفل",)}),
    Column("closed", N_("Year closed"), ColumnType.BOOLEAN, example=False,
           aliases={"en": ("Closed",), "fr": ("Exercice clôturé", "Clôturé"), "es": ("Ejercicio cerrado",),
                    "fa": ("سال بسته",)}),
)


def _periods(record: Record) -> list[tuple[int, str, dt.date, dt.date]]:
    return sorted((row["period"], row["name"], row["start"], row["end"]) for row in record.rows)


def _bounds(record: Record) -> tuple[dt.date, dt.date]:
    return min(row["start"] for row in record.rows), max(row["end"] for row in record.rows)


def _stored(session: Session) -> dict[str, tuple[FiscalYear, list[Period]]]:
    periods: dict[int, list[Period]] = {}
    for period in session.scalars(select(Period).order_by(Period.number)):
        periods.setdefault(period.fiscal_year_id, []).append(period)
    return {year.name: (year, periods.get(year.id, [])) for year in list_fiscal_years(session)}


def validate_fiscal_years(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    stored = _stored(session)
    errors: list[FieldError] = []
    seen: list[tuple[dt.date, dt.date, str]] = []
    for record in records:
        name, first = str(record.key[0]), record.first

        def problem(field: str, msgid: str, number: int = first.number, name: str = name, **params: Any) -> None:
            errors.append(FieldError(field, msgid, {"year": name, **params}, number))

        rows = sorted(record.rows, key=lambda r: r["period"])
        expected_start = rows[0]["start"]
        for index, row in enumerate(rows, start=1):
            if row["period"] != index:
                problem("period", N_("The periods of %(year)s are numbered 1, 2, 3… without a gap."), row.number)
            elif row["end"] < row["start"] or row["start"] != expected_start:
                problem("start", N_("The periods of a fiscal year follow each other from its first day to its "
                                    "last, without a gap."), row.number)
            expected_start = row["end"] + dt.timedelta(days=1)
            if bool(row["closed"]) != bool(first["closed"]):
                problem("closed", N_("The rows of %(year)s differ in %(field)s."), row.number, field="closed")
        start, end = _bounds(record)
        if (end - start).days > 731:
            problem("end", N_("A fiscal year lasts 1 to 24 months."))
        if name in stored:
            year, periods = stored[name]
            mine = [(p.number, p.name, p.start_date, p.end_date) for p in periods]
            if (year.start_date, year.end_date) != (start, end) or mine != _periods(record):
                problem("start", N_("The fiscal year %(year)s already exists with other dates or periods."))
            elif context.update and year.is_closed and not first["closed"]:
                problem("closed", N_("The fiscal year %(year)s is closed: reopen it with comptoir ledger "
                                     "reopen-year, not by an import."))
            continue
        others = [(y.start_date, y.end_date, y.name) for y, _p in stored.values()] + seen
        overlap = next((other for s, e, other in others if s <= end and e >= start), None)
        if overlap is not None:
            problem("start", N_("The fiscal year %(start)s – %(end)s overlaps %(other)s."),
                    start=start.isoformat(), end=end.isoformat(), other=overlap)
        seen.append((start, end, name))
    return errors


def write_fiscal_years(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    organization = current_organization(session)
    stored = _stored(session)
    created = updated = 0
    for record in sorted(records, key=_bounds):
        name = str(record.key[0])
        if name in stored:
            year, periods = stored[name]
            if _state_differs(year, periods, record, context.update):
                context.notes.setdefault("apply", set()).add(name)
                updated += 1
            continue
        start, end = _bounds(record)
        try:
            create_fiscal_year(session, organization, start=start, end=end, name=name,
                               periods=[(p[1], p[2], p[3]) for p in _periods(record)])
        except ValidationError as error:
            raise ValidationError([FieldError(e.field if e.field != "periods" else "start", e.msgid, e.params,
                                              record.first.number) for e in error.errors]) from None
        context.notes.setdefault("apply", set()).add(name)
        context.notes.setdefault("created", set()).add(name)
        created += 1
    return ImportCounts(created=created, updated=updated, unchanged=len(records) - created - updated)


def _state_differs(year: FiscalYear, periods: Sequence[Period], record: Record, update: bool) -> bool:
    """Whether the file changes the year: a lock it adds; with ``update``, an unlock or a closing too."""
    locked = {row["period"]: bool(row["locked"]) for row in record.rows}
    if not update:
        return any(locked[p.number] and not p.locked for p in periods)
    return year.is_closed != bool(record.first["closed"]) or any(locked[p.number] != p.locked for p in periods)


def finish_fiscal_years(session: Session, records: Sequence[Record], context: ImportContext) -> None:
    """Locks and closed years, once the workbook's entries are in (a closed year takes none)."""
    names, created = context.notes.get("apply", set()), context.notes.get("created", set())
    stored = _stored(session)
    for record in records:
        name = str(record.key[0])
        if name not in names:
            continue
        year, periods = stored[name]
        locked = {row["period"]: bool(row["locked"]) for row in record.rows}
        whole = context.update or name in created  # else only the locks the file adds
        for period in periods:
            if period.locked != locked[period.number] and (whole or locked[period.number]):
                period.locked = locked[period.number]
                audit.record(session, "period.locked" if period.locked else "period.unlocked", target=period.name)
        if record.first["closed"] and not year.is_closed and whole:
            year.state = FiscalYearState.CLOSED
            year.closed_at = dt.datetime.now(dt.UTC)
            # As a closing does: reopening the copied year then finds the closing to reverse.
            audit.record(session, "fiscal_year.closed", target=year.name, imported=True)


def export_fiscal_years(session: Session) -> Iterator[dict[str, Any]]:
    for name, (year, periods) in _stored(session).items():
        for period in periods:
            yield {"fiscal_year": name, "period": period.number, "name": period.name, "start": period.start_date,
                   "end": period.end_date, "locked": period.locked, "closed": year.is_closed}


FISCAL_YEARS = Schema(
    name="fiscal_years", sheet=N_("Fiscal years"), label=N_("Fiscal years and their periods, one period per row"),
    columns=COLUMNS, key=("fiscal_year",), group_by="fiscal_year",
    validate=validate_fiscal_years, write=write_fiscal_years, finish=finish_fiscal_years,
    export=export_fiscal_years, order=20,
    aliases={"en": ("Periods", "Fiscal periods"), "fr": ("Exercices", "Périodes"), "es": ("Ejercicios", "Períodos"),
             "fa": ("سال‌های مالی", "دوره‌ها")},
)
