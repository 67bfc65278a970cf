#!/usr/bin/env bash
# The chat samples (examples/python-chat, examples/kotlin-chat) for real:
# builds reference-server and the Kotlin sample, then runs
# tests/samples/chat_test.py, where the Python sample, the Kotlin sample and a
# client speaking the web chat's protocol (tests/samples/web-peer.mjs, on the
# web chat's server.js and the npm package in e2ee-wasm/pkg) form a group
# through the server. Usage: test-samples.sh DIR, where DIR holds the
# generated bindings and e2ee.jar (test-bindings.sh makes them). Builds
# e2ee-wasm/pkg first if it is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/lib/tools.sh"
cd "$root"
out="$1"

target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
# The server's binary: $E2EE_SERVER_BIN (the test command passes the one
# the workspace build made), or built here.
server="${E2EE_SERVER_BIN:-}"
if [[ -z "$server" ]]; then
    cargo build -q -p reference-server
    server="$target/debug/reference-server"
fi

if [[ ! -f e2ee-wasm/pkg/node.js ]]; then
    echo "e2ee-wasm/pkg is missing: building it (npm run build)"
    (cd e2ee-wasm && npm ci --no-audit --no-fund --silent && npm run build --silent)
fi

# test-bindings.sh compiles the sample together with its own test.
chat_jar="$out/kotlin-apps.jar"
if [[ ! -f "$chat_jar" ]]; then
    "$KOTLINC" -nowarn "$root/examples/kotlin-chat/Chat.kt" -cp "$out/e2ee.jar:$JNA_JAR" -include-runtime -d "$chat_jar"
fi

python3 "$here/tests/samples/chat_test.py" "$server" \
    -- env PYTHONPATH="$out/python" python3 "$root/examples/python-chat/chat.py" \
    -- java -cp "$chat_jar:$out/e2ee.jar:$JNA_JAR" ChatKt \
    -- node --experimental-websocket --no-warnings "$here/tests/samples/web-peer.mjs"
