"""The ledger service: the only writer of journal entries. Other plugins post through it.

Posting checks everything first (balance, accounts, periods), collecting every problem,
then writes in the caller's transaction: numbers taken gaplessly per journal × fiscal
year, entries chained by hash per organization, balances per account × period updated.
"""
from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import secrets
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from moneyed import Money
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core import numbering
from core.numbering import SequenceCounter
from core.chart import Account
from core.db import TenantStatement, allocate_ids, require_tenant, utcnow
from core.errors import Conflict, FieldError, NotFound, ValidationError
from core.i18n import N_, translate
from core.money import digits, is_known_currency
from core.periods import FiscalYear, Period
from core.tenancy import current_organization
from plugins.accounting.models import (
    AccountBalance,
    EntryState,
    Journal,
    JournalEntry,
    JournalKind,
    JournalLine,
)

CHAIN = "ledger:chain"

DEFAULT_JOURNALS = [
    ("SAL", N_("Sales"), JournalKind.SALES),
    ("PUR", N_("Purchases"), JournalKind.PURCHASES),
    ("BNK", N_("Bank"), JournalKind.BANK),
    ("CSH", N_("Cash"), JournalKind.CASH),
    ("MISC", N_("Miscellaneous operations"), JournalKind.MISC),
    ("OPEN", N_("Opening entries"), JournalKind.OPENING),
    ("CLOSE", N_("Closing entries"), JournalKind.CLOSING),
]


# --- inputs ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LineInput:
    """One line to post: ``amount`` in the organization's currency, debit > 0, credit < 0."""

    account: str  # account code
    amount: Money | Decimal
    label: str = ""
    currency: str | None = None  # a foreign currency, with ``amount_currency`` in it
    amount_currency: Decimal | None = None
    partner_id: int | None = None


@dataclass(frozen=True, slots=True)
class EntryInput:
    journal: str  # journal code
    date: dt.date
    lines: Sequence[LineInput]
    label: str = ""
    reference: str = ""
    idempotency_key: str | None = None
    reversal_of_id: int | None = None  # set by reverse_entry


def debit(account: str, amount: Decimal | str | int, label: str = "", **extra: Any) -> LineInput:
    return LineInput(account, Decimal(str(amount)), label, **extra)


def credit(account: str, amount: Decimal | str | int, label: str = "", **extra: Any) -> LineInput:
    """A credit line; a foreign ``amount_currency`` given as a positive figure is credited too."""
    if extra.get("amount_currency") is not None:
        extra["amount_currency"] = -abs(Decimal(str(extra["amount_currency"])))
    return LineInput(account, -Decimal(str(amount)), label, **extra)


@dataclass
class _Prepared:
    """An entry checked and turned into rows, before numbers and hashes are given."""

    input: EntryInput
    journal: _JournalInfo
    period: _PeriodInfo
    fiscal_year: _YearInfo
    lines: list[dict[str, Any]] = field(default_factory=list)
    entry_id: int = 0
    draft_id: int | None = None  # posting a stored draft keeps its id


# --- journals ----------------------------------------------------------------------------------

def create_default_journals(session: Session, locale: str) -> None:
    session.add_all(Journal(code=code, name=translate(name, locale), kind=kind)
                    for code, name, kind in DEFAULT_JOURNALS)
    session.flush()


def get_journal(session: Session, code: str) -> Journal:
    journal = session.scalars(select(Journal).where(Journal.code == code)).one_or_none()
    if journal is None:
        raise NotFound(N_("There is no journal %(code)s."), code=code)
    return journal


def list_journals(session: Session) -> list[Journal]:
    return list(session.scalars(select(Journal).order_by(Journal.code)))


# --- checking -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _AccountInfo:
    id: int
    code: str
    header: bool
    deprecated: bool
    currency: str | None


@dataclass(frozen=True)
class _JournalInfo:
    id: int
    code: str
    pattern: str


@dataclass(frozen=True)
class _YearInfo:
    id: int
    name: str
    is_closed: bool


@dataclass(frozen=True)
class _PeriodInfo:
    id: int
    fiscal_year_id: int
    name: str
    start_date: dt.date
    end_date: dt.date
    locked: bool


