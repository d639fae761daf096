"""Gapless numbering: a counter row per (organization, sequence, scope), bumped in the caller's
transaction with ``UPDATE … RETURNING``.

The row lock serializes concurrent writers and a rollback gives the number back, so the
numbers that get committed run 1, 2, 3… without a gap. A database sequence would not.
"""
from __future__ import annotations

from sqlalchemy import String, UniqueConstraint, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, OrgOwned, TenantStatement, allocate_ids


class SequenceCounter(OrgOwned, Base):
    __tablename__ = "sequence_counter"
    __table_args__ = (UniqueConstraint("org_id", "name", "scope"),)

    name: Mapped[str] = mapped_column(String(64))  # e.g. "journal:VT"
    scope: Mapped[str] = mapped_column(String(32), default="")  # e.g. a fiscal year's name
    next_value: Mapped[int] = mapped_column(default=1)


# Compiled once, run at the driver level: numbering is on every posting's path.
_BUMP = TenantStatement(
    update(SequenceCounter)
    .where(SequenceCounter.name == bindparam("name"), SequenceCounter.scope == bindparam("scope"))
    .values(next_value=SequenceCounter.next_value + bindparam("count", type_=SequenceCounter.next_value.type))
    .returning(SequenceCounter.next_value)
)
_ENSURE = {
    dialect: TenantStatement(
        insert(SequenceCounter).on_conflict_do_nothing(index_elements=["org_id", "name", "scope"]))
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def _ensure_counter(session: Session, name: str, scope: str) -> None:
    _ENSURE[session.connection().dialect.name].execute(
        session, {"id": allocate_ids(session, 1)[0], "name": name, "scope": scope, "next_value": 1})


def next_numbers(session: Session, name: str, scope: str = "", count: int = 1) -> range:
    """Take ``count`` consecutive numbers of the sequence in the current transaction."""
    params = {"name": name, "scope": scope, "count": count}
    rows = _BUMP.execute(session, params)
    if not rows:
        _ensure_counter(session, name, scope)
        rows = _BUMP.execute(session, params)
    last = rows[0][0]
    return range(last - count, last)


def next_number(session: Session, name: str, scope: str = "") -> int:
    return next_numbers(session, name, scope, 1)[0]


def peek(session: Session, name: str, scope: str = "") -> int:
    """The number the next call would return (for display; not a reservation)."""
    value = session.scalars(
        select(SequenceCounter.next_value).where(SequenceCounter.name == name, SequenceCounter.scope == scope)
    ).first()
    return value or 1


def advance_to(session: Session, name: str, scope: str, next_value: int) -> None:
    """Make the sequence's next number at least ``next_value`` (numbers restored from another
    organization's books: the numbering goes on after them, it never goes back)."""
    _ensure_counter(session, name, scope)
    session.execute(update(SequenceCounter)
                    .where(SequenceCounter.name == name, SequenceCounter.scope == scope,
                           SequenceCounter.next_value < next_value)
                    .values(next_value=next_value).execution_options(synchronize_session=False))
