"""A small French company's first year, told as it happens, with the reports it must produce.

Capital, a purchase, a domestic sale, an export sale in dollars paid at another rate, the
year-end revaluation of the dollar account, the closing and the next year's opening.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from core.chart import create_account
from core.periods import create_next_fiscal_year, list_fiscal_years
from core.tenancy import current_organization
from plugins.accounting.closing import close_fiscal_year
from plugins.accounting.rates import revalue, revaluation_report, set_rate
from plugins.accounting.reports import balance_sheet, profit_and_loss, trial_balance, verify_ledger
from plugins.accounting.services import EntryInput, credit, debit, post_entries
from tests.conftest import make_org

D = dt.date
E = Decimal


def tb(session, start: dt.date, end: dt.date) -> dict[str, Decimal]:  # noqa: ANN001
    return {r.code: r.balance for r in trial_balance(session, start, end) if r.balance}


def test_a_year_of_a_small_company(database):
    org = make_org(database, "Atelier Martin", chart="fr_pcg", first_fiscal_year=2026)
    with database.transaction(org.id) as session:
        create_account(session, "5124", "Banque USD", type="asset", subtype="bank", currency="USD", tags=["bank"])
        set_rate(session, "USD", D(2026, 6, 1), "0.90")
        set_rate(session, "USD", D(2026, 7, 1), "0.92")
        set_rate(session, "USD", D(2026, 12, 31), "0.95")
        post_entries(session, [
            # The founders pay in the capital.
            EntryInput("MISC", D(2026, 1, 2), [debit("512", "10000"), credit("101", "10000")], label="Capital"),
            # Goods bought on credit, with 20 % VAT.
            EntryInput("PUR", D(2026, 2, 10), [debit("607", "2000"), debit("44566", "400"),
                                               credit("401", "2400")], label="Fournisseur Dupont"),
            # A domestic sale on credit.
            EntryInput("SAL", D(2026, 3, 15), [debit("411", "6000"), credit("706", "5000"),
                                               credit("44571", "1000")], label="Client Bernard"),
            EntryInput("BNK", D(2026, 4, 20), [debit("512", "6000"), credit("411", "6000")], label="Bernard paid"),
            EntryInput("BNK", D(2026, 5, 5), [debit("401", "2400"), credit("512", "2400")], label="Dupont paid"),
            # An export sale of USD 1,000 at 0.90 (no VAT)…
            EntryInput("SAL", D(2026, 6, 1), [debit("411", "900", currency="USD", amount_currency=E("1000")),
                                              credit("706", "900")], label="Client Acme Inc."),
            # …paid in dollars a month later at 0.92: a realized exchange gain of 20.
            EntryInput("BNK", D(2026, 7, 1), [debit("5124", "920", currency="USD", amount_currency=E("1000")),
                                              credit("411", "900", currency="USD", amount_currency=E("1000")),
                                              credit("756", "20")], label="Acme paid"),
        ])
        create_next_fiscal_year(session, current_organization(session))

    with database.transaction(org.id) as session:
        # December 31: the dollar account holds USD 1,000 booked at 920; at 0.95 it is worth 950.
        report = revaluation_report(session, D(2026, 12, 31))
        (line,) = report.lines
        assert (line.account, line.foreign.amount, line.booked.amount, line.revalued.amount, line.difference.amount) \
            == ("5124", E("1000"), E("920.00"), E("950.00"), E("30.00"))
        revalue(session, D(2026, 12, 31))

    with database.session(org.id) as session:
        expected = {"101": E("-10000.00"), "44566": E("400.00"), "44571": E("-1000.00"), "512": E("13600.00"),
                    "5124": E("950.00"), "607": E("2000.00"), "706": E("-5900.00"), "756": E("-50.00")}
        assert tb(session, D(2026, 1, 1), D(2026, 12, 31)) == expected
        pnl = profit_and_loss(session, D(2026, 1, 1), D(2026, 12, 31))
        assert (pnl.income.amount, pnl.expenses.amount, pnl.result) == (E("5950.00"), E("2000.00"), E("3950.00"))
        sheet = balance_sheet(session, D(2026, 12, 31))
        assert sheet.total_assets == E("14950.00")
        assert (sheet.liabilities.amount, sheet.equity.amount, sheet.result) == (E("1000.00"), E("10000.00"),
                                                                                 E("3950.00"))
        assert sheet.balanced

    with database.transaction(org.id) as session:
        close_fiscal_year(session, "2026")

    with database.session(org.id) as session:
        assert [(y.name, y.state) for y in list_fiscal_years(session)] == [("2026", "closed"), ("2027", "open")]
        # 2027 opens with the balance sheet, the result in retained earnings (110), and the
        # revaluation reversed on January 1 (the dollars are back at their booked 920).
        assert tb(session, D(2027, 1, 1), D(2027, 1, 31)) == {
            "101": E("-10000.00"), "110": E("-3950.00"), "44566": E("400.00"), "44571": E("-1000.00"),
            "512": E("13600.00"), "5124": E("920.00"), "756": E("30.00")}
        assert verify_ledger(session) == []
