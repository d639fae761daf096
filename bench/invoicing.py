"""Invoicing benchmark: invoices posted per second, and aged receivables over many open invoices.

Prints figures; never run by the tests. Usage (from the repository root)::

    .venv/bin/python bench/invoicing.py                     # a fresh SQLite file in a temp dir
    .venv/bin/python bench/invoicing.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/invoicing.py --invoices 20000 --open 50000 --batch 1000

The database is prepared as in ``bench/kernel.py``. One ``fr_pcg`` organization with
``--partners`` French customers (payment terms 0 to 90 days) receives:

1. ``--invoices`` customer invoices of three lines (20 %, 10 % and 5.5 % VAT, random prices,
   random dates of the fiscal year), created as drafts by ``create_invoices`` and posted by
   ``post_invoices`` in batches of ``--batch``, one transaction per batch. Drafting and
   posting are timed apart; the figure with the target is the posting.
2. More invoices, made the same way, until ``--open`` invoices are open; one in five gets a
   partial payment (so residuals and allocations are real). Then, in a read-only session,
   median of ``--repeats`` runs after a warm-up: ``aged_balance`` on the last day of the year.

Targets (SQLite): >= 2,000 invoices posted per second; aged receivables <= 1 s.
"""
from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.kernel import _git_revision, _verdict, prepare_database  # noqa: E402
from bench.ledger import analyze  # noqa: E402

POST_TARGET = 2_000.0  # invoices per second, SQLite
AGED_TARGET_S = 1.0
RATES = ("TVA20", "TVA10", "TVA5.5")


def make_inputs(count: int, partners: int, start: dt.date, rng: random.Random) -> list:  # noqa: ANN401
    from plugins.accounting.invoices import InvoiceInput, InvoiceLineInput

    inputs = []
    for _ in range(count):
        lines = [InvoiceLineInput(f"Item {n}", rng.randint(1, 5), Decimal(rng.randint(100, 100_000)).scaleb(-2),
                                  tax=RATES[n]) for n in range(3)]
        inputs.append(InvoiceInput(f"C{rng.randrange(partners):04d}", start + dt.timedelta(days=rng.randrange(365)),
                                   lines))
    return inputs


def run_batches(database, org_id: int, inputs: list, batch: int) -> tuple[float, float, list[int]]:  # noqa: ANN001
    """Draft then post ``inputs`` in batches; returns (draft seconds, post seconds, ids)."""
    from plugins.accounting.invoices import create_invoices, post_invoices

    drafting = posting = 0.0
    ids: list[int] = []
    for offset in range(0, len(inputs), batch):
        chunk = inputs[offset:offset + batch]
        started = time.perf_counter()
        with database.transaction(org_id) as session:
            made = create_invoices(session, chunk)
        middle = time.perf_counter()
        with database.transaction(org_id) as session:
            post_invoices(session, made)
        drafting += middle - started
        posting += time.perf_counter() - middle
        ids += made
    return drafting, posting, ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="sqlite:///file or a PostgreSQL superuser URL")
    parser.add_argument("--invoices", type=int, default=20_000, help="invoices posted in the timed part")
    parser.add_argument("--open", type=int, default=50_000, help="open invoices for the aged balance")
    parser.add_argument("--batch", type=int, default=1_000, help="invoices per transaction")
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)

    bench_db = prepare_database(args.database_url, args.keep)
    try:
        from sqlalchemy import func, select

        from core.db import Database
        from core.tenancy import create_organization
        from plugins.accounting.debtors import aged_balance
        from plugins.accounting.invoices import get_invoice
        from plugins.accounting.invoicing_models import Invoice
        from plugins.accounting.partners import PartnerInput, list_partners, save_partner
        from plugins.accounting.payments import PaymentInput, register_payment

        database = Database(bench_db.settings.database_url)
        rng = random.Random(args.seed)
        year = dt.date.today().year
        with database.transaction() as session:
            org = create_organization(session, "Bench Factures", chart="fr_pcg", first_fiscal_year=year)
            org_id = org.id
        with database.transaction(org_id) as session:
            for n in range(args.partners):
                save_partner(session, PartnerInput(f"C{n:04d}", f"Client {n}", country="FR",
                                                   payment_terms_days=rng.choice((0, 15, 30, 45, 60, 90))))
        start = dt.date(year, 1, 1)
        run_batches(database, org_id, make_inputs(min(args.batch, 200), args.partners, start, rng), args.batch)
        analyze(bench_db)

        inputs = make_inputs(args.invoices, args.partners, start, rng)
        drafting, posting, ids = run_batches(database, org_id, inputs, args.batch)
        posted_rate = len(ids) / posting
        both_rate = len(ids) / (drafting + posting)

        more = max(0, args.open - len(ids) - min(args.batch, 200))
        fill_started = time.perf_counter()
        _, _, extra = run_batches(database, org_id, make_inputs(more, args.partners, start, rng), args.batch)
        ids += extra
        with database.transaction(org_id) as session:
            codes = {p.id: p.code for p in list_partners(session)}
            for invoice_id in ids[::5]:
                invoice = get_invoice(session, invoice_id)
                register_payment(session, PaymentInput(codes[invoice.partner_id], invoice.date, "10",
                                                       allocations=[(invoice_id, "10")]))
        fill_seconds = time.perf_counter() - fill_started
        analyze(bench_db)

        day = dt.date(year, 12, 31)
        timings = []
        for run in range(args.repeats + 1):
            with database.session(org_id, readonly=True) as session, session.begin():
                started = time.perf_counter()
                aged = aged_balance(session, day)
                elapsed = time.perf_counter() - started
            if run:
                timings.append(elapsed)
        aged_s = statistics.median(timings)
        with database.session(org_id, readonly=True) as session, session.begin():
            open_count = session.scalar(select(func.count()).select_from(Invoice).where(Invoice.closed_on.is_(None)))
        database.dispose()

        print(f"comptoir {_git_revision()} on {bench_db.backend}, Python {platform.python_version()}, "
              f"{platform.machine()}")
        print(f"invoices (3 lines each, batches of {args.batch}): {len(inputs)}")
        print(f"  drafted: {len(inputs) / drafting:,.0f}/s")
        verdict = _verdict(posted_rate >= POST_TARGET) if bench_db.backend == "sqlite" else "no target here"
        print(f"  posted:  {posted_rate:,.0f}/s (target >= {POST_TARGET:,.0f}/s on SQLite: {verdict})")
        print(f"  drafted and posted: {both_rate:,.0f}/s")
        print(f"aged receivables over {open_count:,} open invoices ({len(aged.rows)} partners, filled in "
              f"{fill_seconds:.1f} s): median {aged_s * 1000:.0f} ms of {args.repeats} "
              f"(target <= {AGED_TARGET_S:.0f} s: {_verdict(aged_s <= AGED_TARGET_S)})")
        print(f"  total receivable: {aged.total} {aged.currency}")
    finally:
        bench_db.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
