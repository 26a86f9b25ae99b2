"""close expired unpaid orders by a sweep instead of one close job per created order (issue 9)

The worker finds created orders past expires_at through a (state, expires_at) index. The close jobs earlier
releases queued for still-created orders are obsolete: they are deleted (close jobs of closing QR trades stay).
Downgrading queues them again, as the earlier release expects one per created order.

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_bill_orders_state_expires', 'bill_orders', ['state', 'expires_at'], unique=False)
    op.execute("""
        DELETE FROM jobs WHERE kind = 'close_payment' AND state = 'pending'
        AND ref IN (SELECT order_no FROM bill_orders WHERE state = 'created')
    """)


def downgrade() -> None:
    op.execute("""
        INSERT INTO jobs (merchant_id, kind, ref, state, attempts, max_attempts, run_at, created_at, updated_at)
        SELECT merchant_id, 'close_payment', order_no, 'pending', 0, 12, expires_at, created_at, created_at
        FROM bill_orders WHERE state = 'created'
        AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.kind = 'close_payment' AND jobs.ref = bill_orders.order_no)
    """)
    op.drop_index('ix_bill_orders_state_expires', table_name='bill_orders')
