#!/usr/bin/env bash
# Builds the npm package and runs its tests: the Node tests (node:test) and
# the packed package in a fresh directory; then the web chat's browser test
# if it is there. For scripts/test.sh: `bash e2ee-wasm/test.sh`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

step() { printf '\n==> %s\n' "$*"; }

step "e2ee-wasm: npm ci && npm run build"
npm ci --no-audit --no-fund
npm run build

step "e2ee-wasm: npm test"
npm test

step "e2ee-wasm: npm run test:pack"
npm run test:pack
