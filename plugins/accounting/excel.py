"""Accounting's sheets: journal entries (one entry per reference) and opening balances.

Both post through the ledger service with an idempotency key, so importing a file again
posts nothing. Posted entries never change: a row that differs from the entry already
imported under its reference is an error (reverse the entry and import the correction
under a new reference), with or without ``--update``.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.chart import Account
from core.errors import ComptoirError, FieldError, NotFound, PeriodLocked, ValidationError
from core.excel.schema import Choice, Column, ColumnType, ImportContext, ImportCounts, Record, Row, Schema
from core.i18n import N_
from core.money import digits, is_known_currency, quantize
from core.periods import FiscalYear, Period
from core.tenancy import current_organization
from plugins.accounting.closing import post_opening_balances
from plugins.accounting.invoicing_models import Partner
from plugins.accounting.models import EntryState, Journal, JournalEntry, JournalKind, JournalLine
from plugins.accounting.services import EntryInput, LineInput, post_entries_from

IMPORT_KEY = "import:{reference}"
OPENING_KEY = "import:opening:{date}"
_POST_BATCH = 5000
# Values in one ``IN (...)``: as many as the ledger service looks keys up at once (a batch); a
# query per 500 cost more than the lookups themselves.
_CHUNK = _POST_BATCH
_ZERO = Decimal(0)
_DEFAULT_PATTERN = "{code}/{year}/{number:05d}"  # Journal.pattern's default
_ENTRY_FIELDS = ("number", "entry_label", "document", "external_id", "reversal_of")  # the same on every line
# Fields of the ledger service's errors → the column that shows them.
_SERVICE_FIELDS = {"account": "account", "date": "date", "journal": "journal", "currency": "currency",
                   "amount": "debit", "lines": "debit", "idempotency_key": "reference"}

_ACCOUNT = Column("account", N_("Account"), ColumnType.CODE, required=True, example="512",
                  aliases={"en": ("Account code", "Account number"),
                           "fr": ("Compte", "N° de compte", "Numéro de compte", "Compte général"),
                           "es": ("Cuenta", "Código de cuenta"), "fa": ("حساب", "کد حساب", "شماره حساب")})
_DEBIT = Column("debit", N_("Debit"), ColumnType.DECIMAL, example=Decimal("1200.00"),
                aliases={"fr": ("Débit",), "es": ("Debe", "Débito"), "fa": ("بدهکار", "بدهی")})
_CREDIT = Column("credit", N_("Credit"), ColumnType.DECIMAL,
                 aliases={"fr": ("Crédit",), "es": ("Haber", "Crédito"), "fa": ("بستانکار", "بستانکاری")})

ENTRY_COLUMNS = (
    Column("reference", N_("Reference"), ColumnType.TEXT, required=True, example="INV-2026-001",
           aliases={"en": ("Ref", "Entry", "Voucher", "Piece"),
                    "fr": ("Référence", "Réf", "Pièce", "N° de pièce"),
                    "es": ("Referencia", "Ref", "Asiento", "Comprobante"),
                    "fa": ("مرجع", "شماره سند", "سند")}),
    Column("date", N_("Date"), ColumnType.DATE, required=True, example=dt.date(2026, 1, 15),
           aliases={"fr": ("Date",), "es": ("Fecha",), "fa": ("تاریخ",)}),
    Column("journal", N_("Journal"), ColumnType.CODE, required=True, example="SAL",
           aliases={"fr": ("Journal", "Code journal"), "es": ("Diario",), "fa": ("دفتر", "روزنامه")}),
    _ACCOUNT,
    Column("label", N_("Label"), ColumnType.TEXT, example="Invoice 2026-001",
           aliases={"en": ("Description", "Memo"), "fr": ("Libellé", "Description"),
                    "es": ("Concepto", "Descripción"), "fa": ("شرح", "توضیحات")}),
    _DEBIT,
    _CREDIT,
    Column("currency", N_("Currency"), ColumnType.CODE,
           aliases={"fr": ("Devise",), "es": ("Moneda", "Divisa"), "fa": ("ارز",)}),
    Column("amount_currency", N_("Amount in currency"), ColumnType.DECIMAL,
           aliases={"en": ("Foreign amount",), "fr": ("Montant en devise",), "es": ("Importe en divisa",),
                    "fa": ("مبلغ ارزی",)}),
    # The columns below carry what a whole-book export needs to come back identical.
    Column("number", N_("Number"), ColumnType.INTEGER,
           aliases={"en": ("Entry number",), "fr": ("Numéro", "N° d'écriture"), "es": ("Número",),
                    "fa": ("شماره",)}),
    Column("entry_label", N_("Entry label"), ColumnType.TEXT,
           aliases={"fr": ("Libellé de l'écriture",), "es": ("Concepto del asiento",), "fa": ("شرح سند",)}),
    Column("document", N_("Document reference"), ColumnType.TEXT,
           aliases={"fr": ("Référence du document",), "es": ("Referencia del documento",), "fa": ("مرجع مدرک",)}),
    Column("external_id", N_("External id"), ColumnType.TEXT,
           aliases={"fr": ("Identifiant externe",), "es": ("Identificador externo",), "fa": ("شناسه خارجی",)}),
    Column("reversal_of", N_("Reversal of"), ColumnType.TEXT,
           aliases={"fr": ("Extourne de",), "es": ("Anulación de",), "fa": ("برگشت سند",)}),
    # The partner a line names (its reference: ids differ between organizations).
    Column("partner", N_("Partner"), ColumnType.CODE,
           aliases={"fr": ("Tiers",), "es": ("Tercero",), "fa": ("طرف حساب",)}),
)

OPENING_COLUMNS = (
    Column("date", N_("Date"), ColumnType.DATE, required=True, option="date", example=dt.date(2026, 1, 1),
           aliases={"fr": ("Date",), "es": ("Fecha",), "fa": ("تاریخ",)}),
    _ACCOUNT,
    _DEBIT,
    _CREDIT,
)


# --- shared checks ---------------------------------------------------------------------------------

class _Books:
    """What checking rows needs, read once: accounts (and those the workbook adds), journals."""

    def __init__(self, session: Session, context: ImportContext) -> None:
        self.session = session
        self.currency = current_organization(session).currency
        self.accounts: dict[str, tuple[bool, bool]] = {  # code → (heading, deprecated)
            a.code: (a.header, a.deprecated) for a in session.scalars(select(Account))}
        for record in context.incoming.get("accounts", ()):
            self.accounts.setdefault(str(record.key[0]), (bool(record["header"]), False))
        # The codes that take postings: any other code is looked at in account_problem.
        self.postable = {code for code, (heading, deprecated) in self.accounts.items() if not (heading or deprecated)}
        self.journals = set(session.scalars(select(Journal.code)))
        self.partners = set(session.scalars(select(Partner.code)))
        self.partners.update(str(record.key[0]) for record in context.incoming.get("partners", ()))
        self.journals.update(str(record.key[0]) for record in context.incoming.get("journals", ()))
        # Periods the workbook adds: their locks and closed years are applied after the entries.
        self.incoming_periods = [(row["start"], row["end"]) for record in context.incoming.get("fiscal_years", ())
                                 for row in record.rows]
        self._periods: dict[dt.date, ComptoirError | None] = {}
        # Every period with its year, in one query (a file's dates span many periods).
        self.stored_periods = [(period, year) for period, year in session.execute(
            select(Period, FiscalYear).join(FiscalYear, (FiscalYear.org_id == Period.org_id)
                                            & (FiscalYear.id == Period.fiscal_year_id)))]

    def period_problem(self, day: dt.date) -> ComptoirError | None:
        """What ``core.periods.open_period`` would refuse for ``day`` (none in a period the workbook adds)."""
        if day not in self._periods:
            found = next(((p, y) for p, y in self.stored_periods if p.start_date <= day <= p.end_date), None)
            if found is None:
                added = any(start <= day <= end for start, end in self.incoming_periods)
                self._periods[day] = None if added else NotFound(N_("No fiscal year covers %(date)s."),
                                                                 date=day.isoformat())
            elif found[1].is_closed:
                self._periods[day] = PeriodLocked(N_("The fiscal year %(year)s is closed."), year=found[1].name)
            elif found[0].locked:
                self._periods[day] = PeriodLocked(period=found[0].name)
            else:
                self._periods[day] = None
        return self._periods[day]

    def amount(self, record_row: Any, errors: list[FieldError]) -> Decimal | None:
        """The row's signed amount (debit positive), or None after recording the problem."""
        values = record_row.values
        debit, credit = values.get("debit"), values.get("credit")
        amount = (debit or _ZERO) - (credit or _ZERO)
        if amount == 0:
            errors.append(FieldError("debit", N_("A line needs a debit or a credit."), {}, record_row.number))
            return None
        for field, value in ("debit", debit), ("credit", credit):
            if value is not None and quantize(value, self.currency) != value:
                errors.append(FieldError(field, N_("%(value)s has more decimals than %(currency)s allows."),
                                         {"value": value, "currency": self.currency}, record_row.number))
                return None
        return amount

    def account_problem(self, code: str, number: int, errors: list[FieldError]) -> None:
        known = self.accounts.get(code)
        if known is None:
            errors.append(FieldError("account", N_("There is no account %(code)s."), {"code": code}, number))
        elif known[0]:
            errors.append(FieldError("account", N_("Account %(code)s is a heading and takes no postings."),
                                     {"code": code}, number))
        elif known[1]:
            errors.append(FieldError("account", N_("Account %(code)s is deprecated."), {"code": code}, number))


