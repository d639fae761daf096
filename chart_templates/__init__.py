"""Chart-of-accounts templates shipped with Comptoir (data: one YAML file per template)."""
