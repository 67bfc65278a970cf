#!/usr/bin/env bash
# THE test command: installs what the tests need (scripts/install-deps.sh),
# then checks formatting, the no_std build, clippy, and runs every test,
# printing the IETF test-vector report at the end. Stops at the first failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# A run from a clean clone gains nothing from incremental artifacts, which
# took 1.9 GB of disk (the CI machine's disk filled up once).
export CARGO_INCREMENTAL=0

started=$SECONDS
step() { printf '\n==> [%d s] %s\n' "$((SECONDS - started))" "$*"; }

step "install dependencies (scripts/install-deps.sh)"
bash scripts/install-deps.sh

step "format check: cargo fmt --all -- --check"
cargo fmt --all -- --check

step "no_std build: cargo build -p e2ee-core --no-default-features --target thumbv7em-none-eabihf"
cargo build -p e2ee-core --no-default-features --target thumbv7em-none-eabihf

step "lint: cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "documentation: cargo doc --workspace --no-deps, warnings as errors"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "tests: cargo test --workspace (all but the IETF vector runner)"
cargo test --workspace -- --skip ietf_test_vectors --exact

# No workspace crate turns on e2ee-core's `parallel` feature, so its code
# paths (batch verification, HPKE to many keys and a Welcome to many joiners,
# tree validation beside the signatures, on several threads) are linted and
# tested here: the unit tests, and the large-group test, whose sizes reach
# those paths.
step "e2ee-core with the parallel feature: clippy, unit tests, large group"
cargo clippy -p e2ee-core --features parallel --all-targets -- -D warnings
cargo test -p e2ee-core --features parallel --lib --test large_group

# The crate as no_std users build it: no client, no std, no tables.
step "e2ee-core without default features: cargo test -p e2ee-core --no-default-features"
cargo test -p e2ee-core --no-default-features

# Before the bindings: their chat-samples test uses the npm package this builds.
step "WebAssembly: bash e2ee-wasm/test.sh (npm package, Node, packed install, Chromium, web chat end to end)"
bash e2ee-wasm/test.sh

step "bindings: bash e2ee-ffi/test-bindings.sh (Python, Kotlin on the JVM, chat samples with a web-chat client, Python wheel)"
bash e2ee-ffi/test-bindings.sh

# `--workspace` keeps the feature set of the workspace test step above, so the
# runner built there is reused instead of rebuilding e2ee-core's dependencies.
step "IETF test vectors: cargo test --workspace --test vectors -- --nocapture"
cargo test --workspace --test vectors -- --nocapture

step "all checks passed"
