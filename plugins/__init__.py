"""Comptoir's built-in plugins, each registered through the ``comptoir.plugins`` entry points."""
