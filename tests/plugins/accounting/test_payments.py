"""Payments: partial payments, one payment over several invoices, partner credit, exchange
differences, undoable reconciliation, and the residual invariant."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.chart import Account
from core.errors import ValidationError
from plugins.accounting.invoices import get_invoice
from plugins.accounting.invoicing_models import InvoiceKind, PaymentDirection, PaymentState
from plugins.accounting.partners import PartnerInput, save_partner
from plugins.accounting.payments import (
    PaymentInput,
    allocate,
    allocations_of,
    get_payment,
    partner_credit,
    register_payment,
    undo_allocation,
)
from plugins.accounting.rates import set_rate
from plugins.accounting.reports import verify_ledger
from plugins.accounting.services import entry_lines, get_entry
from plugins.accounting.testing import invoice as make_invoice
from plugins.accounting.testing import partner
from tests.conftest import make_org
from tests.plugins.accounting.invoicing_fixtures import D


def balance_of(session, code: str) -> int:  # noqa: ANN001
    from sqlalchemy import func

    from plugins.accounting.models import JournalLine

    account = session.scalars(select(Account).where(Account.code == code)).one()
    return session.scalar(select(func.coalesce(func.sum(JournalLine.amount), 0))
                          .where(JournalLine.account_id == account.id))


def test_three_partial_payments_close_one_invoice(fr):
    partner(fr, "C1")
    invoice = make_invoice(fr, "C1", ("250",), D(2026, 1, 10))  # 300 with VAT
    states = []
    for day, amount in ((D(2026, 1, 20), "100"), (D(2026, 2, 1), "150.50"), (D(2026, 2, 15), "49.50")):
        register_payment(fr, PaymentInput("C1", day, amount, allocations=[(invoice.id, amount)]))
        invoice = get_invoice(fr, invoice.id)
        states.append((invoice.residual, invoice.payment_state))
    assert states == [(20000, PaymentState.PARTIAL), (4950, PaymentState.PARTIAL), (0, PaymentState.PAID)]
    assert invoice.closed_on == D(2026, 2, 15)
    assert sum(a.amount for a in allocations_of(fr, invoice)) == invoice.total
    assert balance_of(fr, "411") == 0
    assert balance_of(fr, "512") == 30000


def test_one_payment_settles_three_invoices_and_the_rest_is_partner_credit(fr):
    partner(fr, "C1")
    invoices = [make_invoice(fr, "C1", (amount,), D(2026, 1, 10)) for amount in ("100", "200", "50")]  # 120, 240, 60
    payment = register_payment(fr, PaymentInput(
        "C1", D(2026, 2, 1), "450", allocations=[(invoices[0].id, "120"), (invoices[1].id, "240"),
                                                 (invoices[2].id, "30")]))
    assert [get_invoice(fr, i.id).payment_state for i in invoices] == [
        PaymentState.PAID, PaymentState.PAID, PaymentState.PARTIAL]
    assert (payment.unallocated, payment.closed_on) == (6000, None)
    assert partner_credit(fr, "C1") == Decimal("60.00")
    # The credit settles the rest later.
    allocate(fr, invoices[2].id, "30", payment_id=payment.id)
    assert get_invoice(fr, invoices[2].id).payment_state == PaymentState.PAID
    assert partner_credit(fr, "C1") == Decimal("30.00")
    assert balance_of(fr, "411") == -3000  # the partner's credit


def test_over_allocation_and_mismatches_are_refused(fr):
    partner(fr, "C1")
    partner(fr, "C2")
    invoice = make_invoice(fr, "C1", ("100",), D(2026, 1, 10))
    other = register_payment(fr, PaymentInput("C2", D(2026, 1, 11), "500"))
    with pytest.raises(ValidationError) as error:
        allocate(fr, invoice.id, "120", payment_id=other.id)
    assert [e.field for e in error.value.errors] == ["partner"]
    payment = register_payment(fr, PaymentInput("C1", D(2026, 1, 11), "50"))
    with pytest.raises(ValidationError) as error:
        allocate(fr, invoice.id, "60", payment_id=payment.id)  # more than the payment
    with pytest.raises(ValidationError):
        allocate(fr, invoice.id, "130", payment_id=other.id)  # more than the invoice (and another partner)
    with pytest.raises(ValidationError):
        allocate(fr, invoice.id, "0.001", payment_id=payment.id)
    outbound = register_payment(fr, PaymentInput("C1", D(2026, 1, 11), "10", direction=PaymentDirection.OUTBOUND))
    with pytest.raises(ValidationError):
        allocate(fr, invoice.id, "10", payment_id=outbound.id)
    assert get_invoice(fr, invoice.id).residual == 12000


GAIN, LOSS = "756", "656"  # the French chart's default exchange gain and loss accounts


@pytest.mark.parametrize(("kind", "direction", "payment_rate", "account", "amount"), [
    # A customer pays 1000 USD booked at 0.90 when the dollar is worth 0.95: a gain of 50 EUR.
    (InvoiceKind.CUSTOMER_INVOICE, PaymentDirection.INBOUND, "0.95", GAIN, -5000),
    (InvoiceKind.CUSTOMER_INVOICE, PaymentDirection.INBOUND, "0.85", LOSS, 5000),
    # We pay a supplier 1000 USD booked at 0.90 when it costs 0.95: a loss.
    (InvoiceKind.SUPPLIER_INVOICE, PaymentDirection.OUTBOUND, "0.95", LOSS, 5000),
    (InvoiceKind.SUPPLIER_INVOICE, PaymentDirection.OUTBOUND, "0.85", GAIN, -5000),
])
def test_a_foreign_invoice_paid_at_another_rate_books_the_exchange_difference(
        fr, kind, direction, payment_rate, account, amount):
    set_rate(fr, "USD", D(2026, 3, 1), "0.9")
    set_rate(fr, "USD", D(2026, 4, 1), payment_rate)
    save_partner(fr, PartnerInput("US1", "Yankee Inc", country="US", currency="USD", is_supplier=True))
    invoice = make_invoice(fr, "US1", ("1000",), D(2026, 3, 2), kind=kind)
    payment = register_payment(fr, PaymentInput("US1", D(2026, 4, 2), "1000", direction=direction, currency="USD",
                                                allocations=[(invoice.id, "1000")]))
    (allocation,) = allocations_of(fr, get_invoice(fr, invoice.id))
    assert (allocation.amount_company, allocation.source_company) == (90000, int(Decimal(payment_rate) * 100000))
    codes = {a.id: a.code for a in fr.scalars(select(Account))}
    fx = {codes[line.account_id]: line.amount for line in entry_lines(fr, get_entry(fr, allocation.fx_entry_id))}
    assert fx[account] == amount
    assert len(fx) == 2
    assert get_payment(fr, payment.id).unallocated == 0
    partner_account = "411" if kind.is_sale else "401"
    assert balance_of(fr, partner_account) == 0
    assert verify_ledger(fr) == []


def test_undoing_a_reconciliation_reopens_both_sides_and_reverses_the_difference(fr):
    set_rate(fr, "USD", D(2026, 3, 1), "0.9")
    set_rate(fr, "USD", D(2026, 4, 1), "0.8")
    save_partner(fr, PartnerInput("US1", "Yankee Inc", country="US", currency="USD"))
    invoice = make_invoice(fr, "US1", ("1000",), D(2026, 3, 2))
    payment = register_payment(fr, PaymentInput("US1", D(2026, 4, 2), "400", currency="USD",
                                                allocations=[(invoice.id, "400")]))
    (allocation,) = allocations_of(fr, get_invoice(fr, invoice.id))
    assert allocation.fx_entry_id is not None
    undo_allocation(fr, allocation.id)
    invoice = get_invoice(fr, invoice.id)
    assert (invoice.residual, invoice.residual_company, invoice.payment_state) == (100000, 90000,
                                                                                   PaymentState.NOT_PAID)
    payment = get_payment(fr, payment.id)
    assert (payment.unallocated, payment.unallocated_company) == (40000, 32000)
    assert allocations_of(fr, invoice) == []
    assert balance_of(fr, LOSS) == 0  # the loss was reversed
    assert balance_of(fr, "411") == 90000 - 32000


@pytest.fixture(scope="module")
def property_database(tmp_path_factory):  # noqa: ANN001, ANN201
    """One organization for every example (a fresh database per example would be slow)."""
    from core.config import load_settings
    from core.db import Database
    from core.migrate import upgrade

    path = tmp_path_factory.mktemp("payments") / "p.sqlite"
    settings_ = load_settings(database_url=f"sqlite:///{path}", instance_path=path.parent, secret_key="test")
    upgrade(settings_)
    database = Database(settings_.database_url)
    org = make_org(database, "Props", "fr_pcg", country="FR", first_fiscal_year=2026)
    with database.transaction(org.id) as session:
        partner(session, "P")
    yield database, org
    database.dispose()


@settings(max_examples=25)
@given(total=st.integers(min_value=1, max_value=10**7),
       parts=st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=6),
       undo=st.lists(st.booleans(), min_size=6, max_size=6))
def test_allocations_plus_residual_make_the_total_and_the_residual_never_goes_negative(
        property_database, total, parts, undo):
    database, org = property_database
    with database.transaction(org.id) as session:
        invoice = make_invoice(session, "P", (str(Decimal(total).scaleb(-2)),), D(2026, 1, 1), tax="TVA-EXPORT")
        made = []
        for part in parts:
            amount = Decimal(part).scaleb(-2)
            payment = register_payment(session, PaymentInput("P", D(2026, 1, 2), amount))
            current = get_invoice(session, invoice.id)
            try:
                made.append(allocate(session, invoice.id, amount, payment_id=payment.id))
            except ValidationError:
                assert part > current.residual  # refused only when it would overpay
        for allocation, flag in zip(made, undo, strict=False):
            if flag:
                undo_allocation(session, allocation.id)
        current = get_invoice(session, invoice.id)
        allocated = sum(a.amount for a in allocations_of(session, current))
        assert allocated + current.residual == current.total == total
        assert current.residual >= 0
        assert current.payment_state == (PaymentState.PAID if current.residual == 0 else
                                         PaymentState.NOT_PAID if allocated == 0 else PaymentState.PARTIAL)
