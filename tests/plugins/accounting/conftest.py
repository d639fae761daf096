from tests.plugins.accounting.invoicing_fixtures import fr, fr_org  # noqa: F401
