"""The VAT report of a period: base and tax per rate, collected on sales and deductible on
purchases, from the posted invoices and credit notes (credit notes count negative).

Amounts are in the organization's currency; the report exports to an .xlsx workbook through
the Excel framework's writer.
"""
from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.excel.schema import Column, ColumnType
from core.excel.writer import export_records
from core.i18n import N_, normalize_locale, translate
from core.money import digits
from core.tenancy import current_organization
from plugins.accounting.invoicing_models import Invoice, InvoiceKind, InvoiceState, InvoiceTax, Tax


@dataclass(frozen=True)
class VatRow:
    side: str  # "collected" (sales) or "deductible" (purchases)
    tax: str
    name: str
    rate: Decimal
    scope: str
    base: Decimal
    amount: Decimal
    self_assessed: bool = False  # reverse charge on purchases: due and deductible at once


@dataclass(frozen=True)
class VatReport:
    start: dt.date
    end: dt.date
    currency: str
    rows: tuple[VatRow, ...]

    def total(self, side: str) -> Decimal:
        return sum((r.amount for r in self.rows if r.side == side), Decimal(0))

    @property
    def balance(self) -> Decimal:
        """VAT due (positive) or a credit (negative) for the period."""
        return self.total("collected") - self.total("deductible")


_SIGNS = {
    InvoiceKind.CUSTOMER_INVOICE: ("collected", 1),
    InvoiceKind.CUSTOMER_CREDIT_NOTE: ("collected", -1),
    InvoiceKind.SUPPLIER_INVOICE: ("deductible", 1),
    InvoiceKind.SUPPLIER_CREDIT_NOTE: ("deductible", -1),
}


def vat_report(session: Session, start: dt.date, end: dt.date) -> VatReport:
    if start > end:
        raise ValidationError(N_("The first day comes after the last."))
    org = current_organization(session)
    rows = session.execute(
        select(Invoice.kind, InvoiceTax.tax_id, InvoiceTax.self_assessed, func.sum(InvoiceTax.base_company),
               func.sum(InvoiceTax.amount_company))
        .join(Invoice, and_(Invoice.org_id == InvoiceTax.org_id, Invoice.id == InvoiceTax.invoice_id))
        .where(Invoice.state.in_((InvoiceState.POSTED, InvoiceState.CANCELLED)),
               Invoice.date >= start, Invoice.date <= end)
        .group_by(Invoice.kind, InvoiceTax.tax_id, InvoiceTax.self_assessed))
    sums: dict[tuple[str, int, bool], list[int]] = defaultdict(lambda: [0, 0])
    for kind, tax_id, self_assessed, base, amount in rows:
        side, sign = _SIGNS[InvoiceKind(kind)]
        sides = [side, "collected"] if self_assessed else [side]  # self-assessed VAT is due as well
        for each in sides:
            sums[(each, tax_id, bool(self_assessed))][0] += sign * int(base)
            sums[(each, tax_id, bool(self_assessed))][1] += sign * int(amount)
    taxes = {t.id: t for t in session.scalars(select(Tax))}
    scale = digits(org.currency)
    result = [VatRow(side, taxes[tax_id].code, taxes[tax_id].name, Decimal(taxes[tax_id].rate), taxes[tax_id].scope,
                     Decimal(base).scaleb(-scale), Decimal(amount).scaleb(-scale), self_assessed)
              for (side, tax_id, self_assessed), (base, amount) in sums.items()]
    result.sort(key=lambda r: (r.side, r.self_assessed, -r.rate, r.tax))
    return VatReport(start, end, org.currency, tuple(result))


COLUMNS = (
    Column("side", N_("Side")),
    Column("tax", N_("Tax"), ColumnType.CODE),
    Column("name", N_("Name")),
    Column("rate", N_("Rate (%)"), ColumnType.DECIMAL),
    Column("base", N_("Base"), ColumnType.DECIMAL),
    Column("amount", N_("Tax amount"), ColumnType.DECIMAL),
    Column("self_assessed", N_("Reverse charge (self-assessed)"), ColumnType.BOOLEAN),
)
SIDE_LABELS = {"collected": N_("VAT collected"), "deductible": N_("VAT deductible")}


def export_vat_report(report: VatReport, path: str | os.PathLike[str], locale: str | None = None) -> Path:
    """The report as an .xlsx workbook (typed number cells), with the balance as the last row."""
    locale = normalize_locale(locale)
    records = [{"side": translate(SIDE_LABELS[r.side], locale), "tax": r.tax, "name": r.name, "rate": r.rate,
                "base": r.base, "amount": r.amount, "self_assessed": r.self_assessed} for r in report.rows]
    records.append({"side": translate(N_("VAT due for the period"), locale), "amount": report.balance})
    return export_records(path, translate(N_("VAT report"), locale), COLUMNS, records, locale)
