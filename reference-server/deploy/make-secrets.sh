#!/usr/bin/env bash
# Makes what docker-compose.yml needs and the repository must not hold:
# the Redis password (.env), the token-signing key (secrets/token.key) and,
# unless tls/ has one, a self-signed certificate for localhost (put a real
# certificate and key there for anything public). Keeps whatever exists.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
umask 077
if [ ! -f .env ]; then
    printf 'E2EE_REDIS_PASSWORD=%s\n' "$(openssl rand -hex 24)" >.env
fi
mkdir -p secrets tls
if [ ! -f secrets/token.key ]; then
    openssl rand -hex 32 >secrets/token.key
fi
# Docker mounts the file as it is on the host, and the replicas run as an
# unprivileged user: the file is readable, its directory is not.
chmod 0700 secrets
chmod 0644 secrets/token.key
if [ ! -f tls/cert.pem ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        -keyout tls/key.pem -out tls/cert.pem 2>/dev/null
    chmod 0755 tls
    chmod 0644 tls/cert.pem
fi
echo "make-secrets: .env, secrets/token.key and tls/ are ready"
