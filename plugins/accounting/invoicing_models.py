"""Invoicing data: partners, products, taxes, invoices, payments and their allocations.

Amounts are integers in minor units, always positive; the document's kind says which side
of the ledger it sits on. Residuals live here, maintained by the services as payments and
credit notes are allocated — posted journal lines never change.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, MinorUnits, OrgOwned, Timestamp, utcnow


class PartnerKind(enum.StrEnum):
    COMPANY = "company"
    INDIVIDUAL = "individual"


class TaxScope(enum.StrEnum):
    DOMESTIC = "domestic"  # charged at its rate
    REVERSE_CHARGE = "reverse_charge"  # 0 %: the business buyer accounts for the VAT
    EXPORT = "export"  # 0 %: exempt export


class InvoiceKind(enum.StrEnum):
    CUSTOMER_INVOICE = "customer_invoice"
    CUSTOMER_CREDIT_NOTE = "customer_credit_note"
    SUPPLIER_INVOICE = "supplier_invoice"
    SUPPLIER_CREDIT_NOTE = "supplier_credit_note"

    @property
    def is_sale(self) -> bool:
        return self in (InvoiceKind.CUSTOMER_INVOICE, InvoiceKind.CUSTOMER_CREDIT_NOTE)

    @property
    def is_credit_note(self) -> bool:
        return self in (InvoiceKind.CUSTOMER_CREDIT_NOTE, InvoiceKind.SUPPLIER_CREDIT_NOTE)

    @property
    def credit_note_kind(self) -> InvoiceKind:
        return InvoiceKind.CUSTOMER_CREDIT_NOTE if self.is_sale else InvoiceKind.SUPPLIER_CREDIT_NOTE


class InvoiceState(enum.StrEnum):
    DRAFT = "draft"
    POSTED = "posted"
    CANCELLED = "cancelled"  # posted, then fully cancelled by a credit note


class PaymentState(enum.StrEnum):
    NOT_PAID = "not_paid"
    PARTIAL = "partial"
    PAID = "paid"


class PaymentDirection(enum.StrEnum):
    INBOUND = "inbound"  # received from a customer
    OUTBOUND = "outbound"  # paid to a supplier


class Partner(OrgOwned, Base):
    """A customer or a supplier (or both), found by its ``code`` (the partner reference)."""

    __tablename__ = "partner"
    __table_args__ = (
        UniqueConstraint("org_id", "code"),
        ForeignKeyConstraint(["org_id", "receivable_account_id"], ["account.org_id", "account.id"]),
        ForeignKeyConstraint(["org_id", "payable_account_id"], ["account.org_id", "account.id"]),
        Index(None, "org_id", "name"),
    )

    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default=PartnerKind.COMPANY)
    is_customer: Mapped[bool] = mapped_column(default=True)
    is_supplier: Mapped[bool] = mapped_column(default=False)
    country: Mapped[str | None] = mapped_column(String(2))
    vat_number: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str | None] = mapped_column(String(16))
    currency: Mapped[str | None] = mapped_column(String(3))
    payment_terms_days: Mapped[int] = mapped_column(default=30)
    receivable_account_id: Mapped[int | None] = mapped_column(BigInteger)
    payable_account_id: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(default=True)


class PartnerAddress(OrgOwned, Base):
    __tablename__ = "partner_address"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "partner_id"], ["partner.org_id", "partner.id"], ondelete="CASCADE"),
        UniqueConstraint("org_id", "partner_id", "position"),
    )

    partner_id: Mapped[int] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(default=1)  # the first is the invoicing address
    kind: Mapped[str] = mapped_column(String(16), default="invoice")  # invoice, delivery, other
    street: Mapped[str] = mapped_column(String(200), default="")
    street2: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str | None] = mapped_column(String(2))


class Tax(OrgOwned, Base):
    """A VAT rate with its accounts; the organization's set comes from its chart template."""

    __tablename__ = "tax"
    __table_args__ = (
        UniqueConstraint("org_id", "code"),
        ForeignKeyConstraint(["org_id", "collected_account_id"], ["account.org_id", "account.id"]),
        ForeignKeyConstraint(["org_id", "deductible_account_id"], ["account.org_id", "account.id"]),
    )

    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    rate: Mapped[str] = mapped_column(String(16))  # percent, an exact decimal kept as a string: "20", "5.5"
    scope: Mapped[str] = mapped_column(String(16), default=TaxScope.DOMESTIC)
    collected_account_id: Mapped[int | None] = mapped_column(BigInteger)
    deductible_account_id: Mapped[int | None] = mapped_column(BigInteger)
    mention: Mapped[str] = mapped_column(String(300), default="")  # printed on the invoice
    is_default: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class Product(OrgOwned, Base):
    __tablename__ = "product"
    __table_args__ = (
        UniqueConstraint("org_id", "code"),
        ForeignKeyConstraint(["org_id", "sale_tax_id"], ["tax.org_id", "tax.id"]),
        ForeignKeyConstraint(["org_id", "purchase_tax_id"], ["tax.org_id", "tax.id"]),
        ForeignKeyConstraint(["org_id", "income_account_id"], ["account.org_id", "account.id"]),
        ForeignKeyConstraint(["org_id", "expense_account_id"], ["account.org_id", "account.id"]),
    )

    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="service")  # service or goods
    price: Mapped[str] = mapped_column(String(32), default="0")  # unit price, exact decimal as text
    currency: Mapped[str] = mapped_column(String(3))
    sale_tax_id: Mapped[int | None] = mapped_column(BigInteger)
    purchase_tax_id: Mapped[int | None] = mapped_column(BigInteger)
    income_account_id: Mapped[int | None] = mapped_column(BigInteger)
    expense_account_id: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(default=True)


