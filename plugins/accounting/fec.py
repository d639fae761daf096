"""FEC (Fichier des Écritures Comptables, article A47 A-1 du Livre des procédures fiscales):
read, import and export.

Reading accepts a pipe- or tab-separated file, in UTF-8 (with or without BOM) or
ISO-8859-15, with decimal commas or points and zero-padded amounts; every problem is
collected with its line number. Importing creates the accounts (type inferred from the
French account class) and journals the organization lacks, posts each entry (JournalCode ×
EcritureNum) through the ledger service with an idempotency key — importing a file twice
posts nothing the second time — and compares the file's trial balance with the books'.
Nothing is written unless the whole file is valid.

Foreign amounts (Montantdevise, Idevise) are posted on their lines. Auxiliary accounts
(CompAuxNum, CompAuxLib) have no partner to go to yet: they are kept in the line's label, and
counted in the report; lettering (EcritureLet, DateLet) is not imported, and counted too.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.chart import CODE_RE, Account, AccountSubtype, AccountType, create_account
from core.db import require_tenant
from core.errors import FieldError, ValidationError
from core.i18n import N_
from core.money import digits, is_known_currency
from core.tenancy import current_organization
from plugins.accounting.models import EntryState, Journal, JournalEntry, JournalKind, JournalLine
from plugins.accounting.reports import trial_balance
from plugins.accounting.services import EntryInput, LineInput, post_entries_from

COLUMNS = ("JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
           "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
           "ValidDate", "Montantdevise", "Idevise")
KEY = "fec:{journal}:{number}:{date}"
_AMOUNT_RE = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
_BOM = b"\xef\xbb\xbf"
ZERO = Decimal(0)


# --- reading ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class FecLine:
    line: int  # line number in the file (the header is line 1)
    journal_code: str
    journal_lib: str
    number: str  # EcritureNum
    date: dt.date
    account: str
    account_lib: str
    aux_num: str
    aux_lib: str
    piece_ref: str
    piece_date: dt.date | None
    label: str
    debit: Decimal
    credit: Decimal
    lettering: str
    lettering_date: dt.date | None
    valid_date: dt.date | None
    amount_currency: Decimal | None
    currency: str


@dataclass(frozen=True)
class FecFile:
    lines: tuple[FecLine, ...]
    separator: str
    encoding: str

    @property
    def date_range(self) -> tuple[dt.date, dt.date] | None:
        if not self.lines:
            return None
        days = [line.date for line in self.lines]
        return min(days), max(days)


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(_BOM):
        return data[len(_BOM):].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("iso-8859-15"), "iso-8859-15"


def _date(value: str, column: str, line: int, errors: list[FieldError], *, required: bool) -> dt.date | None:
    value = value.strip()
    if not value:
        if required:
            errors.append(FieldError(column, N_("Line %(line)s: %(column)s is empty."),
                                     {"line": line, "column": column}, line))
        return None
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError(value)
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        errors.append(FieldError(column, N_("Line %(line)s: %(column)s %(value)s is not a date (YYYYMMDD)."),
                                 {"line": line, "column": column, "value": value}, line))
        return None


def _amount(value: str, column: str, line: int, errors: list[FieldError]) -> Decimal | None:
    value = value.strip().replace(" ", "")
    if not value:
        return ZERO
    if not _AMOUNT_RE.match(value):
        errors.append(FieldError(column, N_("Line %(line)s: %(column)s %(value)s is not an amount."),
                                 {"line": line, "column": column, "value": value}, line))
        return None
    try:
        return Decimal(value.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern already refuses these
        errors.append(FieldError(column, N_("Line %(line)s: %(column)s %(value)s is not an amount."),
                                 {"line": line, "column": column, "value": value}, line))
        return None


def read_fec(data: bytes) -> FecFile:
    """Parse a FEC file; a :class:`ValidationError` lists every problem with its line number."""
    text, encoding = _decode(data)
    rows = text.splitlines()
    errors: list[FieldError] = []
    if not rows or not rows[0].strip():
        raise ValidationError(FieldError(None, N_("The FEC file is empty."), {}, 1))
    header = rows[0]
    separator = "|" if "|" in header else "\t" if "\t" in header else ""
    if not separator:
        raise ValidationError(FieldError(None, N_("The FEC header is neither pipe- nor tab-separated."), {}, 1))
    names = [name.strip().lower() for name in header.split(separator)]
    missing = [column for column in COLUMNS if column.lower() not in names]
    if missing:
        raise ValidationError(FieldError(None, N_("The FEC header lacks the columns %(columns)s."),
                                         {"columns": ", ".join(missing)}, 1))
    index = {column: names.index(column.lower()) for column in COLUMNS}
    lines: list[FecLine] = []
    for number, row in enumerate(rows[1:], start=2):
        if not row.strip():
            continue
        fields = row.split(separator)
        if len(fields) != len(names):
            errors.append(FieldError(None, N_("Line %(line)s has %(count)s fields; the header has %(expected)s."),
                                     {"line": number, "count": len(fields), "expected": len(names)}, number))
            continue
        value = {column: fields[i].strip() for column, i in index.items()}
        before = len(errors)
        for column in ("JournalCode", "EcritureNum", "CompteNum"):
            if not value[column]:
                errors.append(FieldError(column, N_("Line %(line)s: %(column)s is empty."),
                                         {"line": number, "column": column}, number))
        day = _date(value["EcritureDate"], "EcritureDate", number, errors, required=True)
        piece_date = _date(value["PieceDate"], "PieceDate", number, errors, required=False)
        lettering_date = _date(value["DateLet"], "DateLet", number, errors, required=False)
        valid_date = _date(value["ValidDate"], "ValidDate", number, errors, required=False)
        debit_amount = _amount(value["Debit"], "Debit", number, errors)
        credit_amount = _amount(value["Credit"], "Credit", number, errors)
        foreign = (_amount(value["Montantdevise"], "Montantdevise", number, errors)
                   if value["Montantdevise"] else None)
        if len(errors) > before or day is None or debit_amount is None or credit_amount is None:
            continue
        lines.append(FecLine(
            line=number, journal_code=value["JournalCode"], journal_lib=value["JournalLib"],
            number=value["EcritureNum"], date=day, account=value["CompteNum"], account_lib=value["CompteLib"],
            aux_num=value["CompAuxNum"], aux_lib=value["CompAuxLib"], piece_ref=value["PieceRef"],
            piece_date=piece_date, label=value["EcritureLib"], debit=debit_amount, credit=credit_amount,
            lettering=value["EcritureLet"], lettering_date=lettering_date, valid_date=valid_date,
            amount_currency=foreign, currency=value["Idevise"].upper()))
    if errors:
        raise ValidationError(errors)
    return FecFile(tuple(lines), separator, encoding)


# --- account types -----------------------------------------------------------------------------

def infer_account_type(code: str, net: Decimal) -> tuple[AccountType, AccountSubtype] | None:
    """The type and subtype of a French account from its class; ``net`` is its debit-positive
    balance in the file (for the accounts whose side depends on it). ``None``: no class."""
    by_balance = AccountType.ASSET if net > 0 else AccountType.LIABILITY
    general = AccountSubtype.GENERAL
    if not code or not code[0].isdigit():
        return None
    head, two = code[0], code[:2]
    if head == "1":
        return (AccountType.LIABILITY if two in ("16", "17") else AccountType.EQUITY), general
    if head in ("2", "3"):
        return AccountType.ASSET, general
    if head == "4":
        if two == "40":
            return AccountType.LIABILITY, AccountSubtype.PAYABLE
        if two == "41":
            return AccountType.ASSET, AccountSubtype.RECEIVABLE
        if two in ("42", "43"):
            return AccountType.LIABILITY, general
        if two == "44":
            return by_balance, AccountSubtype.TAX
        if two == "49":
            return AccountType.ASSET, general
        return by_balance, general  # 45x–48x
    if head == "5":
        if code.startswith("512"):
            return AccountType.ASSET, AccountSubtype.BANK
        if two == "53":
            return AccountType.ASSET, AccountSubtype.CASH
        return AccountType.ASSET, general
    if head == "6":
        return AccountType.EXPENSE, general
    if head == "7":
        return AccountType.INCOME, general
    return by_balance, general  # class 8 and others


# --- import ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CreatedAccount:
    code: str
    name: str
    type: str
    subtype: str


@dataclass(frozen=True)
class ComparisonRow:
    """One account of the migration comparison: the file's figures against the books'."""

    code: str
    file_debit: Decimal
    file_credit: Decimal
    books_debit: Decimal
    books_credit: Decimal

    @property
    def file_balance(self) -> Decimal:
        return self.file_debit - self.file_credit

    @property
    def books_balance(self) -> Decimal:
        return self.books_debit - self.books_credit

    @property
    def matches(self) -> bool:
        return self.file_debit == self.books_debit and self.file_credit == self.books_credit


@dataclass(frozen=True)
class FecReport:
    dry_run: bool
    date_from: dt.date | None
    date_to: dt.date | None
    lines: int
    entries_posted: int
    entries_unchanged: int
    accounts_created: tuple[CreatedAccount, ...]
    journals_created: tuple[str, ...]
    comparison: tuple[ComparisonRow, ...] = field(default_factory=tuple)
    auxiliary_lines: int = 0  # lines whose CompAuxNum went into their label
    lettered_lines: int = 0  # lines whose EcritureLet was not imported

    @property
    def differences(self) -> tuple[ComparisonRow, ...]:
        return tuple(row for row in self.comparison if not row.matches)


def create_journal(session: Session, code: str, name: str, kind: str = JournalKind.MISC) -> Journal:
    """A new journal of the session's organization."""
    require_tenant(session)
    journal = Journal(code=code, name=name or code, kind=kind)
    session.add(journal)
    session.flush()
    return journal


