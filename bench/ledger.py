"""Ledger benchmark: posting rates through the service, trial balance and general-ledger reads.

Prints figures; never run by the tests. Usage (from the repository root)::

    .venv/bin/python bench/ledger.py                       # a fresh SQLite file in a temp dir
    .venv/bin/python bench/ledger.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/ledger.py --entries 5000 --single 500 --tb-lines 50000 --gl-lines 10000

The database is prepared as in ``bench/kernel.py`` (with a PostgreSQL superuser URL: a
database of its own, migrated as the owner, used as a non-owner application role with
row-level security on, dropped at the end). One organization on the ``fr_pcg`` chart
(created with ``create_organization``) receives everything, after one untimed warm-up batch
(on PostgreSQL followed by ``ANALYZE``, as autovacuum would do; see :func:`analyze`):

1. ``--entries`` entries of two to four lines (random postable accounts, random dates in the
   fiscal year, balanced, Decimal amounts) posted by ``post_entries`` in batches of
   ``--batch``, one transaction per batch;
2. ``--single`` entries posted one per transaction
   (``with database.transaction(org_id) as s: post_entries(s, [entry])``);
3. entries that each hit the bank account (512) once, until it has ``--gl-lines`` lines
   (the random entries of 1, 2 and 4 never touch it, so its line count is exact);
4. random entries again until the organization has ``--tb-lines`` lines (then ``ANALYZE`` again
   on PostgreSQL).

Then, in read-only sessions (``database.session(org_id, readonly=True)``), one session per
run, median of ``--repeats`` runs after a warm-up: ``trial_balance`` over the fiscal year,
and the first page (50 rows) of ``general_ledger`` for the bank account. Only the posting
transactions are timed, never the making of the inputs.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.kernel import _git_revision, _verdict, prepare_database  # noqa: E402

BATCH_TARGET = 10_000.0  # entries per second, batches, SQLite
SINGLE_TARGET = 1_500.0  # entries per second, one per transaction, SQLite
TB_TARGET_MS = 50.0
GL_TARGET_MS = 50.0
GL_PAGE = 50
JOURNALS = ("SAL", "PUR", "BNK", "CSH", "MISC")

# Figures quoted in the issue, for comparison (their machines, not this one).
REFERENCE_POSTING = "python-accounting ~100-120 entries/s, django-ledger ~190 entries/s (SQLite)"
REFERENCE_BALANCE = "ledger-cli: 8.7 s for a balance over 1,000,000 entries"


# --- the organization and the inputs ------------------------------------------------------------

@dataclass
class Books:
    org_id: int
    currency: str
    year_start: dt.date
    year_end: dt.date
    accounts: list[str]  # postable codes, the bank account excepted
    bank: str
    total_accounts: int


def create_books(database: Any) -> Books:  # noqa: ANN401
    from core.chart import Account, default_account
    from core.periods import list_fiscal_years
    from core.tenancy import create_organization

    with database.transaction() as session:
        org = create_organization(session, "Ledger bench", chart="fr_pcg", currency="EUR", country="FR")
        org_id, currency = org.id, org.currency
    with database.session(org_id, readonly=True) as session:
        year = list_fiscal_years(session)[0]
        bank = default_account(session, "bank").code
        every = list(session.scalars(select(Account)))
        postable = sorted(a.code for a in every
                          if not a.header and not a.deprecated and a.currency in (None, currency))
    return Books(org_id, currency, year.start_date, year.end_date,
                 [code for code in postable if code != bank], bank, len(every))


@dataclass
class Maker:
    """Random balanced entries; counts the lines and debits it makes (to check the books)."""

    books: Books
    rng: random.Random
    entries: int = 0
    lines: int = 0
    debits: int = 0  # minor units
    days: int = field(init=False)

    def __post_init__(self) -> None:
        self.days = (self.books.year_end - self.books.year_start).days

    def entry(self, bank: bool = False) -> Any:  # noqa: ANN401
        from plugins.accounting.services import EntryInput, LineInput

        rng = self.rng
        count = rng.randint(2, 4)
        debit_count = rng.randint(1, count - 1)
        debits = [rng.randint(1, 1_000_000) for _ in range(debit_count)]  # cents: up to 10,000.00
        total = sum(debits)
        credit_count = count - debit_count
        if total < credit_count:  # each credit needs at least one cent
            debits[0] += credit_count
            total = sum(debits)
        cuts = sorted(rng.sample(range(1, total), credit_count - 1)) if credit_count > 1 else []
        credits = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        amounts = debits + [-c for c in credits]
        codes = [rng.choice(self.books.accounts) for _ in range(count)]
        if bank:
            codes[rng.randrange(count)] = self.books.bank
        lines = [LineInput(code, Decimal(cents).scaleb(-2)) for code, cents in zip(codes, amounts, strict=True)]
        self.entries += 1
        self.lines += count
        self.debits += total
        day = self.books.year_start + dt.timedelta(days=rng.randint(0, self.days))
        return EntryInput("BNK" if bank else rng.choice(JOURNALS), day, lines,
                          label=f"Bench {self.entries}", reference=f"B{self.entries}")

    def batch(self, size: int, bank: bool = False) -> list[Any]:
        return [self.entry(bank) for _ in range(size)]


# --- posting ---------------------------------------------------------------------------------------------

@dataclass
class PostResult:
    entries: int
    lines: int
    seconds: float  # posting transactions only
    transactions: int
    slowest_ms: float

    @property
    def per_second(self) -> float:
        return self.entries / self.seconds if self.seconds else 0.0

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


def _chunks(total: int, size: int) -> Iterator[int]:
    while total > 0:
        yield min(size, total)
        total -= size


def post_batches(database: Any, maker: Maker, entries: int, batch: int, *,  # noqa: ANN401
                 bank: bool = False, profiler: Any = None) -> PostResult:  # noqa: ANN401
    from plugins.accounting.services import post_entries

    seconds, slowest, transactions, lines = 0.0, 0.0, 0, 0
    for size in _chunks(entries, batch):
        before = maker.lines
        inputs = maker.batch(size, bank)
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        with database.transaction(maker.books.org_id) as session:
            ids = post_entries(session, inputs)
        elapsed = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
        assert len(ids) == size
        seconds += elapsed
        slowest = max(slowest, elapsed)
        transactions += 1
        lines += maker.lines - before
    return PostResult(entries, lines, seconds, transactions, 1000 * slowest)


def post_singles(database: Any, maker: Maker, entries: int, *, profiler: Any = None) -> PostResult:  # noqa: ANN401
    from plugins.accounting.services import post_entries

    inputs = maker.batch(entries)
    lines = sum(len(e.lines) for e in inputs)
    org_id = maker.books.org_id
    times = []
    if profiler is not None:
        profiler.enable()
    for entry in inputs:
        started = time.perf_counter()
        with database.transaction(org_id) as session:
            post_entries(session, [entry])
        times.append(time.perf_counter() - started)
    if profiler is not None:
        profiler.disable()
    return PostResult(entries, lines, sum(times), entries, 1000 * max(times))


def _profiler(path: str | None) -> Any:  # noqa: ANN401
    if not path:
        return None
    import cProfile

    return cProfile.Profile()


def _dump(profiler: Any, path: str | None, what: str) -> None:  # noqa: ANN401
    if profiler is not None and path:
        profiler.dump_stats(path)
        print(f"  cProfile of {what} written to {path}")


def count_statements(database: Any, maker: Maker, batch: int) -> tuple[int, int]:  # noqa: ANN401
    """Statements sent to the database (BEGIN and COMMIT included) to post one entry alone, and
    ``batch`` entries in one transaction; untimed (a listener slows the statements down)."""
    from sqlalchemy import event

    counted = [0]

    def count(*_: Any) -> None:  # noqa: ANN401
        counted[0] += 1

    event.listen(database.engine, "before_cursor_execute", count)
    event.listen(database.engine, "commit", count)
    try:
        post_singles(database, maker, 1)
        single = counted[0]
        counted[0] = 0
        post_batches(database, maker, batch, batch)
        return single, counted[0]
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
        event.remove(database.engine, "commit", count)


# --- reading ------------------------------------------------------------------------------------------------

@dataclass
class ReadResult:
    runs: list[float]  # seconds

    @property
    def median_ms(self) -> float:
        return 1000 * statistics.median(self.runs)


def timed_reads(database: Any, org_id: int, repeats: int, fn: Callable[[Any], Any],  # noqa: ANN401
                profile: str | None, what: str) -> tuple[ReadResult, Any]:  # noqa: ANN401
    """``fn(session)`` in a fresh read-only session per run: a warm-up, then ``repeats`` runs."""

    def once() -> Any:  # noqa: ANN401
        with database.session(org_id, readonly=True) as session, session.begin():
            return fn(session)

    result = once()  # warm-up: statement caches, connection pool, page cache
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        once()
        runs.append(time.perf_counter() - started)
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        for _ in range(repeats):
            profiler.runcall(once)
        _dump(profiler, profile, f"{repeats} {what} runs")
    return ReadResult(runs), result


def count_lines(database: Any, org_id: int, account_code: str | None = None) -> int:  # noqa: ANN401
    from core.chart import Account
    from plugins.accounting.models import JournalLine

    with database.session(org_id, readonly=True) as session, session.begin():
        query = select(func.count()).select_from(JournalLine)
        if account_code is not None:
            account_id = session.scalars(select(Account.id).where(Account.code == account_code)).one()
            query = query.where(JournalLine.account_id == account_id)
        return session.execute(query).scalar_one()


def server_facts(database: Any) -> str:  # noqa: ANN401
    with database.engine.connect() as connection:
        if database.dialect == "postgresql":
            show = {name: connection.exec_driver_sql(f"SHOW {name}").scalar_one()
                    for name in ("server_version", "autovacuum", "synchronous_commit", "shared_buffers")}
            version = show.pop("server_version").split()[0]
            return f"PostgreSQL {version} (" + ", ".join(f"{k}={v}" for k, v in show.items()) + ")"
        version = connection.exec_driver_sql("SELECT sqlite_version()").scalar_one()
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        sync = connection.exec_driver_sql("PRAGMA synchronous").scalar_one()
        return f"SQLite {version} (journal_mode={journal}, synchronous={sync})"


def analyze(bench_db: Any) -> float:  # noqa: ANN401
    """PostgreSQL: ``ANALYZE`` as the owner, as autovacuum would (it may be off); milliseconds.

    Without statistics, the plans the server caches per connection for the ledger triggers'
    and the foreign keys' lookups by ``(org_id, id)`` are made on empty tables, and may pick
    an index on ``org_id`` alone: every later lookup then reads the whole organization.
    """
    if bench_db.backend != "postgresql":
        return 0.0
    from core.db import unscoped_engine

    started = time.perf_counter()
    settings: Any = bench_db.settings
    engine = unscoped_engine(settings.migration_database_url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return 1000 * (time.perf_counter() - started)


# --- main ------------------------------------------------------------------------------------------------------

def _load() -> str:
    try:
        return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load ?"


def _mid(day: dt.date) -> dt.date:
    """The 15th of ``day``'s month: a range starting or ending there cuts a period."""
    return day.replace(day=15)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="sqlite:///file or a PostgreSQL superuser URL "
                                                "(default: a fresh SQLite file in a temp dir)")
    parser.add_argument("--entries", type=int, default=100_000, help="entries posted in batches (default 100,000)")
    parser.add_argument("--batch", type=int, default=1_000, help="entries per post_entries call (default 1,000)")
    parser.add_argument("--single", type=int, default=5_000,
                        help="entries posted one per transaction (default 5,000)")
    parser.add_argument("--tb-lines", type=int, default=1_000_000,
                        help="lines in the organization before the trial balance (default 1,000,000)")
    parser.add_argument("--gl-lines", type=int, default=200_000,
                        help="lines of the bank account read by the general ledger (default 200,000)")
    parser.add_argument("--fill-batch", type=int, default=5_000,
                        help="entries per transaction when filling for the reports (default 5,000)")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs of each report (default 10)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", metavar="PREFIX",
                        help="write cProfile stats to PREFIX.batch, .single, .tb and .gl (posting figures "
                             "are then measured under the profiler: slower)")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args(argv)
    if min(args.entries, args.batch, args.single, args.gl_lines, args.fill_batch, args.repeats) < 1 \
            or args.tb_lines < 0:
        parser.error("--entries, --batch, --single, --gl-lines, --fill-batch and --repeats must be positive")

    from core.db import Database

    bench_db = prepare_database(args.database_url, args.keep)
    settings: Any = bench_db.settings
    database = Database(settings.database_url)
    try:
        backend = bench_db.backend
        sqlite = backend == "sqlite"
        print(f"ledger bench on {backend}: {make_url(settings.database_url).render_as_string()}")
        print(f"  {server_facts(database)}; python {platform.python_version()}, "
              f"SQLAlchemy {sqlalchemy.__version__}, git {_git_revision()}, "
              f"{os.cpu_count()} CPUs ({_load()}), {platform.machine()} {platform.system()} {platform.release()}")

        started = time.perf_counter()
        books = create_books(database)
        print(f"  organization {books.org_id} (fr_pcg, {books.total_accounts} accounts, "
              f"{len(books.accounts) + 1} postable) in {1000 * (time.perf_counter() - started):.0f} ms; "
              f"fiscal year {books.year_start}..{books.year_end}")
        maker = Maker(books, random.Random(args.seed))
        prefix = args.profile
        warm = post_batches(database, maker, args.batch, args.batch)
        print(f"  warm-up: one batch of {warm.entries:,} entries in {1000 * warm.seconds:.0f} ms (not counted)"
              + (f"; ANALYZE {analyze(bench_db):.0f} ms" if not sqlite else ""))

        # 1. batches
        print(f"1. posting {args.entries:,} entries of 2-4 lines, {args.batch:,} per post_entries call "
              f"(one transaction each)…")
        profiler = _profiler(prefix)
        batch = post_batches(database, maker, args.entries, args.batch, profiler=profiler)
        _dump(profiler, f"{prefix}.batch" if prefix else None, "the batch posting")
        print(f"  {batch.entries:,} entries ({batch.lines:,} lines) in {batch.seconds:.2f} s: "
              f"{batch.per_second:,.0f} entries/s, {batch.lines_per_second:,.0f} lines/s; "
              f"slowest batch {batch.slowest_ms:.0f} ms")

        # 2. one entry per transaction
        print(f"2. posting {args.single:,} entries one per transaction…")
        profiler = _profiler(prefix)
        single = post_singles(database, maker, args.single, profiler=profiler)
        _dump(profiler, f"{prefix}.single" if prefix else None, "the single-entry posting")
        print(f"  {single.entries:,} entries in {single.seconds:.2f} s: {single.per_second:,.0f} entries/s "
              f"({1000 * single.seconds / single.entries:.2f} ms/entry, slowest {single.slowest_ms:.1f} ms)")

        single_statements, batch_statements = count_statements(database, maker, args.batch)
        print(f"  statements per transaction (untimed): {single_statements} for one entry, "
              f"{batch_statements} for {args.batch:,}")

        # 3. fill: the bank account, then the organization
        print(f"3. filling: entries through bank account {books.bank} until it has {args.gl_lines:,} lines, "
              f"then random entries until the organization has {args.tb_lines:,} lines "
              f"({args.fill_batch:,} entries per transaction)…")
        fill = post_batches(database, maker, args.gl_lines, args.fill_batch, bank=True)
        lines_now = count_lines(database, books.org_id)
        missing = max(0, args.tb_lines - lines_now)
        more = post_batches(database, maker, -(-missing // 3), args.fill_batch)  # 3 lines per entry on average
        lines_now = count_lines(database, books.org_id)
        while lines_now < args.tb_lines:  # the average fell short: a few more
            more_too = post_batches(database, maker, max(1, (args.tb_lines - lines_now) // 2), args.fill_batch)
            more = PostResult(more.entries + more_too.entries, more.lines + more_too.lines,
                              more.seconds + more_too.seconds, more.transactions + more_too.transactions,
                              max(more.slowest_ms, more_too.slowest_ms))
            lines_now = count_lines(database, books.org_id)
        filled = fill.entries + more.entries
        fill_seconds = fill.seconds + more.seconds
        print(f"  {filled:,} entries ({fill.lines + more.lines:,} lines) in {fill_seconds:.2f} s: "
              f"{filled / fill_seconds:,.0f} entries/s; slowest transaction "
              f"{max(fill.slowest_ms, more.slowest_ms):.0f} ms")
        bank_lines = count_lines(database, books.org_id, books.bank)
        if not sqlite:
            print(f"  ANALYZE {analyze(bench_db):.0f} ms")
        print(f"  the organization has {maker.entries:,} entries, {lines_now:,} lines; "
              f"account {books.bank} has {bank_lines:,} lines")
        assert lines_now == maker.lines and bank_lines == args.gl_lines, (lines_now, maker.lines, bank_lines)

        # 4. trial balance
        from plugins.accounting.reports import trial_balance

        print(f"4. trial balance {books.year_start}..{books.year_end}, read-only session, "
              f"median of {args.repeats} (after a warm-up)…")
        tb, rows = timed_reads(database, books.org_id, args.repeats,
                               lambda s: trial_balance(s, books.year_start, books.year_end),
                               f"{prefix}.tb" if prefix else None, "trial balance")
        debits = sum(r.debit for r in rows)
        credits = sum(r.credit for r in rows)
        expected = Decimal(maker.debits).scaleb(-2)
        assert debits == credits == expected, (debits, credits, expected)
        print(f"  {len(rows)} accounts, debits = credits = {debits:,} (as posted); runs: "
              + ", ".join(f"{1000 * t:.1f}" for t in tb.runs) + " ms")
        cut_from, cut_to = _mid(books.year_start), _mid(books.year_end)
        tb_cut, _ = timed_reads(database, books.org_id, args.repeats,
                                lambda s: trial_balance(s, cut_from, cut_to), None, "")
        print(f"  (no target) {cut_from}..{cut_to}, two periods cut, their lines summed: "
              f"median {tb_cut.median_ms:.1f} ms")

        # 5. general ledger, first page
        from plugins.accounting.reports import general_ledger

        print(f"5. general ledger of {books.bank} ({bank_lines:,} lines), first page of {GL_PAGE}, "
              f"median of {args.repeats} (after a warm-up)…")

        def first_page(session: Any, date_from: dt.date = books.year_start) -> Any:  # noqa: ANN401
            return general_ledger(session, books.bank, date_from, books.year_end, limit=GL_PAGE)

        gl, page = timed_reads(database, books.org_id, args.repeats, first_page,
                               f"{prefix}.gl" if prefix else None, "general ledger first page")
        assert len(page.rows) == GL_PAGE and page.next_cursor, f"{len(page.rows)} rows in the first page"
        print(f"  {len(page.rows)} rows; runs: " + ", ".join(f"{1000 * t:.1f}" for t in gl.runs) + " ms")
        gl_next, _ = timed_reads(database, books.org_id, args.repeats,
                                 lambda s: general_ledger(s, books.bank, books.year_start, books.year_end,
                                                          limit=GL_PAGE, cursor=page.next_cursor), None, "")
        mid = _mid(books.year_start + dt.timedelta(days=182))
        gl_mid, _ = timed_reads(database, books.org_id, args.repeats, lambda s: first_page(s, mid), None, "")
        print(f"  (no target) second page by cursor: median {gl_next.median_ms:.1f} ms; first page from {mid} "
              f"(opening from 6 periods of balances + the lines of {mid:%B} 1-14): median {gl_mid.median_ms:.1f} ms")

        stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        note = "" if sqlite else " (set for SQLite)"
        batch_ok = batch.per_second >= BATCH_TARGET
        single_ok = single.per_second >= SINGLE_TARGET
        tb_ok = tb.median_ms <= TB_TARGET_MS
        print()
        print(f"ledger bench ({backend}, {stamp}, {server_facts(database)}, {os.cpu_count()} CPUs, {_load()}, "
              f"git {_git_revision()}):")
        print(f"  posting, {args.batch:,}/transaction: {batch.per_second:,.0f} entries/s "
              f"({batch.entries:,} entries, {batch.lines:,} lines, {batch.seconds:.1f} s)   "
              f"target >= {BATCH_TARGET:,.0f}/s{note}  {_verdict(batch_ok)}")
        print(f"  posting, 1/transaction: {single.per_second:,.0f} entries/s "
              f"({single.entries:,} entries, {1000 * single.seconds / single.entries:.2f} ms each)   "
              f"target >= {SINGLE_TARGET:,.0f}/s{note}  {_verdict(single_ok)}")
        print(f"  trial balance, {lines_now:,} lines: {tb.median_ms:.1f} ms (median of {args.repeats})   "
              f"target <= {TB_TARGET_MS:.0f} ms  {_verdict(tb_ok)}")
        print(f"  general ledger, first {GL_PAGE} of {bank_lines:,} lines: {gl.median_ms:.1f} ms "
              f"(median of {args.repeats})   target <= {GL_TARGET_MS:.0f} ms  {_verdict(gl.median_ms <= GL_TARGET_MS)}")
        print(f"  reference (from the issue, other machines): {REFERENCE_POSTING}; {REFERENCE_BALANCE}")
        return 0
    finally:
        database.dispose()
        bench_db.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