class Invoice(OrgOwned, Base):
    """An invoice or a credit note, customer or supplier.

    Totals are in the invoice's currency; ``*_company`` amounts in the organization's, at
    ``rate`` (the rate of the invoice date). ``residual`` is what is still open and
    ``closed_on`` the day it reached zero, so aged balances at any date read open rows only.
    """

    __tablename__ = "invoice"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "partner_id"], ["partner.org_id", "partner.id"]),
        ForeignKeyConstraint(["org_id", "entry_id"], ["journal_entry.org_id", "journal_entry.id"]),
        ForeignKeyConstraint(["org_id", "credit_note_of_id"], ["invoice.org_id", "invoice.id"]),
        UniqueConstraint("org_id", "kind", "year", "number"),
        Index(None, "org_id", "kind", "closed_on", "due_date"),
        Index(None, "org_id", "partner_id", "date"),
    )

    kind: Mapped[str] = mapped_column(String(24))
    partner_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default=InvoiceState.DRAFT)
    year: Mapped[str | None] = mapped_column(String(32))  # the fiscal year's name, once numbered
    number: Mapped[int | None]
    name: Mapped[str | None] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[str] = mapped_column(String(32), default="1")
    fiscal_position: Mapped[str] = mapped_column(String(24))
    reference: Mapped[str] = mapped_column(String(64), default="")
    untaxed: Mapped[MinorUnits] = mapped_column(default=0)
    tax: Mapped[MinorUnits] = mapped_column(default=0)
    total: Mapped[MinorUnits] = mapped_column(default=0)
    total_company: Mapped[MinorUnits] = mapped_column(default=0)
    residual: Mapped[MinorUnits] = mapped_column(default=0)
    residual_company: Mapped[MinorUnits] = mapped_column(default=0)
    payment_state: Mapped[str] = mapped_column(String(16), default=PaymentState.NOT_PAID)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    reminder_level: Mapped[int] = mapped_column(default=0)
    last_reminder_on: Mapped[dt.date | None] = mapped_column(Date)
    entry_id: Mapped[int | None] = mapped_column(BigInteger)
    credit_note_of_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    @property
    def kind_enum(self) -> InvoiceKind:
        return InvoiceKind(self.kind)


class InvoiceLine(OrgOwned, Base):
    __tablename__ = "invoice_line"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "invoice_id"], ["invoice.org_id", "invoice.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["org_id", "product_id"], ["product.org_id", "product.id"]),
        ForeignKeyConstraint(["org_id", "tax_id"], ["tax.org_id", "tax.id"]),
        ForeignKeyConstraint(["org_id", "account_id"], ["account.org_id", "account.id"]),
        UniqueConstraint("org_id", "invoice_id", "line_no"),
    )

    invoice_id: Mapped[int] = mapped_column(BigInteger)
    line_no: Mapped[int]
    product_id: Mapped[int | None] = mapped_column(BigInteger)
    label: Mapped[str] = mapped_column(String(200), default="")
    quantity: Mapped[str] = mapped_column(String(32), default="1")
    unit_price: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[int] = mapped_column(BigInteger)
    tax_id: Mapped[int | None] = mapped_column(BigInteger)
    untaxed: Mapped[MinorUnits]  # invoice currency


class InvoiceTax(OrgOwned, Base):
    """Base and tax of one rate on one invoice (rounded once per rate, as printed)."""

    __tablename__ = "invoice_tax"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "invoice_id"], ["invoice.org_id", "invoice.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["org_id", "tax_id"], ["tax.org_id", "tax.id"]),
        UniqueConstraint("org_id", "invoice_id", "tax_id"),
    )

    invoice_id: Mapped[int] = mapped_column(BigInteger)
    tax_id: Mapped[int] = mapped_column(BigInteger)
    base: Mapped[MinorUnits]
    amount: Mapped[MinorUnits]
    base_company: Mapped[MinorUnits] = mapped_column(default=0)
    amount_company: Mapped[MinorUnits] = mapped_column(default=0)
    # Reverse charge on a purchase: not on the bill, accounted for by the buyer (collected and deductible).
    self_assessed: Mapped[bool] = mapped_column(default=False)


