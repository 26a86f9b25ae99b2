"""One package per external system: client, wire format and sandbox."""
