"""Load benchmark: mixed traffic from concurrent users against the real app under gunicorn —
reads, postings to one hot account and invoices on one sequence — then the books are checked.

Prints figures; never run by the tests. Usage (from the repository root, after
``pip install -e '.[bench]'`` for gunicorn)::

    .venv/bin/python bench/load.py                       # PostgreSQL on 127.0.0.1:5432 by default
    .venv/bin/python bench/load.py --database-url sqlite:///   # a fresh SQLite file instead
    .venv/bin/python bench/load.py --users 20 --duration 30 --entries 10000

The database is prepared as in ``bench/kernel.py`` (on PostgreSQL: its own database and a
non-owner role, row-level security on, dropped at the end). One ``fr_pcg`` organization gets
``--entries`` posted entries, one customer and an API token; gunicorn serves it as in
``bench/web.py`` (``--workers 2``, ``--worker-class sync`` or ``gthread``). ``--users`` threads
then loop for ``--duration`` seconds, each request drawn at random: reads (the dashboard page,
the API trial balance, the API entries list), ``POST /api/v1/entries`` posted at once (bank
account 512 against 706: every posting hits account 512 and the MISC journal's sequence) and,
when the server has ``/api/v1/invoices``, ``POST /api/v1/invoices`` posted at once (one
customer, the customer-invoice sequence). Only 2xx counts as success: a 409 or 503 (a deadlock
or serialization failure given back to the client) is an error. At the end, straight from the
database: the entry numbers of every journal and fiscal year are 1..N with no gap or duplicate,
as are the invoice numbers, the MISC journal holds exactly the fill plus the successful
postings, and ``verify_ledger`` finds nothing. Targets: 0 errors, 0 gaps, p95 <= 200 ms.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import random
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.kernel import prepare_database  # noqa: E402
from bench.web import Request, analyze, drive, fill, gunicorn, load_line, session_cookie  # noqa: E402

P95_TARGET_MS = 200.0
CUSTOMER = "C0001"
HOT_ACCOUNT = "512"


def has_invoices_api(base_url: str, token: str) -> bool:
    parsed = urlparse(base_url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    connection.request("GET", "/api/v1/invoices", headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status == 200


def check_books(database, org_id: int, filled: int, postings: int) -> list[str]:  # noqa: ANN001
    """Every problem found in the organization's books after the run (empty: clean)."""
    from sqlalchemy import select

    from plugins.accounting.models import Journal, JournalEntry
    from plugins.accounting.reports import verify_ledger

    problems: list[str] = []
    with database.session(org_id, readonly=True) as session:
        sequences: dict[tuple[str, int], list[int]] = defaultdict(list)
        rows = session.execute(select(Journal.code, JournalEntry.fiscal_year_id, JournalEntry.number)
                               .join(Journal, (Journal.org_id == JournalEntry.org_id)
                                     & (Journal.id == JournalEntry.journal_id))
                               .where(JournalEntry.number.is_not(None)))
        for code, year, number in rows:
            sequences[(code, year)].append(number)
        try:
            from plugins.accounting.invoicing_models import Invoice
        except ImportError:
            Invoice = None  # noqa: N806
        if Invoice is not None:
            for kind, year, number in session.execute(select(Invoice.kind, Invoice.year, Invoice.number)
                                                      .where(Invoice.number.is_not(None))):
                sequences[(f"invoice {kind}", year)].append(number)
        for (name, year), numbers in sorted(sequences.items(), key=str):
            numbers.sort()
            if numbers != list(range(1, len(numbers) + 1)):
                duplicates = len(numbers) - len(set(numbers))
                missing = len(set(range(1, max(numbers) + 1)) - set(numbers))
                problems.append(f"{name}, fiscal year {year}: {len(numbers)} numbers up to {numbers[-1]}, "
                                f"{missing} missing, {duplicates} duplicated")
            else:
                print(f"  {name}, fiscal year {year}: 1..{len(numbers)}, no gap, no duplicate")
        hot = sum(len(numbers) for (name, _year), numbers in sequences.items() if name == "MISC")
        if hot != filled + postings:
            problems.append(f"MISC holds {hot} entries, expected {filled} filled + {postings} posted")
        found = verify_ledger(session)
        problems.extend(f"verify_ledger: {problem}" for problem in found)
        if not found:
            print("  verify_ledger: nothing to report")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--entries", type=int, default=10_000, help="posted before the run")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds")
    parser.add_argument("--warmup", type=int, default=0, help="reads per user before the run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from core.db import Database

    url = None if args.database_url in ("sqlite://", "sqlite:///") else args.database_url
    prepared = prepare_database(url, args.keep)
    database = Database(prepared.settings.database_url)
    try:
        org_id, token, start = fill(database, args.entries, "Bench Load", prepared.settings)
        try:
            from plugins.accounting.partners import PartnerInput, save_partner
        except ImportError:
            save_partner = None
        if save_partner is not None:
            with database.transaction(org_id) as session:
                save_partner(session, PartnerInput(CUSTOMER, "Client chaud", country="FR"))
        analyze(prepared.settings)
        database.dispose()
        span = urlencode({"from": start.isoformat(), "to": start.replace(month=12, day=31).isoformat()})
        with gunicorn(prepared.settings, args.workers, args.worker_class, args.threads) as base_url:
            cookie = {"Cookie": session_cookie(base_url)}
            bearer = {"Authorization": f"Bearer {token}"}
            posting = {**bearer, "Content-Type": "application/json"}
            invoices = has_invoices_api(base_url, token)
            reads = [Request("read: dashboard", "GET", "/accounting/", cookie),
                     Request("read: API trial balance", "GET", f"/api/v1/reports/trial-balance?{span}", bearer),
                     Request("read: API entries", "GET", "/api/v1/entries?limit=50", bearer)]

            def day(rng: random.Random) -> str:
                return (start + dt.timedelta(days=rng.randint(0, 330))).isoformat()

            def next_request(rng: random.Random) -> Request:
                draw = rng.random()
                if draw < 0.3 or (draw < 0.5 and not invoices):
                    amount = str(Decimal(rng.randint(100, 100_000)) / 100)
                    body = {"journal": "MISC", "date": day(rng), "label": "load", "post": True,
                            "lines": [{"account": HOT_ACCOUNT, "debit": amount}, {"account": "706", "credit": amount}]}
                    return Request("write: entry posted", "POST", "/api/v1/entries", posting, json.dumps(body).encode())
                if draw < 0.5:
                    body = {"partner": CUSTOMER, "date": day(rng), "post": True, "lines": [
                        {"label": "Service", "quantity": str(rng.randint(1, 5)),
                         "unit_price": str(Decimal(rng.randint(100, 50_000)) / 100), "tax": "TVA20"}]}
                    return Request("write: invoice posted", "POST", "/api/v1/invoices", posting,
                                   json.dumps(body).encode())
                return rng.choice(reads)

            def warm(rng: random.Random) -> Request:
                return rng.choice(reads)

            mix = "reads 50%, entries 30%, invoices 20%" if invoices else \
                "reads 50%, entries 50% (no /api/v1/invoices on this server: invoices left out)"
            workers = f"{args.workers} {args.worker_class} workers"
            if args.worker_class == "gthread":
                workers += f" x {args.threads} threads"
            print(f"database: {prepared.backend}, {args.entries} entries filled; gunicorn {workers}; "
                  f"{args.users} users for {args.duration:g} s; {mix}; the client shares the server's machine")
            if args.warmup:
                drive(base_url, args.users, 0, args.warmup, warm)
            tally = drive(base_url, args.users, args.duration, 0, next_request)
        print(f"{'kind':<28}{'requests':>9}{'errors':>8}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}")
        for kind in tally.kinds():
            print(f"{kind:<28}{tally.count(kind):9d}{tally.error_count(kind):8d}"
                  f"{tally.count(kind) / tally.elapsed:8.1f}{tally.percentile(0.5, kind):9.1f}"
                  f"{tally.percentile(0.95, kind):9.1f}")
        total, errors, p95 = tally.count(), tally.error_count(), tally.percentile(0.95)
        print(f"{'all':<28}{total:9d}{errors:8d}{(total - errors) / tally.elapsed:8.1f}"
              f"{tally.percentile(0.5):9.1f}{p95:9.1f}")
        for kind in tally.kinds():
            for error in tally.errors.get(kind, [])[:3]:
                print(f"    e.g. {error}")
        print(f"error rate {100 * errors / max(total, 1):.2f} %")
        print("books:")
        problems = check_books(database, org_id, args.entries, len(tally.latencies.get("write: entry posted", [])))
        for problem in problems:
            print(f"  PROBLEM {problem}")
        print(f"targets: 0 errors: {'yes' if errors == 0 else 'NO'}; 0 gaps and a clean ledger: "
              f"{'yes' if not problems else 'NO'}; p95 <= {P95_TARGET_MS:g} ms: {'yes' if p95 <= P95_TARGET_MS else 'NO'}")
        print(load_line())
    finally:
        database.dispose()
        prepared.cleanup()


if __name__ == "__main__":
    main()
