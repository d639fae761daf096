"""Kernel benchmark: organization creation rate and the cost of tenant scoping.

Prints figures; never run by the tests. Usage (from the repository root)::

    .venv/bin/python bench/kernel.py                       # a fresh SQLite file in a temp dir
    .venv/bin/python bench/kernel.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

With a PostgreSQL (superuser) URL the script creates its own database
``comptoir_bench_<random>`` and a non-owner application role (``comptoir_app_bench``),
migrates as the superuser, runs everything as the application role (row-level security
active) and drops the database at the end.

Measures:

1. organizations created per second: ``create_organization(..., chart=<--chart>)``, one
   transaction each, through ``core.db.Database`` (the kernel's scoped sessions);
2. 10,000 primary-key lookups of accounts, scoped (the kernel session: the ``do_orm_execute``
   listener adds ``org_id = ?`` with ``with_loader_criteria``) against unscoped (a plain
   ``Session`` with the ``org_id`` criterion written by hand), same random list of ids,
   warmed up, median of 5 runs each.
"""
from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

APP_ROLE = "comptoir_app_bench"
ORG_TARGET = 20.0  # organizations per second, SQLite
OVERHEAD_TARGET = 10.0  # percent


# --- the database -----------------------------------------------------------------------

@dataclass
class BenchDatabase:
    backend: str
    settings: object
    cleanup: Callable[[], None]


