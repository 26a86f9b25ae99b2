"""card PIN counting and offline consume rules (issue 7)

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: offline consumes at this card merchant need the pay password; else the most one may take without it
    with op.batch_alter_table('card_merchants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pinless_offline_max', sa.BigInteger(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_card_merchants_pinless_offline_max_positive'),
                                         'pinless_offline_max > 0')


def downgrade() -> None:
    with op.batch_alter_table('card_merchants', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_card_merchants_pinless_offline_max_positive'), type_='check')
        batch_op.drop_column('pinless_offline_max')
