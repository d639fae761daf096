"""Fixed assets, categories and depreciation."""
from __future__ import annotations

from core.i18n import N_
from core.plugins import PluginManifest

manifest = PluginManifest(
    name="assets",
    title=N_("Fixed assets"),
    version="0.1.0",
    requires=("accounting",),
    description=N_("Fixed assets, categories and depreciation."),
    default_enabled=False,
)
