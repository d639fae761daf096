"""Web benchmark: requests per second and p95 latency of the dashboard, a 50-line general-ledger
page and JSON API calls, against the real app under gunicorn on a loopback port.

Prints figures; never run by the tests. Usage (from the repository root, after
``pip install -e '.[bench]'`` for gunicorn)::

    .venv/bin/python bench/web.py                        # a fresh SQLite file in a temp dir
    .venv/bin/python bench/web.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/web.py --entries 20000 --duration 5 --worker-class gthread

The database is prepared as in ``bench/kernel.py``. One ``fr_pcg`` organization gets
``--entries`` posted entries (two lines, random dates of the fiscal year, posted through
``post_entries`` in batches of 1,000), a signed-in owner and an API token. gunicorn runs as a
subprocess (``--workers 2``, ``--worker-class sync`` or ``gthread``) serving
``core.web:create_app()``, which reads its settings from ``COMPTOIR_*`` variables. ``--users``
client threads each keep one HTTP/1.1 connection (reopened when the server closes it, as sync
workers do after every response) and send requests for ``--duration`` seconds per case after
``--warmup`` requests each. The client runs on the same machine as the server and shares its
CPUs: the figures are a floor. Everything stays on 127.0.0.1; every run is bounded in time.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.kernel import prepare_database  # noqa: E402

PASSWORD = "Bench-Web-Pass-9"
EMAIL = "bench@web.test"
P95_TARGET_MS = 100.0
RATE_TARGET = 200.0
PAIRS = [("512", "706"), ("607", "512"), ("411", "706"), ("512", "411"), ("626", "512"), ("53", "706")]


def analyze(settings) -> None:  # noqa: ANN001
    """PostgreSQL: ``ANALYZE`` as the owner (the application role may not), as autovacuum would
    after a bulk load — plans made on the empty tables' statistics join in O(n²)."""
    if not settings.owner_database_url:
        return
    from core.db import unscoped_engine

    engine = unscoped_engine(settings.owner_database_url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()


def fill(database, entries: int, name: str = "Bench Web", settings=None) -> tuple[int, str, dt.date]:  # noqa: ANN001
    """The organization, an API token and the fiscal year's first day. With ``settings``, the
    statistics are refreshed after the first batch (see :func:`analyze`)."""
    from core.auth import create_api_token
    from core.config import PasswordPolicy
    from core.periods import list_fiscal_years
    from core.security import add_member, create_user
    from core.tenancy import create_organization
    from plugins.accounting.services import EntryInput, credit, debit, post_entries

    with database.transaction() as session:
        org = create_organization(session, name, chart="fr_pcg", currency="EUR", country="FR")
        user = create_user(session, EMAIL, PASSWORD, policy=PasswordPolicy())
        add_member(session, user, "owner")
        start = list_fiscal_years(session)[0].start_date
    rng = random.Random(7)
    began = time.perf_counter()
    for first in range(0, entries, 1000):
        batch = []
        for _ in range(min(1000, entries - first)):
            debit_account, credit_account = rng.choice(PAIRS)
            amount = Decimal(rng.randint(100, 500_000)) / 100
            day = start + dt.timedelta(days=rng.randint(0, 330))
            batch.append(EntryInput("MISC", day, [debit(debit_account, amount), credit(credit_account, amount)]))
        with database.transaction(org.id) as session:
            post_entries(session, batch)
        if first == 0 and settings is not None:
            analyze(settings)
    if entries:
        print(f"filled {entries} entries in {time.perf_counter() - began:.1f} s")
    with database.transaction() as session:
        _row, token = create_api_token(session, user, org.id, "bench")
    return org.id, token, start


# --- the server -------------------------------------------------------------------------------

@contextmanager
def gunicorn(settings, workers: int, worker_class: str, threads: int) -> Iterator[str]:  # noqa: ANN001
    """gunicorn serving ``core.web:create_app()`` on a free loopback port; yields its base URL."""
    from tests.webtools import free_port

    port = free_port()
    env = dict(os.environ, COMPTOIR_DATABASE_URL=settings.database_url, COMPTOIR_SECRET_KEY=settings.secret_key,
               COMPTOIR_INSTANCE_PATH=str(settings.instance_path), PYTHONPATH=str(ROOT))
    if settings.owner_database_url:
        env["COMPTOIR_DATABASE_OWNER_URL"] = settings.owner_database_url
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", worker_class,
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--backlog", "256"]
    if worker_class == "gthread":
        command += ["--threads", str(threads)]
    process = subprocess.Popen([*command, "core.web:create_app()"], cwd=ROOT, env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {process.returncode}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/login")
                connection.getresponse().read()
                connection.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not answer within 60 s") from None
                time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def session_cookie(base_url: str, email: str = EMAIL, password: str = PASSWORD) -> str:
    """Sign in like a browser; returns the session cookie header."""
    parsed = urlparse(base_url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    connection.request("GET", "/login")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    body = urlencode({"email": email, "password": password, "csrf_token": token})
    connection.request("POST", "/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = connection.getresponse()
    response.read()
    connection.close()
    if response.status != 302:
        raise SystemExit(f"sign-in failed: {response.status}")
    return response.getheader("Set-Cookie").split(";")[0]


# --- the load -----------------------------------------------------------------------------------

@dataclass
class Request:
    kind: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None


@dataclass
class Tally:
    """Latencies (seconds) of the successful (2xx) requests and the failures, per kind."""
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    elapsed: float = 0.0

    def merge(self, other: Tally) -> None:
        for kind, values in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(values)
        for kind, values in other.errors.items():
            self.errors.setdefault(kind, []).extend(values)

    def kinds(self) -> list[str]:
        return sorted(set(self.latencies) | set(self.errors))

    def count(self, kind: str | None = None) -> int:
        kinds = [kind] if kind else self.kinds()
        return sum(len(self.latencies.get(k, [])) + len(self.errors.get(k, [])) for k in kinds)

    def error_count(self, kind: str | None = None) -> int:
        kinds = [kind] if kind else self.kinds()
        return sum(len(self.errors.get(k, [])) for k in kinds)

    def percentile(self, q: float, kind: str | None = None) -> float:
        """The ``q`` quantile (0..1) of the successful latencies, in ms (nearest rank)."""
        kinds = [kind] if kind else self.kinds()
        values = sorted(v for k in kinds for v in self.latencies.get(k, []))
        if not values:
            return float("nan")
        return 1000 * values[min(len(values) - 1, max(0, round(q * len(values) + 0.5) - 1))]


def drive(base_url: str, users: int, duration: float, warmup: int,
          next_request: Callable[[random.Random], Request]) -> Tally:
    """``users`` threads, one keep-alive connection each, sending ``next_request(rng)`` for
    ``duration`` seconds after ``warmup`` requests each. Only 2xx counts as success."""
    parsed = urlparse(base_url)
    tallies = [Tally() for _ in range(users)]
    barrier = threading.Barrier(users + 1)
    stop = threading.Event()

    def send(connection: http.client.HTTPConnection, request: Request) -> tuple[int, bytes]:
        connection.request(request.method, request.path, body=request.body, headers=request.headers)
        response = connection.getresponse()
        return response.status, response.read()

    def user(number: int) -> None:
        rng = random.Random(number)
        tally = tallies[number]
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        for _ in range(warmup):
            send(connection, next_request(rng))
        barrier.wait()
        while not stop.is_set():
            request = next_request(rng)
            began = time.perf_counter()
            try:
                status, body = send(connection, request)
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                tally.errors.setdefault(request.kind, []).append(f"{request.path}: {error!r}")
                continue
            latency = time.perf_counter() - began
            if 200 <= status < 300:
                tally.latencies.setdefault(request.kind, []).append(latency)
            else:
                tally.errors.setdefault(request.kind, []).append(f"{request.path}: {status} {body[:200]!r}")
        connection.close()

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    time.sleep(duration)
    stop.set()
    for thread in threads:
        thread.join()
    total = Tally(elapsed=time.perf_counter() - began)
    for tally in tallies:
        total.merge(tally)
    return total


def load_line() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10, help="concurrent client threads")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per case")
    parser.add_argument("--warmup", type=int, default=3, help="requests per user before each case")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from core.db import Database

    prepared = prepare_database(args.database_url, args.keep)
    database = Database(prepared.settings.database_url)
    try:
        _org_id, token, start = fill(database, args.entries, settings=prepared.settings)
        analyze(prepared.settings)
        database.dispose()
        span = {"from": start.isoformat(), "to": start.replace(month=12, day=31).isoformat()}
        workers = f"{args.workers} {args.worker_class} workers"
        if args.worker_class == "gthread":
            workers += f" x {args.threads} threads"
        print(f"database: {prepared.backend}, {args.entries} entries; gunicorn {workers}; "
              f"{args.users} users x {args.duration:g} s per case; the client shares the server's machine")
        with gunicorn(prepared.settings, args.workers, args.worker_class, args.threads) as base_url:
            cookie = {"Cookie": session_cookie(base_url)}
            bearer = {"Authorization": f"Bearer {token}"}
            ledger = urlencode({**span, "account": "512"})
            cases = [("dashboard page", "/accounting/", cookie, True),
                     ("general ledger page (50 lines)", f"/accounting/reports/general-ledger?{ledger}", cookie, True),
                     ("API trial balance", f"/api/v1/reports/trial-balance?{urlencode(span)}", bearer, False),
                     ("API entries (50)", "/api/v1/entries?limit=50", bearer, False),
                     ("API who am I", "/api/v1/me", bearer, False)]
            print(f"{'case':<32}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}  verdict")
            for name, path, headers, target in cases:
                request = Request(name, "GET", path, headers)
                tally = drive(base_url, args.users, args.duration, args.warmup, lambda _rng, r=request: r)
                rate = (tally.count() - tally.error_count()) / tally.elapsed
                p95 = tally.percentile(0.95)
                verdict = ""
                if target:
                    verdict = (f"p95 <= {P95_TARGET_MS:g} ms: {'yes' if p95 <= P95_TARGET_MS else 'NO'}, "
                               f">= {RATE_TARGET:g} req/s: {'yes' if rate >= RATE_TARGET else 'NO'}")
                print(f"{name:<32}{rate:8.1f}{tally.percentile(0.5):9.1f}{p95:9.1f}{tally.error_count():8d}  {verdict}")
                for kind in tally.kinds():
                    for error in tally.errors.get(kind, [])[:2]:
                        print(f"    e.g. {error}")
        print(load_line())
    finally:
        database.dispose()
        prepared.cleanup()


if __name__ == "__main__":
    main()
