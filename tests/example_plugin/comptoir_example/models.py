"""The example plugin's one tenant table: a note attached to an account."""
from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, OrgOwned


class ExampleNote(OrgOwned, Base):
    __tablename__ = "example_note"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "account_id"], ["account.org_id", "account.id"]),
    )

    account_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(String(200))
