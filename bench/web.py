"""Web benchmark: requests per second and p95 latency of the dashboard, a 50-line general-ledger
page and JSON API calls, against the real app under gunicorn on a loopback port.

Prints figures; never run by the tests. Needs gunicorn (``pip install -e '.[bench]'``) and wrk
(``apt-get install wrk``; ``brew install wrk``). Usage (from the repository root)::

    .venv/bin/python bench/web.py                        # a fresh SQLite file in a temp dir
    .venv/bin/python bench/web.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/web.py --entries 20000 --duration 5 --worker-class gthread

The database is prepared as in ``bench/kernel.py``. One ``fr_pcg`` organization gets
``--entries`` posted entries (two lines, random dates of the fiscal year, posted through
``post_entries`` in batches of 1,000), a signed-in owner and an API token. gunicorn runs as a
subprocess (``--workers 2``, ``--worker-class sync`` or ``gthread``) serving
``core.web:create_app()``, which reads its settings from ``COMPTOIR_*`` variables.

The load comes from wrk (``bench/wrk.lua``), a C load generator: ``--users`` connections, each
sending its next request when the last is answered (reconnecting when a sync worker closes it),
for ``--duration`` seconds per case after ``--warmup`` seconds of the same load, on
``--wrk-threads`` threads. Only 2xx answers count as successes; other statuses and socket
errors are errors. p50 and p95 are wrk's (every answer). wrk shares the server's machine but
costs a few percent of a CPU (the CPU column: milliseconds of CPU per request, gunicorn's
processes + wrk's); the Python client it replaced took several times that from the two workers,
so it is gone rather than kept as a fallback whose figures would not compare. Everything stays
on 127.0.0.1; every run is bounded in time.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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

@dataclass(frozen=True)
class Server:
    url: str
    pid: int  # gunicorn's master

    def cpu_seconds(self) -> float:
        """CPU time used so far by the master and its workers (Linux ``/proc``; 0 elsewhere)."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            total = 0
            for pid in [str(self.pid), *children]:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            return 0.0
        return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def gunicorn(settings, workers: int, worker_class: str, threads: int) -> Iterator[Server]:  # noqa: ANN001
    """gunicorn serving ``core.web:create_app()`` on a free loopback port."""
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
        yield Server(base_url, process.pid)
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


# --- the load: wrk ----------------------------------------------------------------------------

WRK_SCRIPT = Path(__file__).with_name("wrk.lua")


@dataclass(frozen=True)
class Request:
    """One kind of request for ``bench/wrk.lua``: a body may hold its placeholders
    (``{cents:LOW:HIGH}``, ``{int:LOW:HIGH}``, ``{day:YYYY-MM-DD:SPAN}``)."""
    kind: str
    method: str
    path: str
    headers: dict[str, str]
    body: str | None = None
    weight: float = 1.0

    def spec_line(self) -> str:
        fields = [f"{self.weight:g}", self.kind, self.method, self.path, self.body or "-",
                  *(f"{name}: {value}" for name, value in self.headers.items())]
        if any("\t" in one or "\n" in one for one in fields):
            raise ValueError(f"a tab or a line break in the request {self.kind!r}")
        return "\t".join(fields)


@dataclass
class Tally:
    """What wrk saw: per kind, the successes (2xx), the errors and, when requests and responses
    are paired (one connection per wrk thread), the successes' latencies in ms; overall, wrk's
    own latency percentiles (every response, ms) and its socket errors."""
    elapsed: float = 0.0
    ok: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)
    wrk_percentiles: dict[int, float] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=dict)  # sent, unanswered when wrk stopped
    server_cpu: float = 0.0  # seconds of CPU, gunicorn's processes
    client_cpu: float = 0.0  # seconds of CPU, wrk

    def cpu_per_request(self) -> tuple[float, float]:
        """ms of CPU per answered request: the server's, wrk's."""
        answered = max(self.count(), 1)
        return 1000 * self.server_cpu / answered, 1000 * self.client_cpu / answered

    def kinds(self) -> list[str]:
        return sorted(set(self.ok) | set(self.errors))

    def count(self, kind: str | None = None) -> int:
        return self.successes(kind) + self.error_count(kind)

    def successes(self, kind: str | None = None) -> int:
        return sum(self.ok.get(k, 0) for k in ([kind] if kind else self.kinds()))

    def error_count(self, kind: str | None = None) -> int:
        """Non-2xx answers and requests without one; overall, wrk's socket errors as well."""
        found = sum(self.errors.get(k, 0) for k in ([kind] if kind else self.kinds()))
        return found if kind else found + sum(self.socket_errors.values())

    def rate(self, kind: str | None = None) -> float:
        return self.successes(kind) / self.elapsed if self.elapsed else float("nan")

    def percentile(self, q: float, kind: str | None = None) -> float:
        """The ``q`` quantile (0..1) in ms, nearest rank, of the successes' latencies — or wrk's
        own figure (every response) when the requests were not paired."""
        values = sorted(v for k in ([kind] if kind else self.kinds()) for v in self.latencies.get(k, []))
        if not values:
            return self.wrk_percentiles.get(round(100 * q), float("nan")) if kind is None else float("nan")
        return values[min(len(values) - 1, max(0, round(q * len(values) + 0.5) - 1))]

    def problems(self) -> list[str]:
        found = [f"{what}: {count}" for what, count in sorted(self.statuses.items())]
        return found + [f"socket {what} errors: {count}" for what, count in self.socket_errors.items() if count]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian, Ubuntu) or brew install wrk (macOS)")
    return found