class Payment(OrgOwned, Base):
    """Money received or paid on a bank or cash journal; what is not allocated is partner credit."""

    __tablename__ = "payment"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "partner_id"], ["partner.org_id", "partner.id"]),
        ForeignKeyConstraint(["org_id", "journal_id"], ["journal.org_id", "journal.id"]),
        ForeignKeyConstraint(["org_id", "entry_id"], ["journal_entry.org_id", "journal_entry.id"]),
        Index(None, "org_id", "partner_id", "date"),
        Index(None, "org_id", "direction", "closed_on"),
    )

    direction: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[int] = mapped_column(BigInteger)
    journal_id: Mapped[int] = mapped_column(BigInteger)
    date: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[str] = mapped_column(String(32), default="1")
    amount: Mapped[MinorUnits]
    amount_company: Mapped[MinorUnits]
    unallocated: Mapped[MinorUnits]
    unallocated_company: Mapped[MinorUnits]
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(64), default="")
    entry_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)


class Allocation(OrgOwned, Base):
    """Part of a payment or a credit note settling part of an invoice (a reconciliation).

    ``amount`` is in the invoice's currency. The invoice side was booked at the invoice's
    rate, the source side at its own: the difference is a realized exchange gain or loss,
    posted as ``fx_entry_id``. Undoing deletes the row and reverses that entry.
    """

    __tablename__ = "allocation"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "invoice_id"], ["invoice.org_id", "invoice.id"]),
        ForeignKeyConstraint(["org_id", "payment_id"], ["payment.org_id", "payment.id"]),
        ForeignKeyConstraint(["org_id", "credit_note_id"], ["invoice.org_id", "invoice.id"]),
        ForeignKeyConstraint(["org_id", "fx_entry_id"], ["journal_entry.org_id", "journal_entry.id"]),
        Index(None, "org_id", "invoice_id"),
        Index(None, "org_id", "payment_id"),
        Index(None, "org_id", "date"),
    )

    invoice_id: Mapped[int] = mapped_column(BigInteger)
    payment_id: Mapped[int | None] = mapped_column(BigInteger)
    credit_note_id: Mapped[int | None] = mapped_column(BigInteger)
    date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[MinorUnits]
    amount_company: Mapped[MinorUnits]  # at the invoice's rate
    source_company: Mapped[MinorUnits]  # at the payment's (or credit note's) rate
    fx_entry_id: Mapped[int | None] = mapped_column(BigInteger)


class InvoicingSettings(OrgOwned, Base):
    """What an organization prints on its invoices and how it sends them (one row).

    The SMTP password is kept as given: protecting it at rest is the deployment's concern
    (database encryption, a dedicated mail relay without a password on the loopback).
    """

    __tablename__ = "invoicing_settings"
    __table_args__ = (UniqueConstraint("org_id"),)

    street: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    vat_number: Mapped[str | None] = mapped_column(String(32))
    iban: Mapped[str | None] = mapped_column(String(34))  # for the Swiss QR-bill and the payment details
    sender: Mapped[str | None] = mapped_column(String(254))
    smtp_host: Mapped[str | None] = mapped_column(String(200))
    smtp_port: Mapped[int] = mapped_column(default=587)
    smtp_username: Mapped[str] = mapped_column(String(200), default="")
    smtp_password: Mapped[str] = mapped_column(String(200), default="")
    smtp_security: Mapped[str] = mapped_column(String(16), default="starttls")  # none, starttls, ssl


class StatementLine(OrgOwned, Base):
    """A line of an imported bank statement, and what it was matched with."""

    __tablename__ = "statement_line"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "journal_id"], ["journal.org_id", "journal.id"]),
        ForeignKeyConstraint(["org_id", "payment_id"], ["payment.org_id", "payment.id"]),
        UniqueConstraint("org_id", "journal_id", "fingerprint"),
        Index(None, "org_id", "journal_id", "date"),
    )

    journal_id: Mapped[int] = mapped_column(BigInteger)
    date: Mapped[dt.date] = mapped_column(Date)
    label: Mapped[str] = mapped_column(String(300), default="")
    reference: Mapped[str] = mapped_column(String(100), default="")
    amount: Mapped[MinorUnits]  # signed: money in > 0
    currency: Mapped[str] = mapped_column(String(3))
    fingerprint: Mapped[str] = mapped_column(String(64))  # importing the same line twice adds nothing
    payment_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
