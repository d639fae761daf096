"""Example plugin: its own version branch, depending on the kernel's first revision.

Revision ID: 0001_example
Revises:
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_example"
down_revision = None
branch_labels = ("example",)
depends_on = "0001_kernel"


def upgrade() -> None:
    op.create_table(
        "example_note",
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["org_id", "account_id"], ["account.org_id", "account.id"],
                                name=op.f("fk_example_note_org_id_account_id_account")),
        sa.ForeignKeyConstraint(["org_id"], ["organization.id"], name=op.f("fk_example_note_org_id_organization")),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_example_note")),
    )


def downgrade() -> None:
    op.drop_table("example_note")