def _minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(digits(currency)))


def _unbalanced(record: Record, amounts: Sequence[Decimal], msgid: str, **params: Any) -> list[FieldError]:
    debit = sum((a for a in amounts if a > 0), Decimal(0))
    credit = -sum((a for a in amounts if a < 0), Decimal(0))
    return [FieldError("debit", msgid, {**params, "debit": debit, "credit": credit}, row.number)
            for row in record.rows]


def _existing_entries(session: Session, keys: Iterable[str], names: Iterable[str] = (),
                      days: Sequence[dt.date] = ()) -> Iterator[JournalEntry]:
    """Posted entries with one of ``keys`` or ``names`` (an entry may come twice). With ``days``,
    entries are found by name among those of the days' range (the date is indexed, not the name)."""
    keys, names = list(keys), list(names)
    if days and names:
        wanted = set(names)
        yield from (entry for entry in session.scalars(select(JournalEntry).where(
            JournalEntry.state == EntryState.POSTED, JournalEntry.date.between(min(days), max(days))))
            if entry.name in wanted)
        names = []
    for start in range(0, max(len(keys), len(names)), _CHUNK):
        chunk_keys, chunk_names = keys[start:start + _CHUNK], names[start:start + _CHUNK]
        conditions = [JournalEntry.idempotency_key.in_(chunk_keys)] if chunk_keys else []
        if chunk_names:
            conditions.append(JournalEntry.name.in_(chunk_names))
        if conditions:
            yield from session.scalars(select(JournalEntry).where(
                JournalEntry.state == EntryState.POSTED, or_(*conditions)))


