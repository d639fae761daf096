"""Exchange rates: dated, per organization, exact decimals kept as text (never REAL).

Revision ID: 0002_accounting_rates
Revises: 0001_accounting
Create Date: 2026-11-24 21:55:04.270910
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002_accounting_rates'
down_revision: str | None = '0001_accounting'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('exchange_rate',
    sa.Column('org_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('rate', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_exchange_rate_org_id_organization')),
    sa.PrimaryKeyConstraint('org_id', 'id', name=op.f('pk_exchange_rate')),
    sa.UniqueConstraint('org_id', 'currency', 'date', name=op.f('uq_exchange_rate_org_id_currency_date'))
    )


def downgrade() -> None:
    op.drop_table('exchange_rate')
