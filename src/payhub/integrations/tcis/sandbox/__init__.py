"""A TCIS simulator: the contract of docs/tcis-contract.md over seeded customers kept in memory.

`state` holds customers, bills, postings and reversals and the contract's rules (customers seeded from
seed.json), `scenarios` what the scenario accounts (last two digits 91–94) do, `app` the signed JSON
contract and the /_sandbox/ controls.
"""
from payhub.integrations.tcis.sandbox.app import TcisSandbox
from payhub.integrations.tcis.sandbox.scenarios import SCENARIOS
from payhub.integrations.tcis.sandbox.state import DEFAULT_SEED, SeedCustomer

__all__ = ["DEFAULT_SEED", "SCENARIOS", "SeedCustomer", "TcisSandbox"]
