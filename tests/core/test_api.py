"""The JSON API through the test client: tokens, permissions, JSON errors with field details,
the endpoints, and the OpenAPI document (valid, and matching the routes exactly)."""
from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from core.auth import create_api_token
from core.plugins import disable_plugin
from core.security import find_user
from core.web.api import API_PREFIX, operations
from tests.conftest import make_user
from tests.webtools import make_app


@pytest.fixture
def app(settings, database):  # noqa: ANN001, ANN201
    return make_app(settings, database)


def token_for(database, org, email: str, role: str = "owner") -> str:  # noqa: ANN001
    user = make_user(database, org, email, role)
    with database.transaction() as session:
        return create_api_token(session, user, org.id, "tests")[1]


class Api:
    def __init__(self, client, token: str) -> None:  # noqa: ANN001
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **query: str):  # noqa: ANN201
        return self.client.get(API_PREFIX + path, query_string=query, headers=self.headers)

    def post(self, path: str, body: object = None):  # noqa: ANN201
        return self.client.post(API_PREFIX + path, json=body if body is not None else {}, headers=self.headers)


@pytest.fixture
def api(app, database, org):  # noqa: ANN001, ANN201
    return Api(app.test_client(), token_for(database, org, "owner@acme.test"))


def sale(day: str = "2026-03-10", amount: str = "150.00", post: bool = False) -> dict:
    return {"journal": "SAL", "date": day, "label": "Consulting", "reference": "INV-1", "post": post,
            "lines": [{"account": "1020", "debit": amount}, {"account": "4000", "credit": amount, "label": "fee"}]}


def test_the_openapi_document_is_valid_and_matches_the_routes(app):
    document = app.test_client().get(f"{API_PREFIX}/openapi.json").get_json()
    validate(document)
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API_PREFIX):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routed.update((method, path) for method in rule.methods - {"HEAD", "OPTIONS"})
    assert documented == routed
    assert len(operations(app)) == len(routed) >= 15
    entry = document["paths"][f"{API_PREFIX}/entries"]["post"]
    assert "accounting.draft" in entry["description"]
    assert entry["requestBody"]["content"]["application/json"]["schema"]["required"] == ["journal", "date", "lines"]


def test_no_token_or_a_bad_one_is_401_in_json(app):
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer cpt_nope"}, {"Authorization": "Basic x"}):
        response = client.get(f"{API_PREFIX}/accounts", headers=headers)
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


def test_the_session_cookie_does_not_open_the_api(app, org, owner):
    from tests.webtools import sign_in

    client = app.test_client()
    sign_in(client, "owner@acme.test")
    assert client.get(f"{API_PREFIX}/accounts").status_code == 401


def test_accounts(api):
    listed = api.get("/accounts").get_json()
    bank = next(a for a in listed if a["code"] == "1020")
    assert bank["subtype"] == "bank" and api.get(f"/accounts/{bank['id']}").get_json() == bank
    created = api.post("/accounts", {"code": "1025", "name": "Second bank", "type": "asset", "subtype": "bank"})
    assert created.status_code == 201 and created.get_json()["code"] == "1025"
    deprecated = api.post(f"/accounts/{created.get_json()['id']}/deprecate").get_json()
    assert deprecated["deprecated"] is True
    assert "1025" not in {a["code"] for a in api.get("/accounts", include_deprecated="false").get_json()}