def _signature(session: Session, entries: Sequence[JournalEntry]) -> dict[int, tuple[Any, ...]]:
    """Per entry id: its date, journal and sorted lines, to compare with what a file asks for."""
    if not entries:
        return {}
    codes = {a.id: a.code for a in session.scalars(select(Account))}
    journals = {j.id: j.code for j in session.scalars(select(Journal))}
    lines: dict[int, list[tuple[Any, ...]]] = {}
    ids = [e.id for e in entries]
    for start in range(0, len(ids), _CHUNK):
        for line in session.scalars(select(JournalLine).where(JournalLine.entry_id.in_(ids[start:start + _CHUNK]))):
            lines.setdefault(line.entry_id, []).append(
                (codes[line.account_id], line.amount, line.currency or "", line.amount_currency or 0))
    return {e.id: (e.date, journals[e.journal_id], tuple(sorted(lines.get(e.id, [])))) for e in entries}


# --- journal entries ---------------------------------------------------------------------------------

def _reference(record: Record) -> str:
    return str(record.key[0])


def _entry_signature(record: Record, currency: str) -> tuple[Any, ...]:
    lines = []
    for row in record.rows:
        amount, foreign_amount = _line_amounts(row.values)
        foreign = (row["currency"] or "").upper()
        lines.append((row["account"], _minor(amount, currency), foreign,
                      _minor(foreign_amount, foreign) if foreign and foreign_amount is not None else 0))
    return (record["date"], record["journal"], tuple(sorted(lines)))


def _already_posted(session: Session, records: Sequence[Record]) -> dict[str, JournalEntry]:
    """Entries already in the books, by the reference of the records that name them: imported
    under that reference, or exported under their own name (same date) from these books."""
    dates = {_reference(r): r.rows[0].values.get("date") for r in records}
    references = list(dates)  # a record per reference
    found: dict[str, JournalEntry] = {}
    for entry in _existing_entries(session, [IMPORT_KEY.format(reference=r) for r in references], references,
                                   [day for day in dates.values() if day is not None]):
        key = entry.idempotency_key or ""
        if key.startswith("import:") and key[len("import:"):] in dates:
            found[key[len("import:"):]] = entry
        elif entry.name in dates and dates[entry.name] == entry.date:
            found.setdefault(entry.name, entry)
    return found


class _Numbers:
    """The number and name each new entry will get, in file order: its journal's numbers in
    its fiscal year go on from the last one posted (numbering is gapless, so from the count).
    Journals and fiscal years the workbook adds count too."""

    def __init__(self, session: Session, context: ImportContext) -> None:
        journals = {j.id: j for j in session.scalars(select(Journal))}
        years = {y.id: y for y in session.scalars(select(FiscalYear))}
        self.patterns = {j.code: j.pattern for j in journals.values()}
        for record in context.incoming.get("journals", ()):
            self.patterns.setdefault(str(record.key[0]), record["pattern"] or _DEFAULT_PATTERN)
        self.years = [(y.start_date, y.end_date, y.name) for y in years.values()]
        for record in context.incoming.get("fiscal_years", ()):
            self.years.append((min(r["start"] for r in record.rows), max(r["end"] for r in record.rows),
                               str(record.key[0])))
        self.next: dict[tuple[str, str], int] = {
            (journals[journal_id].code, years[year_id].name): (last or 0) + 1
            for journal_id, year_id, last in session.execute(
                select(JournalEntry.journal_id, JournalEntry.fiscal_year_id, func.max(JournalEntry.number))
                .where(JournalEntry.state == EntryState.POSTED)
                .group_by(JournalEntry.journal_id, JournalEntry.fiscal_year_id))}

    def take(self, journal: str, day: dt.date) -> tuple[int, str] | None:
        year = next((name for start, end, name in self.years if start <= day <= end), None)
        if journal not in self.patterns or year is None:
            return None
        number = self.next.get((journal, year), 1)
        self.next[(journal, year)] = number + 1
        return number, self.patterns[journal].format(code=journal, year=year, number=number)


def _keeps_numbers(context: ImportContext) -> bool:
    return bool({"number", "external_id"} & context.columns)


# A closing's keys name its fiscal year by id (see closing.py); a file names it by its name, so
# that reopening the year in other books finds the entries to reverse.
_YEAR_KEY = re.compile(r"^(closing|opening):(\d+):(\d+)$")
_PORTABLE_YEAR_KEY = re.compile(r"^(closing|opening):year=(.+):(\d+)$")


