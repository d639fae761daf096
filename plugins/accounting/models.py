"""Ledger data: journals, entries and their lines, balances maintained per account × period.

Amounts are integers in minor units of the organization's currency, signed (debit > 0,
credit < 0). A posted entry never changes: the service refuses it and database triggers
refuse it again (see the migration).
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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, MinorUnits, OrgOwned, Timestamp, utcnow


class JournalKind(enum.StrEnum):
    SALES = "sales"
    PURCHASES = "purchases"
    BANK = "bank"
    CASH = "cash"
    MISC = "misc"
    OPENING = "opening"
    CLOSING = "closing"


class EntryState(enum.StrEnum):
    DRAFT = "draft"
    POSTED = "posted"


class Journal(OrgOwned, Base):
    __tablename__ = "journal"
    __table_args__ = (UniqueConstraint("org_id", "code"),)

    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    # Entry names: {code}, {year} (the fiscal year's name) and {number}, with format specs.
    pattern: Mapped[str] = mapped_column(String(64), default="{code}/{year}/{number:05d}")
    active: Mapped[bool] = mapped_column(default=True)


class JournalEntry(OrgOwned, Base):
    __tablename__ = "journal_entry"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "journal_id"], ["journal.org_id", "journal.id"]),
        ForeignKeyConstraint(["org_id", "period_id"], ["period.org_id", "period.id"]),
        ForeignKeyConstraint(["org_id", "fiscal_year_id"], ["fiscal_year.org_id", "fiscal_year.id"]),
        ForeignKeyConstraint(["org_id", "reversal_of_id"], ["journal_entry.org_id", "journal_entry.id"]),
        UniqueConstraint("org_id", "journal_id", "fiscal_year_id", "number"),
        UniqueConstraint("org_id", "chain_index"),
        UniqueConstraint("org_id", "idempotency_key"),
        Index(None, "org_id", "date"),
        # Finds a reversal; and SQLite, checking deferred foreign keys when an entry goes in,
        # looks for entries referring to it: without this index, a scan per entry.
        Index(None, "org_id", "reversal_of_id"),
    )

    journal_id: Mapped[int] = mapped_column(BigInteger)
    date: Mapped[dt.date] = mapped_column(Date)
    period_id: Mapped[int] = mapped_column(BigInteger)
    fiscal_year_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default=EntryState.DRAFT)
    number: Mapped[int | None]
    name: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200), default="")
    reference: Mapped[str] = mapped_column(String(64), default="")
    reversal_of_id: Mapped[int | None] = mapped_column(BigInteger)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    chain_index: Mapped[int | None]
    previous_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    posted_at: Mapped[Timestamp | None]
    posted_by: Mapped[int | None]
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    @property
    def is_posted(self) -> bool:
        return self.state == EntryState.POSTED


class JournalLine(OrgOwned, Base):
    __tablename__ = "journal_line"
    __table_args__ = (
        # Checked at commit: posting writes the lines before their entry.
        ForeignKeyConstraint(["org_id", "entry_id"], ["journal_entry.org_id", "journal_entry.id"],
                             deferrable=True, initially="DEFERRED"),
        ForeignKeyConstraint(["org_id", "account_id"], ["account.org_id", "account.id"]),
        UniqueConstraint("org_id", "entry_id", "line_no"),
        # The general ledger of an account, in date order, by keyset pages.
        Index(None, "org_id", "account_id", "date", "entry_id", "line_no"),
    )

    entry_id: Mapped[int] = mapped_column(BigInteger)
    line_no: Mapped[int]
    account_id: Mapped[int] = mapped_column(BigInteger)
    date: Mapped[dt.date] = mapped_column(Date)  # the entry's, kept on the line for ledger pages
    amount: Mapped[MinorUnits]  # organization currency; debit > 0, credit < 0
    currency: Mapped[str | None] = mapped_column(String(3))  # a foreign currency, if any
    amount_currency: Mapped[int | None] = mapped_column(BigInteger)  # in that currency's minor units
    partner_id: Mapped[int | None] = mapped_column(BigInteger)
    label: Mapped[str] = mapped_column(String(200), default="")


class AccountBalance(OrgOwned, Base):
    """Posted movements of one account in one period (and one currency, '' for none).

    Maintained in the posting transaction, so trial balances read these rows, never lines.
    """

    __tablename__ = "account_balance"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "account_id"], ["account.org_id", "account.id"]),
        ForeignKeyConstraint(["org_id", "period_id"], ["period.org_id", "period.id"]),
        UniqueConstraint("org_id", "account_id", "period_id", "currency"),
        Index(None, "org_id", "period_id"),
    )

    account_id: Mapped[int] = mapped_column(BigInteger)
    period_id: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="")
    debit: Mapped[MinorUnits] = mapped_column(default=0)
    credit: Mapped[MinorUnits] = mapped_column(default=0)  # positive: the sum of credits
    amount_currency: Mapped[MinorUnits] = mapped_column(default=0)


class ExchangeRate(OrgOwned, Base):
    """On ``date``, one unit of ``currency`` is worth ``rate`` units of the organization's currency.

    The rate is an exact decimal stored as a string, never a float; the latest rate on or
    before a day is the one used for it (see ``plugins.accounting.rates``).
    """

    __tablename__ = "exchange_rate"
    __table_args__ = (UniqueConstraint("org_id", "currency", "date"),)

    currency: Mapped[str] = mapped_column(String(3))
    date: Mapped[dt.date] = mapped_column(Date)
    rate: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32))  # "ecb", "csv", "manual" or a provider's name
    updated_at: Mapped[Timestamp] = mapped_column(default=utcnow, onupdate=utcnow)


# Invoicing's tables live in their own module; importing it here registers them with the plugin.
from plugins.accounting import invoicing_models  # noqa: E402, F401
