"""Excel benchmark: journal lines imported from and exported to .xlsx, against bare openpyxl.

Prints figures; never run by the tests. Usage (from the repository root)::

    .venv/bin/python bench/excel.py                       # a fresh SQLite file in a temp dir
    .venv/bin/python bench/excel.py --database-url postgresql://postgres@127.0.0.1:5432/postgres --lines 20000

The database is prepared as in ``bench/kernel.py`` (with a PostgreSQL superuser URL: a
database of its own, migrated as the owner, used as a non-owner application role with
row-level security on, dropped at the end). One ``fr_pcg`` organization (made as in
``bench/ledger.py``) receives the import.

1. ``--lines`` journal lines (two-line entries: random postable accounts, random dates of the
   fiscal year, random journal, two-decimal amounts) are made in memory, then written to an
   .xlsx (sheet "Journal entries"; Reference, Date, Journal, Account, Label, Debit, Credit)
   with bare openpyxl write-only: that write is the *bare write* reference figure;
2. the file is read once with bare openpyxl read-only (``iter_rows(values_only=True)``): the
   *bare read* reference figure; then with bare python-calamine (``iter_rows()``), the reader
   the import uses for plain .xlsx: the floor of what an import can do;
3. ``core.excel.importer.import_file(session, path, schema="journal_entries")`` in one
   transaction (``database.transaction(org_id)``, commit included): the import rate, and
   the part of it spent in the ledger service (``post_entries_from``, timed around the
   schema's calls to it);
4. ``core.excel.writer.export_workbook`` of the organization's journal entries, in a read-only
   session: the export rate (the exported file is read back, untimed, to count its rows);
5. the import's peak memory: a fresh subprocess (``python bench/excel.py --memory-child``) that
   imports the same file, in one transaction, into a second organization and reports its
   ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (the whole process: interpreter, modules,
   SQLAlchemy and the import), beside the figure it had just before the import.

Rates are rows (journal lines) per second of wall time. With ``--profile PREFIX`` the import and
the export run under cProfile (PREFIX.import, PREFIX.export): their figures are then slower.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import openpyxl  # noqa: E402
import sqlalchemy  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.kernel import _git_revision, _verdict, prepare_database  # noqa: E402
from bench.ledger import JOURNALS, _load, count_lines, create_books, server_facts  # noqa: E402

IMPORT_TARGET = 20_000.0  # rows per second, SQLite
EXPORT_TARGET = 20_000.0  # rows per second
MEMORY_TARGET_MB = 500.0
HEADERS = ("Reference", "Date", "Journal", "Account", "Label", "Debit", "Credit")
SHEET = "Journal entries"
# Reference figures quoted in the brief (this kind of machine, six-column rows).
REFERENCE_READ = 28_000
REFERENCE_WRITE = 28_000


# --- the input -------------------------------------------------------------------------------------

def make_rows(books: Any, lines: int, seed: int) -> list[tuple[Any, ...]]:  # noqa: ANN401
    """``lines`` rows (an odd count gets one line more): two-line balanced entries."""
    rng = random.Random(seed)
    days = (books.year_end - books.year_start).days
    rows: list[tuple[Any, ...]] = []
    for number in range(1, (lines + 1) // 2 + 1):
        reference = f"X{number:07d}"
        day = books.year_start + dt.timedelta(days=rng.randint(0, days))
        journal = rng.choice(JOURNALS)
        debit_account, credit_account = rng.sample(books.accounts, 2)
        amount = Decimal(rng.randint(1, 1_000_000)).scaleb(-2)
        label = f"Bench entry {number}"
        rows.append((reference, day, journal, debit_account, label, amount, None))
        rows.append((reference, day, journal, credit_account, label, None, amount))
    return rows


def bare_write(path: Path, rows: list[tuple[Any, ...]]) -> float:
    """openpyxl write-only, plain values (openpyxl picks the date format); seconds, save included."""
    started = time.perf_counter()
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET)
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return time.perf_counter() - started


def bare_read(path: Path) -> tuple[int, float]:
    """openpyxl read-only, every sheet's values; (data rows, seconds)."""
    started = time.perf_counter()
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    count = 0
    try:
        for sheet in workbook.worksheets:
            for _ in sheet.iter_rows(values_only=True):
                count += 1
            count -= 1  # the header
    finally:
        workbook.close()
    return count, time.perf_counter() - started


