"""Schema migrations (Alembic): the kernel's branch plus one version branch per plugin.

``upgrade`` runs as the tables' owner, then secures every tenant table with row-level
security and grants the application role its rights (PostgreSQL), every time: a plugin's
new table cannot be left unprotected.
"""
from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from core.config import Settings
from core.db import ensure_app_role, normalize_url, secure_tenant_tables, unscoped_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    from core import models  # noqa: F401 - complete the metadata
    from core.plugins import get_registry

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    locations = [str(MIGRATIONS / "versions")]
    locations += [str(p) for p in get_registry().migration_locations().values()]
    config.set_main_option("version_locations", os.pathsep.join(locations))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _app_role(settings: Settings) -> str | None:
    """The application's role when it differs from the owner that runs migrations."""
    app = normalize_url(settings.database_url)
    owner = normalize_url(settings.migration_database_url)
    if app.get_backend_name() != "postgresql" or app.username == owner.username:
        return None
    return app.username


def upgrade(settings: Settings, revision: str = "heads") -> list[str]:
    """Bring the schema to ``revision``; returns the tenant tables secured by RLS."""
    engine = unscoped_engine(settings.migration_database_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
            app_role = _app_role(settings)
            if app_role:
                ensure_app_role(connection, settings.database_url)
                database = make_url(str(normalize_url(settings.migration_database_url))).database
                quote = connection.dialect.identifier_preparer.quote
                connection.exec_driver_sql(f"GRANT CONNECT ON DATABASE {quote(database)} TO {quote(app_role)}")
                connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {quote(app_role)}")
            return secure_tenant_tables(connection, app_role)
    finally:
        engine.dispose()


def pending(settings: Settings) -> bool:
    """Whether the database is behind the code's migrations."""
    engine = unscoped_engine(settings.migration_database_url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
            script = ScriptDirectory.from_config(alembic_config())
            # Revisions between what the database has and every branch head.
            return bool(list(script.iterate_revisions("heads", current)))
    finally:
        engine.dispose()


def citus_plan() -> list[str]:
    """The Citus statements that distribute Comptoir by organization.

    Every tenant table is distributed on ``org_id`` and co-located with ``account`` (so joins
    and foreign keys between tenant tables stay on one node); the global tables (organizations,
    users, memberships) become reference tables, copied to every node.
    """
    from core import models  # noqa: F401 - every kernel table
    from core.db import Base, tenant_tables
    from core.plugins import get_registry

    get_registry()  # every plugin's tables
    tenant = tenant_tables()
    names = {t.name for t in tenant}
    reference = [t for t in Base.metadata.sorted_tables if t.name not in names and t.name != "comptoir_id_block"]
    statements = [f"SELECT create_reference_table('{t.name}');" for t in reference]
    anchor = "account" if "account" in names else tenant[0].name
    statements.append(f"SELECT create_distributed_table('{anchor}', 'org_id');")
    statements += [f"SELECT create_distributed_table('{t.name}', 'org_id', colocate_with => '{anchor}');"
                   for t in tenant if t.name != anchor]
    return statements

