"""kill -9 in the middle of a large import and of a long posting job: nothing is half
written, the books still verify, and running the job again finishes it exactly once."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select, text

from plugins.accounting.models import JournalEntry, JournalLine
from plugins.accounting.reports import verify_ledger
from tests.conftest import APP_ROLE, make_org
from tests.core.excel.helpers import table_counts

ROOT = Path(__file__).parents[2]
IMPORT_ENTRIES = 15_000  # 30,000 lines: seconds of work, long enough to be caught writing
JOB_TOTAL, JOB_BATCH = 6_000, 1_500
WAIT = 120  # seconds; generous for a busy CI machine

pytestmark = pytest.mark.timeout(600)


def _environment(settings) -> dict[str, str]:  # noqa: ANN001
    env = {**os.environ, "COMPTOIR_DATABASE_URL": settings.database_url, "COMPTOIR_SECRET_KEY": "test",
           "COMPTOIR_INSTANCE_PATH": str(settings.instance_path), "COMPTOIR_LOCALE": "en"}
    if settings.owner_database_url:
        env["COMPTOIR_DATABASE_OWNER_URL"] = settings.owner_database_url
    return env


def _comptoir(settings, *args: str) -> subprocess.Popen[str]:  # noqa: ANN001
    return subprocess.Popen([sys.executable, "-c", "from core.cli import main; main()", *args], cwd=ROOT,
                            env=_environment(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _entries_workbook(path: Path, entries: int) -> Path:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Journal entries")
    sheet.append(["Reference", "Date", "Journal", "Account", "Label", "Debit", "Credit"])
    for number in range(entries):
        day = dt.date(2026, 1 + number % 12, 1 + number % 28)
        amount = Decimal(number % 9_973 + 1).scaleb(-2)
        sheet.append([f"MIG-{number}", day, "SAL", "1100", f"Migrated {number}", amount, None])
        sheet.append([f"MIG-{number}", day, "SAL", "4000", f"Migrated {number}", None, amount])
    workbook.save(path)
    return path


class WriteWatcher:
    """Tells, from outside the importing process, that it is writing: it said so on stderr
    ("Writing <sheet>…", after every row was read and checked) and, on PostgreSQL, its ledger
    line inserts show in pg_stat_activity. (SQLite keeps the transaction's pages in its cache
    until commit, so there is nothing more to see there.)"""

    def __init__(self, process: subprocess.Popen[str], settings, owner_engine) -> None:  # noqa: ANN001
        self.engine = None if settings.database_url.startswith("sqlite") else owner_engine
        self.said = ""
        reader = threading.Thread(target=self._read, args=(process.stderr,), daemon=True)
        reader.start()

    def _read(self, stream) -> None:  # noqa: ANN001
        for chunk in iter(lambda: stream.read(1), ""):
            self.said += chunk

    def writing(self) -> bool:
        if "Writing Journal entries" not in self.said:
            return False
        if self.engine is None:
            return True
        with self.engine.connect() as connection:
            return bool(connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND usename = :role AND query ILIKE 'INSERT INTO journal_line%'"), {"role": APP_ROLE}).scalar())


def _kill_when(process: subprocess.Popen[str], ready) -> None:  # noqa: ANN001
    deadline = time.monotonic() + WAIT
    while not ready():
        assert process.poll() is None, "the job ended before it could be killed"
        assert time.monotonic() < deadline, "the job never started writing"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=WAIT)
    assert process.returncode == -signal.SIGKILL


def _books(database, org) -> tuple[int, list[int], list]:  # noqa: ANN001
    with database.session(org.id) as session:
        count = session.scalar(select(func.count()).select_from(JournalEntry))
        numbers = sorted(session.scalars(select(JournalEntry.number)))
        return count, numbers, verify_ledger(session)


def test_kill_9_during_a_large_import_writes_nothing_and_the_import_can_run_again(
        database, settings, owner_engine, tmp_path):
    org = make_org(database, "Migrating", chart="generic_service", first_fiscal_year=2026)
    path = _entries_workbook(tmp_path / "entries.xlsx", IMPORT_ENTRIES)
    before = table_counts(database, org.id)
    importing = _comptoir(settings, "import", str(path), "--org", org.name)

    _kill_when(importing, WriteWatcher(importing, settings, owner_engine).writing)

    assert table_counts(database, org.id) == before
    assert _books(database, org) == (0, [], [])
    again = _comptoir(settings, "import", str(path), "--org", org.name)
    out, err = again.communicate(timeout=WAIT)
    assert again.returncode == 0, err
    count, numbers, problems = _books(database, org)
    assert (count, problems) == (IMPORT_ENTRIES, [])
    assert numbers == list(range(1, IMPORT_ENTRIES + 1))
    with database.session(org.id) as session:
        assert session.scalar(select(func.count()).select_from(JournalLine)) == 2 * IMPORT_ENTRIES


def test_kill_9_during_a_posting_job_leaves_whole_batches_and_a_second_run_finishes_it(database, settings):
    org = make_org(database, "Batch poster", chart="generic_service", first_fiscal_year=2026)
    job = [sys.executable, "-m", "tests.reliability.posting_job", settings.database_url, str(org.id),
           str(JOB_TOTAL), str(JOB_BATCH)]
    process = subprocess.Popen(job, cwd=ROOT, env=_environment(settings), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    # Killed while its second batch is being written, right after the first one committed.
    _kill_when(process, lambda: process.stdout.readline().strip() == f"committed {JOB_BATCH}")

    count, numbers, problems = _books(database, org)
    assert count % JOB_BATCH == 0 and JOB_BATCH <= count < JOB_TOTAL
    assert numbers == list(range(1, count + 1))
    assert problems == []

    finished = subprocess.run(job, cwd=ROOT, env=_environment(settings), capture_output=True, text=True,
                              timeout=WAIT)
    assert finished.returncode == 0, finished.stderr
    assert _books(database, org) == (JOB_TOTAL, list(range(1, JOB_TOTAL + 1)), [])
