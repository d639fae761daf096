"""Web benchmark: requests per second for the dashboard, the trial balance page and a JSON API
call, against the real app behind a real HTTP server on a loopback port.

Prints figures; never run by the tests. Usage (from the repository root)::

    .venv/bin/python bench/web.py                        # a fresh SQLite file in a temp dir
    .venv/bin/python bench/web.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/web.py --entries 20000 --requests 300 --clients 4

The database is prepared as in ``bench/kernel.py``. One ``fr_pcg`` organization gets
``--entries`` posted entries (two lines, random dates of the fiscal year), a signed-in owner
and an API token. The app runs under werkzeug's threaded server (a development server: the
figures are a floor; gunicorn workers scale them with the cores). Each of ``--clients``
threads keeps one HTTP/1.1 connection and sends ``--requests`` requests (after
``--warmup``); the rate is the total over the wall-clock time of the run. Everything stays
on 127.0.0.1 and each run is bounded in count.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import random
import re
import statistics
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.kernel import prepare_database  # noqa: E402

PASSWORD = "Bench-Web-Pass-9"


def fill(database, entries: int) -> tuple[int, str, dt.date]:  # noqa: ANN001
    """The organization, an API token and the fiscal year's first day."""
    from core.auth import create_api_token
    from core.config import PasswordPolicy
    from core.periods import list_fiscal_years
    from core.security import add_member, create_user
    from core.tenancy import create_organization
    from plugins.accounting.services import EntryInput, credit, debit, post_entries

    with database.transaction() as session:
        org = create_organization(session, "Bench Web", chart="fr_pcg", currency="EUR", country="FR")
        user = create_user(session, "bench@web.test", PASSWORD, policy=PasswordPolicy())
        add_member(session, user, "owner")
        start = list_fiscal_years(session)[0].start_date
    pairs = [("512", "706"), ("607", "512"), ("411", "706"), ("512", "411"), ("626", "512"), ("53", "706")]
    rng = random.Random(7)
    for first in range(0, entries, 1000):
        batch = []
        for _ in range(min(1000, entries - first)):
            debit_account, credit_account = rng.choice(pairs)
            amount = Decimal(rng.randint(100, 500_000)) / 100
            day = start + dt.timedelta(days=rng.randint(0, 330))
            batch.append(EntryInput("MISC", day, [debit(debit_account, amount), credit(credit_account, amount)]))
        with database.transaction(org.id) as session:
            post_entries(session, batch)
    with database.transaction() as session:
        _row, token = create_api_token(session, user, org.id, "bench")
    return org.id, token, start


def session_cookie(base_url: str) -> str:
    """Sign in like a browser; returns the session cookie header."""
    parsed = urlparse(base_url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    connection.request("GET", "/login")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    body = urlencode({"email": "bench@web.test", "password": PASSWORD, "csrf_token": token})
    connection.request("POST", "/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = connection.getresponse()
    response.read()
    if response.status != 302:
        raise SystemExit(f"sign-in failed: {response.status}")
    return response.getheader("Set-Cookie").split(";")[0]


def run(base_url: str, path: str, headers: dict[str, str], clients: int, requests: int,
        warmup: int) -> tuple[float, float]:
    """(requests per second, median latency in ms) for ``clients`` connections."""
    parsed = urlparse(base_url)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client() -> None:
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        for _ in range(warmup):
            connection.request("GET", path, headers=headers)
            connection.getresponse().read()
        barrier.wait()
        mine = []
        for _ in range(requests):
            began = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - began)
            if response.status != 200:
                errors.append(f"{path}: {response.status}")
        with lock:
            latencies.extend(mine)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return clients * requests / elapsed, statistics.median(latencies) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200, help="per client")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from core.db import Database
    from core.web import create_app
    from tests.webtools import serving

    prepared = prepare_database(args.database_url, args.keep)
    database = Database(prepared.settings.database_url, pool_size=args.clients + 2)
    try:
        org_id, token, start = fill(database, args.entries)
        app = create_app(settings=prepared.settings, database=database)
        span = urlencode({"from": start.isoformat(), "to": start.replace(month=12, day=31).isoformat()})
        print(f"database: {prepared.backend}, {args.entries} entries, {args.clients} clients x {args.requests} requests")
        with serving(app) as base_url:
            cookie = {"Cookie": session_cookie(base_url)}
            bearer = {"Authorization": f"Bearer {token}"}
            cases = [("dashboard page", "/accounting/", cookie),
                     ("trial balance page", f"/accounting/reports/trial-balance?{span}", cookie),
                     ("API trial balance", f"/api/v1/reports/trial-balance?{span}", bearer),
                     ("API who am I", "/api/v1/me", bearer)]
            for name, path, headers in cases:
                rate, median = run(base_url, path, headers, args.clients, args.requests, args.warmup)
                print(f"{name:<22} {rate:8.1f} requests/s   median {median:6.1f} ms")
    finally:
        database.dispose()
        prepared.cleanup()


if __name__ == "__main__":
    main()
