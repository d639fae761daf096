"""Migrations: the Alembic branches build exactly the schema the models describe."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from core.db import unscoped_engine
from core.migrate import alembic_config, pending, upgrade
from core.models import metadata


def test_the_migrated_schema_matches_the_models(settings):
    engine = unscoped_engine(settings.migration_database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


def test_every_branch_is_labelled_and_nothing_is_pending(settings):
    script = ScriptDirectory.from_config(alembic_config())
    assert "core" in {label for rev in script.walk_revisions() for label in rev.branch_labels}
    assert not pending(settings)


def test_upgrade_twice_changes_nothing(settings):
    upgrade(settings)
    upgrade(settings)
    assert not pending(settings)
