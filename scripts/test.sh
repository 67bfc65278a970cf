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

step "no_std build, linted: cargo build -p e2ee-core --no-default-features --features all-suites --target thumbv7em-none-eabihf"
cargo build -p e2ee-core --no-default-features --features all-suites --target thumbv7em-none-eabihf

# The workspace is built and tested once, with e2ee-core's `parallel`
# feature, so that its code paths (signature checks, HPKE to many keys and a
# Welcome to many joiners, tree validation beside the signatures, on several
# threads) are linted and tested with everything else; the large-group test
# reaches them. The sequential paths run in the no-default-features step, in
# the npm package and in the bindings, which build without the feature.
# Every `cargo test --workspace` below passes the same features, so it
# reuses this build.
FEATURES=(--features e2ee-core/parallel)
step "build and lint every target: cargo test --workspace --all-targets --features e2ee-core/parallel --no-run"
cargo test --workspace --all-targets "${FEATURES[@]}" --no-run --quiet

# That build made reference-server's binary (for its integration tests); the
# web chat's and the chat samples' end-to-end tests use it rather than build
# it again with another feature set.
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
export E2EE_SERVER_BIN="$target_dir/debug/reference-server"

# The fuzz targets' smoke run (e2ee-core/fuzz-targets/tests/smoke.rs) is
# among the tests: 20 s per target, from the seed corpora written here.
step "seed corpora of the fuzz targets: python3 fuzz/seeds.py"
python3 fuzz/seeds.py
export E2EE_FUZZ_SECONDS=20

# The vector runners (IETF MLS vectors; Wycheproof, RFC 9180 and RFC 8032
# for the provider) run at the end, with their reports.
step "tests: cargo test --workspace --features e2ee-core/parallel (with the fuzz smoke run)"
cargo test --workspace "${FEATURES[@]}" -- --skip ietf_test_vectors --skip independent_vectors --exact

# The crate as no_std users build it: no client, no std, no tables.
step "e2ee-core without default features: cargo test -p e2ee-core --no-default-features"
cargo test -p e2ee-core --no-default-features

step "documentation, warnings as errors: cargo doc -p e2ee-core -p e2ee-provider -p e2ee-rustcrypto --no-deps"
RUSTDOCFLAGS="-D warnings" cargo doc -p e2ee-core -p e2ee-provider -p e2ee-rustcrypto --no-deps --quiet

# Before the bindings: their chat-samples test uses the npm package this builds.
step "WebAssembly: bash e2ee-wasm/test.sh (npm package, Node, packed install, Chromium, web chat end to end)"
bash e2ee-wasm/test.sh

step "bindings: bash e2ee-ffi/test-bindings.sh (Python, Kotlin on the JVM, chat samples with a web-chat client, Python wheel)"
bash e2ee-ffi/test-bindings.sh

# `--workspace` keeps the feature set of the workspace test step above, so the
# runner built there is reused instead of rebuilding e2ee-core's dependencies.
step "test vectors (IETF MLS; Wycheproof, RFC 9180, RFC 8032): cargo test --workspace --features e2ee-core/parallel --test vectors -- --nocapture"
cargo test --workspace "${FEATURES[@]}" --test vectors -- --nocapture

step "all checks passed"
