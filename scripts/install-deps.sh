#!/usr/bin/env bash
# Installs everything the tests need on a Debian 12 machine with rustup, Node
# and a JDK. Idempotent: every step checks first and does nothing when its tool
# is already there, so a second run takes a second or two. Needs root (or sudo)
# only when apt packages are missing. Prints one line per step.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=lib/tools.sh
. "$ROOT/scripts/lib/tools.sh"

step() { printf 'install-deps: %s\n' "$*"; }

# --- Rust components and targets -------------------------------------------
installed_components="$(rustup component list --installed)"
for component in rustfmt clippy; do
    if grep -q "^$component" <<<"$installed_components"; then
        step "rustup component $component: present"
    else
        step "rustup component $component: installing"
        rustup -q component add "$component"
    fi
done

installed_targets="$(rustup target list --installed)"
for target in wasm32-unknown-unknown thumbv7em-none-eabihf; do
    if grep -qx "$target" <<<"$installed_targets"; then
        step "rustup target $target: present"
    else
        step "rustup target $target: installing"
        rustup -q target add "$target"
    fi
done

# --- Debian packages ---------------------------------------------------------
# libssl-dev and pkg-config: mls-rs's OpenSSL provider, the interop peer
# for cipher suites 4 to 7.
apt_packages=(redis-server nginx chromium libjna-java python3-venv libssl-dev pkg-config)
missing=()
for pkg in "${apt_packages[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -eq 0 ]; then
    step "apt ${apt_packages[*]}: present"
else
    step "apt ${missing[*]}: installing"
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
    # Keep package scripts from starting system-wide redis/nginx services:
    # tests start their own on private ports (scripts/lib/services.sh).
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
        "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    apt_opts=(-y -q -o DPkg::Lock::Timeout=300)
    apt_log="$(mktemp)"
    if ! { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update &&
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install "${missing[@]}"; } \
        >"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        step "apt ${missing[*]}: FAILED (log above)"
        exit 1
    fi
    rm -f "$apt_log"
    if [ "$made_policy" -eq 1 ]; then "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d; fi
    step "apt ${missing[*]}: installed"
fi

# --- Kotlin compiler (npm package kotlin-compiler) ---------------------------
if [ -x "$KOTLINC" ]; then
    step "kotlinc $KOTLIN_VERSION: present at $KOTLINC"
else
    step "kotlinc $KOTLIN_VERSION: installing"
    dest="$(dirname "$(dirname "$(dirname "$KOTLINC")")")"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent --no-fund --no-audit "kotlin-compiler@$KOTLIN_VERSION" >/dev/null)
    mkdir -p "$tmp/unpack"
    tar xzf "$tmp"/kotlin-compiler-*.tgz -C "$tmp/unpack"
    chmod +x "$tmp/unpack/package/bin/"*
    mkdir -p "$(dirname "$dest")"
    rm -rf "$dest"
    mv "$tmp/unpack" "$dest"
    step "kotlinc $KOTLIN_VERSION: installed at $KOTLINC"
fi

# --- maturin (Python wheel of e2ee-ffi), in a private virtualenv ------------
if [ "$("$MATURIN" --version 2>/dev/null | awk '{print $2}')" = "$MATURIN_VERSION" ]; then
    step "maturin $MATURIN_VERSION: present"
else
    step "maturin $MATURIN_VERSION: installing into $PY_TOOLS_VENV"
    python3 -m venv "$PY_TOOLS_VENV"
    "$PY_TOOLS_VENV/bin/pip" install --quiet --disable-pip-version-check "maturin==$MATURIN_VERSION"
    step "maturin $MATURIN_VERSION: installed"
fi

# --- wasm-bindgen-cli, pinned to the wasm-bindgen in Cargo.lock ---------------
wb_version="$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock 2>/dev/null || true)"
if [ -z "$wb_version" ]; then
    step "wasm-bindgen-cli: skipped (no crate uses wasm-bindgen yet)"
elif [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" = "$wb_version" ]; then
    step "wasm-bindgen-cli $wb_version: present"
else
    step "wasm-bindgen-cli $wb_version: installing (about 2 minutes)"
    # No --locked: some wasm-bindgen-cli releases do not install with it.
    cargo install --quiet --force wasm-bindgen-cli --version "=$wb_version"
    step "wasm-bindgen-cli $wb_version: installed"
fi
