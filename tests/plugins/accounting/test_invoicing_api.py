"""The invoicing endpoints of the JSON API: partners, products, invoices from draft to paid,
payments with allocations, aged balances and VAT; errors with every field; permissions; and
a disabled plugin's endpoints answering 404."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.plugins import disable_plugin
from plugins.accounting.invoicing_models import Invoice, Partner
from tests.core.test_api import Api, token_for
from tests.plugins.accounting.invoicing_fixtures import YEAR
from tests.webtools import make_app


@pytest.fixture
def app(settings, database):  # noqa: ANN001, ANN201
    return make_app(settings, database)


@pytest.fixture
def api(app, database, fr_org):  # noqa: ANN001, ANN201
    return Api(app.test_client(), token_for(database, fr_org, "owner@acme.test"))


def customer(api: Api, code: str = "C001") -> dict:
    response = api.post("/partners", {"code": code, "name": "Boulangerie Martin", "country": "FR",
                                      "email": "compta@martin.test", "payment_terms_days": 30})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def sale(post: bool = True, **extra: object) -> dict:
    return {"partner": "C001", "date": f"{YEAR}-03-01", "due_date": f"{YEAR}-03-31", "post": post,
            "lines": [{"label": "Consulting", "quantity": "2", "unit_price": "50"}], **extra}


def test_an_invoice_from_the_api_paid_in_part_and_the_aged_balance_follows(api):
    partner = customer(api)
    assert api.get(f"/partners/{partner['id']}").get_json()["email"] == "compta@martin.test"
    assert [p["code"] for p in api.get("/partners").get_json()] == ["C001"]
    product = api.post("/products", {"code": "BREAD", "name": "Bread", "price": "2.50", "kind": "goods"})
    assert product.status_code == 201 and product.get_json()["price"] == "2.50"
    assert [p["code"] for p in api.get("/products").get_json()] == ["BREAD"]

    draft = api.post("/invoices", sale(post=False, lines=[{"product": "BREAD", "quantity": "4"},
                                                          {"label": "Consulting", "unit_price": "100"}]))
    assert draft.status_code == 201, draft.get_json()
    body = draft.get_json()
    assert body["invoice"]["state"] == "draft" and body["invoice"]["total"] == "132.00"
    assert [line["untaxed"] for line in body["lines"]] == ["10.00", "100.00"]
    invoice_id = body["invoice"]["id"]
    posted = api.post(f"/invoices/{invoice_id}/post").get_json()["invoice"]
    assert posted["state"] == "posted" and posted["name"].startswith(f"INV/{YEAR}/")

    aged = api.get("/reports/aged-balance", date=f"{YEAR}-04-15").get_json()
    assert aged["rows"][0]["partner"] == "C001" and aged["total"] == "132.00" and aged["rows"][0]["amounts"][1] == "132.00"
    paid = api.post("/payments", {"partner": "C001", "date": f"{YEAR}-04-10", "amount": "40",
                                  "allocations": [{"invoice_id": invoice_id, "amount": "32"}]})
    assert paid.status_code == 201, paid.get_json()
    assert paid.get_json()["unallocated"] == "8.00"
    assert api.get(f"/invoices/{invoice_id}").get_json()["invoice"]["residual"] == "100.00"
    assert api.get("/reports/aged-balance", date=f"{YEAR}-04-15").get_json()["total"] == "92.00"  # 100 - 8 credit
    assert api.get("/reports/aged-balance", date=f"{YEAR}-04-01").get_json()["total"] == "132.00"
    payment_id = paid.get_json()["id"]
    assert api.post(f"/invoices/{invoice_id}/allocations", {"payment_id": payment_id, "amount": "9"}).status_code == 422
    settled = api.post(f"/invoices/{invoice_id}/allocations", {"payment_id": payment_id, "amount": "8"})
    assert settled.status_code == 201 and settled.get_json()["invoice"]["residual"] == "92.00"
    assert len(settled.get_json()["allocations"]) == 2
    assert api.get("/reports/aged-balance", date=f"{YEAR}-04-15").get_json()["total"] == "92.00"  # the same debt
    assert len(api.get("/payments").get_json()) == 1
    assert [i["id"] for i in api.get("/invoices", state="posted").get_json()] == [invoice_id]

    vat = api.get("/reports/vat", **{"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31"}).get_json()
    assert vat["balance"] == "22.00" and vat["rows"][0]["side"] == "collected"


def test_api_errors_name_every_field_and_write_nothing(api, database, fr_org):
    customer(api)
    wrong = api.post("/invoices", {"partner": "NOPE", "date": "later", "kind": "gift",
                                   "lines": [{"unit_price": 3.5}, "x"]})
    assert wrong.status_code == 422
    fields = {f["field"] for f in wrong.get_json()["error"]["fields"]}
    assert {"date", "kind", "lines[1].unit_price", "lines[2]"} <= fields
    unknown = api.post("/invoices", sale(partner="NOPE"))
    assert unknown.status_code == 422 and "NOPE" in unknown.get_json()["error"]["fields"][0]["message"]
    assert api.post("/partners", {"code": "", "name": "", "payment_terms_days": "soon"}).status_code == 422
    huge = api.post("/payments", {"partner": "C001", "date": f"{YEAR}-04-10", "amount": "1" * 15})
    assert huge.status_code == 422
    with database.session(fr_org.id) as session:
        assert session.scalar(select(func.count()).select_from(Invoice)) == 0
        assert session.scalar(select(func.count()).select_from(Partner)) == 1


def test_a_clerk_drafts_by_api_but_cannot_post_or_pay(app, api, database, fr_org):
    customer(api)
    clerk = Api(app.test_client(), token_for(database, fr_org, "clerk@acme.test", "clerk"))
    draft = clerk.post("/invoices", sale(post=False))
    assert draft.status_code == 201
    assert clerk.post("/invoices", sale(post=True)).status_code == 403
    assert clerk.post(f"/invoices/{draft.get_json()['invoice']['id']}/post").status_code == 403
    assert clerk.post("/payments", {"partner": "C001", "date": f"{YEAR}-04-10", "amount": "5"}).status_code == 403
    reader = Api(app.test_client(), token_for(database, fr_org, "reader@acme.test", "readonly"))
    assert reader.get("/invoices").status_code == 200
    assert reader.post("/partners", {"code": "X", "name": "X"}).status_code == 403


def test_a_disabled_plugins_invoicing_endpoints_and_pages_answer_404(app, api, database, fr_org):
    from tests.webtools import signed_in

    customer(api)
    with database.transaction(fr_org.id) as session:
        disable_plugin(session, "accounting")
    for path in ("/partners", "/products", "/invoices", "/payments", "/reports/aged-balance", "/reports/vat"):
        assert api.get(path).status_code == 404, path
    client, _ = signed_in(app, "owner@acme.test")
    for path in ("/accounting/invoices", "/accounting/invoices/new", "/accounting/payments", "/accounting/partners",
                 "/accounting/products", "/accounting/reports/aged-receivables", "/accounting/reports/vat"):
        assert client.get(path).status_code == 404, path