@dataclass(frozen=True)
class _Books:
    """What posting checks against, for one organization: read once per settings stamp."""

    stamp: int
    currency: str
    accounts: dict[str, _AccountInfo]
    journals: dict[str, _JournalInfo]
    years: dict[int, _YearInfo]
    periods: tuple[_PeriodInfo, ...]  # by start date
    plain: dict[str, int]  # code → id of the accounts open to postings in the books' currency


# The counter row that database triggers give a new random value whenever an account, a
# journal, a period or a fiscal year of the organization changes (migration 0003), by any
# process: a cached _Books is used only while its stamp is still the one in the database,
# read in the posting transaction.
SETTINGS_STAMP = "ledger:settings"
_STAMP = TenantStatement(
    select(SequenceCounter.next_value).where(SequenceCounter.name == SETTINGS_STAMP, SequenceCounter.scope == ""))
_NEW_STAMP = {
    dialect: TenantStatement(make(SequenceCounter).on_conflict_do_nothing(index_elements=["org_id", "name", "scope"]))
    for dialect, make in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
_BOOKS: weakref.WeakKeyDictionary[Any, dict[int, _Books]] = weakref.WeakKeyDictionary()
_BOOKS_LOCK = threading.Lock()


def _settings_stamp(session: Session) -> int:
    rows = _STAMP.execute(session)
    if rows:
        return int(rows[0][0])
    # First posting of the organization: a random stamp, never one a cache could hold.
    _NEW_STAMP[session.connection().dialect.name].execute(session, {
        "id": allocate_ids(session, 1)[0], "name": SETTINGS_STAMP, "scope": "",
        "next_value": secrets.randbits(62)})
    return int(_STAMP.execute(session)[0][0])


def _load_books(session: Session, stamp: int) -> _Books:
    currency = current_organization(session).currency
    accounts = {a.code: _AccountInfo(a.id, a.code, a.header, a.deprecated, a.currency)
                for a in session.scalars(select(Account))}
    journals = {j.code: _JournalInfo(j.id, j.code, j.pattern) for j in session.scalars(select(Journal))}
    years = {y.id: _YearInfo(y.id, y.name, y.is_closed) for y in session.scalars(select(FiscalYear))}
    periods = tuple(_PeriodInfo(p.id, p.fiscal_year_id, p.name, p.start_date, p.end_date, p.locked)
                    for p in session.scalars(select(Period).order_by(Period.start_date)))
    plain = {code: a.id for code, a in accounts.items()
             if not a.header and not a.deprecated and a.currency in (None, currency)}
    return _Books(stamp, currency, accounts, journals, years, periods, plain)


def _books(session: Session) -> _Books:
    """The organization's accounts, journals, years and periods, as of this transaction.

    Pending ORM changes are flushed first, so the triggers have seen them.
    """
    org_id = require_tenant(session)
    session.flush()
    stamp = _settings_stamp(session)
    engine = session.get_bind()
    with _BOOKS_LOCK:
        cached = _BOOKS.get(engine, {}).get(org_id)
    if cached is not None and cached.stamp == stamp:
        return cached
    books = _load_books(session, stamp)
    with _BOOKS_LOCK:
        _BOOKS.setdefault(engine, {})[org_id] = books
    return books


class _Context:
    """What checking a batch needs: accounts, journals, periods, the currency."""

    def __init__(self, session: Session, entries: Sequence[EntryInput]) -> None:
        books = _books(session)
        self.currency = books.currency
        self.places = digits(books.currency)
        self.accounts = books.accounts
        # The ids of the accounts a line in the books' currency may go to without a second look.
        self.plain = books.plain
        self.journals = books.journals
        self.years = books.years
        self.periods = books.periods
        self._starts = [p.start_date for p in books.periods]

    def period_of(self, day: dt.date) -> _PeriodInfo | None:
        index = bisect.bisect_right(self._starts, day) - 1
        if index >= 0 and day <= self.periods[index].end_date:
            return self.periods[index]
        return None


def _minor(amount: Money | Decimal, currency: str, errors: list[FieldError], row: int) -> int:
    if isinstance(amount, Money):
        if amount.currency.code != currency:
            errors.append(FieldError("amount", N_("Line %(line)s is in %(currency)s; the books are kept in %(books)s."),
                                     {"line": row, "currency": amount.currency.code, "books": currency}, row))
            return 0
        amount = amount.amount
    if not isinstance(amount, Decimal) or isinstance(amount, bool):
        raise TypeError("line amounts are Money or Decimal, never floats")
    minor = amount.scaleb(digits(currency))
    if not minor.is_finite() or minor != minor.to_integral_value():
        errors.append(FieldError("amount", N_("Line %(line)s has more decimals than %(currency)s allows."),
                                 {"line": row, "currency": currency}, row))
        return 0
    return int(minor)


def _prepare(context: _Context, entry: EntryInput, index: int, errors: list[FieldError]) -> _Prepared | None:
    problems: list[FieldError] = []

    def problem(field_name: str, msgid: str, row: int | None = None, **params: Any) -> None:
        problems.append(FieldError(field_name, msgid, {"entry": index + 1, **params}, row))

    journal = context.journals.get(entry.journal)
    if journal is None:
        problem("journal", N_("Entry %(entry)s: there is no journal %(code)s."), code=entry.journal)
    period = context.period_of(entry.date)
    year = context.years.get(period.fiscal_year_id) if period else None
    if period is None:
        problem("date", N_("Entry %(entry)s: no fiscal year covers %(date)s."), date=entry.date.isoformat())
    elif year is not None and year.is_closed:
        problem("date", N_("Entry %(entry)s: the fiscal year %(year)s is closed."), year=year.name)
    elif period.locked:
        problem("date", N_("Entry %(entry)s: the period %(period)s is locked."), period=period.name)
    if len(entry.lines) < 2:
        problem("lines", N_("Entry %(entry)s needs at least two lines."))
    rows = []
    total = 0
    amount_errors: list[FieldError] = []
    plain, places, day = context.plain, context.places, entry.date
    for number, line in enumerate(entry.lines, start=1):
        # The common line first: a Decimal in the books' currency, to an account open to it.
        account_id = plain.get(line.account)
        if account_id is not None and line.currency is None and line.amount_currency is None \
                and type(line.amount) is Decimal:
            minor = line.amount.scaleb(places)
            if minor.is_finite() and minor == (amount := int(minor)):
                total += amount
                rows.append({"line_no": number, "account_id": account_id, "amount": amount, "currency": None,
                             "amount_currency": None, "partner_id": line.partner_id, "label": line.label[:200],
                             "date": day})
                continue
        amount = _minor(line.amount, context.currency, amount_errors, number)
        total += amount
        account = context.accounts.get(line.account)
        if account is None:
            problem("account", N_("Entry %(entry)s, line %(line)s: there is no account %(code)s."), number,
                    line=number, code=line.account)
        elif account.header:
            problem("account", N_("Entry %(entry)s, line %(line)s: account %(code)s is a heading and takes no postings."),
                    number, line=number, code=line.account)
        elif account.deprecated:
            problem("account", N_("Entry %(entry)s, line %(line)s: account %(code)s is deprecated."), number,
                    line=number, code=line.account)
        foreign_minor = None
        if line.currency is not None or line.amount_currency is not None:
            if line.currency is None or line.amount_currency is None or not is_known_currency(line.currency):
                problem("currency", N_("Entry %(entry)s, line %(line)s: a foreign amount needs both a currency and an amount."),
                        number, line=number)
            elif line.currency.upper() == context.currency:
                problem("currency", N_("Entry %(entry)s, line %(line)s: %(currency)s is the organization's own currency."),
                        number, line=number, currency=line.currency)
            else:
                foreign_minor = _minor(Decimal(line.amount_currency), line.currency.upper(), amount_errors, number)
                if foreign_minor * amount < 0:
                    problem("amount_currency", N_("Entry %(entry)s, line %(line)s: the foreign amount and the amount have opposite signs."),
                            number, line=number)
        if account is not None and account.currency and account.currency != context.currency \
                and (line.currency or "").upper() != account.currency:
            problem("currency", N_("Entry %(entry)s, line %(line)s: account %(code)s is kept in %(currency)s."),
                    number, line=number, code=account.code, currency=account.currency)
        rows.append({
            "line_no": number, "account_id": account.id if account is not None else 0,
            "amount": amount, "currency": line.currency.upper() if foreign_minor is not None else None,
            "amount_currency": foreign_minor, "partner_id": line.partner_id, "label": line.label[:200],
            "date": entry.date,
        })
    problems.extend(FieldError(e.field, e.msgid, {"entry": index + 1, **e.params}, e.row) for e in amount_errors)
    if not amount_errors and total != 0 and len(entry.lines) >= 2:
        problem("lines", N_("Entry %(entry)s is not balanced: debits and credits differ by %(difference)s."),
                difference=str(Decimal(total).scaleb(-digits(context.currency))))
    errors.extend(problems)
    if problems or journal is None or period is None or year is None:
        return None
    return _Prepared(entry, journal, period, year, rows)


# --- hashing ----------------------------------------------------------------------------------------

ENTRY_HASHED = ("org_id", "id", "journal_id", "date", "period_id", "fiscal_year_id", "number", "name",
                "label", "reference", "reversal_of_id", "idempotency_key", "chain_index")
LINE_HASHED = ("line_no", "account_id", "date", "amount", "currency", "amount_currency", "partner_id", "label")
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # one encoder, not one per hash


def entry_hash(previous_hash: str, entry: dict[str, Any], lines: Iterable[dict[str, Any]]) -> str:
    """SHA-256 over the previous hash, every entry field and every field of every line.

    Each field as a canonical string: "" for none, ISO format for a date, ``str`` otherwise.
    """
    date = dt.date
    payload = [previous_hash,
               ["" if v is None else v.isoformat() if isinstance(v, date) else str(v)
                for v in map(entry.__getitem__, ENTRY_HASHED)],
               [["" if v is None else v.isoformat() if isinstance(v, date) else str(v)
                 for v in map(line.__getitem__, LINE_HASHED)]
                for line in sorted(lines, key=lambda x: x["line_no"])]]
    return hashlib.sha256(_encode(payload).encode()).hexdigest()


def _posting_hash(previous_hash: str, entry: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    """:func:`entry_hash` of an entry being posted, the same bytes made faster: the types of
    the fields are known here, the lines are in ``line_no`` order and carry the entry's date.
    (Every test that posts and then verifies the chain checks that the two agree.)"""
    day = entry["date"].isoformat()
    reversal, key = entry["reversal_of_id"], entry["idempotency_key"]
    head = [str(entry["org_id"]), str(entry["id"]), str(entry["journal_id"]), day, str(entry["period_id"]),
            str(entry["fiscal_year_id"]), str(entry["number"]), entry["name"], entry["label"], entry["reference"],
            "" if reversal is None else str(reversal), "" if key is None else key, str(entry["chain_index"])]
    rows = [[str(line["line_no"]), str(line["account_id"]), day, str(line["amount"]), line["currency"] or "",
             "" if (foreign := line["amount_currency"]) is None else str(foreign),
             "" if (partner := line["partner_id"]) is None else str(partner), line["label"]]
            for line in lines]
    return hashlib.sha256(_encode([previous_hash, head, rows]).encode()).hexdigest()


_PREVIOUS_HASH = TenantStatement(select(JournalEntry.hash).where(JournalEntry.chain_index == bindparam("chain_index")))


def _previous_hash(session: Session, chain_index: int) -> str:
    if chain_index <= 1:
        return ""
    (previous,) = _PREVIOUS_HASH.execute(session, {"chain_index": chain_index - 1})[0]
    return previous or ""


# --- posting -------------------------------------------------------------------------------------------

def post_entries(session: Session, entries: Sequence[EntryInput], *, actor: Any = None) -> list[int]:
    """Check and post ``entries`` in the caller's transaction; returns their ids in order.

    Nothing is written unless every entry is valid: a :class:`ValidationError` lists every
    problem (entry and line numbers). An entry whose ``idempotency_key`` was already posted
    is not posted again; its existing id is returned.
    """
    org_id = require_tenant(session)
    if not entries:
        return []
    existing = _existing_keys(session, entries)
    context = _Context(session, entries)
    errors: list[FieldError] = []
    prepared: list[_Prepared | None] = []
    for index, entry in enumerate(entries):
        if entry.idempotency_key in existing:
            prepared.append(None)
            continue
        prepared.append(_prepare(context, entry, index, errors))
    if errors:
        raise ValidationError(errors)
    todo = [p for p in prepared if p is not None]
    if todo:
        _write(session, org_id, todo, actor)
        _announce(session, [p.entry_id for p in todo])
    ids = []
    for entry, item in zip(entries, prepared, strict=True):
        ids.append(item.entry_id if item is not None else existing[entry.idempotency_key or ""])
    return ids


def _announce(session: Session, entry_ids: list[int]) -> None:
    from core.plugins import enabled_plugins, get_registry

    registry = get_registry()
    if not registry.pm.hook.comptoir_entries_posted.get_hookimpls():
        return  # nobody listens: spare the enabled-plugins query on every posting
    registry.call_enabled(enabled_plugins(session), "comptoir_entries_posted", session=session, entry_ids=entry_ids)


def post_entries_from(session: Session, entries: Sequence[EntryInput], sources: Sequence[Sequence[Any]],
                      row_of: Callable[[Any], int], field_of: Callable[[str | None], str | None] = lambda f: f,
                      *, actor: Any = None) -> list[int]:
    """Post entries read from a file; the ledger's problems then point at the file's rows.

    ``sources[i]`` holds the source rows of ``entries[i]``, one per line; ``row_of`` gives a
    source row's number in the file, ``field_of`` renames the service's fields for the file.
    """
    try:
        return post_entries(session, entries, actor=actor)
    except ValidationError as error:
        located = []
        for problem in error.errors:
            index = int(problem.params.get("entry", 1)) - 1
            rows = sources[index] if 0 <= index < len(sources) else sources[0]
            line = problem.row
            row = rows[line - 1] if line and 0 < line <= len(rows) else rows[0]
            located.append(FieldError(field_of(problem.field), problem.msgid, problem.params, row_of(row)))
        raise ValidationError(located) from None


def post_entry(session: Session, entry: EntryInput, *, actor: Any = None) -> JournalEntry:
    (entry_id,) = post_entries(session, [entry], actor=actor)
    return get_entry(session, entry_id)


def create_draft(session: Session, entry: EntryInput, *, actor: Any = None) -> JournalEntry:
    """Store an entry to finish later: no number, no balance check, no effect on balances.

    Its journal, date and accounts must exist already; posting it runs every check.
    """
    context = _Context(session, [entry])
    problems: list[FieldError] = []
    journal = context.journals.get(entry.journal)
    if journal is None:
        problems.append(FieldError("journal", N_("There is no journal %(code)s."), {"code": entry.journal}))
    period = context.period_of(entry.date)
    if period is None:
        problems.append(FieldError("date", N_("No fiscal year covers %(date)s."), {"date": entry.date.isoformat()}))
    rows = []
    for number, line in enumerate(entry.lines, start=1):
        account = context.accounts.get(line.account)
        if account is None:
            problems.append(FieldError("account", N_("Line %(line)s: there is no account %(code)s."),
                                       {"line": number, "code": line.account}, number))
            continue
        amount = _minor(line.amount, context.currency, problems, number)
        foreign = (_minor(Decimal(line.amount_currency), line.currency.upper(), problems, number)
                   if line.currency and line.amount_currency is not None else None)
        rows.append({"line_no": number, "account_id": account.id, "amount": amount,
                     "currency": line.currency.upper() if foreign is not None else None,
                     "amount_currency": foreign, "partner_id": line.partner_id, "label": line.label[:200],
                     "date": entry.date})
    if problems:
        raise ValidationError(problems)
    assert journal is not None and period is not None
    draft = JournalEntry(journal_id=journal.id, date=entry.date, period_id=period.id,
                         fiscal_year_id=period.fiscal_year_id, state=EntryState.DRAFT, label=entry.label[:200],
                         reference=entry.reference[:64], idempotency_key=entry.idempotency_key)
    session.add(draft)
    session.flush()
    session.add_all(JournalLine(entry_id=draft.id, **row) for row in rows)
    session.flush()
    return draft


def _line_inputs(session: Session, entry: JournalEntry, sign: int = 1) -> list[LineInput]:
    """The stored lines of ``entry`` as inputs again (``sign=-1``: the opposite amounts)."""
    accounts = {a.id: a.code for a in session.scalars(select(Account))}
    currency = current_organization(session).currency
    return [LineInput(accounts[line.account_id], sign * Decimal(line.amount).scaleb(-digits(currency)), line.label,
                      line.currency,
                      sign * Decimal(line.amount_currency).scaleb(-digits(line.currency)) if line.currency else None,
                      line.partner_id)
            for line in entry_lines(session, entry)]


def _draft_input(session: Session, draft: JournalEntry) -> EntryInput:
    journal = session.get_one(Journal, (draft.org_id, draft.journal_id))
    return EntryInput(journal.code, draft.date, _line_inputs(session, draft), label=draft.label,
                      reference=draft.reference)


def post_draft(session: Session, entry_id: int, *, actor: Any = None) -> JournalEntry:
    """Check and post a stored draft, keeping its id."""
    draft = get_entry(session, entry_id)
    if draft.is_posted:
        raise Conflict(N_("Entry %(name)s is already posted."), name=draft.name)
    org_id = require_tenant(session)
    errors: list[FieldError] = []
    entry = _draft_input(session, draft)
    prepared = _prepare(_Context(session, [entry]), entry, 0, errors)
    if errors or prepared is None:
        raise ValidationError(errors)
    prepared.draft_id = draft.id
    _write(session, org_id, [prepared], actor)
    _announce(session, [draft.id])
    session.expire(draft)
    return get_entry(session, entry_id)


def delete_draft(session: Session, entry_id: int) -> None:
    """Delete a draft; a posted entry is corrected by a reversal, never deleted."""
    draft = get_entry(session, entry_id)
    if draft.is_posted:
        raise Conflict(N_("A posted entry cannot be deleted: reverse it."))
    session.execute(delete(JournalLine).where(JournalLine.entry_id == draft.id))
    session.delete(draft)
    session.flush()


def _existing_keys(session: Session, entries: Sequence[EntryInput]) -> dict[str, int]:
    keys = [e.idempotency_key for e in entries if e.idempotency_key]
    if not keys:
        return {}
    if len(set(keys)) != len(keys):
        raise ValidationError(FieldError("idempotency_key", N_("The same idempotency key is used twice in one batch.")))
    if len(keys) == 1:  # one entry posted at a time, the common case: the compiled statement
        rows: Iterable[Any] = _ENTRY_OF_KEY.execute(session, {"key": keys[0]})
    else:
        rows = session.execute(select(JournalEntry.idempotency_key, JournalEntry.id)
                               .where(JournalEntry.idempotency_key.in_(keys)))
    return {key: entry_id for key, entry_id in rows}


_ENTRY_OF_KEY = TenantStatement(select(JournalEntry.idempotency_key, JournalEntry.id)
                                .where(JournalEntry.idempotency_key == bindparam("key")))


# Posting's writes, compiled once and run at the driver level (see core.db.TenantStatement).
_INSERT_ENTRIES = TenantStatement(insert(JournalEntry.__table__))
_INSERT_LINES = TenantStatement(insert(JournalLine.__table__))


def _write(session: Session, org_id: int, todo: list[_Prepared], actor: Any) -> None:
    line_count = sum(len(p.lines) for p in todo)
    drafts = [p.draft_id for p in todo if p.draft_id is not None]
    if drafts:  # a draft's lines are rewritten from what was checked
        session.execute(delete(JournalLine).where(JournalLine.entry_id.in_(drafts)))
    balance_keys = {(line["account_id"], item.period.id, line["currency"] or "") for item in todo for line in item.lines}
    ids = iter(allocate_ids(session, len(todo) - len(drafts) + line_count + len(balance_keys)))
    numbers: dict[tuple[int, int], Iterable[int]] = {}
    groups: dict[tuple[int, int], int] = defaultdict(int)
    for item in todo:
        groups[(item.journal.id, item.fiscal_year.id)] += 1
    for (journal_id, year_id), count in sorted(groups.items()):
        numbers[(journal_id, year_id)] = iter(numbering.next_numbers(session, f"journal:{journal_id}", str(year_id), count))
    chain = numbering.next_numbers(session, CHAIN, "", len(todo))
    previous = _previous_hash(session, chain.start)
    posted_at = utcnow()
    user_id = getattr(actor, "id", None)
    entry_rows, line_rows, finish_rows = [], [], []
    balances: dict[tuple[int, int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    posted_state = EntryState.POSTED.value
    for item, chain_index in zip(todo, chain, strict=True):
        entry_id = item.entry_id = item.draft_id if item.draft_id is not None else next(ids)
        journal, year, period_id, source = item.journal, item.fiscal_year, item.period.id, item.input
        number = next(numbers[(journal.id, year.id)])  # type: ignore[call-overload]
        entry = {
            "org_id": org_id, "id": entry_id, "journal_id": journal.id, "date": source.date,
            "period_id": period_id, "fiscal_year_id": year.id, "number": number,
            "name": journal.pattern.format(code=journal.code, year=year.name, number=number),
            "label": source.label[:200], "reference": source.reference[:64],
            "reversal_of_id": source.reversal_of_id, "idempotency_key": source.idempotency_key,
            "chain_index": chain_index,
        }
        for line in item.lines:
            line["org_id"], line["id"], line["entry_id"] = org_id, next(ids), entry_id
            amount, foreign = line["amount"], line["amount_currency"]
            totals = balances[(line["account_id"], period_id, line["currency"] or "")]
            if amount > 0:
                totals[0] += amount
            else:
                totals[1] -= amount
            if foreign:
                totals[2] += foreign
        digest = _posting_hash(previous, entry, item.lines)
        entry.update(state=posted_state, previous_hash=previous, hash=digest, posted_at=posted_at, posted_by=user_id)
        if item.draft_id is None:
            entry["created_at"] = posted_at
            entry_rows.append(entry)
        else:
            finish_rows.append(entry)
        line_rows.extend(item.lines)
        previous = digest
    # New entries go in already posted, after their lines: the database checks there that the
    # lines balance (migration 0003); the lines' key to their entry is checked at commit.
    _INSERT_LINES.execute(session, line_rows)
    if entry_rows:
        _INSERT_ENTRIES.execute(session, entry_rows)
    if finish_rows:
        # A draft's lines went in while it is a draft; the switch to posted is checked by the database.
        session.execute(update(JournalEntry), finish_rows)
    _add_to_balances(session, org_id, balances, ids)


def _balance_upsert(dialect: str) -> TenantStatement:
    """One ``INSERT … ON CONFLICT DO UPDATE`` adding to a balance row, run with many rows."""
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(AccountBalance.__table__)
    return TenantStatement(statement.on_conflict_do_update(
        index_elements=["org_id", "account_id", "period_id", "currency"],
        set_={"debit": AccountBalance.__table__.c.debit + statement.excluded.debit,
              "credit": AccountBalance.__table__.c.credit + statement.excluded.credit,
              "amount_currency": AccountBalance.__table__.c.amount_currency + statement.excluded.amount_currency},
    ))


_BALANCE_UPSERTS = {dialect: _balance_upsert(dialect) for dialect in ("postgresql", "sqlite")}


def _add_to_balances(session: Session, org_id: int, balances: dict[tuple[int, int, str], list[int]],
                     ids: Iterable[int]) -> None:
    keys = sorted(balances)  # a stable order: concurrent posters lock rows in the same order
    rows = [{"org_id": org_id, "id": new_id, "account_id": a, "period_id": p, "currency": c,
             "debit": balances[(a, p, c)][0], "credit": balances[(a, p, c)][1],
             "amount_currency": balances[(a, p, c)][2]} for new_id, (a, p, c) in zip(ids, keys, strict=True)]
    _BALANCE_UPSERTS[session.connection().dialect.name].execute(session, rows)


# --- reading and reversing ------------------------------------------------------------------------------

def get_entry(session: Session, entry_id: int) -> JournalEntry:
    from core.db import fetch

    return fetch(session, JournalEntry, entry_id, what=translate(N_("Journal entry"), "en"))


def entry_lines(session: Session, entry: JournalEntry) -> list[JournalLine]:
    return list(session.scalars(select(JournalLine).where(JournalLine.entry_id == entry.id).order_by(JournalLine.line_no)))


def reverse_entry(session: Session, entry_id: int, *, date: dt.date | None = None, label: str | None = None,
                  actor: Any = None) -> JournalEntry:
    """Post the entry that cancels ``entry_id`` (same lines, opposite signs)."""
    original = get_entry(session, entry_id)
    if not original.is_posted:
        raise Conflict(N_("Only a posted entry can be reversed; delete a draft instead."))
    already = session.scalars(select(JournalEntry.id).where(JournalEntry.reversal_of_id == original.id)).first()
    if already is not None:
        raise Conflict(N_("Entry %(name)s is already reversed."), name=original.name)
    journal = session.get_one(Journal, (original.org_id, original.journal_id))
    reversal = EntryInput(journal.code, date or original.date, _line_inputs(session, original, -1),
                          label=label or translate(N_("Reversal of %(name)s"), "en", name=original.name),
                          reference=original.name or "", reversal_of_id=original.id)
    (new_id,) = post_entries(session, [reversal], actor=actor)
    return get_entry(session, new_id)