def prepare_database(url: str | None, keep: bool) -> BenchDatabase:
    from core.config import load_settings
    from core.migrate import upgrade

    if url is None or make_url(url).get_backend_name() == "sqlite":
        tmp = Path(tempfile.mkdtemp(prefix="comptoir-bench-"))
        if url is None:
            url = f"sqlite:///{tmp / 'bench.sqlite'}"
        settings = load_settings(database_url=url, instance_path=tmp, secret_key="bench")
        upgrade(settings)

        def cleanup() -> None:
            if keep:
                print(f"kept {url}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)

        return BenchDatabase("sqlite", settings, cleanup)

    from core.db import unscoped_engine

    admin = make_url(url).set(drivername="postgresql+psycopg")
    if admin.get_backend_name() != "postgresql":
        raise SystemExit(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")
    dbname = f"comptoir_bench_{uuid.uuid4().hex[:10]}"
    engine = unscoped_engine(admin)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{dbname}"')
    engine.dispose()
    owner_url = admin.set(database=dbname)
    app_url = owner_url.set(username=APP_ROLE, password=None)
    tmp = Path(tempfile.mkdtemp(prefix="comptoir-bench-"))
    settings = load_settings(
        database_url=app_url.render_as_string(hide_password=False),
        owner_database_url=owner_url.render_as_string(hide_password=False),
        instance_path=tmp, secret_key="bench",
    )

    def cleanup() -> None:
        shutil.rmtree(tmp, ignore_errors=True)
        if keep:
            print(f"kept database {dbname}")
            return
        engine = unscoped_engine(admin)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            try:  # the role is shared by concurrent runs: leave it if another database uses it
                connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{APP_ROLE}"')
            except sqlalchemy.exc.DBAPIError:
                pass
        engine.dispose()

    try:
        upgrade(settings)
    except BaseException:
        cleanup()
        raise
    return BenchDatabase("postgresql", settings, cleanup)


# --- 1. organizations per second ------------------------------------------------------------

@dataclass
class OrgResult:
    chart: str
    count: int
    seconds: float
    first_ms: float
    accounts: int
    org_ids: list[int]

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    @property
    def ms_per_org(self) -> float:
        return 1000 * self.seconds / self.count


def bench_org_create(database, chart: str, count: int, profile: str | None) -> OrgResult:  # noqa: ANN001
    from core.chart import Account
    from core.tenancy import create_organization

    def create(i: int) -> int:
        with database.transaction() as session:
            org = create_organization(session, f"Org {i}", chart=chart, currency="EUR", country="FR")
            return org.id

    # The first organization of the process pays the one-off costs (plugin discovery,
    # template parsing, mapper configuration, statement compilation): timed apart.
    started = time.perf_counter()
    org_ids = [create(0)]
    first_ms = 1000 * (time.perf_counter() - started)

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    for i in range(1, count + 1):
        org_ids.append(create(i))
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
        print(f"  cProfile of the organization loop written to {profile}")

    with database.session(org_ids[-1], readonly=True) as session:
        accounts = session.execute(select(func.count()).select_from(Account)).scalar_one()
    return OrgResult(chart, count, seconds, first_ms, accounts, org_ids)


# --- 2. scoped against unscoped primary-key lookups ----------------------------------------

@dataclass
class LookupResult:
    lookups: int
    scoped: list[float]  # wall-clock seconds of each run
    unscoped: list[float]
    scoped_cpu: list[float]  # this process's CPU seconds of each run (no server, no waiting)
    unscoped_cpu: list[float]
    note: str

    @property
    def scoped_median(self) -> float:
        return statistics.median(self.scoped)

    @property
    def unscoped_median(self) -> float:
        return statistics.median(self.unscoped)

    @property
    def overhead(self) -> float:
        return 100 * (self.scoped_median / self.unscoped_median - 1)

    @property
    def cpu_overhead(self) -> float:
        return 100 * (statistics.median(self.scoped_cpu) / statistics.median(self.unscoped_cpu) - 1)

    @property
    def extra_us(self) -> float:
        """What scoping adds to one lookup, in microseconds of wall time."""
        return 1e6 * (self.scoped_median - self.unscoped_median) / self.lookups


def bench_lookups(database, org_id: int, lookups: int, repeats: int, expunge_every: int,  # noqa: ANN001
                  seed: int, profile: str | None) -> LookupResult:
    from core.chart import Account

    postgresql = database.dialect == "postgresql"
    with database.session(org_id, readonly=True) as session:
        account_ids = list(session.scalars(select(Account.id).order_by(Account.id)))
    if not account_ids:
        raise SystemExit("the organization has no accounts: use a chart (--chart)")
    rng = random.Random(seed)
    pairs = [(org_id, rng.choice(account_ids)) for _ in range(lookups)]

    # The same engine as the kernel's read-only sessions (on SQLite: BEGIN DEFERRED); a
    # plain Session has none of the kernel's listeners.
    read_engine = database.read_sessionmaker.kw["bind"]

    def scoped() -> None:
        with database.session(org_id, readonly=True) as session, session.begin():
            for n, (_, account_id) in enumerate(pairs, start=1):
                account = session.execute(select(Account).where(Account.id == account_id)).scalar_one()
                assert account.id == account_id
                if n % expunge_every == 0:
                    session.expunge_all()

    def unscoped() -> None:
        with Session(read_engine, expire_on_commit=False) as session, session.begin():
            if postgresql:  # no kernel listener here: make the rows visible under RLS by hand
                session.execute(text("SELECT set_config('comptoir.org_id', :id, true)"),
                                {"id": str(org_id)})
            for n, (pair_org, account_id) in enumerate(pairs, start=1):
                account = session.execute(
                    select(Account).where(Account.id == account_id).where(Account.org_id == pair_org)
                ).scalar_one()
                assert account.id == account_id
                if n % expunge_every == 0:
                    session.expunge_all()

    wall: dict[str, list[float]] = {"scoped": [], "unscoped": []}
    cpu: dict[str, list[float]] = {"scoped": [], "unscoped": []}

    def timed(name: str, fn: Callable[[], None]) -> None:
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        wall[name].append(time.perf_counter() - started)
        cpu[name].append(time.process_time() - started_cpu)

    scoped()  # warm up both: statement caches, connection pool, page cache
    unscoped()
    for _ in range(repeats):  # interleaved, so drift (thermal, other load) hits both alike
        timed("scoped", scoped)
        timed("unscoped", unscoped)

    if profile:
        import cProfile

        for name, fn in (("scoped", scoped), ("unscoped", unscoped)):
            profiler = cProfile.Profile()
            profiler.runcall(fn)
            path = f"{profile}.{name}"
            profiler.dump_stats(path)
            print(f"  cProfile of one {name} run written to {path}")

    note = ("scoped: kernel session as the app role (RLS on); unscoped: plain Session, same "
            "app-role engine, set_config('comptoir.org_id') by hand + explicit org_id criterion"
            if postgresql else
            "scoped: kernel read-only session; unscoped: plain Session on the same engine, "
            "explicit org_id criterion")
    return LookupResult(lookups, wall["scoped"], wall["unscoped"], cpu["scoped"], cpu["unscoped"], note)


# --- main ----------------------------------------------------------------------------------------

def _git_revision() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True, timeout=5).stdout.strip()
        return out + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def _verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="sqlite:///file or a PostgreSQL superuser URL "
                                                "(default: a fresh SQLite file in a temp dir)")
    parser.add_argument("--orgs", type=int, default=100, help="organizations to create (default 100)")
    parser.add_argument("--chart", default="fr_pcg", help="chart template (default fr_pcg)")
    parser.add_argument("--lookups", type=int, default=10_000, help="primary-key lookups per run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each lookup variant")
    parser.add_argument("--expunge-every", type=int, default=100,
                        help="empty the identity map every N lookups (both variants)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", metavar="PREFIX",
                        help="write cProfile stats to PREFIX.orgs, PREFIX.lookups.scoped/.unscoped")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args(argv)
    if args.orgs < 1 or args.lookups < 1 or args.repeats < 1 or args.expunge_every < 1:
        parser.error("--orgs, --lookups, --repeats and --expunge-every must be positive")

    from core.db import Database

    bench_db = prepare_database(args.database_url, args.keep)
    database = Database(bench_db.settings.database_url)
    try:
        backend = bench_db.backend
        print(f"kernel bench on {backend}: {make_url(bench_db.settings.database_url).render_as_string()}")
        print(f"  python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
              f"git {_git_revision()}")

        print(f"creating 1 + {args.orgs} organizations (chart {args.chart}), one transaction each…")
        orgs = bench_org_create(database, args.chart, args.orgs,
                                f"{args.profile}.orgs" if args.profile else None)
        print(f"  first organization (cold process): {orgs.first_ms:.1f} ms")
        print(f"  {orgs.count} organizations in {orgs.seconds:.2f} s: {orgs.per_second:.1f} orgs/s "
              f"({orgs.ms_per_org:.1f} ms/org), {orgs.accounts} accounts each")

        org_id = orgs.org_ids[len(orgs.org_ids) // 2]
        print(f"{args.lookups:,} primary-key lookups of accounts of organization {org_id}, "
              f"median of {args.repeats} (after a warm-up)…")
        lookups = bench_lookups(database, org_id, args.lookups, args.repeats, args.expunge_every,
                                args.seed, f"{args.profile}.lookups" if args.profile else None)
        print(f"  {lookups.note}")
        print("  scoped runs:   " + ", ".join(f"{t:.3f}" for t in lookups.scoped) + " s")
        print("  unscoped runs: " + ", ".join(f"{t:.3f}" for t in lookups.unscoped) + " s")
        print(f"  scoping adds {lookups.extra_us:.1f} us per lookup; on this process's CPU time "
              f"alone (no server, no waiting) the overhead is {lookups.cpu_overhead:.1f}%")

        org_ok = orgs.per_second >= ORG_TARGET
        org_target = f"target >= {ORG_TARGET:.0f}/s" + ("" if backend == "sqlite" else " (set for SQLite)")
        lookup_ok = lookups.overhead < OVERHEAD_TARGET
        stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        print()
        print(f"kernel bench ({backend}, {stamp}):")
        print(f"  org create ({orgs.chart}, {orgs.accounts} accounts): {orgs.per_second:.1f} orgs/s "
              f"({orgs.ms_per_org:.1f} ms/org)   {org_target}  {_verdict(org_ok)}")
        print(f"  {lookups.lookups:,} pk lookups: scoped {lookups.scoped_median:.2f} s, unscoped "
              f"{lookups.unscoped_median:.2f} s, overhead {lookups.overhead:.1f}%   "
              f"target < {OVERHEAD_TARGET:.0f}%  {_verdict(lookup_ok)}")
        return 0
    finally:
        database.dispose()
        bench_db.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
