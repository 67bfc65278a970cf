#!/usr/bin/env bash
# THE test command: installs what the tests need (scripts/install-deps.sh),
# then checks formatting, the no_std build, clippy, the documentation, and
# runs every test, printing the IETF test-vector report at the end. Stops at
# the first failure.
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

# Lints and tests share one build: every workspace crate compiles through
# clippy-driver (which lints it as `cargo clippy` would, then compiles it),
# warnings as errors; dependencies through plain rustc. This holds for
# every cargo command below, the npm package's and the bindings' builds
# included, so each of them is linted for its own target and features.
export RUSTC_WORKSPACE_WRAPPER="$(rustc --print sysroot)/bin/clippy-driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

step "no_std build, linted: cargo build -p e2ee-core --no-default-features --target thumbv7em-none-eabihf"
cargo build -p e2ee-core --no-default-features --target thumbv7em-none-eabihf

step "build and lint every target: cargo test --workspace --all-targets --no-run"
cargo test --workspace --all-targets --no-run --quiet

# The large-group test runs below, once, with the `parallel` feature; the
# IETF vector runner at the end, with its report.
step "tests: cargo test --workspace"
cargo test --workspace -- --skip ietf_test_vectors --skip thousand_members_agree_and_admit_a_newcomer --exact

# No workspace crate turns on e2ee-core's `parallel` feature, so its code
# paths (signature checks, HPKE to many keys and a Welcome to many joiners,
# tree validation beside the signatures, on several threads) are linted
# and tested here: the unit tests, and the large-group test, whose sizes
# reach those paths.
step "e2ee-core with the parallel feature: unit tests, large group"
cargo test -p e2ee-core --features parallel --lib --test large_group

# The crate as no_std users build it: no client, no std, no tables.
step "e2ee-core without default features: cargo test -p e2ee-core --no-default-features"
cargo test -p e2ee-core --no-default-features

step "documentation of e2ee-core, warnings as errors: cargo doc -p e2ee-core --no-deps"
RUSTDOCFLAGS="-D warnings" cargo doc -p e2ee-core --no-deps --quiet

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
