"""Audit log of security-relevant changes: who, when, which organization, what.

Written in the same transaction as the change it records, so neither exists without the other.
Details never hold secrets (passwords, tokens).
"""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, OrgOwned, Timestamp, utcnow

SECRET_KEYS = frozenset({"password", "password_hash", "token", "secret"})


class AuditEvent(OrgOwned, Base):
    __tablename__ = "audit_event"
    __table_args__ = (Index(None, "org_id", "at"),)

    at: Mapped[Timestamp] = mapped_column(default=utcnow)
    user_id: Mapped[int | None]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")

    @property
    def detail_values(self) -> dict[str, Any]:
        return json.loads(self.details)


def _actor_fields(actor: Any) -> tuple[int | None, str]:
    """``actor`` is a User, a string (``"cli"``, ``"system"``) or None (system)."""
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    return actor.id, actor.email


def record(session: Session, action: str, *, target: str = "", actor: Any = None,
           **details: Any) -> AuditEvent:
    """Record ``action`` on ``target`` for the session's organization."""
    clean = {k: v for k, v in details.items() if k not in SECRET_KEYS}
    user_id, actor_name = _actor_fields(actor)
    event = AuditEvent(
        user_id=user_id, actor=actor_name, action=action, target=str(target),
        details=json.dumps(clean, default=str, sort_keys=True),
    )
    session.add(event)
    return event


def events(session: Session, *, action: str | None = None, limit: int = 200) -> list[AuditEvent]:
    """The organization's most recent events first."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query))