def _portable_key(key: str, year_names: dict[int, str]) -> str:
    match = _YEAR_KEY.match(key)
    if match is None or int(match[2]) not in year_names:
        return key
    return f"{match[1]}:year={year_names[int(match[2])]}:{match[3]}"


def _local_key(key: str, year_ids: dict[str, int]) -> str:
    match = _PORTABLE_YEAR_KEY.match(key)
    if match is None or match[2] not in year_ids:
        return key
    return f"{match[1]}:{year_ids[match[2]]}:{match[3]}"


def _idempotency_key(record: Record, planned: tuple[int, str] | None, context: ImportContext,
                     year_ids: dict[str, int]) -> str | None:
    """The file's external id; none for an entry the file names by the very name it gets
    (a whole-book export: found again by name); else one made from the reference."""
    if record["external_id"]:
        return _local_key(str(record["external_id"]), year_ids)
    if "external_id" in context.columns and planned is not None and planned[1] == _reference(record):
        return None
    return IMPORT_KEY.format(reference=_reference(record))


def validate_entries(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    books = _Books(session, context)
    errors: list[FieldError] = []
    posted = _already_posted(session, records)
    context.notes["posted"] = set(posted)  # the write phase, in the same transaction, skips them
    signatures = _signature(session, list(posted.values()))
    numbers = _Numbers(session, context) if _keeps_numbers(context) else None
    earlier: set[str] = set()
    reversed_ones = {r["reversal_of"] for r in records if r["reversal_of"]} if "reversal_of" in context.columns \
        else set()
    in_books = _already_posted_references(session, reversed_ones - {_reference(r) for r in records}) \
        if reversed_ones else {}
    # What the file's columns make worth looking at, decided once rather than on every row.
    entry_fields = [f for f in _ENTRY_FIELDS if f in context.columns]
    with_partners = "partner" in context.columns
    with_foreign = bool({"currency", "amount_currency"} & context.columns)
    postable, partners = books.postable, books.partners
    for record in records:
        reference, rows = _reference(record), record.rows
        first = rows[0]
        head = first.values
        entry = posted.get(reference)
        earlier.add(reference)
        if entry is not None:  # checked when it was posted; its period may be closed since
            if signatures[entry.id] != _entry_signature(record, books.currency):
                errors.append(FieldError("reference", N_("Entry %(reference)s is already posted with other lines; a posted entry does not change: reverse it and import the correction under a new reference."),
                                         {"reference": reference}, first.number))
            continue
        day, journal = head.get("date"), head.get("journal")
        planned = numbers.take(journal, day) if numbers is not None else None
        if planned is not None and head.get("number") is not None and head.get("number") != planned[0]:
            errors.append(FieldError("number", N_("Entry %(reference)s is number %(number)s in the file; journal %(journal)s numbers it %(expected)s here (numbers follow each other without a gap). Empty the Number column to let the books number the entries."),
                                     {"reference": reference, "number": head.get("number"), "journal": journal,
                                      "expected": planned[0]}, first.number))
        target = head.get("reversal_of")
        if target and (target == reference or (target not in earlier and target not in in_books)):
            errors.append(FieldError("reversal_of", N_("There is no entry %(reference)s before this one to reverse."),
                                     {"reference": target}, first.number))
        for row in rows[1:]:
            # Date and journal on every line; the entry's other fields may be left empty after the first.
            values = row.values
            if values.get("date") != day:
                errors.append(_differs(record, "date", row))
            if values.get("journal") != journal:
                errors.append(_differs(record, "journal", row))
            for field in entry_fields:
                value = values.get(field)
                if value is not None and value != head.get(field):
                    errors.append(_differs(record, field, row))
        if journal not in books.journals:
            errors.append(FieldError("journal", N_("There is no journal %(code)s."), {"code": journal}, first.number))
        period = books.period_problem(day)
        if period is not None:
            errors.append(FieldError("date", period.msgid, period.params, first.number))
        if len(rows) < 2:
            errors.append(FieldError("reference", N_("Entry %(reference)s needs at least two lines."),
                                     {"reference": reference}, first.number))
        amounts = []
        for row in rows:
            values = row.values
            if values.get("account") not in postable:
                books.account_problem(values.get("account"), row.number, errors)
            if with_partners and values.get("partner") is not None and values.get("partner") not in partners:
                errors.append(FieldError("partner", N_("There is no partner %(code)s."), {"code": values.get("partner")},
                                         row.number))
            amount = books.amount(row, errors)
            if amount is not None:
                amounts.append(amount)
            if with_foreign:
                errors.extend(_foreign_problems(row, books.currency))
        if len(amounts) == len(rows) and sum(amounts) != 0:
            errors.extend(_unbalanced(record, amounts, N_("Entry %(reference)s is not balanced: debits %(debit)s, credits %(credit)s."),
                                      reference=reference))
    return errors


def _differs(record: Record, field: str, row: Row) -> FieldError:
    first = record.first
    return FieldError(field, N_("The lines of entry %(reference)s differ in %(field)s (row %(first)s has %(value)s)."),
                      {"reference": _reference(record), "field": field, "first": first.number, "value": first[field]},
                      row.number)


def _foreign_problems(row: Any, currency: str) -> list[FieldError]:
    foreign, amount = row["currency"], row["amount_currency"]
    if foreign is None and amount is None:
        return []
    if foreign is None or amount is None:
        field = "currency" if foreign is None else "amount_currency"
        return [FieldError(field, N_("A foreign amount needs both a currency and an amount."), {}, row.number)]
    if not is_known_currency(foreign):
        return [FieldError("currency", N_("%(currency)s is not a currency code."), {"currency": foreign}, row.number)]
    if foreign.upper() == currency:
        return [FieldError("currency", N_("%(currency)s is the organization's own currency."),
                           {"currency": foreign}, row.number)]
    if quantize(amount, foreign) != amount:
        return [FieldError("amount_currency", N_("%(value)s has more decimals than %(currency)s allows."),
                           {"value": amount, "currency": foreign.upper()}, row.number)]
    return []


def _line_amounts(values: Mapping[str, Any]) -> tuple[Decimal, Decimal | None]:
    """A row's signed amount and foreign amount, from its values: like debit and credit, the
    foreign amount is written positive and takes the sign of its line."""
    amount = (values.get("debit") or _ZERO) - (values.get("credit") or _ZERO)
    foreign = values.get("amount_currency")
    if foreign is not None:
        foreign = abs(foreign) if amount >= 0 else -abs(foreign)
    return amount, foreign


def _entry_input(record: Record, context: ImportContext, key: str | None, reversal_of_id: int | None = None,
                 partners: dict[str, int] | None = None) -> EntryInput:
    partners = partners or {}
    lines = []
    for row in record.rows:
        values = row.values
        amount, foreign = _line_amounts(values)
        currency, partner = values.get("currency"), values.get("partner")
        lines.append(LineInput(values.get("account"), amount, values.get("label") or "",
                               currency.upper() if currency else None, foreign,
                               partners[partner] if partner is not None else None))
    head = record.rows[0].values
    if "entry_label" in context.columns:
        label = head.get("entry_label") or ""
    else:
        label = lines[0].label or next((line.label for line in lines if line.label), "")
    document = (head.get("document") or "") if "document" in context.columns else _reference(record)
    return EntryInput(head.get("journal"), head.get("date"), lines, label=label, reference=document[:64],
                      idempotency_key=key, reversal_of_id=reversal_of_id)


def _post(session: Session, records: Sequence[Record], entries: Sequence[EntryInput]) -> list[int]:
    """Post through the ledger service; its problems point back at the rows they come from."""
    return post_entries_from(session, entries, [record.rows for record in records], lambda row: row.number,
                             lambda field: _SERVICE_FIELDS.get(field or "", None))


def _already_posted_references(session: Session, references: Iterable[str]) -> dict[str, int]:
    """Entry ids by the reference an export gives them (import reference or entry name)."""
    wanted = set(references)
    found = {}
    for entry in _existing_entries(session, [IMPORT_KEY.format(reference=r) for r in wanted], wanted):
        key = entry.idempotency_key or ""
        found[key[len("import:"):] if key.startswith("import:") and key[len("import:"):] in wanted
              else entry.name or ""] = entry.id
    return found


def _check_numbers(session: Session, records: Sequence[Record], ids: dict[str, int]) -> None:
    """The numbers the ledger gave are those the file asks for (as checked, unless another
    posting came in between: then nothing is imported, and importing again says why)."""
    wanted = {ids[_reference(r)]: r for r in records if r["number"] is not None}
    keys = list(wanted)
    for start in range(0, len(keys), _CHUNK):
        for entry_id, number in session.execute(select(JournalEntry.id, JournalEntry.number)
                                                .where(JournalEntry.id.in_(keys[start:start + _CHUNK]))):
            record = wanted[entry_id]
            if number != record["number"]:
                raise ValidationError(FieldError("number", N_("Entry %(reference)s is number %(number)s in the file; journal %(journal)s numbers it %(expected)s here (numbers follow each other without a gap). Empty the Number column to let the books number the entries."),
                                                 {"reference": _reference(record), "number": record["number"],
                                                  "journal": record["journal"], "expected": number},
                                                 record.first.number))


def write_entries(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    """Post the new entries in file order, in batches of ``_POST_BATCH`` entries at most (the
    ledger builds a batch's rows in memory) and cut before a reversal of an entry of the same
    batch (a reversal needs the id of the entry it reverses). All in the import's transaction:
    a problem in any batch and nothing is written."""
    posted = context.notes["posted"] if "posted" in context.notes else _already_posted(session, records)
    new = [(reference, r) for r in records if (reference := _reference(r)) not in posted]
    numbers = _Numbers(session, context) if _keeps_numbers(context) else None
    year_ids = {name: year_id for year_id, name in session.execute(select(FiscalYear.id, FiscalYear.name))}
    partners = dict(session.execute(select(Partner.code, Partner.id)).all())
    targets = {r["reversal_of"] for _key, r in new if r["reversal_of"]}
    ids = _already_posted_references(session, targets - {reference for reference, _r in new}) if targets else {}
    batch: list[Record] = []
    inputs: list[EntryInput] = []

    def flush() -> None:
        if batch:
            for record, entry_id in zip(batch, _post(session, batch, inputs), strict=True):
                ids[_reference(record)] = entry_id
            if "number" in context.columns:  # else no row has a number to hold the ledger to
                _check_numbers(session, batch, ids)
            batch.clear()
            inputs.clear()

    pending: set[str] = set()
    for reference, record in new:
        head = record.rows[0].values
        target = head.get("reversal_of")
        if (target and target in pending) or len(batch) == _POST_BATCH:
            flush()
            pending.clear()
        planned = numbers.take(head.get("journal"), head.get("date")) if numbers is not None else None
        reversal_of_id = ids.get(target) if target else None
        batch.append(record)
        inputs.append(_entry_input(record, context, _idempotency_key(record, planned, context, year_ids),
                                   reversal_of_id, partners))
        pending.add(reference)
    flush()
    return ImportCounts(created=len(new), unchanged=len(records) - len(new))


def export_entries(session: Session) -> Iterator[dict[str, Any]]:
    """Every posted entry in posting order, one row per line; an imported entry keeps its
    reference, any other is named by its entry name (so the file imports back into these
    books as unchanged). Number, entry label, document, external id and reversal make the
    file import into empty books as the same entries, numbered the same."""
    currency = current_organization(session).currency
    scale = -digits(currency)
    codes = {a.id: a.code for a in session.scalars(select(Account))}
    journals = {j.id: j.code for j in session.scalars(select(Journal))}
    year_names = {year_id: name for year_id, name in session.execute(select(FiscalYear.id, FiscalYear.name))}
    reversed_ids = set(session.scalars(select(JournalEntry.reversal_of_id).where(JournalEntry.reversal_of_id.is_not(None))))
    partners = dict(session.execute(select(Partner.id, Partner.code)).all())
    references: dict[int, str] = {}
    query = (select(JournalEntry.id, JournalEntry.idempotency_key, JournalEntry.name, JournalEntry.date,
                    JournalEntry.journal_id, JournalEntry.number, JournalEntry.label, JournalEntry.reference,
                    JournalEntry.reversal_of_id, JournalLine.account_id, JournalLine.label, JournalLine.amount,
                    JournalLine.currency, JournalLine.amount_currency, JournalLine.partner_id)
             .join(JournalLine, (JournalLine.org_id == JournalEntry.org_id) & (JournalLine.entry_id == JournalEntry.id))
             .where(JournalEntry.state == EntryState.POSTED)
             .order_by(JournalEntry.chain_index, JournalLine.line_no))
    last_id, entry_fields = None, {}
    for (entry_id, key, name, day, journal_id, number, entry_label, document, reversal_of_id, account_id, label,
         minor, foreign, minor_foreign, partner_id) in session.execute(query).yield_per(5000):
        if entry_id != last_id:
            key = key or ""
            reference = key[len("import:"):] if key.startswith("import:") and not key.startswith("import:opening:") \
                else name
            if entry_id in reversed_ids:
                references[entry_id] = reference
            entry_fields = {"reference": reference, "date": day, "journal": journals[journal_id], "number": number,
                            "entry_label": entry_label or None, "document": document or None,
                            "external_id": _portable_key(key, year_names)
                            if key and key != IMPORT_KEY.format(reference=reference) else None,
                            "reversal_of": references.get(reversal_of_id) if reversal_of_id else None}
            last_id = entry_id
        amount = Decimal(minor).scaleb(scale)
        yield {**entry_fields, "account": codes[account_id], "label": label or None,
               "debit": amount if amount > 0 else None, "credit": -amount if amount < 0 else None,
               "currency": foreign,
               "amount_currency": abs(Decimal(minor_foreign).scaleb(-digits(foreign)))
               if foreign and minor_foreign is not None else None,
               "partner": partners[partner_id] if partner_id is not None else None}


# --- opening balances ---------------------------------------------------------------------------------

def _opening_signature(record: Record, currency: str) -> tuple[Any, ...]:
    totals: Counter[str] = Counter()
    for row in record.rows:
        totals[row["account"]] += _minor((row["debit"] or Decimal(0)) - (row["credit"] or Decimal(0)), currency)
    return tuple(sorted((code, amount, "", 0) for code, amount in totals.items() if amount))


def _openings(session: Session, records: Sequence[Record]) -> dict[dt.date, JournalEntry]:
    keys = {OPENING_KEY.format(date=r.key[0].isoformat()): r.key[0] for r in records}
    return {keys[e.idempotency_key]: e for e in _existing_entries(session, keys) if e.idempotency_key in keys}


def validate_openings(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    books = _Books(session, context)
    errors: list[FieldError] = []
    posted = _openings(session, records)
    signatures = _signature(session, list(posted.values()))
    for record in records:
        day = record.key[0]
        entry = posted.get(day)
        if entry is not None:
            if signatures[entry.id][2] != _opening_signature(record, books.currency):
                errors.append(FieldError("date", N_("Opening balances at %(date)s are already posted with other amounts: reverse that entry first."),
                                         {"date": day.isoformat()}, record.first.number))
            continue
        period = books.period_problem(day)
        if period is not None:
            errors.append(FieldError("date", period.msgid, period.params, record.first.number))
        seen: dict[str, int] = {}
        amounts = []
        for row in record.rows:
            books.account_problem(row["account"], row.number, errors)
            if row["account"] in seen:
                errors.append(FieldError("account", N_("Account %(code)s is already on row %(first)s."),
                                         {"code": row["account"], "first": seen[row["account"]]}, row.number))
            seen.setdefault(row["account"], row.number)
            amount = books.amount(row, errors)
            if amount is not None:
                amounts.append(amount)
        if len(amounts) == len(record.rows) and sum(amounts) != 0:
            errors.extend(_unbalanced(record, amounts, N_("The opening balances at %(date)s are not balanced: debits %(debit)s, credits %(credit)s."),
                                      date=day.isoformat()))
    return errors


def write_openings(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    posted = _openings(session, records)
    created = 0
    for record in records:
        day = record.key[0]
        if day in posted:
            continue
        balances = [(row["account"], (row["debit"] or Decimal(0)) - (row["credit"] or Decimal(0))) for row in record.rows]
        try:
            post_opening_balances(session, day, balances, idempotency_key=OPENING_KEY.format(date=day.isoformat()))
        except ValidationError as error:
            raise ValidationError([FieldError(_SERVICE_FIELDS.get(e.field or "", None), e.msgid, e.params,
                                              record.first.number) for e in error.errors]) from None
        created += 1
    return ImportCounts(created=created, unchanged=len(records) - created)


# --- journals ------------------------------------------------------------------------------------------

JOURNAL_COLUMNS = (
    Column("code", N_("Code"), ColumnType.CODE, required=True, example="SAL",
           aliases={"en": ("Journal",), "fr": ("Code", "Code journal"), "es": ("Código",), "fa": ("کد",)}),
    Column("name", N_("Name"), ColumnType.TEXT, required=True, example="Sales",
           aliases={"fr": ("Nom", "Libellé"), "es": ("Nombre",), "fa": ("نام",)}),
    Column("kind", N_("Kind"), ColumnType.CHOICE, required=True, example=JournalKind.SALES,
           choices=tuple(Choice(kind, label) for kind, label in (
               (JournalKind.SALES, N_("Sales")), (JournalKind.PURCHASES, N_("Purchases")),
               (JournalKind.BANK, N_("Bank")), (JournalKind.CASH, N_("Cash")),
               (JournalKind.MISC, N_("Miscellaneous operations")), (JournalKind.OPENING, N_("Opening entries")),
               (JournalKind.CLOSING, N_("Closing entries")))),
           aliases={"fr": ("Type",), "es": ("Tipo",), "fa": ("نوع",)}),
    Column("pattern", N_("Entry names"), ColumnType.TEXT, example="{code}/{year}/{number:05d}",
           aliases={"en": ("Pattern",), "fr": ("Modèle de nom",), "es": ("Modelo de nombre",), "fa": ("الگوی نام",)}),
    Column("active", N_("Active"), ColumnType.BOOLEAN, example=True,
           aliases={"fr": ("Actif",), "es": ("Activo",), "fa": ("فعال",)}),
)


def _journal_wanted(record: Record, context: ImportContext) -> dict[str, Any]:
    wanted = {"name": record["name"], "kind": record["kind"],
              "pattern": record["pattern"] or _DEFAULT_PATTERN,
              "active": True if record["active"] is None else bool(record["active"])}
    return {k: v for k, v in wanted.items() if k in context.columns or k in ("name", "kind")}


def validate_journals(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    errors = []
    for record in records:
        pattern = record["pattern"]
        if pattern:
            try:
                pattern.format(code="X", year="2026", number=1)
            except (KeyError, IndexError, ValueError):
                errors.append(FieldError("pattern", N_("%(value)s is not an entry name pattern: use {code}, {year} and {number}, e.g. {code}/{year}/{number:05d}."),
                                         {"value": pattern}, record.first.number))
        if len(str(record.key[0])) > 16:
            errors.append(FieldError("code", N_("A journal code has at most 16 characters."), {}, record.first.number))
    return errors


def write_journals(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    from plugins.accounting.fec import create_journal

    existing = {j.code: j for j in session.scalars(select(Journal))}
    created = updated = 0
    for record in records:
        wanted = _journal_wanted(record, context)
        journal = existing.get(str(record.key[0]))
        if journal is None:
            journal = create_journal(session, str(record.key[0]), wanted["name"], wanted["kind"])
            created += 1
        elif not context.update or all(getattr(journal, k) == v for k, v in wanted.items()):
            continue
        else:
            updated += 1
        for field, value in wanted.items():
            setattr(journal, field, value)
    session.flush()
    return ImportCounts(created=created, updated=updated, unchanged=len(records) - created - updated)


def export_journals(session: Session) -> Iterator[dict[str, Any]]:
    for journal in session.scalars(select(Journal).order_by(Journal.code)):
        yield {"code": journal.code, "name": journal.name, "kind": journal.kind, "pattern": journal.pattern,
               "active": journal.active}


JOURNALS = Schema(
    name="journals", sheet=N_("Journals"), label=N_("Journals"), columns=JOURNAL_COLUMNS, key=("code",),
    validate=validate_journals, write=write_journals, export=export_journals, order=30,
    aliases={"fr": ("Journaux",), "es": ("Diarios",), "fa": ("دفترها", "دفاتر روزنامه")},
)


# --- exchange rates ------------------------------------------------------------------------------------

RATE_COLUMNS = (
    Column("currency", N_("Currency"), ColumnType.CODE, required=True, example="USD",
           aliases={"fr": ("Devise",), "es": ("Moneda", "Divisa"), "fa": ("ارز",)}),
    Column("date", N_("Date"), ColumnType.DATE, required=True, example=dt.date(2026, 1, 15),
           aliases={"fr": ("Date",), "es": ("Fecha",), "fa": ("تاریخ",)}),
    Column("rate", N_("Rate"), ColumnType.DECIMAL, required=True, example=Decimal("0.9132"),
           aliases={"en": ("Exchange rate",), "fr": ("Taux", "Cours"), "es": ("Tipo de cambio", "Tasa"),
                    "fa": ("نرخ", "نرخ ارز")}),
    Column("source", N_("Source"), ColumnType.TEXT, example="manual",
           aliases={"fr": ("Source",), "es": ("Fuente",), "fa": ("منبع",)}),
)
RATE_SOURCE = "excel"


def _rate_key(record: Record) -> tuple[str, dt.date]:
    return str(record["currency"]).upper(), record["date"]


def validate_rates(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    from plugins.accounting.rates import RATE_TEXT_LENGTH, exact_rate, rate_text

    base = current_organization(session).currency
    errors = []
    seen: dict[tuple[str, dt.date], int] = {}
    for record in records:
        currency, number = _rate_key(record)[0], record.first.number
        if not is_known_currency(currency):
            errors.append(FieldError("currency", N_("%(currency)s is not a currency code."), {"currency": currency}, number))
        elif currency == base:
            errors.append(FieldError("currency", N_("%(currency)s is the organization's own currency."),
                                     {"currency": currency}, number))
        if record["rate"] <= 0 or len(rate_text(exact_rate(record["rate"]))) > RATE_TEXT_LENGTH:
            errors.append(FieldError("rate", N_("%(value)s is not a rate (an exact positive decimal)."),
                                     {"value": record["rate"]}, number))
        if _rate_key(record) in seen:  # 0.5 and 0.50 are one key once upper-cased and typed
            errors.append(FieldError("currency", N_("The same %(key)s is already on row %(first)s."),
                                     {"key": f"{currency} / {record['date']}", "first": seen[_rate_key(record)]}, number))
        seen.setdefault(_rate_key(record), number)
    return errors


def write_rates(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    """Through the rates service, one call per source; without ``--update`` a stored rate stays."""
    from plugins.accounting.models import ExchangeRate
    from plugins.accounting.rates import Rate, import_rates

    stored = {(currency, day) for currency, day in session.execute(select(ExchangeRate.currency, ExchangeRate.date))}
    by_source: dict[str, list[Rate]] = {}
    for record in records:
        if context.update or _rate_key(record) not in stored:
            by_source.setdefault(record["source"] or RATE_SOURCE, []).append(
                Rate(record["date"], _rate_key(record)[0], record["rate"]))
    created = updated = 0
    for source, rates in by_source.items():
        done = import_rates(session, rates, source=source)
        created, updated = created + done.added, updated + done.updated
    return ImportCounts(created=created, updated=updated, unchanged=len(records) - created - updated)


def export_rates(session: Session) -> Iterator[dict[str, Any]]:
    from plugins.accounting.models import ExchangeRate

    for rate in session.scalars(select(ExchangeRate).order_by(ExchangeRate.currency, ExchangeRate.date)):
        yield {"currency": rate.currency, "date": rate.date, "rate": Decimal(rate.rate), "source": rate.source}


EXCHANGE_RATES = Schema(
    name="exchange_rates", sheet=N_("Exchange rates"), label=N_("Exchange rates by currency and date"),
    columns=RATE_COLUMNS, key=("currency", "date"), validate=validate_rates, write=write_rates, export=export_rates,
    order=40, aliases={"en": ("Rates",), "fr": ("Taux de change", "Cours des devises"), "es": ("Tipos de cambio",),
                       "fa": ("نرخ ارز", "نرخ‌های ارز")},
)


JOURNAL_ENTRIES = Schema(
    name="journal_entries", sheet=N_("Journal entries"), label=N_("Journal entries, one line per row"),
    columns=ENTRY_COLUMNS, key=("reference",), group_by="reference",
    validate=validate_entries, write=write_entries, export=export_entries, order=200,
    after=("accounts", "fiscal_years", "journals", "exchange_rates", "opening_balances", "partners"),
    aliases={"en": ("Entries", "General journal"), "fr": ("Écritures", "Écritures comptables"),
             "es": ("Asientos", "Libro diario"), "fa": ("اسناد", "اسناد حسابداری")},
)

OPENING_BALANCES = Schema(
    name="opening_balances", sheet=N_("Opening balances"), label=N_("Opening balances at a date"),
    columns=OPENING_COLUMNS, key=("date",), group_by="date",
    validate=validate_openings, write=write_openings, order=150, after=("accounts", "fiscal_years", "journals"),
    aliases={"en": ("Opening",), "fr": ("Soldes d'ouverture", "À-nouveaux"),
             "es": ("Saldos iniciales", "Saldos de apertura"), "fa": ("مانده‌های افتتاحیه", "تراز افتتاحیه")},
)


def excel_schemas() -> list[Schema]:
    return [JOURNALS, EXCHANGE_RATES, OPENING_BALANCES, JOURNAL_ENTRIES]

