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
