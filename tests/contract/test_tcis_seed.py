"""The TCIS sandbox's seed file is what docs/tcis-contract.md tells demo staff and testers."""
from __future__ import annotations

from pathlib import Path

from payhub.integrations.tcis.sandbox import DEFAULT_SEED
from payhub.integrations.tcis.sandbox.state import mask_name

CONTRACT = Path(__file__).parents[2] / "docs" / "tcis-contract.md"


def documented_accounts() -> list[tuple[str, str, str, str, dict[str, int], bool, bool]]:
    """The rows of the contract's "Seeded accounts" table."""
    section = CONTRACT.read_text(encoding="utf-8").split("### Seeded accounts", 1)[1]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not cells[0].isdigit():
            continue
        account_no, fee, customer, bills, prepay, ic_card = cells[:6]
        name, masked = customer.rstrip(")").split(" (")
        amounts = {} if bills == "none" else {
            period: int(fen) for period, fen in (bill.split(": ") for bill in bills.split(", "))
        }
        rows.append((account_no, fee, name, masked, amounts, prepay.strip("*") == "yes", ic_card == "yes"))
    return rows


def test_the_documented_accounts_are_the_seeded_ones() -> None:
    seeded = [
        (customer.account_no, customer.fee_type.value, customer.name, mask_name(customer.name),
         {bill.period: bill.amount for bill in customer.bills}, customer.prepay_allowed, customer.ic_card)
        for customer in DEFAULT_SEED
    ]

    assert seeded == documented_accounts()
