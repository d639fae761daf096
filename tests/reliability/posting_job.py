"""A long posting job, run as its own process by the fault tests: ``TOTAL`` entries in
batches of ``BATCH``, one transaction per batch, each entry with an idempotency key so the
job can simply be run again after a crash. Prints ``committed N`` after each batch.

    python -m tests.reliability.posting_job DATABASE_URL ORG_ID TOTAL BATCH
"""
from __future__ import annotations

import datetime as dt
import sys

from core.db import Database
from plugins.accounting.services import EntryInput, credit, debit, post_entries


def entry(number: int) -> EntryInput:
    amount = f"{number % 997 + 1}.{number % 100:02d}"
    return EntryInput("SAL", dt.date(2026, 1 + number % 12, 1 + number % 28),
                      [debit("1100", amount), credit("4000", amount)],
                      label=f"Job entry {number}", idempotency_key=f"job-{number}")


def main(url: str, org_id: int, total: int, batch: int) -> None:
    database = Database(url)
    for start in range(0, total, batch):
        entries = [entry(n) for n in range(start, min(start + batch, total))]
        database.run(lambda session, entries=entries: post_entries(session, entries), org_id)
        print(f"committed {start + len(entries)}", flush=True)
    database.dispose()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
