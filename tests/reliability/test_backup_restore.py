"""A tenant backup restored into a fresh database passes ``ledger verify`` (issue 7): an
organization exported from one database to a workbook, imported into an organization of a
brand-new database (a new SQLite file, or a new PostgreSQL database with its application
role, made by ``comptoir db upgrade`` as an operator would), holds the same data."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from core.db import Database, unscoped_engine
from core.tenancy import find_organization
from tests.conftest import APP_ROLE, BACKEND, POSTGRES_URL
from tests.core.excel.test_whole_tenant import _same_invoicing, _source_books
from tests.tenant_dump import canonical_dump, differences


@pytest.fixture
def fresh_database(tmp_path) -> Iterator[tuple[str, str | None]]:  # noqa: ANN001
    """The URLs (application, owner) of a database that holds nothing yet, dropped afterwards."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite'}", None
        return
    admin = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    name = f"comptoir_restore_{uuid.uuid4().hex[:10]}"
    engine = unscoped_engine(admin)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    owner = admin.set(database=name)
    try:
        yield (owner.set(username=APP_ROLE, password=None).render_as_string(hide_password=False),
               owner.render_as_string(hide_password=False))
    finally:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


def test_a_tenant_backup_restored_into_a_fresh_database_passes_ledger_verify(
        comptoir, database, fresh_database, monkeypatch, tmp_path):
    source = _source_books(database, tmp_path)
    backup = tmp_path / "backup.xlsx"
    code, _, err = comptoir("export", "--org", source.code, "--all", "-o", str(backup))
    assert code == 0, err

    url, owner_url = fresh_database
    monkeypatch.setenv("COMPTOIR_DATABASE_URL", url)
    if owner_url:
        monkeypatch.setenv("COMPTOIR_DATABASE_OWNER_URL", owner_url)
    else:
        monkeypatch.delenv("COMPTOIR_DATABASE_OWNER_URL", raising=False)
    for command in (("db", "upgrade"),
                    ("org", "create", "Restored", "--currency", "EUR", "--country", "FR", "--code", "restored"),
                    ("plugin", "enable", "--org", "restored", "example"),
                    ("import", str(backup), "--org", "restored"),
                    ("ledger", "verify", "--org", "restored")):
        code, out, err = comptoir(*command)
        assert code == 0, (command, out, err)

    restored_db = Database(url)
    try:
        with restored_db.session() as session:
            restored = find_organization(session, "restored")
        original = canonical_dump(database, source.id, numbering=True)
        copied = canonical_dump(restored_db, restored.id, numbering=True)
        assert original["journal_entry"] and original["invoice"] and original["statement_line"]
        assert differences(original, copied) == {}
        _same_invoicing((database, source.id), (restored_db, restored.id))
    finally:
        restored_db.dispose()

