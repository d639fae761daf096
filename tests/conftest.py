"""Fixtures: a real database per test (SQLite file or PostgreSQL), organizations, users.

The suite runs on one backend at a time: ``COMPTOIR_TEST_DB=sqlite`` (default) or
``postgresql`` with ``COMPTOIR_TEST_POSTGRES_URL`` (a superuser URL; the suite creates and
drops its own database and a non-owner application role). Tests marked ``postgresql_only``
or ``sqlite_only`` are deselected on the other backend. With ``CI=true`` a skipped test
fails: CI must prove everything.
"""
from __future__ import annotations

import importlib
import io
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings as hypothesis_settings
from sqlalchemy import text
from sqlalchemy.engine import make_url

EXAMPLE_PLUGIN = Path(__file__).parent / "example_plugin"
APP_ROLE = "comptoir_app_test"
BACKEND = os.environ.get("COMPTOIR_TEST_DB", "sqlite").lower()
POSTGRES_URL = os.environ.get("COMPTOIR_TEST_POSTGRES_URL")
STRONG_PASSWORD = "Correct-Horse-9"

# Property tests never time out on a busy CI machine; CI runs a bounded number of examples.
hypothesis_settings.register_profile("dev", deadline=None, max_examples=100)
hypothesis_settings.register_profile("ci", deadline=None, max_examples=60,
                                     suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "dev")


def _install_example_plugin(site: Path) -> None:
    """Install the example plugin as pip would: a dist-info with its entry point on sys.path."""
    dist = site / "comptoir_example-1.0.0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: comptoir-example\nVersion: 1.0.0\n")
    (dist / "entry_points.txt").write_text("[comptoir.plugins]\nexample = comptoir_example\n")
    (dist / "top_level.txt").write_text("comptoir_example\n")
    link = site / "comptoir_example"
    if not link.exists():
        shutil.copytree(EXAMPLE_PLUGIN / "comptoir_example", link)
    sys.path.insert(0, str(site))


