"""Treasury: bank and cash balances, and bank statements imported and matched to open invoices.

A statement (CSV, or a workbook read by the Excel framework's safe readers) has a date, an
amount (money in > 0) and a label and/or reference per line. Each new line is matched to an
open invoice of the same currency — by its number found in the reference or label, else by
a single invoice open for exactly that amount — and becomes a payment allocated to it. The
others stay unmatched. Importing the same statement again adds nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core.chart import accounts_with_tag
from core.errors import FieldError, ValidationError
from core.excel.parsing import match_headers, parse_row
from core.excel.readers import read_table
from core.excel.schema import Column, ColumnType
from core.i18n import N_
from core.money import digits, quantize
from core.tenancy import current_organization
from plugins.accounting.invoicing_models import (
    Invoice,
    InvoiceKind,
    InvoiceState,
    Partner,
    PaymentDirection,
    StatementLine,
)
from plugins.accounting.models import JournalLine
from plugins.accounting.payments import PaymentInput, journal_account, register_payment
from plugins.accounting.services import get_journal


@dataclass(frozen=True)
class TreasuryBalance:
    code: str
    name: str
    kind: str  # "bank" or "cash"
    balance: Decimal


def treasury_balances(session: Session, day: dt.date) -> list[TreasuryBalance]:
    """Each bank and cash account with its balance at the end of ``day``."""
    org = current_organization(session)
    found = []
    for kind in ("bank", "cash"):
        for account in accounts_with_tag(session, kind):
            if account.header:
                continue
            total = session.scalar(select(func.coalesce(func.sum(JournalLine.amount), 0))
                                   .where(JournalLine.account_id == account.id, JournalLine.date <= day))
            found.append(TreasuryBalance(account.code, account.name, kind,
                                         Decimal(int(total)).scaleb(-digits(org.currency))))
    return found


# --- statements -------------------------------------------------------------------------------

STATEMENT_COLUMNS = (
    Column("date", N_("Date"), ColumnType.DATE, required=True,
           aliases={"fr": ("Date opération",), "es": ("Fecha",), "fa": ("تاریخ",)}),
    Column("amount", N_("Amount"), ColumnType.DECIMAL, required=True,
           aliases={"fr": ("Montant",), "es": ("Importe",), "fa": ("مبلغ",)}),
    Column("label", N_("Label"), aliases={"fr": ("Libellé",), "es": ("Concepto",), "fa": ("شرح",)}),
    Column("reference", N_("Reference"), aliases={"fr": ("Référence",), "es": ("Referencia",), "fa": ("مرجع",)}),
)


@dataclass(frozen=True)
class StatementImport:
    added: int
    matched: int
    unmatched: int
    unchanged: int


@dataclass(frozen=True)
class _Line:
    row: int
    date: dt.date
    amount: Decimal
    label: str
    reference: str


def read_statement(path: str | os.PathLike[str], currency: str, locale: str = "en") -> list[_Line]:
    """The statement's lines; every bad cell is reported at once (row and column)."""
    table = read_table(path)
    match = match_headers(table.headers, STATEMENT_COLUMNS, row=table.header_row, locale=locale)
    problems = list(match.errors)
    lines = []
    if not problems:
        for number, cells in table.rows:
            if not any(cell not in (None, "") for cell in cells):
                continue
            values, errors = parse_row(cells, match.positions, STATEMENT_COLUMNS, locale, number)
            amount = values.get("amount")
            if amount is not None and quantize(amount, currency) != amount:
                errors.append(FieldError("amount", N_("%(value)s has more decimals than %(currency)s allows."),
                                         {"value": str(amount), "currency": currency}, number))
            if amount == 0:
                errors.append(FieldError("amount", N_("%(value)s is not an amount."), {"value": "0"}, number))
            problems += errors
            if not errors:
                lines.append(_Line(number, values["date"], amount, (values.get("label") or "").strip(),
                                   (values.get("reference") or "").strip()))
    if problems:
        raise ValidationError(problems)
    return lines


def _fingerprint(line: _Line, occurrence: int) -> str:
    text = "|".join([line.date.isoformat(), format(line.amount, "f"), line.label, line.reference, str(occurrence)])
    return hashlib.sha256(text.encode()).hexdigest()


