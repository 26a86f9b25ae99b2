#!/usr/bin/env bash
# Sets everything up and runs the hub with the embedded default: SQLite, in-process sandboxes, demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/payhub demo "$@"
