#!/bin/sh
# Starts a release Gatehouse as a benchmark peer in the convention of
# shared/peers/bench-peers.sh: issuer http://127.0.0.1:$PORT, client bench /
# bench-secret with redirect_uri http://127.0.0.1:9/cb and ID tokens in $ALG,
# user bench / bench-password. DATABASE_URL picks PostgreSQL instead of SQLite.
#
# State lives in $PEER_DIR (default: a fresh folder under ${BENCH_DIR:-/tmp}).
# `gatehouse-peer.sh prepare` only provisions it (database, keys, user and
# client), so that a later start can be timed without that work. With
# SIGNIN_USERS=N it also provisions the sign-in scenario's users.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bin="${GATEHOUSE_BIN:-$here/target/release/gatehouse}"
port="${PORT:-3000}"
work="${PEER_DIR:-$(mktemp -d "${BENCH_DIR:-/tmp}/gatehouse-bench.XXXXXX")}"
mkdir -p "$work"
export GATEHOUSE_DATABASE_URL="${DATABASE_URL:-sqlite://$work/gatehouse.db}"
export GATEHOUSE_KEYS_DIR="$work/keys"
cd "$work"
if [ ! -e "$work/provisioned" ]; then
    "$bin" account create bench >/dev/null
    echo bench-password | "$bin" user create --username bench --email bench@example.com --account bench --password-stdin >/dev/null
    echo bench-secret | "$bin" client create --client-id bench --redirect-uri http://127.0.0.1:9/cb \
        --id-token-alg "${ALG:-RS256}" --secret-stdin >/dev/null
    if [ "${SIGNIN_USERS:-0}" -gt 0 ]; then
        GATEHOUSE_BIN="$bin" "$here/bench/signin-users.sh" "$SIGNIN_USERS"
    fi
    # One start generates the signing keys; the timed start then finds them.
    "$bin" serve --listen "127.0.0.1:$port" --issuer "http://127.0.0.1:$port" >/dev/null 2>&1 &
    server=$!
    until curl -sf -o /dev/null "http://127.0.0.1:$port/.well-known/openid-configuration"; do sleep 0.05; done
    kill "$server"
    wait "$server" 2>/dev/null || true
    touch "$work/provisioned"
fi
[ "${1:-}" = prepare ] && exit 0
exec "$bin" serve --listen "127.0.0.1:$port" --issuer "http://127.0.0.1:$port"