def pytest_configure(config: pytest.Config) -> None:
    site = Path(tempfile.mkdtemp(prefix="comptoir-site-"))
    config.add_cleanup(lambda: shutil.rmtree(site, ignore_errors=True))
    _install_example_plugin(site)
    from core.plugins import get_registry, reset_registry

    reset_registry(None)
    get_registry()  # every plugin's models are in the metadata before tests list the tables


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    other = "sqlite_only" if BACKEND == "postgresql" else "postgresql_only"
    kept = [item for item in items if item.get_closest_marker(other) is None]
    deselected = [item for item in items if item.get_closest_marker(other) is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI", "").lower() == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where everything must run: {report.longrepr}"


# --- databases ---------------------------------------------------------------------------------

class Backend:
    """Creates the schema once per run; gives each test a fresh database."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.name = BACKEND

    def start(self) -> None:
        from core.config import load_settings
        from core.migrate import upgrade

        if self.name == "sqlite":
            self.template = self.tmp / "template.sqlite"
            upgrade(load_settings(database_url=f"sqlite:///{self.template}", instance_path=self.tmp,
                                  secret_key="test"))
            return
        if self.name != "postgresql":
            raise pytest.UsageError(f"COMPTOIR_TEST_DB={self.name}: use sqlite or postgresql")
        if not POSTGRES_URL:
            pytest.skip("COMPTOIR_TEST_DB=postgresql needs COMPTOIR_TEST_POSTGRES_URL (a superuser URL)")
        from core.db import unscoped_engine

        admin = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
        self.dbname = f"comptoir_test_{uuid.uuid4().hex[:10]}"
        engine = unscoped_engine(admin)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{self.dbname}"')
        engine.dispose()
        self.owner_url = admin.set(database=self.dbname)
        self.app_url = self.owner_url.set(username=APP_ROLE, password=None)
        self.settings = load_settings(
            database_url=self.app_url.render_as_string(hide_password=False),
            owner_database_url=self.owner_url.render_as_string(hide_password=False),
            instance_path=self.tmp, secret_key="test",
        )
        upgrade(self.settings)
        self.owner_engine = unscoped_engine(self.owner_url)
        from core.db import Base

        names = [t.name for t in Base.metadata.sorted_tables if t.name != "comptoir_id_block"]
        self.truncate = "TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"

    def fresh(self, tmp_path: Path):  # noqa: ANN201 - Settings
        from core.config import load_settings

        if self.name == "sqlite":
            target = tmp_path / "comptoir.sqlite"
            shutil.copyfile(self.template, target)
            return load_settings(database_url=f"sqlite:///{target}", instance_path=tmp_path,
                                 secret_key="test")
        with self.owner_engine.begin() as connection:
            connection.execute(text(self.truncate))
        return self.settings

    def stop(self) -> None:
        if self.name != "postgresql" or not hasattr(self, "dbname"):
            return
        from core.db import unscoped_engine

        self.owner_engine.dispose()
        engine = unscoped_engine(make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
        engine.dispose()


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    started = Backend(tmp_path_factory.mktemp("db"))
    started.start()
    yield started
    started.stop()


@pytest.fixture
def settings(backend: Backend, tmp_path: Path):  # noqa: ANN201
    return backend.fresh(tmp_path)


@pytest.fixture
def database(settings):  # noqa: ANN001, ANN201
    from core.db import Database

    db = Database(settings.database_url)
    yield db
    db.dispose()


@pytest.fixture
def owner_engine(backend: Backend, settings):  # noqa: ANN001, ANN201
    """An engine that bypasses the app's scoping (the tables' owner): to look behind its back."""
    from core.db import unscoped_engine

    engine = unscoped_engine(settings.migration_database_url)
    yield engine
    engine.dispose()


# --- tenants and people -------------------------------------------------------------------------

def make_org(database, name: str = "Acme", chart: str = "generic_service", **kwargs):  # noqa: ANN001, ANN201
    from core.tenancy import create_organization

    kwargs.setdefault("currency", "EUR")
    with database.transaction() as session:
        return create_organization(session, name, chart=chart, **kwargs)


def make_user(database, org, email: str, role: str = "owner"):  # noqa: ANN001, ANN201
    from core.config import PasswordPolicy
    from core.security import add_member, create_user

    with database.transaction(org.id) as session:
        user = create_user(session, email, STRONG_PASSWORD, policy=PasswordPolicy())
        add_member(session, user, role)
        return user


def populate_everything(session) -> None:  # noqa: ANN001
    """Each installed plugin's testing.populate, so every tenant table gets rows."""
    from core.plugins import get_registry

    registry = get_registry()
    for name in registry.names:
        package = "core" if name == "core" else registry.pm.get_plugin(name).__name__
        try:
            module = importlib.import_module(f"{package}.testing")
        except ModuleNotFoundError:
            continue
        module.populate(session)


@pytest.fixture
def org(database):  # noqa: ANN001, ANN201
    return make_org(database, "Acme")


@pytest.fixture
def other_org(database):  # noqa: ANN001, ANN201
    return make_org(database, "Globex")


@pytest.fixture
def owner(database, org):  # noqa: ANN001, ANN201
    return make_user(database, org, "owner@acme.test", "owner")


# --- the command line ----------------------------------------------------------------------------

@pytest.fixture
def comptoir(settings, monkeypatch, capsys):  # noqa: ANN001, ANN201
    """Run `comptoir ARGS` in-process against the test database; returns (exit code, out, err)."""
    monkeypatch.setenv("COMPTOIR_DATABASE_URL", settings.database_url)
    if settings.owner_database_url:
        monkeypatch.setenv("COMPTOIR_DATABASE_OWNER_URL", settings.owner_database_url)
    monkeypatch.setenv("COMPTOIR_SECRET_KEY", "test")
    monkeypatch.setenv("COMPTOIR_INSTANCE_PATH", str(settings.instance_path))
    monkeypatch.setenv("COMPTOIR_LOCALE", "en")

    from core.cli import main

    def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