def _group(fec: FecFile) -> dict[tuple[str, str], list[FecLine]]:
    groups: dict[tuple[str, str], list[FecLine]] = defaultdict(list)
    for line in fec.lines:
        groups[(line.journal_code, line.number)].append(line)
    return groups


def _check(fec: FecFile, groups: dict[tuple[str, str], list[FecLine]], currency: str,
           accounts: dict[str, Account]) -> list[FieldError]:
    errors: list[FieldError] = []
    scale = digits(currency)
    for (journal, number), lines in groups.items():
        first = lines[0]
        if len(journal) > 16:
            errors.append(FieldError("JournalCode", N_("Line %(line)s: the journal code %(code)s is too long."),
                                     {"line": first.line, "code": journal}, first.line))
        key = KEY.format(journal=journal, number=number, date=first.date.strftime("%Y%m%d"))
        if len(key) > 100:
            errors.append(FieldError("EcritureNum", N_("Line %(line)s: the entry number %(number)s is too long."),
                                     {"line": first.line, "number": number}, first.line))
        for line in lines[1:]:
            if line.date != first.date:
                errors.append(FieldError("EcritureDate", N_(
                    "Line %(line)s: entry %(journal)s %(number)s is dated %(date)s here and %(first)s on line "
                    "%(first_line)s."), {"line": line.line, "journal": journal, "number": number,
                                         "date": line.date.isoformat(), "first": first.date.isoformat(),
                                         "first_line": first.line}, line.line))
        debit_sum = sum((line.debit for line in lines), ZERO)
        credit_sum = sum((line.credit for line in lines), ZERO)
        if debit_sum != credit_sum:
            errors.append(FieldError("Debit", N_(
                "Lines %(lines)s: entry %(journal)s %(number)s is not balanced (debit %(debit)s, credit %(credit)s)."),
                {"lines": ", ".join(str(line.line) for line in lines), "journal": journal, "number": number,
                 "debit": str(debit_sum), "credit": str(credit_sum)}, first.line))
        for line in lines:
            for column, amount in (("Debit", line.debit), ("Credit", line.credit)):
                if amount != amount.quantize(Decimal(1).scaleb(-scale)):
                    errors.append(FieldError(column, N_("Line %(line)s: %(column)s has more decimals than "
                                                        "%(currency)s allows."),
                                             {"line": line.line, "column": column, "currency": currency}, line.line))
            if line.account not in accounts and not CODE_RE.match(line.account):
                errors.append(FieldError("CompteNum", N_("Line %(line)s: %(code)s is not a valid account code."),
                                         {"line": line.line, "code": line.account}, line.line))
            errors.extend(_foreign_problems(line, currency))
    return errors


