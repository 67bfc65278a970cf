#!/usr/bin/env bash
# Builds the npm package and runs every test of it: Node (node:test), the
# packed package in a fresh directory, the browser entry in headless
# Chromium (page and Web Worker), then the web chat's end-to-end test.
# Needs Rust with wasm32-unknown-unknown, Node 20.19+, Debian's chromium
# and redis-server. From scripts/test.sh: `bash e2ee-wasm/test.sh`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

step() { printf '\n==> %s\n' "$*"; }

step "e2ee-wasm: npm ci && npm run build"
npm ci --no-audit --no-fund
npm run build

step "e2ee-wasm: npm test"
npm test

# The opt-in package with suites 4 to 7: built beside pkg/, its groups
# tested in every suite.
step "e2ee-wasm: npm run build -- --all-suites && the group tests in suites 1 to 7"
npm run build -- --all-suites
E2EE_WASM_PKG="$PWD/pkg-all-suites" E2EE_WASM_SUITES=1,2,3,4,5,6,7 node --test test/group.test.mjs

step "e2ee-wasm: npm run test:pack"
npm run test:pack

step "e2ee-wasm: npm run test:browser"
npm run test:browser

step "examples/web-chat: npm ci && npm run test:e2e"
cd ../examples/web-chat
npm ci --no-audit --no-fund
npm run test:e2e
