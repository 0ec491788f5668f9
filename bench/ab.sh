#!/usr/bin/env bash
# Two Gatehouse builds measured in one run by the same load generator, for a
# before/after ratio of a change: each starts fresh (SQLite, provisioned by
# gatehouse-peer.sh), the two alternate per round, algorithm and scenario.
# Prints requests per second and server CPU per request of each, and the
# ratio after/before.
#
#   bench/ab.sh BEFORE_BIN AFTER_BIN [OUT_DIR]
#
# Environment (defaults in brackets): ALGS ["RS256 ES256"] CONCURRENCY [16]
# DURATION [10] WARMUP [2] ROUNDS [3] PORT [3000] SCENARIOS [sso,discovery]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BEFORE="$(realpath "$1")"
AFTER="$(realpath "$2")"
OUT="${3:-$ROOT/target/bench/ab-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
ALGS="${ALGS:-RS256 ES256}"
CONCURRENCY="${CONCURRENCY:-16}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
ROUNDS="${ROUNDS:-3}"
PORT="${PORT:-3000}"
SCENARIOS="${SCENARIOS:-sso,discovery}"
ISSUER="http://127.0.0.1:$PORT"

(cd "$HERE/loadgen" && CARGO_TARGET_DIR="$ROOT/target/loadgen" cargo build --release --locked -j 2 --quiet)
LOADGEN="$ROOT/target/loadgen/release/gatehouse-loadgen"

PID=""
cleanup() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

# One measured run: NAME, binary, algorithm, round.
run() {
  local name="$1" bin="$2" alg="$3" round="$4"
  local tag="$name-$alg-r$round" dir="$OUT/$name-$alg-r$round.state"
  rm -rf "$dir"
  PORT="$PORT" PEER_DIR="$dir" ALG="$alg" GATEHOUSE_BIN="$bin" "$HERE/gatehouse-peer.sh" prepare
  (PORT="$PORT" PEER_DIR="$dir" ALG="$alg" GATEHOUSE_BIN="$bin" exec "$HERE/gatehouse-peer.sh") \
    </dev/null >"$OUT/$tag.server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 3000); do
    curl -sf -o /dev/null "$ISSUER/.well-known/openid-configuration" && break
    kill -0 "$PID" 2>/dev/null || { echo "$name did not start; see $OUT/$tag.server.log" >&2; exit 1; }
    sleep 0.01
  done
  sleep 1
  "$LOADGEN" --issuer "$ISSUER" --client-id bench --client-secret bench-secret \
    --redirect-uri http://127.0.0.1:9/cb --expect-alg "$alg" --scenarios "$SCENARIOS" \
    --scope "openid profile email offline_access" \
    --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup "$WARMUP" --runs 1 \
    --server-pid "$PID" --label "$name $alg" --session-cmd "$HERE/session-login.sh" \
    </dev/null >"$OUT/$tag.jsonl" 2>"$OUT/$tag.txt"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  sleep 1
}

for round in $(seq 1 "$ROUNDS"); do
  for alg in $ALGS; do
    # The order alternates per round, so that neither build always runs first.
    if [ $((round % 2)) -eq 1 ]; then
      run before "$BEFORE" "$alg" "$round"; run after "$AFTER" "$alg" "$round"
    else
      run after "$AFTER" "$alg" "$round"; run before "$BEFORE" "$alg" "$round"
    fi
  done
done

python3 - "$OUT" <<'PY' | tee "$OUT/summary.md"
import json, sys, glob, os, statistics
out = sys.argv[1]
rows = {}
for path in glob.glob(os.path.join(out, "*.jsonl")):
    name, alg, _ = os.path.basename(path)[:-6].split("-")
    for line in open(path):
        r = json.loads(line)
        if r.get("type") != "result":
            continue
        key = (r["scenario"], alg)
        rows.setdefault(key, {}).setdefault(name, []).append(r)
def med(rs, field):
    get = (lambda r: (r.get("server") or {}).get("cpu_ms_per_op")) if field == "cpu" else (lambda r: r.get(field))
    values = [get(r) for r in rs if get(r) is not None]
    return statistics.median(values) if values else float("nan")
print("| scenario | alg | before req/s | after req/s | after/before | before CPU ms/req | after CPU ms/req |")
print("|---|---|---|---|---|---|---|")
for (scenario, alg), by in sorted(rows.items()):
    b, a = by.get("before", []), by.get("after", [])
    brps, arps = med(b, "rps"), med(a, "rps")
    print(f"| {scenario} | {alg} | {brps:,.0f} | {arps:,.0f} | {arps / brps:.2f} | "
          f"{med(b, 'cpu'):.3f} | {med(a, 'cpu'):.3f} |")
PY
echo "results in $OUT"
