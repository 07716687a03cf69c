#!/usr/bin/env bash
# Installs npm dependencies when node_modules is missing or older than package-lock.json. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.ecsd-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "ensure-deps: npm ci (better-sqlite3 compiles from source here: ~60 s)" >&2
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true npm ci --no-audit --no-fund
  touch "$stamp"
fi
