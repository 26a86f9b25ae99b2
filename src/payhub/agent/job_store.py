"""The agent's print jobs in a local SQLite file, so that a failed receipt outlives a restart of the agent."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

from pydantic import TypeAdapter

from payhub.agent.services.print_jobs import JobState, PrintJob
from payhub.kernel.domain.devices import DeviceUnavailable
from payhub.kernel.domain.receipts import Receipt

FILE_NAME = "print_jobs.sqlite3"
RECEIPT = TypeAdapter(Receipt)
SCHEMA = """
CREATE TABLE IF NOT EXISTS print_jobs (
    job_id TEXT PRIMARY KEY,
    receipt TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error_code TEXT,
    error_params TEXT,
    printed_at TEXT
)
"""


class SqliteJobStore:
    """One row per job, written after every attempt; a file in the agent's data folder, or memory only."""

    def __init__(self, *, path: Path | None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(":memory:" if path is None else path, check_same_thread=False)
        with self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(SCHEMA)

    @classmethod
    def in_folder(cls, folder: Path) -> SqliteJobStore:
        """The store of the agent whose data folder this is."""
        return cls(path=folder / FILE_NAME)

    def load(self) -> list[PrintJob]:
        """Every kept job, oldest first."""
        rows = self._db.execute(
            "SELECT job_id, receipt, data, created_at, state, attempts, error_code, error_params, printed_at"
            " FROM print_jobs ORDER BY created_at, job_id").fetchall()
        return [_job(row) for row in rows]

    def save(self, job: PrintJob) -> None:
        """Write the job as it is now."""
        error = job.error
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO print_jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job.job_id, RECEIPT.dump_json(job.receipt).decode(), job.data, job.created_at.isoformat(),
                 job.state.value, job.attempts, error and error.code, error and json.dumps(error.params, ensure_ascii=False),
                 job.printed_at and job.printed_at.isoformat()))

    def forget(self, job_ids: list[str]) -> None:
        """Drop these jobs."""
        with self._db:
            self._db.executemany("DELETE FROM print_jobs WHERE job_id = ?", [(job_id,) for job_id in job_ids])

    def close(self) -> None:
        self._db.close()


def _job(row: tuple[str, str, bytes, str, str, int, str | None, str | None, str | None]) -> PrintJob:
    job_id, receipt, data, created_at, state, attempts, error_code, error_params, printed_at = row
    error = None if error_code is None else DeviceUnavailable(error_code, **json.loads(error_params or "{}"))
    return PrintJob(job_id=job_id, receipt=RECEIPT.validate_json(receipt), data=data,
                    created_at=datetime.fromisoformat(created_at), state=JobState(state), attempts=attempts,
                    error=error, printed_at=None if printed_at is None else datetime.fromisoformat(printed_at))
