"""Factories of the example plugin, used by the cross-tenant tests."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from comptoir_example.models import ExampleNote
from core.chart import Account


def populate(session: Session) -> None:
    account = session.scalars(select(Account).where(Account.header.is_(False))).first()
    session.add(ExampleNote(account_id=account.id, text="checked"))
    session.flush()
