#!/usr/bin/env bash
# Gatehouse beside node-oidc-provider, measured in one run by the same load
# generator: each peer starts fresh, its start-up time and idle RSS are taken,
# the scenarios run, peers alternate per algorithm and concurrency. Prints the
# summary tables with Gatehouse/peer ratios, then the machine's limits.
#
#   bench/compare.sh [OUT_DIR]
#
# Environment (defaults in brackets): SHARED [../shared] ALGS ["RS256 ES256"]
# CONCURRENCY ["16"] DURATION [10] WARMUP [2] RUNS [3] PORT [3000]
# SCENARIOS [discovery,jwks,sso,refresh] DATABASE_URLS ["sqlite" and, when psql
# reaches it, "postgres://postgres@127.0.0.1:5432/test"] SIGNIN_USERS [1500]:
# Gatehouse's full sign-in (password + TOTP) runs with the first algorithm,
# with that many users (each signs in at most three times per 30 s window;
# 0 leaves the scenario out).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SHARED="$(cd "${SHARED:-$ROOT/../shared}" && pwd)"
PEERS_DIR="$SHARED/peers"
OUT="${1:-$ROOT/target/bench/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
ALGS="${ALGS:-RS256 ES256}"
CONCURRENCY="${CONCURRENCY:-16}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
RUNS="${RUNS:-3}"
PORT="${PORT:-3000}"
SCENARIOS="${SCENARIOS:-discovery,jwks,sso,refresh}"
SIGNIN_USERS="${SIGNIN_USERS:-1500}"
FIRST_ALG="${ALGS%% *}"
ISSUER="http://127.0.0.1:$PORT"
PG_ADMIN="postgres://postgres@127.0.0.1:5432/test"
PG_URL="postgres://postgres@127.0.0.1:5432/gatehouse_bench"
if [ -z "${DATABASE_URLS:-}" ]; then
  DATABASE_URLS="sqlite"
  if psql "$PG_ADMIN" -Atc 'select 1' >/dev/null 2>&1; then DATABASE_URLS="sqlite $PG_URL"; fi
fi

# Builds: ours in release, our load generator (bench/loadgen), and the peer's
# modules (copied out of the read-only shared folder).
(cd "$ROOT" && cargo build --release --locked -j 2)
(cd "$HERE/loadgen" && CARGO_TARGET_DIR="$ROOT/target/loadgen" cargo build --release --locked -j 2 --quiet)
LOADGEN="$ROOT/target/loadgen/release/gatehouse-loadgen"
GATEHOUSE="$ROOT/target/release/gatehouse"
WORK="$ROOT/target/bench/peers"
mkdir -p "$WORK"
rsync -a --delete --exclude node_modules --exclude target "$PEERS_DIR/" "$WORK/" 2>/dev/null || cp -r "$PEERS_DIR/." "$WORK/"
chmod -R u+w "$WORK"
(cd "$WORK/node-oidc-provider" && [ -d node_modules/oidc-provider ] || npm install --no-audit --no-fund >/dev/null)

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
PID=""
cleanup() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

# One peer run: NAME, start command, extra loadgen flags.
run_peer() {
  local name="$1" cmd="$2" extra="$3" alg="$4" c="$5"
  local tag="$name-$alg-c$c"
  local t0 t1 ready=""
  t0=$(date +%s%N)
  (PORT="$PORT" ALG="$alg" exec bash -c "$cmd") </dev/null >"$OUT/$tag.server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 3000); do
    if curl -sf -o /dev/null "$ISSUER/.well-known/openid-configuration"; then ready=1; break; fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.01
  done
  t1=$(date +%s%N)
  [ -n "$ready" ] || { echo "$name did not start; see $OUT/$tag.server.log" >&2; exit 1; }
  sleep 2
  local rss_idle; rss_idle=$(rss_mb "$PID")
  # shellcheck disable=SC2086
  "$LOADGEN" --issuer "$ISSUER" --client-id bench --client-secret bench-secret \
    --redirect-uri http://127.0.0.1:9/cb --expect-alg "$alg" --scenarios "$SCENARIOS" \
    --scope "openid profile email offline_access" \
    --concurrency "$c" --duration "$DURATION" --warmup "$WARMUP" --runs "$RUNS" \
    --server-pid "$PID" --label "$name $alg c=$c" $extra </dev/null >"$OUT/$tag.jsonl" 2>"$OUT/$tag.txt"
  printf '{"type":"peer","peer":"%s","alg":"%s","concurrency":%s,"startup_ms":%s,"rss_idle_mb":%s,"rss_after_load_mb":%s,"loadavg_before":"%s"}\n' \
    "$name" "$alg" "$c" "$(( (t1 - t0) / 1000000 ))" "$rss_idle" "$(rss_mb "$PID")" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    >>"$OUT/peer-meta.jsonl"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  sleep 1
}

: >"$OUT/peer-meta.jsonl"
for alg in $ALGS; do
  for c in $CONCURRENCY; do
    run_peer node-oidc-provider "cd '$WORK/node-oidc-provider' && exec node server.mjs" "" "$alg" "$c"
    for db in $DATABASE_URLS; do
      name="gatehouse-${db%%:*}"
      if [ "$db" = sqlite ]; then db_env=""; else
        # A fresh database of its own for each run.
        psql "$PG_ADMIN" -qc 'drop database if exists gatehouse_bench with (force)' >/dev/null
        psql "$PG_ADMIN" -qc 'create database gatehouse_bench' >/dev/null
        db_env="DATABASE_URL=$db"
      fi
      # Provisioned before the clock starts: the timed start is the server's own.
      peer_dir="$OUT/$name-$alg-c$c.state"
      rm -rf "$peer_dir"
      signin=""
      users=0
      if [ "$alg" = "$FIRST_ALG" ] && [ "$SIGNIN_USERS" -gt 0 ]; then
        users="$SIGNIN_USERS"
        signin="--scenarios $SCENARIOS,signin --signin-users $SIGNIN_USERS"
      fi
      env $db_env PORT="$PORT" PEER_DIR="$peer_dir" ALG="$alg" GATEHOUSE_BIN="$GATEHOUSE" SIGNIN_USERS="$users" \
        "$HERE/gatehouse-peer.sh" prepare
      run_peer "$name" "$db_env PEER_DIR='$peer_dir' GATEHOUSE_BIN='$GATEHOUSE' exec '$HERE/gatehouse-peer.sh'" \
        "--session-cmd $HERE/session-login.sh $signin" "$alg" "$c"
    done
  done
done

python3 "$WORK/summarize.py" "$OUT" --baseline node-oidc-provider | tee "$OUT/summary.md"

echo
echo "Limits of this machine (both cores):"
openssl speed -multi 2 -seconds 3 rsa2048 ecdsap256 ed25519 2>/dev/null | grep -E '^(rsa 2048|[ ]*256 bits ecdsa|[ ]*253 bits EdDSA)' | tee "$OUT/limits.txt" || true
(cd "$ROOT" && cargo run --release --locked -j 2 --quiet --example argon2_rate) | tee -a "$OUT/limits.txt"
echo "results in $OUT"
