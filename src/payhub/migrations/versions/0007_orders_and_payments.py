"""one order model for every product: bill_orders become orders (kind biller_posting) with their payments

A counter order keeps its id and order no. (old numbers still resolve, refunds still point at it). What the
counter alone knew (biller, arrears part, bills) moves into the order's `details`; the payment columns move into
a `payments` row. States, refund states and job kinds take the kernel's names (posting → fulfilling, posted →
fulfilled, post_failed → fulfil_failed; unposting → undoing; post_to_biller → fulfil, unpost → undo_fulfilment),
also in the recorded history. There is no way down: restore the backup taken before upgrading.

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from payhub.kernel.adapters.db.types import UtcDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
Stamp = UtcDateTime(timezone=True)
STAMPS = {'expires_at', 'pay_deadline', 'paid_at', 'posted_at', 'created_at', 'updated_at'}
ORDER_STATES = {'posting': 'fulfilling', 'posted': 'fulfilled', 'post_failed': 'fulfil_failed'}
REFUND_STATES = {'unposting': 'undoing'}
JOB_KINDS = {'post_to_biller': 'fulfil', 'unpost': 'undo_fulfilment'}
BEGAN_FULFILMENT = {'posting', 'posted', 'post_failed'}
BATCH = 500


def _create_tables() -> tuple[sa.Table, sa.Table]:
    orders = op.create_table(
        'orders',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('merchant_id', Id, nullable=False),
        sa.Column('terminal_id', Id, nullable=False),
        sa.Column('operator_id', Id, nullable=False),
        sa.Column('order_no', sa.String(32), nullable=False),
        sa.Column('terminal_order_no', sa.String(64), nullable=False),
        sa.Column('request_hash', sa.String(64), nullable=False),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('product', sa.String(64), nullable=False),
        sa.Column('account_no', sa.String(64), nullable=False),
        sa.Column('customer_name', sa.String(64), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('details', sa.JSON().with_variant(JSONB(), 'postgresql'), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('expires_at', Stamp, nullable=False),
        sa.Column('fulfilment_ref', sa.String(64), nullable=True),
        sa.Column('fulfilled_at', Stamp, nullable=True),
        sa.Column('fulfil_attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('refund_reserved', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('refunded_amount', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('failure_code', sa.String(64), nullable=True),
        sa.Column('failure_message', sa.Text(), nullable=True),
        sa.Column('created_at', Stamp, nullable=False),
        sa.Column('updated_at', Stamp, nullable=False),
        sa.CheckConstraint('amount > 0', name=op.f('ck_orders_amount_positive')),
        sa.CheckConstraint('refunded_amount <= refund_reserved AND refund_reserved <= amount',
                           name=op.f('ck_orders_refunds_within_amount')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_orders_merchant_id_merchants')),
        sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_orders_operator_id_operators')),
        sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_orders_terminal_id_terminals')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
        sa.UniqueConstraint('order_no', name=op.f('uq_orders_order_no')),
        sa.UniqueConstraint('terminal_id', 'terminal_order_no', name=op.f('uq_orders_terminal_id_terminal_order_no')),
    )
    op.create_index('ix_orders_merchant_created', 'orders', ['merchant_id', 'created_at'])
    op.create_index('ix_orders_merchant_state', 'orders', ['merchant_id', 'state'])
    op.create_index('ix_orders_state_expires', 'orders', ['state', 'expires_at'])
    payments = op.create_table(
        'payments',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('merchant_id', Id, nullable=False),
        sa.Column('order_id', Id, nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(32), nullable=False),
        sa.Column('method', sa.String(16), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('started_at', Stamp, nullable=False),
        sa.Column('deadline', Stamp, nullable=False),
        sa.Column('code_url', sa.Text(), nullable=True),
        sa.Column('auth_code_masked', sa.String(32), nullable=True),
        sa.Column('wallet', sa.String(16), nullable=True),
        sa.Column('transaction_id', sa.String(64), nullable=True),
        sa.Column('trade_type', sa.String(64), nullable=True),
        sa.Column('paid_at', Stamp, nullable=True),
        sa.CheckConstraint('amount > 0', name=op.f('ck_payments_amount_positive')),
        sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_payments_merchant_id_merchants')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payments_order_id_orders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
        sa.UniqueConstraint('order_id', 'seq', name=op.f('uq_payments_order_id_seq')),
    )
    op.create_index('ix_payments_merchant_paid', 'payments', ['merchant_id', 'paid_at'])
    return orders, payments


def _payment_status(row: Any) -> str:
    if row.paid_at is not None:
        return 'paid'
    return {'pay_failed': 'failed', 'closed': 'closed'}.get(row.state, 'open')


def _move_orders(conn: sa.Connection, orders: sa.Table, payments: sa.Table) -> None:
    """Copy every bill order into orders (same id) and its payment columns into a payments row."""
    bill_orders = sa.table('bill_orders', *(sa.column(name, Stamp if name in STAMPS else None) for name in (
        'id', 'merchant_id', 'terminal_id', 'operator_id', 'order_no', 'terminal_order_no', 'request_hash',
        'fee_type', 'account_no', 'customer_name', 'bill_ids', 'amount', 'due_amount', 'channel', 'biller', 'state',
        'version', 'expires_at', 'pay_method', 'pay_deadline', 'code_url', 'auth_code_masked', 'wallet',
        'transaction_id', 'trade_type', 'paid_at', 'biller_ref', 'posted_at', 'refund_reserved', 'refunded_amount',
        'failure_code', 'failure_message', 'created_at', 'updated_at',
    )))
    moves = sa.table('state_transitions', sa.column('aggregate_key'), sa.column('to_state'), sa.column('at', Stamp))
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(bill_orders).where(bill_orders.c.id > last_id).order_by(bill_orders.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        last_id = rows[-1].id
        started = dict(conn.execute(
            sa.select(moves.c.aggregate_key, sa.func.min(moves.c.at, type_=Stamp))
            .where(moves.c.to_state == 'paying', moves.c.aggregate_key.in_([r.order_no for r in rows]))
            .group_by(moves.c.aggregate_key)
        ).all())
        conn.execute(sa.insert(orders), [{
            'id': r.id, 'merchant_id': r.merchant_id, 'terminal_id': r.terminal_id, 'operator_id': r.operator_id,
            'order_no': r.order_no, 'terminal_order_no': r.terminal_order_no, 'request_hash': r.request_hash,
            'kind': 'biller_posting', 'product': r.fee_type, 'account_no': r.account_no,
            'customer_name': r.customer_name, 'amount': r.amount,
            'details': {'biller': r.biller, 'due_amount': r.due_amount,
                        'bill_ids': [b for b in r.bill_ids.split(',') if b]},
            'state': ORDER_STATES.get(r.state, r.state), 'version': r.version, 'expires_at': r.expires_at,
            'fulfilment_ref': r.biller_ref, 'fulfilled_at': r.posted_at,
            'fulfil_attempts': 1 if r.state in BEGAN_FULFILMENT or r.posted_at is not None else 0,
            'refund_reserved': r.refund_reserved, 'refunded_amount': r.refunded_amount,
            'failure_code': r.failure_code, 'failure_message': r.failure_message, 'created_at': r.created_at,
            'updated_at': r.updated_at,
        } for r in rows])
        paid_for = [{
            'merchant_id': r.merchant_id, 'order_id': r.id, 'seq': 1, 'channel': r.channel, 'method': r.pay_method,
            'amount': r.amount, 'status': _payment_status(r),
            'started_at': started.get(r.order_no) or r.created_at, 'deadline': r.pay_deadline or r.expires_at,
            'code_url': r.code_url, 'auth_code_masked': r.auth_code_masked, 'wallet': r.wallet,
            'transaction_id': r.transaction_id, 'trade_type': r.trade_type, 'paid_at': r.paid_at,
        } for r in rows if r.pay_method is not None]
        if paid_for:
            conn.execute(sa.insert(payments), paid_for)


def _rename(table: str, column: str, names: dict[str, str], where: str = '') -> None:
    for old, new in names.items():
        op.execute(sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old {where}")
                   .bindparams(old=old, new=new))


def upgrade() -> None:
    conn = op.get_bind()
    orders, payments = _create_tables()
    _move_orders(conn, orders, payments)
    if conn.dialect.name == 'postgresql':  # ids were copied: the sequence continues after them
        op.execute("SELECT setval(pg_get_serial_sequence('orders', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM orders")
    with op.batch_alter_table('refunds') as batch:
        batch.drop_constraint('fk_refunds_order_id_bill_orders', type_='foreignkey')
        batch.create_foreign_key('fk_refunds_order_id_orders', 'orders', ['order_id'], ['id'])
    _rename('refunds', 'state', REFUND_STATES)
    _rename('jobs', 'kind', JOB_KINDS)
    op.execute("UPDATE state_transitions SET aggregate = 'order' WHERE aggregate = 'billorder'")
    for column in ('from_state', 'to_state'):
        _rename('state_transitions', column, ORDER_STATES, "AND aggregate = 'order'")
        _rename('state_transitions', column, REFUND_STATES, "AND aggregate = 'refund'")
    op.drop_table('bill_orders')


def downgrade() -> None:
    raise NotImplementedError("0007 moves bill orders into orders and payments: restore the backup taken before it")