def _foreign(line: FecLine, currency: str) -> tuple[str, Decimal] | None:
    """The line's foreign currency and signed amount, when it has one (the file writes it unsigned;
    it takes the sign of the line). A zero, or the books' own currency, is no foreign amount."""
    if not line.currency or line.currency == currency or not line.amount_currency:
        return None
    amount = abs(line.amount_currency)
    return line.currency, amount if line.debit - line.credit >= 0 else -amount


def _foreign_problems(line: FecLine, currency: str) -> list[FieldError]:
    if line.amount_currency and not line.currency:
        return [FieldError("Idevise", N_("Line %(line)s: Montantdevise %(value)s has no currency (Idevise)."),
                           {"line": line.line, "value": str(line.amount_currency)}, line.line)]
    if line.currency and line.currency != currency and not is_known_currency(line.currency):
        return [FieldError("Idevise", N_("Line %(line)s: %(currency)s is not a currency code."),
                           {"line": line.line, "currency": line.currency}, line.line)]
    foreign = _foreign(line, currency)
    if foreign is not None and foreign[1] != foreign[1].quantize(Decimal(1).scaleb(-digits(foreign[0]))):
        return [FieldError("Montantdevise", N_("Line %(line)s: %(column)s has more decimals than %(currency)s allows."),
                           {"line": line.line, "column": "Montantdevise", "currency": foreign[0]}, line.line)]
    return []


