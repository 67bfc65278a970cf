# Shared locations of tools that scripts/install-deps.sh installs outside the
# system package manager. Source this file; it only sets variables.

# Where downloaded tools are unpacked (kept across runs).
E2EE_TOOLS_DIR="${E2EE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/e2ee-tools}"

# Kotlin compiler, from the npm package `kotlin-compiler` (a JVM distribution).
KOTLIN_VERSION="2.4.20"
KOTLINC="$E2EE_TOOLS_DIR/kotlin-compiler-$KOTLIN_VERSION/package/bin/kotlinc"

# JNA, needed by uniffi-generated Kotlin code (Debian package libjna-java).
JNA_JAR="/usr/share/java/jna.jar"

# maturin (builds the Python wheel of e2ee-ffi), in its own virtualenv.
MATURIN_VERSION="1.16.0"
PY_TOOLS_VENV="$E2EE_TOOLS_DIR/py-venv"
MATURIN="$PY_TOOLS_VENV/bin/maturin"
