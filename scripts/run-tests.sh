#!/usr/bin/env bash
# The test command (`npm test` after setup): the fast tier first (lint, types, pure TypeScript and Python
# unit tests, no server or tool), then the real-tool suite. Every tier runs even when an earlier one
# failed, so the report is complete; the exit code is non-zero if any failed. Each tier leaves a report
# that scripts/test-summary.mjs adds up into the "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
rm -f .vitest-unit.json .vitest-results.json .pytest-results.xml .lint-results.json
rc=0
step() { local name=$1; shift; local t0=$(date +%s); "$@"; local r=$?; echo "[test] $name: exit $r in $(( $(date +%s) - t0 )) s"; [ $r = 0 ] || rc=1; return 0; }

lint() {
  local fails=0
  npx eslint . || fails=$((fails + 1))
  npx tsc --noEmit || fails=$((fails + 1))
  .venv/bin/ruff check . || fails=$((fails + 1))
  printf '{"checks":3,"failed":%d}\n' "$fails" > .lint-results.json
  [ "$fails" = 0 ]
}
step "lint (eslint layer rules, tsc, ruff)" lint
step "unit (vitest)" env VITEST_JSON=.vitest-unit.json npx vitest run --project unit
step "unit (pytest)" .venv/bin/python -m pytest --junitxml=.pytest-results.xml
[ "${AUTOPIPE_UNIT_ONLY:-}" = 1 ] || step "tools (vitest, real tools)" npx vitest run --project tools "$@"
exit $rc