def test_errors_are_json_with_every_field(api):
    response = api.post("/accounts", {"code": "", "name": "", "type": "planet", "currency": "XXQ"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    fields = {f["field"] for f in error["fields"]}
    assert {"code", "name"} <= fields
    bad = api.post("/entries", {"journal": "SAL", "date": "10/03/2026",
                                "lines": [{"account": "1020", "debit": 12.5}, "x"]}).get_json()["error"]
    fields = {f["field"] for f in bad["fields"]}
    assert {"date", "lines[1].debit", "lines[2]"} <= fields
    conflict = api.post("/accounts", {"code": "1020", "name": "Again", "type": "asset"})
    assert conflict.status_code == 409 and conflict.get_json()["error"]["code"] == "conflict"
    assert api.get("/accounts/999999999").status_code == 404
    assert api.get("/reports/trial-balance", **{"from": "yesterday"}).status_code == 422


def test_entries_draft_post_reverse_and_reports(api):
    draft = api.post("/entries", sale())
    assert draft.status_code == 201
    entry_id = draft.get_json()["entry"]["id"]
    assert draft.get_json()["entry"]["state"] == "draft" and draft.get_json()["entry"]["name"] is None
    posted = api.post(f"/entries/{entry_id}/post").get_json()
    assert posted["entry"]["state"] == "posted" and posted["entry"]["name"].startswith("SAL/")
    assert posted["entry"]["total"] == "150.00"
    assert [line["debit"] for line in posted["lines"]] == ["150.00", "0.00"]
    again = api.post(f"/entries/{entry_id}/post")
    assert again.status_code == 409
    listed = api.get("/entries", state="posted").get_json()
    assert [e["id"] for e in listed["entries"]] == [entry_id]
    balance = {r["code"]: r["balance"] for r in api.get("/reports/trial-balance", **{
        "from": "2026-01-01", "to": "2026-12-31"}).get_json()["rows"]}
    assert balance == {"1020": "150.00", "4000": "-150.00"}
    reversal = api.post(f"/entries/{entry_id}/reverse", {"date": "2026-03-31"})
    assert reversal.status_code == 201 and reversal.get_json()["entry"]["reversal_of_id"] == entry_id
    ledger = api.get("/reports/general-ledger", account="1020", **{"from": "2026-01-01", "to": "2026-12-31"})
    assert [r["balance"] for r in ledger.get_json()["rows"]] == ["150.00", "0.00"]
    pnl = api.get("/reports/profit-and-loss", **{"from": "2026-01-01", "to": "2026-12-31"}).get_json()
    assert pnl["result"] == "0.00"
    sheet = api.get("/reports/balance-sheet", date="2026-12-31").get_json()
    assert sheet["balanced"] is True
    direct = api.post("/entries", sale(day="2026-04-01", post=True)).get_json()
    assert direct["entry"]["state"] == "posted"


def test_a_clerk_drafts_but_cannot_post(app, database, org):
    clerk = Api(app.test_client(), token_for(database, org, "clerk@acme.test", "clerk"))
    draft = clerk.post("/entries", sale())
    assert draft.status_code == 201
    assert clerk.post("/entries", sale(post=True)).status_code == 403
    response = clerk.post(f"/entries/{draft.get_json()['entry']['id']}/post")
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "permission_denied"


def test_a_read_only_token_reads_but_changes_nothing(app, database, org):
    reader = Api(app.test_client(), token_for(database, org, "reader@acme.test", "readonly"))
    assert reader.get("/accounts").status_code == 200
    assert reader.post("/accounts", {"code": "9", "name": "x", "type": "asset"}).status_code == 403
    assert reader.post("/entries", sale()).status_code == 403


def test_a_token_speaks_only_for_its_organization_and_dies_with_the_membership(app, database, org, other_org):
    from core.security import remove_member

    token = token_for(database, org, "owner@acme.test")
    intruder = Api(app.test_client(), token_for(database, other_org, "owner@globex.test"))
    mine = Api(app.test_client(), token)
    entry_id = mine.post("/entries", sale()).get_json()["entry"]["id"]
    assert intruder.get(f"/entries/{entry_id}").status_code == 404
    assert intruder.get("/me").get_json()["organization"] == other_org.id
    make_user(database, org, "second@acme.test", "owner")
    with database.transaction(org.id) as session:
        remove_member(session, find_user(session, "owner@acme.test"))
    assert mine.get("/me").status_code == 401


def test_a_disabled_plugins_endpoints_answer_404(api, database, org):
    assert api.get("/entries").status_code == 200
    with database.transaction(org.id) as session:
        disable_plugin(session, "accounting")
    assert api.get("/entries").status_code == 404
    assert api.get("/reports/trial-balance").status_code == 404
    assert api.get("/accounts").status_code == 200  # the kernel's stay


def test_tokens_from_the_settings_page_and_revoked(app, database, org, owner):
    from tests.webtools import signed_in

    client, csrf = signed_in(app, "owner@acme.test")
    page = client.post("/org/tokens", data={"csrf_token": csrf, "name": "laptop"}).get_data(as_text=True)
    secret = re.search(r"<code data-token>(cpt_[^<]+)</code>", page).group(1)
    assert secret not in client.get("/org/tokens").get_data(as_text=True)  # shown once
    api = Api(app.test_client(), secret)
    assert api.get("/me").get_json()["email"] == "owner@acme.test"
    token_id = re.search(r"/org/tokens/(\d+)/revoke", page).group(1)
    client.post(f"/org/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert api.get("/me").status_code == 401


def test_token_commands(comptoir, database, org, owner):
    code, out, _ = comptoir("token", "create", "owner@acme.test", "--org", "acme", "--name", "ci")
    secret = out.strip()
    assert code == 0 and secret.startswith("cpt_")
    code, out, _ = comptoir("token", "list", "owner@acme.test")
    token_id = out.split("\t")[0]
    assert code == 0 and "\tci\t" in out and secret not in out
    code, out, _ = comptoir("token", "revoke", "owner@acme.test", token_id)
    assert code == 0 and "revoked" in out
    code, _, err = comptoir("token", "create", "nobody@acme.test", "--org", "acme", "--name", "x")
    assert code == 1 and "No user has the email nobody@acme.test" in err
