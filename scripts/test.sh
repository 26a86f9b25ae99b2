#!/usr/bin/env bash
# Sets everything up and runs all tests: import rules, mypy, then the suite on SQLite and on a throwaway PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages the tests use: PostgreSQL's server, Chromium with a CJK font for the page tests, SoftHSM for keys
needed=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || needed+=(postgresql)
[ -x /usr/bin/chromium ] || needed+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || needed+=(fonts-noto-cjk)
[ -f /usr/lib/softhsm/libsofthsm2.so ] || needed+=(softhsm2)
if [ ${#needed[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${needed[@]}"
  else
    echo "The tests need these Debian packages: sudo apt-get install ${needed[*]}" >&2
    exit 1
  fi
fi
bash scripts/setup.sh
read -r PG_URL PG_DIR < <(bash scripts/pg.sh)
trap 'bash scripts/pg.sh stop "$PG_DIR"' EXIT
export PAYHUB_TEST_PG_URL=$PG_URL PAYHUB_REQUIRE_PG=1
.venv/bin/lint-imports
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
