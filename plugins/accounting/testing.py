"""Factories of the accounting plugin: posted entries, partners and invoices other plugins' tests reuse."""
from __future__ import annotations

import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from core.chart import default_account
from core.periods import list_fiscal_years
from plugins.accounting.services import EntryInput, credit, debit, post_entries


def sale(session: Session, amount: str = "120.00", day: dt.date | None = None, **extra: object) -> EntryInput:
    """A cash sale: debit bank, credit the default income account."""
    day = day or list_fiscal_years(session)[0].start_date
    return EntryInput("SAL", day, [debit(default_account(session, "bank").code, amount),
                                   credit(default_account(session, "income").code, amount)], **extra)


def partner(session: Session, code: str = "C001", name: str | None = None, **extra: Any) -> Any:
    """A customer (a company of the organization's country unless told otherwise)."""
    from core.tenancy import current_organization
    from plugins.accounting.partners import PartnerInput, save_partner

    extra.setdefault("country", current_organization(session).country)
    return save_partner(session, PartnerInput(code, name or f"Partner {code}", **extra))


def invoice(session: Session, partner_code: str = "C001", amounts: tuple[str, ...] = ("100",),
            day: dt.date | None = None, *, post: bool = True, tax: str | None = None, **extra: Any) -> Any:
    """An invoice of one line per amount (the default tax, or ``tax``), posted unless ``post=False``."""
    from plugins.accounting.invoices import InvoiceInput, InvoiceLineInput, create_invoice, post_invoice

    day = day or list_fiscal_years(session)[0].start_date
    lines = [InvoiceLineInput(f"Line {n}", 1, Decimal(a), tax=tax) for n, a in enumerate(amounts, start=1)]
    draft = create_invoice(session, InvoiceInput(partner_code, day, lines, **extra))
    return post_invoice(session, draft.id) if post else draft


def populate(session: Session) -> None:
    from plugins.accounting.invoicing_models import PartnerKind
    from plugins.accounting.partners import AddressInput, ProductInput, save_product
    from plugins.accounting.payments import PaymentInput, register_payment
    from plugins.accounting.printing import save_invoicing_settings
    from plugins.accounting.rates import set_rate
    from plugins.accounting.treasury import import_statement

    post_entries(session, [sale(session, label="populate")])
    start = list_fiscal_years(session)[0].start_date
    set_rate(session, "USD", start, "0.9")
    partner(session, "POP1", "Populate Ltd", kind=PartnerKind.COMPANY,
            addresses=[AddressInput("1 Main Street", city="Springfield")])
    save_product(session, ProductInput("SRV", "Service", "100"))
    first = invoice(session, "POP1", ("100", "50"), start)
    register_payment(session, PaymentInput("POP1", start, "10", allocations=[(first.id, "10")]))
    save_invoicing_settings(session, street="1 Main Street", city="Springfield", sender="billing@populate.test")
    with tempfile.TemporaryDirectory() as folder:
        statement = Path(folder) / "statement.csv"
        statement.write_text(f"Date,Amount,Label\n{start.isoformat()},12.34,populate\n", encoding="utf-8")
        import_statement(session, statement)
    session.flush()
