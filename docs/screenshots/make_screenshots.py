"""Take the README's screenshots: a demo organization in a temporary database, the real app on
a loopback port, Debian's headless Chromium through Playwright.

    .venv/bin/python docs/screenshots/make_screenshots.py      # writes docs/screenshots/*.png
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

PASSWORD = "Screens-Hot-42"
PAGES = [  # (file, path, locale)
    ("login", "/login", "en"),
    ("dashboard", "/accounting/", "en"),
    ("entries", "/accounting/entries", "en"),
    ("new-entry", "/accounting/entries/new", "en"),
    ("trial-balance", "/accounting/reports/trial-balance", "en"),
    ("balance-sheet", "/accounting/reports/balance-sheet", "fr"),
    ("profit-and-loss", "/accounting/reports/profit-and-loss", "es"),
    ("chart-of-accounts", "/org/accounts", "en"),
    ("fiscal-years", "/org/fiscal-years", "en"),
    ("import", "/org/import", "en"),
    ("invoice-form", "/accounting/invoices/new", "en"),
    ("invoice-print", "/accounting/invoices/{invoice_id}/print", "en"),
    ("aged-receivables", "/accounting/reports/aged-receivables", "en"),
    ("dashboard-fa", "/accounting/", "fa"),
    ("trial-balance-fa", "/accounting/reports/trial-balance", "fa"),
]


def build(instance: Path):  # noqa: ANN201 - (settings, database)
    from core.config import load_settings
    from core.db import Database
    from core.migrate import upgrade
    from core.plugins import enabled_plugins, get_registry
    from core.security import add_member, create_user
    from core.tenancy import create_organization

    settings = load_settings(database_url=f"sqlite:///{instance / 'comptoir.db'}", instance_path=instance,
                             secret_key="screenshots")
    upgrade(settings)
    database = Database(settings.database_url)
    with database.transaction() as session:
        org = create_organization(session, "Boulangerie Dupont", chart="fr_pcg", currency="EUR", country="FR",
                                  first_fiscal_year=dt.date.today().year)
        user = create_user(session, "marie@dupont.test", PASSWORD, policy=settings.password_policy, name="Marie")
        add_member(session, user, "owner")
        get_registry().call_enabled(enabled_plugins(session), "comptoir_demo_data", session=session,
                                    organization=org)
        create_organization(session, "Dupont Lyon", chart="fr_pcg", currency="EUR", country="FR", parent=org)
        add_member(session, user, "accountant")
    return settings, database, org.id


def first_posted_invoice(database, org_id: int) -> int:  # noqa: ANN001
    from sqlalchemy import select

    from plugins.accounting.invoicing_models import Invoice

    with database.session(org_id) as session:
        return session.scalars(select(Invoice.id).where(Invoice.state == "posted", Invoice.kind == "customer_invoice")
                               .order_by(Invoice.date)).first()


def main() -> None:
    from playwright.sync_api import sync_playwright

    from core.web import create_app
    from tests.browser.test_browser import CHROMIUM, CHROMIUM_ARGS
    from tests.webtools import serving

    with tempfile.TemporaryDirectory() as folder:
        settings, database, org_id = build(Path(folder))
        invoice_id = first_posted_invoice(database, org_id)
        with serving(create_app(settings=settings, database=database)) as base_url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.goto(f"{base_url}/login")
            page.screenshot(path=str(HERE / "login.png"))
            page.fill("input[name=email]", "marie@dupont.test")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit] >> text=Sign in")
            page.wait_for_url(f"{base_url}/")
            current = "en"
            for name, path, locale in PAGES[1:]:
                if current != locale:  # the printed invoice speaks its partner's language, not the user's
                    page.goto(f"{base_url}/")
                    current = locale
                    page.select_option("header select[name=locale]", locale)
                    page.wait_for_function(f"document.documentElement.lang === '{locale}'")
                page.goto(base_url + path.format(invoice_id=invoice_id))
                page.screenshot(path=str(HERE / f"{name}.png"), full_page=name != "chart-of-accounts")
                print(f"docs/screenshots/{name}.png")
            browser.close()
        database.dispose()


if __name__ == "__main__":
    os.environ.setdefault("COMPTOIR_LOCALE", "en")
    main()
