#!/usr/bin/env bash
# The README's test command: type-check/build, lint, then every ava test with TAP output, ending with the
# one plain line CI reads: `N passed, N failed`. Extra args go to ava (e.g. a single test file).
set -uo pipefail
cd "$(dirname "$0")/.."

pre=()
if npx tsc -p tsconfig.json && chmod +x dist/src/cli/main.js; then pre+=("ok 0 - typescript build"); else pre+=("not ok 0 - typescript build"); fi
if npx biome check . >/tmp/ecsd-biome.log 2>&1; then
  pre+=("ok 0 - biome check")
else
  cat /tmp/ecsd-biome.log
  pre+=("not ok 0 - biome check")
fi

{
  printf '%s\n' "${pre[@]}"
  npx ava --tap "$@"
  echo "# ava exit $?"
} 2>&1 | node scripts/tap-summary.mjs
