#!/usr/bin/env bash
# Packages the Kotlin bindings for the JVM: DIR/e2ee.jar holds the compiled
# bindings (package `e2ee`) and the native library under linux-x86-64/, where
# JNA finds it on the classpath. Run generate-bindings.sh DIR first.
# Users add e2ee.jar, JNA (5.13+) and the Kotlin stdlib to the classpath.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib/tools.sh"
out="$1"
classes="$(mktemp -d)"
trap 'rm -rf "$classes"' EXIT
"$KOTLINC" -nowarn "$out/kotlin/e2ee/e2ee_ffi.kt" -cp "$JNA_JAR" -d "$classes"
mkdir -p "$classes/linux-x86-64"
cp "$out/libe2ee_ffi.so" "$classes/linux-x86-64/"
rm -f "$out/e2ee.jar"
(cd "$classes" && jar cf "$out/e2ee.jar" .)
echo "jar: $out/e2ee.jar"
