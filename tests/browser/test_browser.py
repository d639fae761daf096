"""The web UI in a real headless Chromium (Debian's, driven by Playwright) against the real
app served over HTTP on a loopback port: sign in, switch organization, write and post an
entry, read and export the trial balance, and read it again in Persian, right to left."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from core.periods import list_fiscal_years
from core.security import add_member
from tests.conftest import STRONG_PASSWORD, make_org, make_user
from tests.webtools import make_app, serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PERSIAN_DIGITS = re.compile("[۰-۹]")


@pytest.fixture
def browser():  # noqa: ANN201
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def site(settings, database):  # noqa: ANN001, ANN201
    """Acme (owner) and Globex (accountant) for one user, the app on a real HTTP server."""
    from plugins.accounting.services import post_entries
    from plugins.accounting.testing import sale

    acme = make_org(database, "Acme")
    user = make_user(database, acme, "marie@acme.test", "owner")
    globex = make_org(database, "Globex")
    with database.transaction(globex.id) as session:
        add_member(session, user, "accountant")
    with database.transaction(acme.id) as session:
        start = list_fiscal_years(session)[0].start_date
        post_entries(session, [sale(session, "1200.00", start), sale(session, "340.00", start.replace(month=2))])
    with serving(make_app(settings, database)) as base_url:
        yield base_url, start


def sign_in(page, base_url: str) -> None:  # noqa: ANN001
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", "marie@acme.test")
    page.fill("input[name=password]", STRONG_PASSWORD)
    page.click("button[type=submit] >> text=Sign in")
    page.wait_for_url(f"{base_url}/")


def test_a_bookkeepers_day_in_the_browser(browser, site, tmp_path):
    base_url, start = site
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    sign_in(page, base_url)
    assert page.inner_text("h1") == "Acme"

    # The switcher submits by itself when another organization is chosen.
    page.select_option("header select[name=org_id]", label="Globex — Accountant")
    page.wait_for_function("document.querySelector('h1').innerText === 'Globex'")
    page.select_option("header select[name=org_id]", label="Acme — Owner")
    page.wait_for_function("document.querySelector('h1').innerText === 'Acme'")

    # A three-line entry: the third line comes from the "add a line" button (the page's script).
    page.click("nav.menu >> text=Journal entries")
    page.click("text=New entry")
    page.fill("input[name=date]", start.replace(month=3, day=15).isoformat())
    page.fill("input[name=label]", "Office rent and supplies")
    page.select_option("select[name=journal]", "MISC")
    page.click("[data-add-line]")
    assert page.locator("tr[data-line]").count() == 3
    lines = page.locator("tr[data-line]")
    for number, (account, debit, credit) in enumerate([("6100", "500", ""), ("6300", "40.50", ""),
                                                       ("1020", "", "540.50")]):
        lines.nth(number).locator("input[name=account]").fill(account)
        lines.nth(number).locator("input[name=debit]").fill(debit)
        lines.nth(number).locator("input[name=credit]").fill(credit)
    assert page.inner_text("[data-balance]") == "0.00"
    page.click("text=Save as draft")
    page.wait_for_selector("text=The entry was saved.")
    page.click("button >> text=Post")
    page.wait_for_selector("text=posted.")
    assert re.search(r"MISC/\d{4}/00001", page.inner_text("h1"))

    # The trial balance shows it, and exports it to a workbook.
    page.click("nav.menu >> text=Reports")
    page.fill("input[name=from]", start.isoformat())
    page.fill("input[name=to]", start.replace(month=12, day=31).isoformat())
    page.click("form >> text=Show")
    assert page.inner_text("[data-balance='1020']") == "999.50"  # 1200 + 340 - 540.50
    with page.expect_download() as download:
        page.click("[data-export]")
    saved = tmp_path / "trial-balance.xlsx"
    download.value.save_as(saved)
    rows = {row[0]: row for row in load_workbook(saved).active.iter_rows(values_only=True)}
    assert rows["1020"][5] == 999.5 and rows["6100"][3] == 500

    # In Persian the page turns right to left, with Persian digits.
    page.select_option("header select[name=locale]", "fa")
    page.wait_for_function("document.documentElement.dir === 'rtl'")
    assert page.get_attribute("html", "lang") == "fa"
    balance = page.inner_text("[data-balance='1020']")
    assert balance == "۹۹۹٫۵۰" and PERSIAN_DIGITS.search(balance)
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    shot = tmp_path / "trial-balance-fa.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_narrow_screen_keeps_the_page_usable(browser, site):
    base_url, _start = site
    page = browser.new_page(viewport={"width": 390, "height": 800})
    sign_in(page, base_url)
    page.goto(f"{base_url}/accounting/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400  # nothing forces a sideways scroll
    assert page.locator("svg").count() == 3


def test_an_invoice_posted_and_partly_paid_in_the_browser(browser, site):
    base_url, start = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, base_url)
    day = start.replace(month=12, day=31).isoformat()

    page.click("nav.menu >> text=Partners")
    page.click("text=New partner")
    page.fill("input[name=code]", "C001")
    page.fill("input[name=name]", "Boulangerie Martin")
    page.click("button >> text=Save")
    page.wait_for_selector("text=The partner was saved.")

    page.click("nav.menu >> text=Invoices")
    page.click("text=New invoice")
    page.select_option("select[name=partner]", "C001")
    page.fill("input[name=date]", start.replace(month=3, day=1).isoformat())
    page.fill("input[name=due_date]", start.replace(month=3, day=31).isoformat())
    line = page.locator("tr[data-line]").first
    line.locator("input[name=line_label]").fill("Consulting")
    line.locator("input[name=unit_price]").fill("200")
    page.click("text=Save as draft")
    page.wait_for_selector("text=The invoice was saved.")
    page.click("button >> text=Post")
    page.wait_for_selector("text=posted.")
    invoice_url = page.url
    total = page.inner_text("[data-total]")
    assert re.search(r"INV/\d{4}/\d+", page.inner_text("h1")) and "Not paid" in page.inner_text("h1")

    def aged() -> str:
        page.click("nav.menu >> text=Reports")
        page.click("nav >> text=Aged receivables")
        page.fill("input[name=to]", day)
        page.click("form >> text=Show")
        return page.inner_text("[data-aged='C001']")

    before = aged()
    assert total.endswith(before) or before in total  # the whole invoice is open

    page.goto(invoice_url)
    page.fill("form[data-pay] input[name=date]", start.replace(month=4, day=10).isoformat())
    page.fill("form[data-pay] input[name=amount]", "50")
    page.click("text=Record the payment")
    page.wait_for_selector("text=The payment was recorded.")
    assert "Partly paid" in page.inner_text("h1")
    after = aged()
    assert Decimal(before.replace(",", "")) - Decimal(after.replace(",", "")) == 50
