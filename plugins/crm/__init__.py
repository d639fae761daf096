"""Pipelines, opportunities, activities and forecast."""
from __future__ import annotations

from core.i18n import N_
from core.plugins import PluginManifest

manifest = PluginManifest(
    name="crm",
    title=N_("CRM"),
    version="0.1.0",
    requires=(),
    description=N_("Pipelines, opportunities, activities and forecast."),
    default_enabled=False,
)
