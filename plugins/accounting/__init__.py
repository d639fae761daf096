"""Journals, posting, invoices, VAT, payments and reports."""
from __future__ import annotations

from core.i18n import N_
from core.plugins import PluginManifest

manifest = PluginManifest(
    name="accounting",
    title=N_("Accounting"),
    version="0.1.0",
    requires=(),
    description=N_("Journals, posting, invoices, VAT, payments and reports."),
    default_enabled=True,
)
