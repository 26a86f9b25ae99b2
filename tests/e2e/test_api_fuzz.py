"""Property-based fuzz of the whole OpenAPI document with schemathesis.

Every operation gets generated requests, valid and invalid, signed exactly like a terminal signs them and carrying
an administrator's session, against a hub seeded with a merchant, a terminal, operators, a posted order and an
active stored-value card, so that the requests reach real logic. Each answer must not be a server error and must
match what the document says: its status code, content type and body schema. SQLite only: the fuzz is about the
API's contract, the database engines are covered by the rest of the suite. Seeded (derandomized) and bounded per
operation so that it runs in a few minutes on a busy machine.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance, status_code_conformance,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from payhub.kernel.domain import terminal_signature as sig
from payhub.cards.domain.money import Funding, TxChannel
from payhub.cards.domain.cards import luhn_digit
from payhub.kernel.services import admin
from payhub.cards.services import lifecycle as card_lifecycle
from payhub.cards.services import money as card_money
from payhub.kernel.services.auth import _token_hash
from tests.support.cards import open_active_card
from tests.support.harness import TERMINAL_KEY, WECHAT, Harness

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
SPARE_SESSIONS = 400  # each fuzzed logout ends one of these, never the administrator's own login
CARD_NO, OTHER_CARD_NO = (digits + luhn_digit(digits) for digits in ("880000000000001", "880000000000002"))
log = logging.getLogger(__name__)
MAX_EXAMPLES = 20  # per operation and mode: under a minute idle, about two on two busy cores


@dataclass
class FuzzWorld:
    """The seeded hub and the sessions the signed requests carry."""

    harness: Harness
    token: str = ""
    spare: list[str] = field(default_factory=list)
    answers: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    known: dict[str, str] = field(default_factory=dict)

    def aim(self, case: Case) -> None:
        """Point a valid case at the seeded order, cards, member and merchant, so that it reaches real logic."""
        ledger = case.path.startswith("/api/v1/ledger/")
        for name in case.path_parameters or {}:
            key = "ledger_code" if ledger and name == "code" else name
            if key in self.known:
                case.path_parameters[name] = self.known[key]
        if isinstance(case.body, dict):
            for name in ("card_no", "from_card", "to_card", "merchant_code", "phone", "account_no"):
                if name in case.body and name in self.known:
                    case.body[name] = self.known[name]
        if isinstance(case.query, dict) and "wait_version" in case.query:  # a long-poll on the seeded order ends soon
            case.query["timeout"] = 0

    def sign(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Sign the request as sent (raw path and query, body bytes) and add an operator session."""
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        timestamp, nonce = str(int(self.harness.clock.now().timestamp())), secrets.token_hex(16)
        logout = request.method == "DELETE" and request.path_url.split("?")[0] == "/api/v1/session"
        token = self.spare.pop() if logout else self.token
        request.headers.update({
            sig.HEADER_TERMINAL: "T1", sig.HEADER_TIMESTAMP: timestamp, sig.HEADER_NONCE: nonce,
            sig.HEADER_SIGNATURE: sig.sign(key=TERMINAL_KEY, method=request.method or "GET",
                                           path=request.path_url, timestamp=timestamp, nonce=nonce, body=body),
            "Authorization": f"Bearer {token}",
        })
        return request


