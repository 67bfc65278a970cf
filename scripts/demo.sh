#!/usr/bin/env bash
# THE demo command: builds the npm package (e2ee-wasm) and the web chat, then
# starts the reference delivery service (in-memory store) on
# http://127.0.0.1:8080 serving the chat. Extra arguments go to the server
# (see `cargo run --release -p reference-server -- --help`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
(cd e2ee-wasm && npm ci --no-audit --no-fund && npm run build)
(cd examples/web-chat && npm ci --no-audit --no-fund && npm run build)
exec cargo run --release -p reference-server -- "$@"
