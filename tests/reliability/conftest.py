"""The web app on the test database, for the reliability tests that go through it."""
from __future__ import annotations

import pytest

from tests.webtools import make_app


@pytest.fixture
def app(settings, database):  # noqa: ANN001, ANN201
    return make_app(settings, database)


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    return app.test_client()