async def _seed(world: FuzzWorld) -> None:
    harness = world.harness
    hub = harness.hub
    await harness.seed()
    await admin.create_operator(hub=hub, merchant_code="M1", username="adm1", display_name="管理员",
                                role="admin", password="adm1-pass")
    async with hub.uow(read_only=True) as uow:
        merchant = await uow.tenancy.merchant(code="M1")
        terminal, _ = await uow.tenancy.terminal(code="T1")
        administrator, _ = await uow.tenancy.operator(merchant_id=merchant.id, username="adm1")
    await harness.terminal.login("adm1", "adm1-pass")
    tokens = [secrets.token_urlsafe(32) for _ in range(SPARE_SESSIONS)]
    now = harness.clock.now()
    async with hub.uow() as uow:
        for token in tokens:
            await uow.tenancy.add_session(merchant_id=merchant.id, operator_id=administrator.id, terminal_id=terminal.id,
                                          token_hash=_token_hash(token), at=now, expires_at=now + timedelta(days=1))
        await uow.commit()
    world.token, world.spare = harness.terminal.token or "", tokens

    order = await harness.place()
    await harness.call("POST", f"/api/v1/orders/{order['order_no']}/pay/code", {"auth_code": WECHAT})
    await harness.settle(seconds=5, steps=5)
    ledger_code = sorted(await harness.balances())[0]

    await card_lifecycle.add_card_merchant(hub=hub, merchant_id=merchant.id, code="SHOP1", name="一号店")
    for number, phone in ((CARD_NO, "13800000000"), (OTHER_CARD_NO, "13800000001")):
        await open_active_card(hub=hub, merchant_id=merchant.id, card_no=number, phone=phone, pay_password="135790")
    await card_money.recharge(hub=hub, merchant_id=merchant.id, merchant_code="SHOP1", card_no=CARD_NO,
                              out_trade_no="seed-recharge", amount=50_000, funding=Funding.CASH,
                              channel=TxChannel.OFFLINE, terminal_code="T1")
    world.known = {
        "order_no": order["order_no"], "ledger_code": ledger_code, "account_no": "10010001", "card_no": CARD_NO,
        "from_card": CARD_NO, "to_card": OTHER_CARD_NO, "merchant_code": "SHOP1", "code": "SHOP1",
        "phone": "13800000000", "out_trade_no": "seed-recharge", "business_date": "2026-11-02",
    }


@pytest.fixture(scope="module")
def fuzz_world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzWorld]:
    path = tmp_path_factory.mktemp("fuzz") / "payhub.sqlite3"
    shutil.copy(sqlite_template, path)
    world = FuzzWorld(Harness(f"sqlite+aiosqlite:///{path}"))

    async def seed_then_stop() -> None:
        await _seed(world)
        await world.harness.stop()

    asyncio.run(seed_then_stop())
    world.harness.start()  # a fresh process for the fuzz: its engines bind to schemathesis' event loop
    yield world  # closed with the test process: its connections belong to schemathesis' event loop thread


def served(app: ASGIApp) -> ASGIApp:
    """The app as a server runs it: an exception after the 500 went out is logged, not raised into the client."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except Exception:
            log.exception("the app raised")

    return serve


@pytest.fixture(scope="module")
def api_schema(fuzz_world: FuzzWorld) -> BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", served(fuzz_world.harness.app))


def _fuzz(operation: APIOperation, mode: GenerationMode, world: FuzzWorld) -> None:
    @given(case=operation.as_strategy(generation_mode=mode), aimed=st.booleans())
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
    def run(case: Case, aimed: bool) -> None:
        if aimed and mode is GenerationMode.POSITIVE:
            world.aim(case)
        response = case.call_and_validate(auth=world.sign, checks=CHECKS)
        world.answers[operation.label][response.status_code] += 1

    run()


def _describe(failure: BaseException) -> str:
    if isinstance(failure, BaseExceptionGroup) and not isinstance(failure, FailureGroup):
        return "\n".join(_describe(inner) for inner in failure.exceptions)
    return f"{type(failure).__name__}: {str(failure)[:2500]}"


@pytest.mark.timeout(600)
def test_every_operation_answers_as_documented(api_schema: BaseSchema, fuzz_world: FuzzWorld) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    failures = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, fuzz_world)
            except Unsatisfiable:  # nothing about this operation can be invalid (no parameters, free strings)
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, FailureGroup) as failure:  # every operation is fuzzed, then all failures reported
                failures[f"{mode.value} {operation.label}"] = failure
    report = "\n\n".join(f"== {label}\n{_describe(failure)}" for label, failure in failures.items())
    assert not failures, f"{len(failures)} of {2 * len(operations)} fuzzed operations failed:\n{report}"
    # the signing and the session must hold, or the fuzz only ever met the door
    only_refused = {label: dict(seen) for label, seen in fuzz_world.answers.items() if set(seen) <= {401}}
    assert not only_refused, f"operations that never got past authentication: {only_refused}"
    assert sum(seen[200] + seen[201] for seen in fuzz_world.answers.values()) > len(operations)
