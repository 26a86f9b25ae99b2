"""TCIS, the utility's billing system: connector (client), contract (wire) and simulator (sandbox)."""
