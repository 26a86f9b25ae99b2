"""What the TCIS sandbox's scenario accounts do, chosen by the account number's last two digits.

    91  every posting is refused: ACCOUNT_LOCKED
    92  a posting is booked at once, but answered only after `slow_seconds` (the caller must query)
    93  an arrears query answers only after `slow_seconds`
    94  every reversal is refused: REVERSAL_NOT_ALLOWED

The seeded amounts never end in 91–99, which the SwiftPass sandbox reads as its own scenario triggers.
"""
from __future__ import annotations

REFUSED_POSTINGS = "91"
SLOW_POSTINGS = "92"
SLOW_ARREARS = "93"
REFUSED_REVERSALS = "94"
SCENARIOS = {
    REFUSED_POSTINGS: "缴费被拒（ACCOUNT_LOCKED）",
    SLOW_POSTINGS: "缴费照常入账，但 slow_seconds 秒后才应答",
    SLOW_ARREARS: "欠费查询 slow_seconds 秒后才应答",
    REFUSED_REVERSALS: "冲正被拒（REVERSAL_NOT_ALLOWED）",
}


def scenario_of(*, account_no: str) -> str | None:
    """The description of the scenario the account triggers, or None."""
    return SCENARIOS.get(account_no[-2:])


def refuses_postings(*, account_no: str) -> bool:
    """Whether every posting to the account is refused."""
    return account_no.endswith(REFUSED_POSTINGS)


def answers_postings_late(*, account_no: str) -> bool:
    """Whether a posting to the account is answered only after slow_seconds (booked before the wait)."""
    return account_no.endswith(SLOW_POSTINGS)


def answers_arrears_late(*, account_no: str) -> bool:
    """Whether an arrears query of the account is answered only after slow_seconds."""
    return account_no.endswith(SLOW_ARREARS)


def refuses_reversals(*, account_no: str) -> bool:
    """Whether every reversal of the account's postings is refused."""
    return account_no.endswith(REFUSED_REVERSALS)