def _line_label(line: FecLine) -> str:
    """EcritureLib, and the auxiliary account after it (cut from the text, never from the account)."""
    if not line.aux_num:
        return line.label[:200]
    aux = f" [{line.aux_num}{' ' + line.aux_lib if line.aux_lib else ''}]"[:200]
    return line.label[:200 - len(aux)] + aux


def _line_input(line: FecLine, currency: str) -> LineInput:
    foreign = _foreign(line, currency)
    return LineInput(line.account, line.debit - line.credit, _line_label(line),
                     foreign[0] if foreign else None, foreign[1] if foreign else None)


def _file_balances(fec: FecFile) -> dict[str, list[Decimal]]:
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for line in fec.lines:
        totals[line.account][0] += line.debit
        totals[line.account][1] += line.credit
    return totals


def compare_trial_balance(session: Session, fec: FecFile) -> tuple[ComparisonRow, ...]:
    """The file's trial balance (per CompteNum) against the books' for the file's date range."""
    span = fec.date_range
    if span is None:
        return ()
    scale = digits(current_organization(session).currency)
    quantum = Decimal(1).scaleb(-scale)
    books = {row.code: (row.debit, row.credit) for row in trial_balance(session, *span)}
    source = _file_balances(fec)
    rows = []
    for code in sorted(set(books) | set(source)):
        file_debit, file_credit = source.get(code, [ZERO, ZERO])
        books_debit, books_credit = books.get(code, (ZERO, ZERO))
        rows.append(ComparisonRow(code, file_debit.quantize(quantum), file_credit.quantize(quantum),
                                  books_debit.quantize(quantum), books_credit.quantize(quantum)))
    return tuple(rows)


def _post(session: Session, entries: list[EntryInput], sources: list[list[FecLine]]) -> None:
    """Post; the ledger's problems point back at the file's lines."""
    post_entries_from(session, entries, sources, lambda line: line.line)


