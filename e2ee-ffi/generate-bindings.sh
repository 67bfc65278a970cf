#!/usr/bin/env bash
# Builds e2ee-ffi and generates its Kotlin, Swift and Python bindings into
# DIR (default target/bindings): DIR/{kotlin,swift,python} and the shared
# library DIR/libe2ee_ffi.so (also copied beside the Python module).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
profile="${E2EE_FFI_PROFILE:-debug}"
flag=(); [[ "$profile" == release ]] && flag=(--release)
cargo build -q -p e2ee-ffi -p uniffi-bindgen "${flag[@]}"
target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
out="${1:-$target/bindings}"
lib="$target/$profile/libe2ee_ffi.so"
rm -rf "$out" && mkdir -p "$out"
cp "$lib" "$out/"
for language in kotlin swift python; do
    "$target/$profile/uniffi-bindgen" generate --library "$lib" --language "$language" --out-dir "$out/$language" --no-format >/dev/null
done
cp "$lib" "$out/python/"
echo "bindings in $out: $(cd "$out" && find kotlin swift python -type f | tr '\n' ' ')"
