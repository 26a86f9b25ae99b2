"""record which orders' payment receipts were printed as the original (issue 10)

The hub, not the page, decides whether a payment receipt is the original or a copy: the first print of an
order's receipt claims its row here, every later one (another tab, a reload, a reprint) is marked a copy.

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from payhub.kernel.adapters.db.types import UtcDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'receipt_originals',
        sa.Column('order_id', Id, nullable=False),
        sa.Column('terminal_id', Id, nullable=False),
        sa.Column('printed_at', UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_receipt_originals_order_id_orders')),
        sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'],
                                name=op.f('fk_receipt_originals_terminal_id_terminals')),
        sa.PrimaryKeyConstraint('order_id', name=op.f('pk_receipt_originals')),
    )


def downgrade() -> None:
    op.drop_table('receipt_originals')
