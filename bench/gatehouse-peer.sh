#!/bin/sh
# Starts a release Gatehouse as a benchmark peer in the convention of
# shared/peers/bench-peers.sh: issuer http://127.0.0.1:$PORT, client bench /
# bench-secret with redirect_uri http://127.0.0.1:9/cb and ID tokens in $ALG,
# user bench / bench-password. State lives in a fresh folder under
# ${BENCH_DIR:-/tmp}; DATABASE_URL picks PostgreSQL instead of SQLite.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bin="${GATEHOUSE_BIN:-$here/target/release/gatehouse}"
port="${PORT:-3000}"
work=$(mktemp -d "${BENCH_DIR:-/tmp}/gatehouse-bench.XXXXXX")
export GATEHOUSE_DATABASE_URL="${DATABASE_URL:-sqlite://$work/gatehouse.db}"
export GATEHOUSE_KEYS_DIR="$work/keys"
cd "$work"
"$bin" account create bench >/dev/null
echo bench-password | "$bin" user create --username bench --email bench@example.com --account bench --password-stdin >/dev/null
echo bench-secret | "$bin" client create --client-id bench --redirect-uri http://127.0.0.1:9/cb \
    --id-token-alg "${ALG:-RS256}" --secret-stdin >/dev/null
exec "$bin" serve --listen "127.0.0.1:$port" --issuer "http://127.0.0.1:$port"