def import_statement(session: Session, path: str | os.PathLike[str], journal: str = "BNK", *,
                     locale: str = "en", actor: Any = None) -> StatementImport:
    """Read, store and match a bank statement of ``journal`` (in the organization's currency)."""
    org = current_organization(session)
    target = get_journal(session, journal)
    journal_account(session, journal)  # a bank or cash journal, or a clear error
    lines = read_statement(path, org.currency, locale)
    seen: dict[tuple[Any, ...], int] = {}
    existing = set(session.scalars(select(StatementLine.fingerprint).where(StatementLine.journal_id == target.id)))
    added = matched = unchanged = 0
    for line in lines:
        key = (line.date, line.amount, line.label, line.reference)
        seen[key] = seen.get(key, 0) + 1
        fingerprint = _fingerprint(line, seen[key])
        if fingerprint in existing:
            unchanged += 1
            continue
        stored = StatementLine(journal_id=target.id, date=line.date, label=line.label[:300],
                               reference=line.reference[:100],
                               amount=int(line.amount.scaleb(digits(org.currency))), currency=org.currency,
                               fingerprint=fingerprint)
        session.add(stored)
        added += 1
        invoice = match_invoice(session, line.amount, f"{line.reference} {line.label}", org.currency)
        if invoice is not None:
            partner = session.get_one(Partner, (invoice.org_id, invoice.partner_id))
            residual = Decimal(invoice.residual).scaleb(-digits(invoice.currency))
            inbound = line.amount > 0
            payment = register_payment(session, PaymentInput(
                partner.code, line.date, abs(line.amount), PaymentDirection.INBOUND if inbound else
                PaymentDirection.OUTBOUND, journal=journal, reference=(line.reference or line.label)[:64],
                allocations=[(invoice.id, min(abs(line.amount), residual))]), actor=actor)
            stored.payment_id = payment.id
            stored.note = invoice.name or ""
            matched += 1
        session.flush()
    return StatementImport(added, matched, added - matched, unchanged)


def match_invoice(session: Session, amount: Decimal, text: str, currency: str) -> Invoice | None:
    """The open invoice a statement line pays: named in its text, else the only one of that amount."""
    kind = InvoiceKind.CUSTOMER_INVOICE if amount > 0 else InvoiceKind.SUPPLIER_INVOICE
    minor = int(abs(amount).scaleb(digits(currency)))
    open_invoices = and_(Invoice.kind == kind, Invoice.state == InvoiceState.POSTED, Invoice.closed_on.is_(None),
                         Invoice.currency == currency)
    names = {token.upper() for token in re.findall(r"[A-Za-z]+/\d{4}/\d+", text)}
    if names:
        named = session.scalars(select(Invoice).where(open_invoices, Invoice.name.in_(names))).first()
        if named is not None:
            return named
    references = [token for token in re.findall(r"[\w/-]{4,}", text)]
    if references:
        by_reference = list(session.scalars(select(Invoice).where(open_invoices,
                                                                  Invoice.reference.in_(references)).limit(2)))
        if len(by_reference) == 1:
            return by_reference[0]
    by_amount = list(session.scalars(select(Invoice).where(open_invoices, Invoice.residual == minor).limit(2)))
    return by_amount[0] if len(by_amount) == 1 else None


def match_statement_line(session: Session, line_id: int, partner_code: str,
                         allocations: Sequence[tuple[int, Decimal]] = (), *, actor: Any = None) -> StatementLine:
    """Settle an unmatched statement line by hand: a payment of the partner on the line's journal,
    allocated to ``allocations`` (invoice id, amount); what is left is the partner's credit."""
    from core.db import fetch
    from core.errors import Conflict
    from plugins.accounting.models import Journal

    line = fetch(session, StatementLine, line_id, what="Statement line")
    if line.payment_id is not None:
        raise Conflict(N_("This statement line is already matched."))
    journal = session.get_one(Journal, (line.org_id, line.journal_id))
    amount = Decimal(line.amount).scaleb(-digits(line.currency))
    payment = register_payment(session, PaymentInput(
        partner_code, line.date, abs(amount), PaymentDirection.INBOUND if amount > 0 else PaymentDirection.OUTBOUND,
        journal=journal.code, currency=line.currency, reference=(line.reference or line.label)[:64],
        allocations=tuple(allocations)), actor=actor)
    line.payment_id = payment.id
    session.flush()
    return line


def unmatched_lines(session: Session, journal: str = "BNK") -> list[StatementLine]:
    target = get_journal(session, journal)
    return list(session.scalars(select(StatementLine).where(StatementLine.journal_id == target.id,
                                                            StatementLine.payment_id.is_(None))
                                .order_by(StatementLine.date, StatementLine.id)))


def restore_statement_line(session: Session, values: dict[str, Any]) -> StatementLine:
    """Store a statement line as it was in other books (a whole-organization import), with its
    fingerprint, so that importing the same statement here again adds nothing; ``payment_id``
    is the restored payment it was settled by."""
    line = StatementLine(**values)
    session.add(line)
    session.flush()
    return line
