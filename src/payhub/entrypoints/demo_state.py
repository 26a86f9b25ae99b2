"""What the demo keeps in its data folder beside its database: where it runs (for `payhub try`) and the TCIS
sandbox's postings and reversals, so that a restart finds the billing system as the hub's orders left it."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from payhub.integrations.tcis.sandbox import TcisSandbox
from payhub.integrations.tcis.wire import PostingAnswer, PostingBody, ReversalAnswer, ReversalBody

RUNNING_FILE = "demo.json"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def tcis_journal_path(*, database: Path) -> Path:
    """Where the demo using this SQLite file keeps its TCIS sandbox's journal."""
    return database.with_name(f"{database.stem}.tcis.jsonl")


@contextmanager
def announced(*, folder: Path, base_url: str) -> Iterator[None]:
    """Tell `payhub try` where the running demo is, for as long as it runs."""
    path = folder / RUNNING_FILE
    path.write_text(json.dumps({"base_url": base_url}), encoding="utf-8")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def running_base_url(*, folder: Path) -> str:
    """The base URL the demo with this data folder announced, or the demo's default one."""
    try:
        return str(json.loads((folder / RUNNING_FILE).read_text(encoding="utf-8"))["base_url"])
    except (OSError, ValueError, KeyError):
        return DEFAULT_BASE_URL


class JournaledTcis(TcisSandbox):
    """The TCIS sandbox writing each posting and reversal to a JSON-lines file and replaying it at start.

    The postings are replayed at the times they were made, so bills, balances and TCIS references come back the
    same; `/_sandbox/reset` empties the file too.
    """

    def __init__(self, *, app_id: str, secret: str, journal: Path) -> None:
        super().__init__(app_id=app_id, secret=secret)
        self._journal = journal
        self._replay()

    def post(self, *, body: PostingBody) -> PostingAnswer:
        answer = super().post(body=body)
        self._write({"op": "post", "body": body.model_dump(mode="json")})
        return answer

    def reverse(self, *, posting_no: str, body: ReversalBody) -> ReversalAnswer:
        answer = super().reverse(posting_no=posting_no, body=body)
        self._write({"op": "reverse", "posting_no": posting_no, "body": body.model_dump(mode="json")})
        return answer

    def reset(self) -> None:
        super().reset()
        journal: Path | None = getattr(self, "_journal", None)  # None while BillingState.__init__ resets
        if journal is not None:
            journal.unlink(missing_ok=True)

    def _write(self, entry: dict[str, Any]) -> None:
        self._journal.parent.mkdir(parents=True, exist_ok=True)
        with self._journal.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"at": self.now().isoformat()} | entry, ensure_ascii=False) + "\n")

    def _replay(self) -> None:
        if not self._journal.exists():
            return
        clock = self.now
        try:
            for line in self._journal.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    break  # the end of a line cut off when the demo was killed while writing it
                self.now = _at(datetime.fromisoformat(entry["at"]))
                if entry["op"] == "post":
                    super().post(body=PostingBody.model_validate(entry["body"]))
                else:
                    super().reverse(posting_no=entry["posting_no"], body=ReversalBody.model_validate(entry["body"]))
        finally:
            self.now = clock


def _at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment
