#!/usr/bin/env bash
# Builds e2ee-ffi, generates its Kotlin, Swift and Python bindings, then
# compiles and runs the Kotlin test on the JVM and runs the Python test.
# Fails if either fails; says which ran. Needs kotlinc and JNA from
# scripts/install-deps.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/lib/tools.sh"
cd "$root"

target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
out="${E2EE_BINDINGS_DIR:-$target/bindings}"
bash "$here/generate-bindings.sh" "$out"
lib="$out/libe2ee_ffi.so"

echo "== Python test"
cp "$here/tests/python/test_e2ee.py" "$out/python/"
(cd "$out/python" && python3 -m unittest -v test_e2ee)

echo "== Kotlin test (kotlinc $KOTLIN_VERSION, JNA $JNA_JAR)"
[[ -x "$KOTLINC" ]] || { echo "kotlinc missing at $KOTLINC: run scripts/install-deps.sh" >&2; exit 1; }
[[ -f "$JNA_JAR" ]] || { echo "JNA missing at $JNA_JAR: run scripts/install-deps.sh" >&2; exit 1; }
jar="$out/kotlin-test.jar"
"$KOTLINC" -nowarn "$out/kotlin/e2ee/e2ee_ffi.kt" "$here/tests/kotlin/Main.kt" -cp "$JNA_JAR" -include-runtime -d "$jar" 2>&1 \
    | grep -v '^warning' || true
[[ -f "$jar" ]] || { echo "Kotlin compilation failed" >&2; exit 1; }
java -Djna.library.path="$(dirname "$lib")" -cp "$jar:$JNA_JAR" MainKt

echo "bindings: Python and Kotlin tests ran and passed (Swift generated, not compiled: no Swift toolchain here)"
