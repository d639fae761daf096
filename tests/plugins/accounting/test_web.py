"""The accounting pages through the test client: dashboard charts, entries from draft to
reversal, reports and their workbooks, exchange rates; and the kernel settings pages."""
from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from core.periods import list_fiscal_years
from plugins.accounting.testing import sale
from tests.conftest import make_user
from tests.core.excel.helpers import xlsx_upload
from tests.webtools import make_app, signed_in


@pytest.fixture
def app(settings, database):  # noqa: ANN001, ANN201
    return make_app(settings, database)


@pytest.fixture
def books(database, org, owner):  # noqa: ANN001, ANN201
    """Acme with two posted sales in its first fiscal year; returns that year's first day."""
    from plugins.accounting.services import post_entries

    with database.transaction(org.id) as session:
        start = list_fiscal_years(session)[0].start_date
        post_entries(session, [sale(session, "1200.00", start), sale(session, "300.00", start.replace(month=2))])
    return start


def active_menu(html: str) -> list[str]:
    menu = re.search(r'<nav class="menu".*?</nav>', html, re.S).group(0)
    return re.findall(r'<a href="([^"]+)" aria-current="page">', menu)


def entry_form(token: str, then: str = "draft", amount: str = "80", **extra: str) -> dict:
    form = {"csrf_token": token, "journal": "MISC", "date": extra.pop("date", "2026-03-05"), "label": "Fees",
            "reference": "", "account": ["6000", "1020"], "line_label": ["", ""], "debit": [amount, ""],
            "credit": ["", amount], "then": then}
    form.update(extra)
    return form


def test_the_dashboard_draws_cash_and_monthly_results(app, books):
    client, _ = signed_in(app, "owner@acme.test")
    html = client.get("/accounting/").get_data(as_text=True)
    assert html.count("<svg") == 3 and "Cash position" in html and "Monthly income and expenses" in html
    assert "Receivables ageing" in html
    assert "€1,500.00" in html  # cash after both sales
    assert re.search(r'<rect class="bar-a"[^>]*><title>Income [^:]*01: €1,200.00</title>', html)


def test_an_entry_from_draft_to_posted_to_reversed(app, database, org, owner):
    client, token = signed_in(app, "owner@acme.test")
    form_page = client.get("/accounting/entries/new").get_data(as_text=True)
    assert "data-add-line" in form_page
    assert active_menu(form_page) == ["/accounting/entries"]
    created = client.post("/accounting/entries/new", data=entry_form(token))
    assert created.status_code == 302
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "Draft" in page and "€80.00" in page
    entry_id = int(created.headers["Location"].rsplit("/", 1)[1])
    posted = client.post(f"/accounting/entries/{entry_id}/post", data={"csrf_token": token})
    page = client.get(posted.headers["Location"]).get_data(as_text=True)
    assert re.search(r"MISC/\d{4}/00001 posted", page)
    reversed_ = client.post(f"/accounting/entries/{entry_id}/reverse", data={"csrf_token": token, "date": ""})
    page = client.get(reversed_.headers["Location"]).get_data(as_text=True)
    assert "Reversal MISC/" in page and "Reverses another entry" in page
    listing = client.get("/accounting/entries?state=posted&journal=MISC").get_data(as_text=True)
    assert listing.count("/accounting/entries/") >= 2


