"""SwiftPass (威富通), the aggregated payment channel: connector (client), protocol (wire), simulator (sandbox)."""
