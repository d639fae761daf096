"""Schemathesis against the app: requests generated from the OpenAPI document itself, every
answer checked (no server error, a documented status and content type, a body that matches
the documented schema).

One check is left out: "a request valid by the schema is accepted". A schema cannot say that
an entry balances or that its accounts exist, so a schema-valid entry can be refused — with a
documented 422 and the problem named, which the other checks verify."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core.auth import create_api_token
from tests.conftest import make_user
from tests.webtools import make_app


@pytest.fixture
def api_app(settings, database, org):  # noqa: ANN001, ANN201
    app = make_app(settings, database)
    user = make_user(database, org, "owner@acme.test")
    with database.transaction() as session:
        app.config["FUZZ_TOKEN"] = create_api_token(session, user, org.id, "fuzz")[1]
    return app


def test_the_api_keeps_its_document(api_app):  # noqa: ANN001
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    headers = {"Authorization": f"Bearer {api_app.config['FUZZ_TOKEN']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    for operation in operations:
        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def conforms(case) -> None:  # noqa: ANN001
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        conforms()