def test_a_wrong_entry_comes_back_with_every_problem(app, org, owner):
    client, token = signed_in(app, "owner@acme.test")
    form = entry_form(token, account=["6000", "9999"], debit=["abc", ""], credit=["", "80"], date="not a date")
    response = client.post("/accounting/entries/new", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "is not an amount" in html and "is not a date" in html
    assert 'value="9999"' in html  # what was typed is kept


def test_an_unbalanced_draft_is_refused_when_posted(app, org, owner):
    client, token = signed_in(app, "owner@acme.test")
    form = entry_form(token, debit=["80", ""], credit=["", "70"])
    entry_id = client.post("/accounting/entries/new", data=form).headers["Location"].rsplit("/", 1)[1]
    response = client.post(f"/accounting/entries/{entry_id}/post", data={"csrf_token": token})
    assert "balance" in client.get(response.headers["Location"]).get_data(as_text=True).lower()


def test_a_clerk_drafts_but_cannot_post(app, database, org):
    make_user(database, org, "clerk@acme.test", "clerk")
    client, token = signed_in(app, "clerk@acme.test")
    entry = client.post("/accounting/entries/new", data=entry_form(token))
    assert entry.status_code == 302
    entry_id = entry.headers["Location"].rsplit("/", 1)[1]
    assert "Post</button>" not in client.get(f"/accounting/entries/{entry_id}").get_data(as_text=True)
    assert client.post(f"/accounting/entries/{entry_id}/post", data={"csrf_token": token}).status_code == 403
    assert client.post("/accounting/entries/new", data=entry_form(token, then="post")).status_code == 403


def test_reports_in_the_users_language(app, books):
    client, token = signed_in(app, "owner@acme.test")
    year = books.year
    span = {"from": f"{year}-01-01", "to": f"{year}-12-31"}
    html = client.get("/accounting/reports/trial-balance", query_string=span).get_data(as_text=True)
    assert re.search(r'data-balance="1020">1,500.00<', html)
    client.post("/language", data={"locale": "fr", "csrf_token": token, "next": "/"})
    html = client.get("/accounting/reports/trial-balance", query_string=span).get_data(as_text=True)
    assert re.search(r'data-balance="1020">1\u202f500,00<', html)
    client.post("/language", data={"locale": "fa", "csrf_token": token, "next": "/"})
    html = client.get("/accounting/reports/trial-balance", query_string=span).get_data(as_text=True)
    assert "۱٬۵۰۰٫۰۰" in html and 'dir="rtl"' in html
    for name in ("general-ledger", "balance-sheet", "profit-and-loss"):
        page = client.get(f"/accounting/reports/{name}", query_string=span).get_data(as_text=True)
        assert active_menu(page) == ["/accounting/reports/trial-balance"]
    ledger = client.get("/accounting/reports/general-ledger", query_string={**span, "account": "1020"})
    assert ledger.get_data(as_text=True).count("/accounting/entries/") == 2


def test_the_general_ledger_pages_by_keyset(app, database, org, owner):
    from plugins.accounting.services import post_entries

    with database.transaction(org.id) as session:
        start = list_fiscal_years(session)[0].start_date
        post_entries(session, [sale(session, f"{n}.00", start) for n in range(1, 56)])
    client, _ = signed_in(app, "owner@acme.test")
    span = {"from": start.isoformat(), "to": start.replace(month=12, day=31).isoformat(), "account": "1020"}
    first = client.get("/accounting/reports/general-ledger", query_string=span).get_data(as_text=True)
    following = re.search(r'href="([^"]*cursor=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(following).get_data(as_text=True)
    assert first.count("/accounting/entries/") == 50 and second.count("/accounting/entries/") == 5
    assert "1,540.00" in second  # 1 + 2 + … + 55


def test_reports_export_to_xlsx_like_the_command_line(app, books):
    client, _ = signed_in(app, "owner@acme.test")
    response = client.get("/accounting/reports/trial-balance.xlsx",
                          query_string={"from": f"{books.year}-01-01", "to": f"{books.year}-12-31"})
    assert response.status_code == 200 and "trial-balance.xlsx" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("code", "name", "opening", "debit", "credit", "balance")
    assert ("1020", "Bank - current account", 0, 1500, 0, 1500) in [tuple(r) for r in rows]
    assert client.get("/accounting/reports/nothing.xlsx").status_code == 404


def test_exchange_rates(app, org, owner):
    client, token = signed_in(app, "owner@acme.test")
    client.post("/accounting/rates", data={"csrf_token": token, "currency": "usd", "date": "2026-05-01",
                                           "rate": "0.9125"})
    html = client.get("/accounting/rates?date=2026-05-02").get_data(as_text=True)
    assert "USD" in html and "0.9125" in html
    bad = client.post("/accounting/rates", data={"csrf_token": token, "currency": "usd", "date": "2026-05-01",
                                                 "rate": "-1"})
    assert "flash error" in client.get(bad.headers["Location"]).get_data(as_text=True)


def test_import_previews_then_confirms(app, database, org, owner):
    client, token = signed_in(app, "owner@acme.test")
    upload = xlsx_upload([("code", "name", "type"), ("4700", "Licences", "income"), ("4710", "Royalties", "income")],
                         "Accounts")
    preview = client.post("/org/import", data={"csrf_token": token, "schema": "accounts",
                                               "file": (upload, "chart.xlsx")}, content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Confirm the import" in html
    assert "4700" not in client.get("/org/accounts").get_data(as_text=True)  # nothing written yet
    confirm = re.search(r'action="(/org/import/[^"]+/confirm)"', html).group(1)
    done = client.post(confirm, data={"csrf_token": token})
    assert "Imported: 2 created" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Royalties" in client.get("/org/accounts").get_data(as_text=True)
    assert client.post(confirm, data={"csrf_token": token}).status_code == 404  # used once


def test_chart_of_accounts_create_and_deprecate(app, org, owner):
    client, token = signed_in(app, "owner@acme.test")
    client.post("/org/accounts", data={"csrf_token": token, "code": "1025", "name": "Second bank",
                                       "type": "asset", "subtype": "bank"})
    html = client.get("/org/accounts").get_data(as_text=True)
    account_id = re.search(r'/org/accounts/(\d+)/deprecate"[^>]*>.{0,400}', html, re.S)
    assert "Second bank" in html and account_id
    wrong = client.post("/org/accounts", data={"csrf_token": token, "code": "", "name": "", "type": "asset",
                                               "subtype": "payable"})
    assert wrong.status_code == 422 and "The account needs a name." in wrong.get_data(as_text=True)
    target = re.search(r'<td>1025</td>.*?/org/accounts/(\d+)/deprecate', html, re.S).group(1)
    client.post(f"/org/accounts/{target}/deprecate", data={"csrf_token": token})
    assert "Second bank" not in client.get("/org/accounts").get_data(as_text=True)
    assert "Second bank" in client.get("/org/accounts?deprecated=1").get_data(as_text=True)


def test_members_plugins_and_periods(app, database, org, owner):
    make_user(database, org, "ann@acme.test", "clerk")
    client, token = signed_in(app, "owner@acme.test")
    html = client.get("/org/members").get_data(as_text=True)
    ann = re.search(r"ann@acme.test</td>.*?/org/members/(\d+)/role", html, re.S).group(1)
    client.post(f"/org/members/{ann}/role", data={"csrf_token": token, "role": "accountant"})
    assert re.search(r'ann@acme.test</td>.*?value="accountant" selected', client.get("/org/members").get_data(
        as_text=True), re.S)
    client.post("/org/plugins/payroll/enable", data={"csrf_token": token})
    assert "Plugin payroll enabled." in client.get("/org/plugins").get_data(as_text=True)
    html = client.get("/org/fiscal-years").get_data(as_text=True)
    period = re.search(r"/org/periods/(\d+)/lock", html).group(1)
    client.post(f"/org/periods/{period}/lock", data={"csrf_token": token})
    assert "locked" in client.get("/org/fiscal-years").get_data(as_text=True)
    client.post("/org/fiscal-years", data={"csrf_token": token})
    with database.session(org.id) as session:
        assert len(list_fiscal_years(session)) == 2
    last_owner = re.search(r"owner@acme.test</td>.*?/org/members/(\d+)/remove", html := client.get(
        "/org/members").get_data(as_text=True), re.S).group(1)
    refused = client.post(f"/org/members/{last_owner}/remove", data={"csrf_token": token})
    assert "at least one owner" in client.get(refused.headers["Location"]).get_data(as_text=True)
    assert Decimal(1)  # the page kept working after a refused change
