"""A SwiftPass gateway simulator: the real `POST /pay/gateway` protocol, in memory, with test scenarios.

`state` holds the trades, refunds and queued notifies and the rules a real gateway enforces, `scenarios`
what the scenario digits 91–99 do, `app` the signed-XML gateway, notify delivery and the /_sandbox/ controls.
"""
from payhub.integrations.swiftpass.sandbox.app import SwiftPassSandbox
from payhub.integrations.swiftpass.sandbox.scenarios import Fault, Scenario, scenario_of
from payhub.integrations.swiftpass.sandbox.state import SandboxAccount, SandboxRefusal, SandboxTrade

__all__ = ["Fault", "SandboxAccount", "SandboxRefusal", "SandboxTrade", "Scenario", "SwiftPassSandbox", "scenario_of"]
