"""Imports every kernel model, so that ``Base.metadata`` is complete (migrations, tests)."""
from __future__ import annotations

from core import audit, auth, chart, numbering, periods, plugins, security, tenancy  # noqa: F401
from core.db import Base

metadata = Base.metadata
