"""The outbox of durable jobs: enqueue in the business transaction, claim without double work."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from payhub.kernel.adapters.db import driver
from payhub.kernel.adapters.db.bulk import upsert
from payhub.kernel.adapters.db.driver import psycopg_of
from payhub.kernel.adapters.db.tables import jobs
from payhub.kernel.adapters.db.types import UtcDateTime
from payhub.kernel.domain.jobs import (
    Done, Job, JobOutcome, JobState, JobType, ParkedJob, Retry, RunAgain, backoff,
)

_OPEN = (JobState.PENDING.value, JobState.RUNNING.value)


def _enqueuing(conn: AsyncConnection, *, merchant_id: int, kind: JobType, ref: str, run_at: datetime) -> Any:
    """One statement: a pending job moves to run_at, a done or parked one starts afresh, a running one keeps running
    (its handler reads the aggregate's newest state when it finishes)."""
    insert = upsert(conn, jobs).values(
        merchant_id=merchant_id, kind=kind.value, ref=ref, state=JobState.PENDING.value, attempts=0,
        max_attempts=kind.max_attempts, run_at=run_at, created_at=run_at, updated_at=run_at,
    )
    return insert.on_conflict_do_update(
        index_elements=[jobs.c.kind, jobs.c.ref],
        set_={
            "state": JobState.PENDING.value,
            "attempts": sa.case((jobs.c.state == JobState.PENDING.value, jobs.c.attempts), else_=0),
            "run_at": insert.excluded.run_at, "lease_until": None, "updated_at": insert.excluded.updated_at,
        },
        where=jobs.c.state != JobState.RUNNING.value,
    )


# the statements of every payment, for psycopg: what _enqueuing and _dropping build, written out once
_ENQUEUE = (
    "INSERT INTO jobs (merchant_id, kind, ref, state, attempts, max_attempts, run_at, created_at, updated_at)"
    " VALUES (%(merchant_id)s, %(kind)s, %(ref)s, %(pending)s, 0, %(max_attempts)s, %(run_at)s, %(run_at)s,"
    " %(run_at)s) ON CONFLICT (kind, ref) DO UPDATE SET state = %(pending)s,"
    " attempts = CASE WHEN jobs.state = %(pending)s THEN jobs.attempts ELSE 0 END, run_at = excluded.run_at,"
    " lease_until = NULL, updated_at = excluded.updated_at WHERE jobs.state <> %(running)s")
_HAND_OVER = (
    "WITH dropped AS (UPDATE jobs SET state = %(done)s, updated_at = %(run_at)s WHERE kind = %(drop_kind)s"
    " AND ref = %(ref)s AND state = %(pending)s) " + _ENQUEUE)
_FINISH = "UPDATE jobs SET {sets} WHERE id = %(w_id)s AND state = %(w_state)s AND attempts = %(w_attempts)s"


def _enqueue_params(*, merchant_id: int, kind: JobType, ref: str, run_at: datetime) -> dict[str, Any]:
    return {"merchant_id": merchant_id, "kind": kind.value, "ref": ref, "run_at": run_at,
            "max_attempts": kind.max_attempts, "pending": JobState.PENDING.value, "running": JobState.RUNNING.value}


def _dropping(*, kind: JobType, ref: str, now: datetime) -> sa.Update:
    return (sa.update(jobs).where(jobs.c.kind == kind.value).where(jobs.c.ref == ref)
            .where(jobs.c.state == JobState.PENDING.value).values(state=JobState.DONE.value, updated_at=now))


class SqlJobRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self.earliest_pending: datetime | None = None  # of the jobs this transaction left pending: when one is due

    def _pending_at(self, run_at: datetime) -> None:
        if self.earliest_pending is None or run_at < self.earliest_pending:
            self.earliest_pending = run_at

    async def enqueue(self, *, merchant_id: int, kind: JobType, ref: str, run_at: datetime) -> None:
        self._pending_at(run_at)
        if psycopg_of(self._conn) is not None:  # in every paying transaction: the driver's path
            await driver.execute(self._conn, sql=_ENQUEUE, params=_enqueue_params(
                merchant_id=merchant_id, kind=kind, ref=ref, run_at=run_at))
            return
        await self._conn.execute(_enqueuing(self._conn, merchant_id=merchant_id, kind=kind, ref=ref, run_at=run_at))

    async def hand_over(self, *, merchant_id: int, ref: str, dropping: JobType, kind: JobType, run_at: datetime) -> None:
        self._pending_at(run_at)
        if psycopg_of(self._conn) is None:
            await self.drop_pending(kind=dropping, ref=ref, now=run_at)
            await self.enqueue(merchant_id=merchant_id, kind=kind, ref=ref, run_at=run_at)
            return
        await driver.execute(self._conn, sql=_HAND_OVER, params={
            **_enqueue_params(merchant_id=merchant_id, kind=kind, ref=ref, run_at=run_at),
            "drop_kind": dropping.value, "done": JobState.DONE.value})

    async def claim(self, *, now: datetime, lease_until: datetime, limit: int) -> list[Job]:
        due = sa.or_(
            sa.and_(jobs.c.state == JobState.PENDING.value, jobs.c.run_at <= now),
            sa.and_(jobs.c.state == JobState.RUNNING.value, jobs.c.lease_until < now),
        )
        chosen = sa.select(jobs.c.id).where(due).order_by(jobs.c.run_at, jobs.c.id).limit(limit)
        if self._conn.dialect.name == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True)  # SQLite has one writer at a time: nothing to skip
        rows = await self._conn.execute(
            sa.update(jobs).where(jobs.c.id.in_(chosen.scalar_subquery()))
            .values(state=JobState.RUNNING.value, attempts=jobs.c.attempts + 1, lease_until=lease_until, updated_at=now)
            .returning(jobs.c.id, jobs.c.merchant_id, jobs.c.kind, jobs.c.ref, jobs.c.attempts, jobs.c.max_attempts,
                       jobs.c.run_at)
        )
        claimed = [Job(r.id, r.merchant_id, r.kind, r.ref, r.attempts, r.max_attempts, r.run_at) for r in rows]
        return sorted(claimed, key=lambda job: (job.run_at, job.id))  # RETURNING keeps no order

    async def drop_pending(self, *, kind: JobType, ref: str, now: datetime) -> None:
        await self._conn.execute(_dropping(kind=kind, ref=ref, now=now))

    async def finish(self, *, job: Job, outcome: JobOutcome, now: datetime) -> bool:
        values: dict[str, Any] = {"updated_at": now, "lease_until": None}
        match outcome:
            case Done():
                values |= {"state": JobState.DONE.value, "last_error": None}
            case RunAgain(at=at):
                # polling is not a failure: give the try back
                values |= {"state": JobState.PENDING.value, "run_at": at, "attempts": job.attempts - 1}
            case Retry(error=error) if job.attempts >= job.max_attempts:
                values |= {"state": JobState.PARKED.value, "last_error": error[:2000]}
            case Retry(error=error):
                values |= {"state": JobState.PENDING.value, "last_error": error[:2000],
                           "run_at": now + backoff(attempt=job.attempts)}
        if values["state"] == JobState.PENDING.value:
            self._pending_at(values["run_at"])
        if psycopg_of(self._conn) is not None:  # once per job run: the driver's path
            sets = ", ".join(f"{name} = %({name})s" for name in sorted(values))
            return (await driver.execute(self._conn, sql=_FINISH.format(sets=sets), params={
                **values, "w_id": job.id, "w_state": JobState.RUNNING.value, "w_attempts": job.attempts,
            })).rowcount == 1
        result = await self._conn.execute(
            sa.update(jobs)
            .where(jobs.c.id == job.id)
            .where(jobs.c.state == JobState.RUNNING.value)
            .where(jobs.c.attempts == job.attempts)
            .values(**values)
        )
        return result.rowcount == 1

    async def queue_stats(self, *, now: datetime) -> tuple[int, float]:
        depth, oldest = (
            await self._conn.execute(
                sa.select(sa.func.count(), sa.func.min(jobs.c.run_at, type_=UtcDateTime)).where(jobs.c.state.in_(_OPEN))
            )
        ).one()
        return depth, max((now - oldest).total_seconds(), 0.0) if oldest else 0.0

    async def parked(self, *, limit: int) -> list[ParkedJob]:
        rows = await self._conn.execute(
            sa.select(jobs).where(jobs.c.state == JobState.PARKED.value).order_by(jobs.c.updated_at.desc()).limit(limit)
        )
        return [ParkedJob(r.id, r.merchant_id, r.kind, r.ref, JobState(r.state), r.attempts, r.max_attempts,
                          r.run_at, r.last_error) for r in rows]

    async def for_ref(self, *, ref: str) -> list[dict[str, Any]]:
        """Every job of one order or refund (for tests and the operations view)."""
        rows = await self._conn.execute(sa.select(jobs).where(jobs.c.ref == ref).order_by(jobs.c.id))
        return [dict(r._mapping) for r in rows]
