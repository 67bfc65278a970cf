#!/usr/bin/env bash
# Builds e2ee-ffi, generates its Kotlin, Swift and Python bindings, and
# tests them: the Python test against the generated module; the Kotlin test
# compiled with kotlinc against the packaged JVM jar (bindings + native
# library, loaded by JNA from the classpath) and run on the JDK; and the
# Python wheel (maturin) installed into a fresh virtualenv, where the same
# Python test runs again; between them, test-samples.sh runs the Python and
# Kotlin chat samples with a web-chat client through reference-server.
# Fails if any fails; says which ran.
# Needs kotlinc, JNA and maturin from scripts/install-deps.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/lib/tools.sh"
cd "$root"

target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
out="${E2EE_BINDINGS_DIR:-$target/bindings}"
bash "$here/generate-bindings.sh" "$out"
ran=()

echo "== Python test (generated module)"
cp "$here/tests/python/test_e2ee.py" "$out/python/"
(cd "$out/python" && python3 -m unittest -v test_e2ee)
ran+=("python")

echo "== Kotlin: JVM jar and test (kotlinc $KOTLIN_VERSION, JNA $JNA_JAR)"
for tool in "$KOTLINC" "$JNA_JAR"; do
    [[ -e "$tool" ]] || { echo "missing $tool: run scripts/install-deps.sh" >&2; exit 1; }
done
bash "$here/build-jar.sh" "$out"
# The test and the chat sample (test-samples.sh) in one compiler run: each
# kotlinc start costs tens of seconds.
apps_jar="$out/kotlin-apps.jar"
"$KOTLINC" -nowarn "$here/tests/kotlin/Main.kt" "$root/examples/kotlin-chat/Chat.kt" \
    -cp "$out/e2ee.jar:$JNA_JAR" -include-runtime -d "$apps_jar"
java -cp "$apps_jar:$out/e2ee.jar:$JNA_JAR" MainKt
ran+=("kotlin (jvm)")

echo "== Chat samples (Python, Kotlin, web chat protocol) through reference-server"
bash "$here/test-samples.sh" "$out"
ran+=("samples chat")

echo "== Python wheel (maturin $MATURIN_VERSION) in a fresh virtualenv"
[[ -x "$MATURIN" ]] || { echo "maturin missing at $MATURIN: run scripts/install-deps.sh" >&2; exit 1; }
wheels="$out/wheels"
(cd "$here" && "$MATURIN" build --quiet --profile dev --out "$wheels") 2>&1 | grep -v '^warning\|old-style' || true
venv="$(mktemp -d)"
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "$wheels"/e2ee-*.whl
mkdir "$venv/test" && cp "$here/tests/python/test_e2ee.py" "$venv/test/"
(cd "$venv/test" && "$venv/bin/python" -m unittest test_e2ee)
ran+=("python wheel")

echo "bindings: ran and passed: ${ran[*]}. Swift: generated only (no Swift toolchain on this machine)."