def import_fec(session: Session, data: bytes, *, dry_run: bool = False, actor: Any = None) -> FecReport:
    """Import a FEC file into the session's organization: everything or, on any error, nothing."""
    require_tenant(session)
    fec = read_fec(data)
    currency = current_organization(session).currency
    groups = _group(fec)
    accounts = {a.code: a for a in session.scalars(select(Account))}
    errors = _check(fec, groups, currency, accounts)
    if errors:
        raise ValidationError(errors)
    keys = {group: KEY.format(journal=group[0], number=group[1], date=lines[0].date.strftime("%Y%m%d"))
            for group, lines in groups.items()}
    existing = set(session.scalars(select(JournalEntry.idempotency_key)
                                   .where(JournalEntry.idempotency_key.in_(list(keys.values())))))
    balances = _file_balances(fec)
    savepoint = session.begin_nested()
    try:
        created: list[CreatedAccount] = []
        names = {line.account: line.account_lib for line in fec.lines if line.account_lib}
        for code in sorted(balances):
            if code in accounts:
                continue
            debit_sum, credit_sum = balances[code]
            inferred = infer_account_type(code, debit_sum - credit_sum)
            if inferred is None:
                first = next(line for line in fec.lines if line.account == code)
                errors.append(FieldError("CompteNum", N_("Line %(line)s: the type of account %(code)s cannot be "
                                                         "inferred from its class."),
                                         {"line": first.line, "code": code}, first.line))
                continue
            kind, subtype = inferred
            parent = next((code[:n] for n in range(len(code) - 1, 0, -1)
                           if code[:n] in accounts and accounts[code[:n]].header), None)
            account = create_account(session, code, names.get(code, code)[:200], type=kind, subtype=subtype,
                                     parent=parent, actor=actor,
                                     reconcilable=subtype in (AccountSubtype.PAYABLE, AccountSubtype.RECEIVABLE))
            accounts[code] = account
            created.append(CreatedAccount(code, account.name, kind.value, subtype.value))
        if errors:
            raise ValidationError(errors)
        journals = {j.code for j in session.scalars(select(Journal))}
        new_journals = []
        for (code, _number), lines in groups.items():
            if code not in journals:
                create_journal(session, code, (lines[0].journal_lib or code)[:200], JournalKind.MISC)
                journals.add(code)
                new_journals.append(code)
        todo = sorted((group for group in groups if keys[group] not in existing),
                      key=lambda group: (groups[group][0].date, groups[group][0].line))
        entries = [EntryInput(
            journal=group[0], date=groups[group][0].date,
            lines=[_line_input(line, currency) for line in groups[group]],
            label=(groups[group][0].label or group[1])[:200], reference=groups[group][0].piece_ref[:64],
            idempotency_key=keys[group]) for group in todo]
        if entries:
            _post(session, entries, [groups[group] for group in todo])
        session.flush()
        comparison = compare_trial_balance(session, fec)
    except BaseException:
        savepoint.rollback()
        raise
    span = fec.date_range
    report = FecReport(dry_run=dry_run, date_from=span[0] if span else None, date_to=span[1] if span else None,
                       lines=len(fec.lines), entries_posted=len(entries),
                       entries_unchanged=len(groups) - len(entries), accounts_created=tuple(created),
                       journals_created=tuple(new_journals), comparison=comparison,
                       auxiliary_lines=sum(1 for line in fec.lines if line.aux_num),
                       lettered_lines=sum(1 for line in fec.lines if line.lettering))
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
        audit.record(session, "fec.imported", actor=actor, lines=report.lines, posted=report.entries_posted,
                     unchanged=report.entries_unchanged, accounts=len(created))
    return report


# --- export ---------------------------------------------------------------------------------------

def _text(value: str | None) -> str:
    return re.sub(r"[|\t\r\n]+", " ", value or "").strip()


def _day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.strftime("%Y%m%d")


def _figure(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def export_fec(session: Session, date_from: dt.date, date_to: dt.date) -> bytes:
    """The posted entries dated ``date_from`` to ``date_to`` as a FEC: pipe-separated UTF-8."""
    require_tenant(session)
    currency = current_organization(session).currency
    scale = digits(currency)
    journals = {j.id: j for j in session.scalars(select(Journal))}
    accounts = {a.id: a for a in session.scalars(select(Account))}
    entries = list(session.scalars(select(JournalEntry).where(
        JournalEntry.state == EntryState.POSTED, JournalEntry.date.between(date_from, date_to))))
    entries.sort(key=lambda e: (journals[e.journal_id].code, e.fiscal_year_id, e.number or 0))
    lines: dict[int, list[JournalLine]] = defaultdict(list)
    ids = [e.id for e in entries]
    for start in range(0, len(ids), 500):
        for line in session.scalars(select(JournalLine).where(JournalLine.entry_id.in_(ids[start:start + 500]))
                                    .order_by(JournalLine.entry_id, JournalLine.line_no)):
            lines[line.entry_id].append(line)
    out = ["|".join(COLUMNS)]
    for entry in entries:
        journal = journals[entry.journal_id]
        for line in lines[entry.id]:
            account = accounts[line.account_id]
            amount = Decimal(line.amount).scaleb(-scale)
            foreign = ""
            if line.currency and line.amount_currency is not None:
                foreign = _figure(abs(Decimal(line.amount_currency).scaleb(-digits(line.currency))))
            out.append("|".join((
                _text(journal.code), _text(journal.name), _text(entry.name), _day(entry.date),
                _text(account.code), _text(account.name), "", "", _text(entry.reference or entry.name),
                _day(entry.date), _text(line.label or entry.label or entry.name),
                _figure(amount if amount > 0 else ZERO), _figure(-amount if amount < 0 else ZERO), "", "",
                _day(entry.posted_at or entry.date), foreign, line.currency or "")))
    return ("\r\n".join(out) + "\r\n").encode("utf-8")
