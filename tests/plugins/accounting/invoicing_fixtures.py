"""Organizations for the invoicing tests: a French, a Swiss and a German one, in 2026."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import make_org

YEAR = 2026
D = dt.date


def make_invoicing_org(database, name: str = "Acme", chart: str = "fr_pcg", **kwargs):  # noqa: ANN001, ANN201
    kwargs.setdefault("first_fiscal_year", YEAR)
    return make_org(database, name, chart, **kwargs)


@pytest.fixture
def fr_org(database):  # noqa: ANN001, ANN201
    return make_invoicing_org(database, "Acme France", "fr_pcg", country="FR", currency="EUR")


@pytest.fixture
def fr(database, fr_org):  # noqa: ANN001, ANN201
    """A transaction of the French organization."""
    with database.transaction(fr_org.id) as session:
        yield session
