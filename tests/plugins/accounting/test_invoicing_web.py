"""The invoicing pages through the test client: an invoice from draft to printed, sent and
partly paid, the aged balance following; payments, partners, products, the VAT report;
refused forms that write nothing, in the user's language; and who may do what."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from plugins.accounting.invoicing_models import Invoice, Partner, Payment, Product
from plugins.accounting.testing import invoice, partner
from tests.conftest import make_user
from tests.plugins.accounting.invoicing_fixtures import YEAR
from tests.webtools import make_app, signed_in, smtp_server


@pytest.fixture
def app(settings, database):  # noqa: ANN001, ANN201
    return make_app(settings, database)


@pytest.fixture
def shop(database, fr_org):  # noqa: ANN001, ANN201
    """Acme France with a customer, a product, and its owner."""
    from plugins.accounting.partners import ProductInput, save_product

    make_user(database, fr_org, "owner@acme.test", "owner")
    with database.transaction(fr_org.id) as session:
        partner(session, "C001", "Boulangerie Martin", email="compta@martin.test")
        save_product(session, ProductInput("BREAD", "Bread", "2.50"))
    return fr_org


def count(database, org, model) -> int:  # noqa: ANN001
    with database.session(org.id) as session:
        return session.scalar(select(func.count()).select_from(model))


def invoice_form(token: str, then: str = "draft", **extra) -> dict:  # noqa: ANN003
    form = {"csrf_token": token, "kind": "customer_invoice", "partner": "C001", "date": f"{YEAR}-03-01",
            "due_date": f"{YEAR}-03-31", "currency": "", "reference": "PO-7",
            "product": ["", "BREAD"], "line_label": ["Consulting", ""], "quantity": ["1", "4"],
            "unit_price": ["100", ""], "tax": ["", ""], "then": then}
    form.update(extra)
    return form


def aged_total(client, day: str) -> str:  # noqa: ANN001
    html = client.get("/accounting/reports/aged-receivables", query_string={"to": day}).get_data(as_text=True)
    return re.search(r'data-aged="C001">([^<]*)<', html).group(1)


def test_an_invoice_from_draft_to_posted_printed_and_partly_paid(app, database, shop):
    client, token = signed_in(app, "owner@acme.test")
    form_page = client.get("/accounting/invoices/new").get_data(as_text=True)
    assert "Boulangerie Martin" in form_page and "BREAD" in form_page
    created = client.post("/accounting/invoices/new", data=invoice_form(token))
    assert created.status_code == 302
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    invoice_id = int(created.headers["Location"].rsplit("/", 1)[1])
    assert "Draft" in page and re.search(r"data-total>€132.00<", page)  # (100 + 4 × 2.50) × 1.2

    posted = client.post(f"/accounting/invoices/{invoice_id}/post", data={"csrf_token": token})
    page = client.get(posted.headers["Location"]).get_data(as_text=True)
    assert re.search(rf"Invoice INV/{YEAR}/\d+ posted", page) and "Not paid" in page
    response = client.get(f"/accounting/invoices/{invoice_id}/print")
    printed = response.get_data(as_text=True)
    assert "@page" in printed and "<script" not in printed
    assert "style-src 'unsafe-inline'" in response.headers["Content-Security-Policy"]  # its stylesheet applies
    assert "Boulangerie Martin" in printed and "PO-7" in printed
    assert aged_total(client, f"{YEAR}-04-15") == "132.00"

    paid = client.post(f"/accounting/invoices/{invoice_id}/payments",
                       data={"csrf_token": token, "date": f"{YEAR}-04-10", "amount": "32", "journal": "BNK"})
    page = client.get(paid.headers["Location"]).get_data(as_text=True)
    assert "The payment was recorded." in page and "Partly paid" in page
    assert re.search(r"data-residual>€100.00<", page)
    assert aged_total(client, f"{YEAR}-04-15") == "100.00"
    assert aged_total(client, f"{YEAR}-04-05") == "132.00"  # before the payment
    listing = client.get("/accounting/invoices?state=posted").get_data(as_text=True)
    assert f"/accounting/invoices/{invoice_id}" in listing
    assert "€32.00" in client.get("/accounting/payments").get_data(as_text=True)


def test_a_wrong_invoice_comes_back_with_every_problem_and_writes_nothing(app, database, shop):
    client, token = signed_in(app, "owner@acme.test")
    form = invoice_form(token, date="someday", unit_price=["abc", ""], product=["", "NOPE"], partner="C001")
    response = client.post("/accounting/invoices/new", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "is not a date" in html and "abc is not an amount" in html
    assert 'value="PO-7"' in html  # what was typed is kept
    service = client.post("/accounting/invoices/new", data=invoice_form(token, product=["", "NOPE"]))
    assert service.status_code == 422 and "there is no product NOPE" in service.get_data(as_text=True)
    client.post("/language", data={"locale": "fr", "csrf_token": token, "next": "/"})
    french = client.post("/accounting/invoices/new", data=invoice_form(token, product=["", "NOPE"]))
    assert "le produit NOPE n&#39;existe pas" in french.get_data(as_text=True)
    assert count(database, shop, Invoice) == 0


def test_a_clerk_drafts_invoices_but_cannot_post_pay_or_send(app, database, shop):
    make_user(database, shop, "clerk@acme.test", "clerk")
    client, token = signed_in(app, "clerk@acme.test")
    created = client.post("/accounting/invoices/new", data=invoice_form(token))
    assert created.status_code == 302
    invoice_id = created.headers["Location"].rsplit("/", 1)[1]
    assert "Post</button>" not in client.get(f"/accounting/invoices/{invoice_id}").get_data(as_text=True)
    assert client.post(f"/accounting/invoices/{invoice_id}/post", data={"csrf_token": token}).status_code == 403
    assert client.post("/accounting/invoices/new", data=invoice_form(token, then="post")).status_code == 403
    assert client.get("/accounting/payments/new").status_code == 403
    assert client.post(f"/accounting/invoices/{invoice_id}/send", data={"csrf_token": token}).status_code == 403
    with database.session(shop.id) as session:
        assert session.scalar(select(func.count()).select_from(Invoice).where(Invoice.state == "posted")) == 0


def test_an_invoice_is_sent_by_email_and_a_refusal_is_explained(app, database, shop):
    from plugins.accounting.printing import save_invoicing_settings

    client, token = signed_in(app, "owner@acme.test")
    with database.transaction(shop.id) as session:
        posted = invoice(session, "C001", ("80",), None)
    refused = client.post(f"/accounting/invoices/{posted.id}/send", data={"csrf_token": token})
    assert "SMTP server" in client.get(refused.headers["Location"]).get_data(as_text=True)
    with smtp_server() as (inbox, port), database.transaction(shop.id) as session:
        save_invoicing_settings(session, sender="billing@acme.test", smtp_host="127.0.0.1", smtp_port=port,
                                smtp_security="none")
        session.commit()
        sent = client.post(f"/accounting/invoices/{posted.id}/send", data={"csrf_token": token, "to": ""})
        assert "sent by email" in client.get(sent.headers["Location"]).get_data(as_text=True)
        assert len(inbox.messages) == 1
        assert inbox.messages[0]["To"].endswith("<compta@martin.test>") and posted.name in inbox.messages[0]["Subject"]


def test_cancelling_by_credit_note(app, database, shop):
    client, token = signed_in(app, "owner@acme.test")
    with database.transaction(shop.id) as session:
        posted = invoice(session, "C001", ("50",), None)
    done = client.post(f"/accounting/invoices/{posted.id}/cancel", data={"csrf_token": token, "date": ""})
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "cancelled by a credit note" in page and "Customer credit note" in page
    assert "Cancelled" in client.get(f"/accounting/invoices/{posted.id}").get_data(as_text=True)


def test_a_payment_allocated_from_the_payments_page(app, database, shop):
    client, token = signed_in(app, "owner@acme.test")
    with database.transaction(shop.id) as session:
        first = invoice(session, "C001", ("100",), None)
    form_page = client.get("/accounting/payments/new").get_data(as_text=True)
    assert first.name in form_page
    wrong = client.post("/accounting/payments/new", data={
        "csrf_token": token, "partner": "C001", "date": f"{YEAR}-02-01", "amount": "-5", "journal": "BNK",
        "invoice": [str(first.id)], "allocate": ["x"]})
    assert wrong.status_code == 422 and "x is not an amount" in wrong.get_data(as_text=True)
    too_much = client.post("/accounting/payments/new", data={
        "csrf_token": token, "partner": "C001", "date": f"{YEAR}-02-01", "amount": "10", "journal": "BNK",
        "invoice": [str(first.id)], "allocate": ["50"]})
    assert too_much.status_code == 422
    assert count(database, shop, Payment) == 0
    done = client.post("/accounting/payments/new", data={
        "csrf_token": token, "partner": "C001", "date": f"{YEAR}-02-01", "amount": "70", "journal": "BNK",
        "reference": "TRANSFER 1", "invoice": [str(first.id)], "allocate": ["60"]})
    assert done.status_code == 302
    listing = client.get("/accounting/payments").get_data(as_text=True)
    assert "TRANSFER 1" in listing and "€10.00" in listing  # 70 paid, 60 allocated
    with database.session(shop.id) as session:
        assert session.get_one(Invoice, (shop.id, first.id)).payment_state == "partial"
    with database.transaction(shop.id) as session:
        second = invoice(session, "C001", ("5",), None)  # 6.00 with VAT
    page = client.get(f"/accounting/invoices/{second.id}").get_data(as_text=True)
    source = re.search(r'<select name="source"><option value="(payment:\d+)">', page).group(1)
    assert "€10.00" in page  # what is left of the payment
    refused = client.post(f"/accounting/invoices/{second.id}/allocate",
                          data={"csrf_token": token, "source": source, "amount": "7"})
    assert "Only 6.00 is still open" in client.get(refused.headers["Location"]).get_data(as_text=True)
    done = client.post(f"/accounting/invoices/{second.id}/allocate",
                       data={"csrf_token": token, "source": source, "amount": "6"})
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "The amount was allocated." in page and "data-payment-state>Paid<" in page


def test_partners_and_products_created_edited_and_refused(app, database, shop):
    client, token = signed_in(app, "owner@acme.test")
    created = client.post("/accounting/partners/new", data={
        "csrf_token": token, "code": "S001", "name": "Moulin SA", "kind": "company", "is_supplier": "1",
        "country": "FR", "payment_terms_days": "45"})
    assert created.status_code == 302
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "The partner was saved." in page and 'value="45"' in page
    partner_id = created.headers["Location"].rsplit("/", 1)[1]
    client.post(f"/accounting/partners/{partner_id}", data={"csrf_token": token, "name": "Moulin et fils",
                                                            "kind": "company", "payment_terms_days": "30"})
    assert "Moulin et fils" in client.get("/accounting/partners").get_data(as_text=True)
    wrong = client.post("/accounting/partners/new", data={
        "csrf_token": token, "code": "S002", "name": "", "vat_number": "FR000", "country": "FR",
        "payment_terms_days": "x"})
    assert wrong.status_code == 422 and "whole number" in wrong.get_data(as_text=True)
    wrong = client.post("/accounting/partners/new", data={
        "csrf_token": token, "code": "S002", "name": "", "vat_number": "FR000", "country": "FR"})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "needs a name" in html and "not a valid VAT number" in html
    duplicate = client.post("/accounting/partners/new", data={"csrf_token": token, "code": "C001", "name": "X"})
    assert duplicate.status_code == 422 and "already a partner C001" in duplicate.get_data(as_text=True)
    assert count(database, shop, Partner) == 2

    made = client.post("/accounting/products/new", data={"csrf_token": token, "code": "CAKE", "name": "Cake",
                                                         "kind": "goods", "price": "12,50", "sale_tax": ""})
    assert made.status_code == 302
    assert "12.50" in client.get("/accounting/products").get_data(as_text=True)
    refused = client.post("/accounting/products/new", data={"csrf_token": token, "code": "PIE", "name": "Pie",
                                                            "price": "cheap", "kind": "goods"})
    assert refused.status_code == 422 and "cheap is not an amount" in refused.get_data(as_text=True)
    assert count(database, shop, Product) == 2
    make_user(database, shop, "reader@acme.test", "readonly")
    reader, reader_token = signed_in(app, "reader@acme.test")
    page = reader.get(f"/accounting/partners/{partner_id}").get_data(as_text=True)
    assert "Moulin et fils" in page and "Save</button>" not in page
    assert reader.post(f"/accounting/partners/{partner_id}", data={"csrf_token": reader_token, "name": "X"}
                       ).status_code == 403


def test_vat_and_aged_reports_export_in_the_users_language(app, database, shop):
    client, token = signed_in(app, "owner@acme.test")
    with database.transaction(shop.id) as session:
        invoice(session, "C001", ("100",), None)
    span = {"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31"}
    html = client.get("/accounting/reports/vat", query_string=span).get_data(as_text=True)
    assert re.search(r"data-vat-balance>20.00<", html)
    client.post("/language", data={"locale": "fr", "csrf_token": token, "next": "/"})
    for name, title in (("vat", "Déclaration de TVA"), ("aged-receivables", "Balance âgée clients")):
        response = client.get(f"/accounting/reports/{name}.xlsx", query_string=span)
        assert response.status_code == 200
        book = load_workbook(io.BytesIO(response.data))
        assert book.sheetnames == [title[:31]], book.sheetnames
    rows = list(load_workbook(io.BytesIO(client.get("/accounting/reports/vat.xlsx", query_string=span).data))
                .active.iter_rows(values_only=True))
    assert rows[-1][2] == "TVA due pour la période" and rows[-1][5] == 20


def test_the_dashboard_draws_the_receivables_ageing(app, database, shop):
    client, _ = signed_in(app, "owner@acme.test")
    with database.transaction(shop.id) as session:
        invoice(session, "C001", ("100",), None)
    html = client.get("/accounting/").get_data(as_text=True)
    assert html.count("<svg") == 3 and "Receivables ageing" in html
    assert re.search(r"<title>Owed by customers Over 90 days: €120.00</title>", html)
