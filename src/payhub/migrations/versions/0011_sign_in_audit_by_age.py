"""an index on sign_in_audit(at), so that the worker's purge of old sign-in audit rows seeks by age (issue 9)

The purge (`forget_sign_in_audit`, every 5 minutes in every worker) deletes the rows older than the keeping time;
the (merchant_id, at) index cannot serve a condition on `at` alone, so each purge read the whole table.

Revision ID: 0011
Revises: 0010
"""
from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sign_in_audit') as batch_op:
        batch_op.create_index('ix_sign_in_audit_at', ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sign_in_audit') as batch_op:
        batch_op.drop_index('ix_sign_in_audit_at')
