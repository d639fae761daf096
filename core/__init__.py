"""Comptoir kernel: tenants, people and rights, chart of accounts, fiscal years, money, plugins.

Plugins import their hook marker from here: ``from core import hookimpl``.
"""
from __future__ import annotations

import pluggy

PROJECT_NAME = "comptoir"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]
