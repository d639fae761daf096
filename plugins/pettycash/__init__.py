"""Petty cash funds, vouchers and replenishment."""
from __future__ import annotations

from core.i18n import N_
from core.plugins import PluginManifest

manifest = PluginManifest(
    name="pettycash",
    title=N_("Petty cash"),
    version="0.1.0",
    requires=("accounting",),
    description=N_("Petty cash funds, vouchers and replenishment."),
    default_enabled=False,
)
