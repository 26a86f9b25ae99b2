"""What the SwiftPass sandbox's scenario digits do, and the one-off faults a test can stage.

Picked by the last two digits of the payment code (micropay) or else of total_fee in fen:

    91  declined: micropay answers PAYERROR, need_query=N; a QR scan is declined (trade PAYERROR)
    92  insufficient funds: as 91 with err_code NOTENOUGH
    93  system error: micropay/native answer SYSTEMERROR, need_query=Y, yet the trade exists (and a
        micropay is paid); a resend with the same content answers normally
    94  slow: micropay/native sleep `slow_seconds` before answering; the trade is done before the sleep
    95  user paying, then paid: micropay answers USERPAYING; the 2nd query finds it SUCCESS (QR: normal)
    96  user paying forever: micropay stays USERPAYING; reverse succeeds (QR: normal)
    97  refund fails: every refund answers refund_status FAIL
    98  refund processing: refund answers PROCESSING; refundquery says PROCESSING once, then SUCCESS
    99  notify chaos: each payment notify is sent twice, then a stale not-paid notify follows
    other  plain success (a refund answer then carries no refund_status, like the real gateway's)
"""
from __future__ import annotations

import asyncio
from contextlib import suppress
from enum import StrEnum

from payhub.integrations.swiftpass.wire import SYSTEMERROR


class Scenario(StrEnum):
    DECLINED = "91"
    INSUFFICIENT_FUNDS = "92"
    SYSTEM_ERROR = "93"
    SLOW = "94"
    USER_PAYING_THEN_PAID = "95"
    USER_PAYING_FOREVER = "96"
    REFUND_FAILS = "97"
    REFUND_PROCESSING = "98"
    NOTIFY_CHAOS = "99"


class Fault(StrEnum):
    """A one-off fault `fail_next` puts on the next answer to a service, after the service has run."""

    SYSTEM_ERROR = "system_error"    # SYSTEMERROR, need_query=Y (reverse: retry_flag=Y)
    BAD_SIGNATURE = "bad_signature"  # the answer's sign is corrupted


_DECLINES = {
    Scenario.DECLINED: ("PAYERROR", "支付被拒绝"),
    Scenario.INSUFFICIENT_FUNDS: ("NOTENOUGH", "余额不足"),
}
_REFUND_STATES = {Scenario.REFUND_FAILS: "FAIL", Scenario.REFUND_PROCESSING: "PROCESSING"}
_QUERIES_UNTIL_SETTLED = 2  # scenarios 95 and 98 settle at the second query


def scenario_of(*, auth_code: str | None, total_fee: int) -> Scenario | None:
    """The scenario the payment code's, or else the amount's, last two digits select."""
    for digits in (auth_code[-2:] if auth_code else "", f"{total_fee % 100:02d}"):
        with suppress(ValueError):
            return Scenario(digits)
    return None


def decline_of(scenario: Scenario | None) -> tuple[str, str] | None:
    """The err_code and err_msg a declining scenario pays with, or None."""
    return _DECLINES.get(scenario) if scenario is not None else None


def keeps_user_paying(scenario: Scenario | None) -> bool:
    """Whether a micropay waits for the customer (USERPAYING) instead of paying at once."""
    return scenario in (Scenario.USER_PAYING_THEN_PAID, Scenario.USER_PAYING_FOREVER)


def paid_at_query(scenario: Scenario | None, *, queries: int) -> bool:
    """Whether a waiting micropay is found paid by this query."""
    return scenario is Scenario.USER_PAYING_THEN_PAID and queries >= _QUERIES_UNTIL_SETTLED


def refund_state_of(scenario: Scenario | None) -> str:
    """The state a new refund of the scenario's trade starts in: SUCCESS, FAIL or PROCESSING."""
    return _REFUND_STATES.get(scenario, "SUCCESS") if scenario is not None else "SUCCESS"


def refund_settled_at_query(*, queries: int) -> bool:
    """Whether a PROCESSING refund is found done by this refund query."""
    return queries >= _QUERIES_UNTIL_SETTLED


def refund_answer_tells_status(scenario: Scenario | None) -> bool:
    """Whether a refund answer carries refund_status (the real gateway's plain answer does not)."""
    return scenario in _REFUND_STATES


def sends_chaotic_notifies(scenario: Scenario | None) -> bool:
    """Whether each payment notify goes out twice and is followed by a stale not-paid one."""
    return scenario is Scenario.NOTIFY_CHAOS


def system_error_answer() -> dict[str, str]:
    """The SYSTEMERROR answer: the caller must query to learn what happened."""
    return {"result_code": "1", "err_code": SYSTEMERROR, "err_msg": "系统繁忙，请稍后查询", "need_query": "Y"}


async def first_answer(scenario: Scenario | None, *, answer: dict[str, str], slow_seconds: float) -> dict[str, str]:
    """How the scenario spoils the first answer of a new trade (the trade itself is already done)."""
    if scenario is Scenario.SLOW:
        await asyncio.sleep(slow_seconds)
    if scenario is Scenario.SYSTEM_ERROR:
        return system_error_answer()
    return answer
