"""job wake-ups are sent by the hub after commit, no longer by a trigger inside the writing transaction (issue 9)

A NOTIFY inside a transaction takes PostgreSQL's notify lock at commit and holds it until the commit is durable, so
the commits of every transaction that enqueued a due job were serialized cluster-wide, WAL flush included (with
durable commits pgbench measured 10,800 -> 3,600 TPS for a one-row update with a NOTIFY). The unit of work now
tells the process's wake-ups after its commit (kernel/adapters/db/uow.py), and the process sends the NOTIFY from
its own connection, batched with its order signals (kernel/adapters/pg_notifications.py).

Revision ID: 0010
Revises: 0009
"""
from __future__ import annotations

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER jobs_wake ON jobs")
    op.execute("DROP FUNCTION payhub_jobs_wake()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION payhub_jobs_wake() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('payhub_jobs', '');
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER jobs_wake AFTER INSERT OR UPDATE OF state, run_at ON jobs
        FOR EACH ROW WHEN (NEW.state = 'pending' AND NEW.run_at <= statement_timestamp() + interval '1 second')
        EXECUTE FUNCTION payhub_jobs_wake()
    """)