def drive(server: Server, requests: list[Request], connections: int, duration: float, threads: int | None = None,
          timeout: float = 30.0) -> Tally:
    """wrk with ``connections`` connections (the users: each sends its next request when the
    last one is answered) for ``duration`` seconds. Without ``threads``, one wrk thread per
    connection, so that every response is paired with its request (its kind and latency known);
    with fewer threads, the spec must hold one kind and the latencies are wrk's."""
    paired = threads is None or threads == connections
    if not paired and len(requests) != 1:
        raise ValueError("several kinds of requests need one wrk thread per connection")
    with tempfile.TemporaryDirectory(prefix="comptoir-wrk-") as folder:
        spec = Path(folder) / "requests.tsv"
        spec.write_text("".join(request.spec_line() + "\n" for request in requests))
        command = [wrk_path(), "--threads", str(connections if paired else threads), "--connections",
                   str(connections), "--duration", f"{max(1, round(duration))}s", "--timeout", f"{timeout:g}s",
                   "--script", str(WRK_SCRIPT), server.url, "--", str(spec), "paired" if paired else "counted"]
        server_before, client_before = server.cpu_seconds(), _children_cpu()
        done = subprocess.run(command, capture_output=True, text=True, timeout=duration + timeout + 60)
        server_cpu, client_cpu = server.cpu_seconds() - server_before, _children_cpu() - client_before
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    tally = Tally(server_cpu=server_cpu, client_cpu=client_cpu)
    for line in done.stdout.splitlines():
        fields = line.split("\t")
        if fields[0] != "WRK":
            continue
        if fields[1] == "summary":
            _requests, duration_us, connect, read, write, timeouts, _status = map(int, fields[2:9])
            tally.elapsed = duration_us / 1e6
            tally.socket_errors = {"connect": connect, "read": read, "write": write, "timeout": timeouts}
        elif fields[1] == "latency":
            p50, p95, p99, _max = (int(value) / 1000 for value in fields[2:6])
            tally.wrk_percentiles = {50: p50, 95: p95, 99: p99}
        elif fields[1] == "kind":
            kind, ok, errors = fields[2], int(fields[3]), int(fields[4])
            tally.ok[kind] = tally.ok.get(kind, 0) + ok
            tally.errors[kind] = tally.errors.get(kind, 0) + errors
        elif fields[1] == "latencies" and paired:
            tally.latencies.setdefault(fields[2], []).extend(int(v) / 1000 for v in fields[3].split(",") if v)
        elif fields[1] == "in-flight":
            tally.in_flight[fields[2]] = tally.in_flight.get(fields[2], 0) + 1
        elif fields[1] == "status":
            tally.statuses[fields[2]] = tally.statuses.get(fields[2], 0) + int(fields[3])
    if not tally.elapsed:
        raise SystemExit(f"wrk printed no figures: {done.stdout.strip()} {done.stderr.strip()}")
    return tally


def load_line() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10, help="concurrent connections (wrk -c)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per case")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of untimed load before each case")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (wrk -t)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    wrk_path()

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
        print(f"database: {prepared.backend}, {args.entries} entries; gunicorn {workers}; wrk: {args.users} "
              f"connections (users), {args.wrk_threads} threads, {args.duration:g} s per case after "
              f"{args.warmup:g} s of warm-up, on the server's machine")
        with gunicorn(prepared.settings, args.workers, args.worker_class, args.threads) as server:
            cookie = {"Cookie": session_cookie(server.url)}
            bearer = {"Authorization": f"Bearer {token}"}
            ledger = urlencode({**span, "account": "512"})
            cases = [("dashboard page", "/accounting/", cookie, True),
                     ("general ledger page (50 lines)", f"/accounting/reports/general-ledger?{ledger}", cookie, True),
                     ("API trial balance", f"/api/v1/reports/trial-balance?{urlencode(span)}", bearer, False),
                     ("API entries (50)", "/api/v1/entries?limit=50", bearer, False),
                     ("API who am I", "/api/v1/me", bearer, False)]
            print(f"{'case':<32}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}{'CPU ms/req':>12}  verdict")
            for name, path, headers, target in cases:
                request = [Request(name, "GET", path, headers)]
                if args.warmup:
                    drive(server, request, args.users, args.warmup, args.wrk_threads)
                tally = drive(server, request, args.users, args.duration, args.wrk_threads)
                rate, p95, errors = tally.rate(), tally.percentile(0.95), tally.error_count()
                verdict = ""
                if target:
                    verdict = (f"p95 <= {P95_TARGET_MS:g} ms: {'yes' if p95 <= P95_TARGET_MS else 'NO'}, "
                               f">= {RATE_TARGET:g} req/s: {'yes' if rate >= RATE_TARGET else 'NO'}"
                               f"{'' if errors == 0 else ', errors: NO'}")
                server_ms, client_ms = tally.cpu_per_request()
                print(f"{name:<32}{rate:8.1f}{tally.percentile(0.5):9.1f}{p95:9.1f}{errors:8d}"
                      f"{server_ms:6.1f}+{client_ms:<5.2f}  {verdict}")
                for problem in tally.problems()[:3]:
                    print(f"    {problem}")
        print(load_line())
    finally:
        database.dispose()
        prepared.cleanup()


if __name__ == "__main__":
    main()