def bare_calamine_read(path: Path) -> tuple[int, float]:
    """python-calamine, every sheet's rows; (data rows, seconds)."""
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    workbook = CalamineWorkbook.from_path(str(path))
    count = 0
    for name in workbook.sheet_names:
        for _ in workbook.get_sheet_by_name(name).iter_rows():
            count += 1
        count -= 1  # the header
    workbook.close()
    return count, time.perf_counter() - started


# --- import and export --------------------------------------------------------------------------------

POSTING_SECONDS = [0.0]


def _timed_posting() -> None:
    """Time the ledger service inside the import (the import's own part is the rest)."""
    import plugins.accounting.excel as accounting_excel

    post = accounting_excel._post

    def timed_post(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        started = time.perf_counter()
        try:
            return post(*args, **kwargs)
        finally:
            POSTING_SECONDS[0] += time.perf_counter() - started

    accounting_excel._post = timed_post

def _limits(lines: int) -> Any:  # noqa: ANN401
    from core.excel.readers import MB, Limits

    default = Limits()
    return Limits(max_rows=max(default.max_rows, lines + 10),
                  max_bytes=max(default.max_bytes, 60 * lines * 2), max_uncompressed=max(default.max_uncompressed,
                                                                                           300 * lines * 2 + 10 * MB))


def run_import(database: Any, org_id: int, path: Path, lines: int) -> Any:  # noqa: ANN401
    from core.excel.importer import import_file

    with database.transaction(org_id) as session:
        return import_file(session, path, schema="journal_entries", limits=_limits(lines))


def run_export(database: Any, org_id: int, path: Path) -> Path:  # noqa: ANN401
    from core.excel.writer import export_workbook
    from plugins.accounting.excel import JOURNAL_ENTRIES

    with database.session(org_id, readonly=True) as session, session.begin():
        return export_workbook(session, path, [JOURNAL_ENTRIES])


@dataclass
class Timed:
    rows: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def timed(fn: Any, profile: str | None, what: str) -> tuple[Any, float]:  # noqa: ANN401
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
        print(f"  cProfile of {what} written to {profile}")
    return result, seconds


# --- peak memory, in a fresh process ---------------------------------------------------------------------

def _maxrss_mb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


def memory_child(database_url: str, org_id: int, path: Path, lines: int) -> int:
    """The ``--memory-child`` process: import ``path`` into ``org_id``; print JSON on stdout."""
    from core.db import Database
    import core.excel.importer  # noqa: F401  (modules loaded before the baseline)
    import plugins.accounting.excel  # noqa: F401

    database = Database(database_url)
    try:
        before = _maxrss_mb()
        started = time.perf_counter()
        report = run_import(database, org_id, path, lines)
        seconds = time.perf_counter() - started
        print(json.dumps({"before_mb": before, "peak_mb": _maxrss_mb(), "hwm_mb": _vmhwm_mb(), "seconds": seconds,
                          "created": report.counts.created}))
    finally:
        database.dispose()
    return 0


def _vmhwm_mb() -> float | None:
    """Linux: this process's resident high-water mark (``VmHWM``; reset by ``execve``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def measure_memory(database_url: str, org_id: int, path: Path, lines: int) -> dict[str, Any]:
    """Run :func:`memory_child` in a fresh process. Linux keeps ``ru_maxrss`` across ``execve``,
    and Python starts children with ``vfork``: a child started from this (big) process would
    report this process's peak. So a small shell forks it (a real fork of a small process) and
    waits for it (no ``exec`` of the last command: ``; exit $?``)."""
    import shlex

    command = [sys.executable, str(Path(__file__).resolve()), "--memory-child", "--database-url", database_url,
               "--org-id", str(org_id), "--file", str(path), "--lines", str(lines)]
    shell = " ".join(shlex.quote(part) for part in command) + "; exit $?"
    done = subprocess.run(["/bin/sh", "-c", shell], capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the memory subprocess failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- main ------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="sqlite:///file or a PostgreSQL superuser URL "
                                                "(default: a fresh SQLite file in a temp dir)")
    parser.add_argument("--lines", type=int, default=100_000,
                        help="journal lines in the file, two per entry (default 100,000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", metavar="PREFIX",
                        help="write cProfile stats to PREFIX.import and PREFIX.export (those figures are "
                             "then measured under the profiler: slower)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocess")
    parser.add_argument("--keep", action="store_true", help="keep the database and the workbooks at the end")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--org-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        return memory_child(args.database_url, args.org_id, Path(args.file), args.lines)
    if args.lines < 2:
        parser.error("--lines must be at least 2")

    from core.db import Database

    bench_db = prepare_database(args.database_url, args.keep)
    settings: Any = bench_db.settings
    database = Database(settings.database_url)
    files = Path(tempfile.mkdtemp(prefix="comptoir-bench-excel-"))
    try:
        backend = bench_db.backend
        sqlite = backend == "sqlite"
        print(f"excel bench on {backend}: {make_url(settings.database_url).render_as_string()}")
        print(f"  {server_facts(database)}; python {platform.python_version()}, "
              f"SQLAlchemy {sqlalchemy.__version__}, openpyxl {openpyxl.__version__}, git {_git_revision()}, "
              f"{os.cpu_count()} CPUs ({_load()})")
        books = create_books(database)
        memory_books = create_books(database) if not args.no_memory else None
        print(f"  organization {books.org_id} (fr_pcg, {len(books.accounts)} postable accounts used); "
              f"fiscal year {books.year_start}..{books.year_end}")

        # 1. the file, by bare openpyxl write-only
        rows = make_rows(books, args.lines, args.seed)
        lines, entries = len(rows), len(rows) // 2
        source = files / "entries.xlsx"
        write_seconds = bare_write(source, rows)
        bare_w = Timed(lines, write_seconds)
        print(f"1. bare openpyxl write-only of {lines:,} rows ({len(HEADERS)} columns, {entries:,} entries): "
              f"{write_seconds:.2f} s, {bare_w.per_second:,.0f} rows/s; {source.stat().st_size / 1e6:.1f} MB")

        # 2. bare openpyxl read-only
        read_rows, read_seconds = bare_read(source)
        assert read_rows == lines, (read_rows, lines)
        bare_r = Timed(lines, read_seconds)
        print(f"2. bare openpyxl read-only of the same file: {read_seconds:.2f} s, {bare_r.per_second:,.0f} rows/s")
        calamine_rows, calamine_seconds = bare_calamine_read(source)
        assert calamine_rows == lines, (calamine_rows, lines)
        bare_c = Timed(lines, calamine_seconds)
        print(f"   bare python-calamine of the same file: {calamine_seconds:.2f} s, {bare_c.per_second:,.0f} rows/s")

        # 3. the import
        print(f"3. import_file(schema='journal_entries') of {lines:,} rows, one transaction…")
        prefix = args.profile
        _timed_posting()
        report, seconds = timed(lambda: run_import(database, books.org_id, source, lines),
                                f"{prefix}.import" if prefix else None, "the import")
        imported = Timed(lines, seconds)
        assert report.counts.created == entries, report.counts
        in_books = count_lines(database, books.org_id)
        assert in_books == lines, (in_books, lines)
        posting = POSTING_SECONDS[0]
        print(f"  {report.counts.created:,} entries created, {in_books:,} lines in the books; {seconds:.2f} s: "
              f"{imported.per_second:,.0f} rows/s (bare calamine read = {100 * calamine_seconds / seconds:.0f}% of it, "
              f"the ledger service {posting:.2f} s = {100 * posting / seconds:.0f}%)")

        # 4. the export
        print(f"4. export_workbook(journal_entries) of {lines:,} lines, read-only session…")
        exported_path = files / "export.xlsx"
        _, seconds = timed(lambda: run_export(database, books.org_id, exported_path),
                           f"{prefix}.export" if prefix else None, "the export")
        exported = Timed(lines, seconds)
        exported_rows, _ = bare_read(exported_path)
        assert exported_rows == lines, (exported_rows, lines)
        print(f"  {exported_rows:,} rows read back; {seconds:.2f} s: {exported.per_second:,.0f} rows/s "
              f"(bare write = {100 * write_seconds / seconds:.0f}% of it); "
              f"{exported_path.stat().st_size / 1e6:.1f} MB")

        # 5. peak memory
        memory = None
        if memory_books is not None:
            print(f"5. peak memory: a fresh process imports the file into organization {memory_books.org_id}…")
            memory = measure_memory(settings.database_url, memory_books.org_id, source, lines)
            assert memory["created"] == entries, memory
            print(f"  ru_maxrss {memory['before_mb']:.0f} MB before the import, {memory['peak_mb']:.0f} MB after "
                  f"(VmHWM {memory['hwm_mb'] or 0:.0f} MB; import there, not profiled: {memory['seconds']:.2f} s, "
                  f"{lines / memory['seconds']:,.0f} rows/s)")

        stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        note = "" if sqlite else " (set for SQLite)"
        under = " (under cProfile)" if prefix else ""
        print()
        print(f"excel bench ({backend}, {stamp}, {server_facts(database)}, {os.cpu_count()} CPUs, {_load()}, "
              f"git {_git_revision()}):")
        print(f"  import {lines:,} journal lines ({entries:,} entries), one transaction: "
              f"{imported.per_second:,.0f} rows/s ({imported.seconds:.1f} s){under}   "
              f"target >= {IMPORT_TARGET:,.0f}/s{note}  {_verdict(imported.per_second >= IMPORT_TARGET)}")
        print(f"    of which the ledger service (post_entries_from): {posting:.1f} s "
              f"({100 * posting / imported.seconds:.0f}%); the rest, reading, checking and preparing: "
              f"{lines / max(imported.seconds - posting, 1e-9):,.0f} rows/s")
        print(f"    bare python-calamine, same file: {bare_c.per_second:,.0f} rows/s ({bare_c.seconds:.1f} s, "
              f"{100 * bare_c.seconds / imported.seconds:.0f}% of the import's time)")
        print(f"    bare openpyxl read-only, same file: {bare_r.per_second:,.0f} rows/s ({bare_r.seconds:.1f} s, "
              f"{100 * bare_r.seconds / imported.seconds:.0f}% of the import's time; ~{REFERENCE_READ:,}/s quoted)")
        print(f"  export {lines:,} journal lines: {exported.per_second:,.0f} rows/s ({exported.seconds:.1f} s){under}   "
              f"target >= {EXPORT_TARGET:,.0f}/s  {_verdict(exported.per_second >= EXPORT_TARGET)}")
        print(f"    bare openpyxl write-only, same rows: {bare_w.per_second:,.0f} rows/s ({bare_w.seconds:.1f} s, "
              f"{100 * bare_w.seconds / exported.seconds:.0f}% of the export's time; ~{REFERENCE_WRITE:,}/s quoted)")
        if memory is not None:
            print(f"  import peak memory: {memory['peak_mb']:.0f} MB (ru_maxrss of a fresh process that only "
                  f"imports; {memory['before_mb']:.0f} MB before it)   target <= {MEMORY_TARGET_MB:.0f} MB  "
                  f"{_verdict(memory['peak_mb'] <= MEMORY_TARGET_MB)}")
        return 0
    finally:
        database.dispose()
        if args.keep:
            print(f"kept the workbooks in {files}")
        else:
            for child in files.iterdir():
                child.unlink()
            files.rmdir()
        bench_db.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
