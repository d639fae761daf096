"""Sample bookkeeping for demo and training organizations: a few months of a small business."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from core.chart import default_account
from core.periods import list_fiscal_years
from plugins.accounting.services import EntryInput, credit, debit, post_entries


def post_demo_entries(session: Session) -> list[int]:
    """Capital, purchases, sales and their settlement, spread over the first months."""
    start = list_fiscal_years(session)[0].start_date
    code = {role: default_account(session, role).code
            for role in ("bank", "cash", "capital", "receivable", "payable", "income", "expense",
                         "vat_collected", "vat_deductible")}

    def day(month: int, day_of_month: int) -> dt.date:
        return dt.date(start.year + (start.month + month - 2) // 12, (start.month + month - 2) % 12 + 1, day_of_month)

    entries = [EntryInput("MISC", day(1, 2), [debit(code["bank"], "20000"), credit(code["capital"], "20000")],
                          label="Share capital paid in")]
    for month in range(1, 4):
        net, vat = Decimal(3000 + 750 * month), Decimal(600 + 150 * month)
        cost, cost_vat = Decimal(1200 + 100 * month), Decimal(240 + 20 * month)
        entries += [
            EntryInput("SAL", day(month, 10), [debit(code["receivable"], net + vat), credit(code["income"], net),
                                               credit(code["vat_collected"], vat)], label=f"Invoice 2026-{month:03d}"),
            EntryInput("PUR", day(month, 12), [debit(code["expense"], cost), debit(code["vat_deductible"], cost_vat),
                                               credit(code["payable"], cost + cost_vat)], label=f"Supplier bill {month}"),
            EntryInput("BNK", day(month, 25), [debit(code["bank"], net + vat), credit(code["receivable"], net + vat)],
                       label=f"Payment of invoice 2026-{month:03d}"),
            EntryInput("BNK", day(month, 28), [debit(code["payable"], cost + cost_vat),
                                               credit(code["bank"], cost + cost_vat)], label=f"Supplier bill {month} paid"),
            EntryInput("CSH", day(month, 5), [debit(code["cash"], "150"), credit(code["bank"], "150")],
                       label="Cash withdrawal"),
        ]
    return post_entries(session, entries)


def make_demo_invoices(session: Session) -> list[int]:
    """Two customers and a supplier, two products, invoices of the first months, paid in part."""
    from core.tenancy import current_organization
    from plugins.accounting.invoices import InvoiceInput, InvoiceLineInput, create_invoices, post_invoices
    from plugins.accounting.invoicing_models import InvoiceKind, PartnerKind
    from plugins.accounting.partners import AddressInput, PartnerInput, ProductInput, save_partner, save_product
    from plugins.accounting.payments import PaymentInput, register_payment

    org = current_organization(session)
    start = list_fiscal_years(session)[0].start_date
    country = org.country
    save_partner(session, PartnerInput("DEMO-C1", "Northwind Traders", country=country, email="ap@northwind.test",
                                       addresses=[AddressInput("12 Harbour Road", city="Port Town", country=country)]))
    save_partner(session, PartnerInput("DEMO-C2", "Ada Lovelace", kind=PartnerKind.INDIVIDUAL, country=country,
                                       payment_terms_days=15))
    save_partner(session, PartnerInput("DEMO-S1", "Office Supplies Co", country=country, is_customer=False,
                                       is_supplier=True))
    save_product(session, ProductInput("DEMO-CONSULT", "Consulting day", "600"))
    save_product(session, ProductInput("DEMO-TRAINING", "Training session", "250"))
    inputs = []
    for month in range(3):
        day = start + dt.timedelta(days=30 * month + 3)
        inputs += [
            InvoiceInput("DEMO-C1", day, [InvoiceLineInput(product="DEMO-CONSULT", quantity=2 + month),
                                          InvoiceLineInput(product="DEMO-TRAINING", quantity=1)]),
            InvoiceInput("DEMO-C2", day, [InvoiceLineInput(product="DEMO-TRAINING", quantity=1)]),
            InvoiceInput("DEMO-S1", day, [InvoiceLineInput("Paper and toner", 1, Decimal(180 + 20 * month))],
                         kind=InvoiceKind.SUPPLIER_INVOICE),
        ]
    ids = create_invoices(session, inputs)
    post_invoices(session, ids)
    # The first customer invoice is paid in full, the second in part; the rest stays open.
    register_payment(session, PaymentInput("DEMO-C1", start + dt.timedelta(days=20),
                                           _total(session, ids[0]), allocations=[(ids[0], _total(session, ids[0]))]))
    register_payment(session, PaymentInput("DEMO-C2", start + dt.timedelta(days=25), "100",
                                           allocations=[(ids[1], "100")]))
    return ids


def _total(session: Session, invoice_id: int) -> Decimal:
    from core.money import digits
    from plugins.accounting.invoices import get_invoice

    invoice = get_invoice(session, invoice_id)
    return Decimal(invoice.total).scaleb(-digits(invoice.currency))
