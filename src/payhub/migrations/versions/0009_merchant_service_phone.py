"""a merchant's customer-service phone, printed on its receipts (issue 10)

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('merchants') as batch:
        batch.add_column(sa.Column('service_phone', sa.String(32), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('merchants') as batch:
        batch.drop_column('service_phone')
