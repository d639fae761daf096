"""Accounting's sheets: journal entries (one entry per reference) and opening balances.

Both post through the ledger service with an idempotency key, so importing a file again
posts nothing. Posted entries never change: a row that differs from the entry already
imported under its reference is an error (reverse the entry and import the correction
under a new reference), with or without ``--update``.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.chart import Account
from core.errors import ComptoirError, FieldError, ValidationError
from core.excel.schema import Column, ColumnType, ImportContext, ImportCounts, Record, Schema
from core.i18n import N_
from core.money import digits, is_known_currency, quantize
from core.periods import open_period
from core.tenancy import current_organization
from plugins.accounting.closing import post_opening_balances
from plugins.accounting.models import EntryState, Journal, JournalEntry, JournalLine
from plugins.accounting.services import EntryInput, LineInput, post_entries_from

IMPORT_KEY = "import:{reference}"
OPENING_KEY = "import:opening:{date}"
_CHUNK = 500
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
        self.journals = set(session.scalars(select(Journal.code)))
        self._periods: dict[dt.date, ComptoirError | None] = {}

    def period_problem(self, day: dt.date) -> ComptoirError | None:
        if day not in self._periods:
            try:
                open_period(self.session, day)
                self._periods[day] = None
            except ComptoirError as error:
                self._periods[day] = error
        return self._periods[day]

    def amount(self, record_row: Any, errors: list[FieldError]) -> Decimal | None:
        """The row's signed amount (debit positive), or None after recording the problem."""
        debit, credit = record_row["debit"], record_row["credit"]
        amount = (debit or Decimal(0)) - (credit or Decimal(0))
        if amount == 0:
            errors.append(FieldError("debit", N_("A line needs a debit or a credit."), {}, record_row.number))
            return None
        for field, value in (("debit", debit), ("credit", credit)):
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


def _existing_entries(session: Session, keys: Iterable[str], names: Iterable[str] = ()) -> Iterator[JournalEntry]:
    keys, names = list(keys), list(names)
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
        amount, foreign_amount = _line_amounts(row)
        foreign = (row["currency"] or "").upper()
        lines.append((row["account"], _minor(amount, currency), foreign,
                      _minor(foreign_amount, foreign) if foreign and foreign_amount is not None else 0))
    return (record["date"], record["journal"], tuple(sorted(lines)))


def _already_posted(session: Session, records: Sequence[Record]) -> dict[str, JournalEntry]:
    """Entries already in the books, by the reference of the records that name them: imported
    under that reference, or exported under their own name (same date) from these books."""
    references = [_reference(r) for r in records]
    dates = {_reference(r): r["date"] for r in records}
    found: dict[str, JournalEntry] = {}
    for entry in _existing_entries(session, [IMPORT_KEY.format(reference=r) for r in references], references):
        key = entry.idempotency_key or ""
        if key.startswith("import:") and key[len("import:"):] in dates:
            found[key[len("import:"):]] = entry
        elif entry.name in dates and dates[entry.name] == entry.date:
            found.setdefault(entry.name, entry)
    return found


def validate_entries(session: Session, records: Sequence[Record], context: ImportContext) -> list[FieldError]:
    books = _Books(session, context)
    errors: list[FieldError] = []
    posted = _already_posted(session, records)
    signatures = _signature(session, list(posted.values()))
    for record in records:
        reference, first = _reference(record), record.first
        entry = posted.get(reference)
        if entry is not None:  # checked when it was posted; its period may be closed since
            if signatures[entry.id] != _entry_signature(record, books.currency):
                errors.append(FieldError("reference", N_("Entry %(reference)s is already posted with other lines; a posted entry does not change: reverse it and import the correction under a new reference."),
                                         {"reference": reference}, first.number))
            continue
        for row in record.rows[1:]:
            for field in ("date", "journal"):
                if row[field] != first[field]:
                    errors.append(FieldError(field, N_("The lines of entry %(reference)s differ in %(field)s (row %(first)s has %(value)s)."),
                                             {"reference": reference, "field": field, "first": first.number,
                                              "value": first[field]}, row.number))
        if first["journal"] not in books.journals:
            errors.append(FieldError("journal", N_("There is no journal %(code)s."), {"code": first["journal"]}, first.number))
        period = books.period_problem(first["date"])
        if period is not None:
            errors.append(FieldError("date", period.msgid, period.params, first.number))
        if len(record.rows) < 2:
            errors.append(FieldError("reference", N_("Entry %(reference)s needs at least two lines."),
                                     {"reference": reference}, first.number))
        amounts = []
        for row in record.rows:
            books.account_problem(row["account"], row.number, errors)
            amount = books.amount(row, errors)
            if amount is not None:
                amounts.append(amount)
            errors.extend(_foreign_problems(row, books.currency))
        if len(amounts) == len(record.rows) and sum(amounts) != 0:
            errors.extend(_unbalanced(record, amounts, N_("Entry %(reference)s is not balanced: debits %(debit)s, credits %(credit)s."),
                                      reference=reference))
    return errors


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


