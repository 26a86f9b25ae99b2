"""operator sign-in throttling and its audit (issue 7)

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import payhub.kernel.adapters.db.types

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
UtcDateTime = payhub.kernel.adapters.db.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('sign_in_counters',
    sa.Column('merchant_id', Id, nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('lockouts', sa.Integer(), nullable=False),
    sa.Column('window_started_at', UtcDateTime, nullable=False),
    sa.Column('locked_until', UtcDateTime, nullable=True),
    sa.Column('updated_at', UtcDateTime, nullable=False),
    sa.PrimaryKeyConstraint('merchant_id', 'subject', name=op.f('pk_sign_in_counters'))
    )
    with op.batch_alter_table('sign_in_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_counters_updated_at'), ['updated_at'], unique=False)

    op.create_table('sign_in_audit',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('merchant_id', Id, nullable=False),
    sa.Column('terminal_id', Id, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=True),
    sa.Column('locked_until', UtcDateTime, nullable=True),
    sa.Column('at', UtcDateTime, nullable=False),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_sign_in_audit_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_audit'))
    )
    with op.batch_alter_table('sign_in_audit', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_audit_merchant_at', ['merchant_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sign_in_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_audit_merchant_at')
    op.drop_table('sign_in_audit')
    with op.batch_alter_table('sign_in_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_counters_updated_at'))
    op.drop_table('sign_in_counters')
