# Helpers to run private redis-server and nginx instances for tests.
# Source this file from a bash script, then for example:
#
#   . scripts/lib/services.sh
#   services_init                      # temp dir + EXIT trap that stops everything
#   redis_start;  echo "redis on 127.0.0.1:$REDIS_PORT"
#   nginx_start "$NGINX_HTTP_BLOCK";   echo "nginx on 127.0.0.1:$NGINX_PORT"
#   ...
#   services_stop                      # optional: the trap does it too
#
# Each service binds 127.0.0.1 on a free port chosen at start, keeps all its
# files in the temp dir and runs in the foreground of a background job, so it
# is stopped by its own PID (never by name): tests never meet a system-wide
# instance or one another's.

SERVICES_DIR=""
SERVICES_PIDS=()
REDIS_PORT=""
REDIS_PID=""
NGINX_PORT=""
NGINX_PID=""

# Creates the temp dir and installs an EXIT trap that stops the services and
# removes the dir. If the caller already has an EXIT trap, call services_stop
# from it instead (pass "notrap").
services_init() {
    SERVICES_DIR="$(mktemp -d "${TMPDIR:-/tmp}/e2ee-services.XXXXXX")"
    # nginx workers run as `nobody` when started by root: let them reach it.
    chmod 755 "$SERVICES_DIR"
    if [ "${1:-}" != "notrap" ]; then
        trap services_stop EXIT
        trap 'services_stop; exit 130' INT
        trap 'services_stop; exit 143' TERM
    fi
}

# Prints a TCP port on 127.0.0.1 that nothing listens on right now.
services_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# services_wait_port PORT PID NAME: waits up to 10 s for PORT to accept
# connections while PID is alive.
services_wait_port() {
    local port="$1" pid="$2" name="$3" i
    for i in $(seq 100); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "services: $name exited during startup" >&2
            return 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "services: $name did not listen on 127.0.0.1:$port within 10 s" >&2
    return 1
}

# Starts redis-server on a free loopback port, no persistence.
# Sets REDIS_PORT and REDIS_PID.
redis_start() {
    [ -n "$SERVICES_DIR" ] || services_init
    local dir="$SERVICES_DIR/redis"
    mkdir -p "$dir"
    REDIS_PORT="$(services_free_port)"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
        --daemonize no --dir "$dir" --logfile "$dir/redis.log" &
    REDIS_PID=$!
    SERVICES_PIDS+=("$REDIS_PID")
    services_wait_port "$REDIS_PORT" "$REDIS_PID" redis-server || { cat "$dir/redis.log" >&2 2>/dev/null; return 1; }
}

# nginx_start [HTTP_BLOCK]: starts nginx as an unprivileged-path process on a
# free loopback port. HTTP_BLOCK is extra text placed inside `http { }`; the
# string @PORT@ in it is replaced by the chosen port. Without it, nginx serves
# a single `location /` returning 200 "ok". The config always has
# `map $http_upgrade $connection_upgrade` for WebSocket proxying.
# Sets NGINX_PORT and NGINX_PID.
nginx_start() {
    [ -n "$SERVICES_DIR" ] || services_init
    local dir="$SERVICES_DIR/nginx" block="${1:-}"
    mkdir -p "$dir/logs" "$dir/tmp"
    NGINX_PORT="$(services_free_port)"
    if [ -z "$block" ]; then
        block='server { listen 127.0.0.1:@PORT@; location / { return 200 "ok\n"; } }'
    fi
    block="${block//@PORT@/$NGINX_PORT}"
    cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 256; }
http {
    access_log $dir/logs/access.log;
    client_body_temp_path $dir/tmp/client_body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
    $block
}
CONF
    nginx -c "$dir/nginx.conf" -p "$dir" -g 'daemon off;' &
    NGINX_PID=$!
    SERVICES_PIDS+=("$NGINX_PID")
    services_wait_port "$NGINX_PORT" "$NGINX_PID" nginx || { cat "$dir/logs/error.log" >&2 2>/dev/null; return 1; }
}

# Stops every service started here (by PID: TERM, then KILL after 5 s) and
# removes the temp dir. Safe to call more than once.
services_stop() {
    local pid i
    for pid in "${SERVICES_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || continue
        for i in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    SERVICES_PIDS=()
    REDIS_PID="" NGINX_PID=""
    if [ -n "$SERVICES_DIR" ]; then
        rm -rf "$SERVICES_DIR"
        SERVICES_DIR=""
    fi
}
