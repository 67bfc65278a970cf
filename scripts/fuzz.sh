#!/usr/bin/env bash
# Fuzzes e2ee-core: every cargo-fuzz target of fuzz/ (or the ones named),
# each for SECONDS, then the long run of the state-machine proptest.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
#   scripts/fuzz.sh 600     ten minutes per target, 10,000 proptest cases
#   scripts/fuzz.sh 20      the smoke run: 20 s per target, 200 cases
#   scripts/fuzz.sh 60 decode_welcome open_in_live_group
#
# SECONDS defaults to 600. The proptest runs only when no target is named;
# it runs STATE_MACHINE_CASES cases (default 10,000 when SECONDS >= 600,
# else 200; 0 skips it) with up to STATE_MACHINE_MAX_MEMBERS members
# (default 12; the normal test run has 24 cases of up to 8).
#
# Installs what it needs when missing (quick when present): a nightly
# toolchain (cargo-fuzz needs nightly) and cargo-fuzz. Each target starts
# from its corpus in fuzz/corpus/TARGET (git-ignored): the IETF vectors'
# byte strings (fuzz/seeds.py) and the checked-in seeds of fuzz/seeds/,
# plus whatever earlier runs added. A crash leaves its input in
# fuzz/artifacts/TARGET/ (cargo-fuzz's place) and the script goes on with
# the next target, then exits 1. libFuzzer's output goes to
# fuzz/logs/TARGET.log; a summary line per target is printed.
#
# The machine may be shared: everything runs under `nice`, builds with
# CARGO_BUILD_JOBS (default 1), and one fuzzing process runs at a time
# (libFuzzer's default: no -jobs/-workers, which would fork children).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SECONDS_PER_TARGET="${1:-600}"
shift || true
case "$SECONDS_PER_TARGET" in
'' | *[!0-9]*)
    echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
    exit 2
    ;;
esac
NAMED_TARGETS=("$@")

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_INCREMENTAL=0
NICE=(nice -n 19)

started=$SECONDS
step() { printf '\n==> [%d s] %s\n' "$((SECONDS - started))" "$*"; }

step "nightly toolchain and cargo-fuzz"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    "${NICE[@]}" rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    "${NICE[@]}" cargo install cargo-fuzz --locked
fi

# No sanitizer: e2ee-core has no unsafe code (`#![forbid(unsafe_code)]`),
# so the memory errors AddressSanitizer looks for cannot come from it, and
# a sanitized build costs a rebuild of everything and a slower run. Debug
# assertions stay on (`-a`), so integer overflow panics.
FUZZ_FLAGS=(--sanitizer none --debug-assertions)

ALL_TARGETS=()
while IFS= read -r target; do ALL_TARGETS+=("$target"); done < <(cd fuzz && cargo +nightly fuzz list)
TARGETS=("${NAMED_TARGETS[@]:-${ALL_TARGETS[@]}}")

# libFuzzer's options per target: decoders take the corpus's largest input
# as their length limit; the live group reads a script of steps.
fuzz_options() {
    case "$1" in
    decode_vlbytes) echo "-max_len=1024" ;;
    open_in_live_group) echo "-max_len=1024 -timeout=60" ;;
    *) echo "" ;;
    esac
}

step "seed corpora from the IETF vectors: python3 fuzz/seeds.py"
python3 fuzz/seeds.py fuzz/corpus

step "build every target once: cargo +nightly fuzz build ${FUZZ_FLAGS[*]}"
(cd fuzz && "${NICE[@]}" cargo +nightly fuzz build "${FUZZ_FLAGS[@]}")

mkdir -p fuzz/logs
failed=()
summary=()
for target in "${TARGETS[@]}"; do
    step "fuzz $target for ${SECONDS_PER_TARGET} s"
    log="fuzz/logs/$target.log"
    corpus="corpus/$target"
    mkdir -p "fuzz/$corpus"
    # shellcheck disable=SC2046 # the options are words
    if (cd fuzz && "${NICE[@]}" cargo +nightly fuzz run "${FUZZ_FLAGS[@]}" "$target" "$corpus" -- \
        -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 $(fuzz_options "$target")) >"$log" 2>&1; then
        result=ok
    else
        result="FAILED (see $log and fuzz/artifacts/$target/)"
        failed+=("$target")
        grep -E "panicked|ERROR|SUMMARY|Test unit written" "$log" | head -20 || true
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    files=$(find "fuzz/$corpus" -type f | wc -l)
    line=$(printf '%-22s %12s runs %8s exec/s %7s corpus files  %s' \
        "$target" "${runs:-?}" "${rate:-?}" "$files" "$result")
    echo "$line"
    summary+=("$line")
done

if [ ${#NAMED_TARGETS[@]} -eq 0 ]; then
    if [ "$SECONDS_PER_TARGET" -ge 600 ]; then default_cases=10000; else default_cases=200; fi
    cases="${STATE_MACHINE_CASES:-$default_cases}"
    members="${STATE_MACHINE_MAX_MEMBERS:-12}"
    if [ "$cases" -gt 0 ]; then
        step "state-machine proptest: $cases cases, up to $members members"
        proptest_started=$SECONDS
        if STATE_MACHINE_CASES="$cases" STATE_MACHINE_MAX_MEMBERS="$members" \
            "${NICE[@]}" cargo test -p e2ee-core --test state_machine -- --nocapture; then
            result=ok
        else
            result=FAILED
            failed+=(state_machine)
        fi
        summary+=("$(printf '%-22s %12s cases in %d s  %s' state_machine "$cases" \
            "$((SECONDS - proptest_started))" "$result")")
    fi
fi

step "summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]}" >&2
    exit 1
fi
echo "no crash"