def _line_amounts(row: Any) -> tuple[Decimal, Decimal | None]:
    """The row's signed amount and foreign amount: like debit and credit, the foreign amount is
    written positive and takes the sign of its line."""
    amount = (row["debit"] or Decimal(0)) - (row["credit"] or Decimal(0))
    foreign = row["amount_currency"]
    if foreign is not None:
        foreign = abs(foreign) if amount >= 0 else -abs(foreign)
    return amount, foreign


def _line_input(row: Any) -> LineInput:
    amount, foreign = _line_amounts(row)
    return LineInput(row["account"], amount, row["label"] or "", row["currency"].upper() if row["currency"] else None,
                     foreign)


def _entry_input(record: Record) -> EntryInput:
    lines = [_line_input(row) for row in record.rows]
    return EntryInput(record["journal"], record["date"], lines, label=next((r["label"] for r in record.rows if r["label"]), ""),
                      reference=_reference(record)[:64], idempotency_key=IMPORT_KEY.format(reference=_reference(record)))


def _post(session: Session, records: Sequence[Record], entries: Sequence[EntryInput]) -> None:
    """Post through the ledger service; its problems point back at the rows they come from."""
    post_entries_from(session, entries, [record.rows for record in records], lambda row: row.number,
                      lambda field: _SERVICE_FIELDS.get(field or "", None))


def write_entries(session: Session, records: Sequence[Record], context: ImportContext) -> ImportCounts:
    posted = _already_posted(session, records)
    new = [r for r in records if _reference(r) not in posted]
    if new:
        _post(session, new, [_entry_input(r) for r in new])
    return ImportCounts(created=len(new), unchanged=len(records) - len(new))


def export_entries(session: Session) -> Iterator[dict[str, Any]]:
    """Every posted entry, one row per line; an imported entry keeps its reference, any other
    is named by its entry name (so the file imports back into these books as unchanged)."""
    currency = current_organization(session).currency
    scale = -digits(currency)
    codes = {a.id: a.code for a in session.scalars(select(Account))}
    journals = {j.id: j.code for j in session.scalars(select(Journal))}
    query = (select(JournalEntry, JournalLine)
             .join(JournalLine, (JournalLine.org_id == JournalEntry.org_id) & (JournalLine.entry_id == JournalEntry.id))
             .where(JournalEntry.state == EntryState.POSTED)
             .order_by(JournalEntry.date, JournalEntry.chain_index, JournalLine.line_no))
    for entry, line in session.execute(query).yield_per(2000):
        key = entry.idempotency_key or ""
        reference = key[len("import:"):] if key.startswith("import:") and not key.startswith("import:opening:") \
            else entry.name
        amount = Decimal(line.amount).scaleb(scale)
        yield {"reference": reference, "date": entry.date, "journal": journals[entry.journal_id],
               "account": codes[line.account_id], "label": line.label or entry.label,
               "debit": amount if amount > 0 else None, "credit": -amount if amount < 0 else None,
               "currency": line.currency,
               "amount_currency": abs(Decimal(line.amount_currency).scaleb(-digits(line.currency)))
               if line.currency and line.amount_currency is not None else None}


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


JOURNAL_ENTRIES = Schema(
    name="journal_entries", sheet=N_("Journal entries"), label=N_("Journal entries, one line per row"),
    columns=ENTRY_COLUMNS, key=("reference",), group_by="reference",
    validate=validate_entries, write=write_entries, export=export_entries, order=200,
    aliases={"en": ("Entries", "General journal"), "fr": ("Écritures", "Écritures comptables"),
             "es": ("Asientos", "Libro diario"), "fa": ("اسناد", "اسناد حسابداری")},
)

OPENING_BALANCES = Schema(
    name="opening_balances", sheet=N_("Opening balances"), label=N_("Opening balances at a date"),
    columns=OPENING_COLUMNS, key=("date",), group_by="date",
    validate=validate_openings, write=write_openings, order=150,
    aliases={"en": ("Opening",), "fr": ("Soldes d'ouverture", "À-nouveaux"),
             "es": ("Saldos iniciales", "Saldos de apertura"), "fa": ("مانده‌های افتتاحیه", "تراز افتتاحیه")},
)


def excel_schemas() -> list[Schema]:
    return [OPENING_BALANCES, JOURNAL_ENTRIES]

