"""Every declared endpoint called for real, its answer checked against the schema the OpenAPI
document gives for it: the document describes what the API does, not what it meant to."""
from __future__ import annotations

import re

import pytest
from openapi_schema_validator import OAS30Validator

from core.auth import create_api_token
from core.web.api import API_PREFIX
from tests.conftest import make_user
from tests.webtools import make_app

SAMPLE_QUERY = {"from": "2026-01-01", "to": "2026-12-31", "date": "2026-12-31", "account": "1020", "limit": "10"}
SAMPLE_BODIES = {  # by operationId
    "api_create_account": {"code": "1026", "name": "Third bank", "type": "asset", "subtype": "bank"},
    "accounting_api_create_entry": {"journal": "MISC", "date": "2026-02-02", "label": "Schema",
                                    "lines": [{"account": "1020", "debit": "10.00"},
                                              {"account": "1000", "credit": "10.00"}]},
    "accounting_api_reverse_entry": {"date": "2026-02-03"},
    "accounting_api_save_partner": {"code": "SCH2", "name": "Schema Ltd", "country": "FR"},
    "accounting_api_save_product": {"code": "SCHP", "name": "Schema product", "price": "5"},
    "accounting_api_create_invoice": {"partner": "SCH1", "date": "2026-02-02",
                                      "lines": [{"label": "Schema", "unit_price": "10"}]},
    "accounting_api_create_payment": {"partner": "SCH1", "date": "2026-02-03", "amount": "5"},
}


def test_every_operation_answers_as_documented(settings, database, org):
    app = make_app(settings, database)
    client = app.test_client()
    user = make_user(database, org, "owner@acme.test")
    with database.transaction() as session:
        token = create_api_token(session, user, org.id, "schema")[1]
    headers = {"Authorization": f"Bearer {token}"}
    document = client.get(f"{API_PREFIX}/openapi.json").get_json()
    # Ids for the path parameters: an account the entries do not use (it gets deprecated), and entries made on the way (a draft to post,
    # a posted one to reverse).
    spare = next(a for a in client.get(f"{API_PREFIX}/accounts", headers=headers).get_json() if a["code"] == "1010")
    draft = client.post(f"{API_PREFIX}/entries", json=SAMPLE_BODIES["accounting_api_create_entry"],
                        headers=headers).get_json()["entry"]["id"]
    posted = client.post(f"{API_PREFIX}/entries", json={**SAMPLE_BODIES["accounting_api_create_entry"], "post": True},
                         headers=headers).get_json()["entry"]["id"]
    partner = client.post(f"{API_PREFIX}/partners", json={"code": "SCH1", "name": "Schema SA"},
                          headers=headers).get_json()["id"]
    invoice = client.post(f"{API_PREFIX}/invoices", json=SAMPLE_BODIES["accounting_api_create_invoice"],
                          headers=headers).get_json()["invoice"]["id"]
    posted_invoice = client.post(f"{API_PREFIX}/invoices", json={**SAMPLE_BODIES["accounting_api_create_invoice"],
                                                                 "post": True}, headers=headers).get_json()["invoice"]["id"]
    payment = client.post(f"{API_PREFIX}/payments", json=SAMPLE_BODIES["accounting_api_create_payment"],
                          headers=headers).get_json()["id"]
    bodies = {**SAMPLE_BODIES, "accounting_api_allocate": {"payment_id": payment, "amount": "1"}}
    ids = {"account_id": spare["id"], "entry_id": {"post": draft, "reverse": posted, "": draft},
           "partner_id": partner,
           "invoice_id": {"post": invoice, "allocations": posted_invoice, "": invoice}}
    called = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            url = path
            for name in re.findall(r"{(\w+)}", path):
                value = ids[name]
                if isinstance(value, dict):
                    value = value.get(path.rsplit("/", 1)[1], value[""])
                url = url.replace("{" + name + "}", str(value))
            query = {p["name"]: SAMPLE_QUERY[p["name"]] for p in operation["parameters"]
                     if p["in"] == "query" and p["name"] in SAMPLE_QUERY}
            response = client.open(url, method=method.upper(), query_string=query, headers=headers,
                                   json=bodies.get(operation["operationId"], {}) if method == "post" else None)
            (status, declared), = [(s, r) for s, r in operation["responses"].items() if s.startswith("2")]
            assert str(response.status_code) == status, f"{method} {url}: {response.get_json()}"
            schema = declared["content"]["application/json"]["schema"]
            OAS30Validator(schema).validate(response.get_json())
            called += 1
    assert called == sum(len(item) for item in document["paths"].values()) >= 28


def test_errors_match_the_documented_error_schema(settings, database, org):
    client = make_app(settings, database).test_client()
    user = make_user(database, org, "owner@acme.test")
    with database.transaction() as session:
        token = create_api_token(session, user, org.id, "schema")[1]
    document = client.get(f"{API_PREFIX}/openapi.json").get_json()
    error_schema = document["components"]["schemas"]["Error"]
    response = client.post(f"{API_PREFIX}/entries", json={"journal": "MISC", "lines": []},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    OAS30Validator(error_schema).validate(response.get_json())
    for bad in (client.get(f"{API_PREFIX}/entries"), client.get(f"{API_PREFIX}/nowhere")):
        OAS30Validator(error_schema).validate(bad.get_json())


@pytest.mark.parametrize("path", ["/accounting/", "/accounting/entries", "/accounting/reports/trial-balance"])
def test_a_disabled_plugins_pages_answer_404(settings, database, org, path):
    from core.plugins import disable_plugin
    from tests.webtools import signed_in

    make_user(database, org, "owner@acme.test")
    app = make_app(settings, database)
    client, _ = signed_in(app, "owner@acme.test")
    assert client.get(path).status_code == 200
    with database.transaction(org.id) as session:
        disable_plugin(session, "accounting")
    assert client.get(path).status_code == 404
    assert "Journal entries" not in client.get("/").get_data(as_text=True)
