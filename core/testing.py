"""Factories for tests of the kernel and of plugins: one row in every kernel tenant table.

Plugins provide the same in their own ``testing.py`` (a ``populate(session)`` function), so
the cross-tenant tests cover every tenant table, a new one included.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from core import audit, numbering
from core.security import create_role


def populate(session: Session) -> None:
    """Rows in the kernel's tenant tables a new organization does not already fill."""
    create_role(session, "auditor", "Auditor", ["core.chart.read", "core.audit.read"])
    numbering.next_number(session, "test:sequence", "2026")
    audit.record(session, "test.populated")
    session.flush()
