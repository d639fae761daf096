"""Employees, salary rules and payslips."""
from __future__ import annotations

from core.i18n import N_
from core.plugins import PluginManifest

manifest = PluginManifest(
    name="payroll",
    title=N_("Payroll"),
    version="0.1.0",
    requires=("accounting",),
    description=N_("Employees, salary rules and payslips."),
    default_enabled=False,
)
