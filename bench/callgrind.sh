#!/usr/bin/env bash
# Instructions per operation, counted by valgrind's callgrind: repeatable from
# run to run (unlike time) on any machine here. A release Gatehouse (with line
# tables) runs under callgrind; the load generator drives one scenario with
# one client for a while; the counts are zeroed before and dumped after, and
# divided by the operations the load generator completed. Beside them, the
# signatures alone (examples/sign_cost.rs under callgrind, the same keys).
#
# valgrind's virtual CPU lacks ADX (and the libraries then take their
# "nohw" paths), so the counts inside OpenSSL and ring are of code slower
# than the machine runs natively: compare them across changes of our code,
# not between crypto libraries (time those natively, as BENCHMARKS.md does).
#
#   bench/callgrind.sh [OUT_DIR]
#
# Environment (defaults in brackets): SCENARIOS ["sso signin"] ALG [RS256]
# ACCESS_ALG [ES256] DURATION [20] (seconds of load per scenario under
# callgrind) DATABASE_URL [a fresh SQLite file] PORT [3100] TOP [25]
# (functions listed, by inclusive count).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUT="${1:-$ROOT/target/bench/callgrind-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
SCENARIOS="${SCENARIOS:-sso signin}"
ALG="${ALG:-RS256}"
ACCESS_ALG="${ACCESS_ALG:-ES256}"
DURATION="${DURATION:-20}"
PORT="${PORT:-3100}"
TOP="${TOP:-25}"
ISSUER="http://127.0.0.1:$PORT"

# Release code with line tables, in its own target dir so that the normal
# release build is not rebuilt.
export CARGO_TARGET_DIR="$ROOT/target/callgrind"
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
(cd "$ROOT" && cargo build --release --locked -j 2 --bin gatehouse --example sign_cost)
BIN="$CARGO_TARGET_DIR/release/gatehouse"
SIGN_COST="$CARGO_TARGET_DIR/release/examples/sign_cost"
(cd "$HERE/loadgen" && CARGO_TARGET_DIR="$ROOT/target/loadgen" cargo build --release --locked -j 2 --quiet)
LOADGEN="$ROOT/target/loadgen/release/gatehouse-loadgen"
unset CARGO_TARGET_DIR CARGO_PROFILE_RELEASE_DEBUG

PEER_DIR="$OUT/peer"
rm -rf "$PEER_DIR"
GATEHOUSE_BIN="$BIN" PEER_DIR="$PEER_DIR" PORT="$PORT" ALG="$ALG" SIGNIN_USERS=200 \
    "$HERE/gatehouse-peer.sh" prepare
export GATEHOUSE_DATABASE_URL="${DATABASE_URL:-sqlite://$PEER_DIR/gatehouse.db}"
export GATEHOUSE_KEYS_DIR="$PEER_DIR/keys"
export GATEHOUSE_ACCESS_TOKEN_ALG="$ACCESS_ALG"

PID=""
cleanup() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

# The total count of dump $1.
total_of() {
    callgrind_annotate "$1" 2>/dev/null |
        awk '/PROGRAM TOTALS/ && !done { gsub(",", "", $1); print $1; done = 1 }'
}

# Functions of dump $1 per operation ($2 of them): with $3 "self", the top
# $TOP by their own instructions (the thread entry points, which the
# annotator credits with everything, left out); with "ours", this crate's
# functions by inclusive count (they do not recurse, so it adds up).
functions() {
    local inclusive=no
    [ "$3" = ours ] && inclusive=yes
    callgrind_annotate --inclusive=$inclusive --threshold=100 --auto=no "$1" 2>/dev/null |
        awk -v n="$2" -v top="$TOP" -v mode="$3" '
            /^-+$/ { dashes++; next }
            dashes < 3 || NF < 3 || $1 !~ /^[0-9,]+$/ { next }
            {
                count = $1; gsub(",", "", count)
                name = $0; sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", name)
                sub(/ \[[^]]*\]$/, "", name); sub(/^[^:]*:/, "", name)
                if (name ~ /^(clone|start_thread)$|thread_start|vtable\.shim|__rust_begin_short_backtrace|PROGRAM TOTALS/) next
                if (mode == "ours" && name !~ /gatehouse::/) next
                if (shown >= top) next
                if (length(name) > 120) name = substr(name, 1, 117) "..."
                printf "%12.0f  %s\n", count / n, name; shown++
            }'
}

echo "# instructions per operation (valgrind --tool=callgrind), $(date -u +%FT%TZ), at $(git -C "$ROOT" rev-parse --short HEAD)"
echo "# ID tokens $ALG, access tokens $ACCESS_ALG, database ${GATEHOUSE_DATABASE_URL%%:*}"

for scenario in $SCENARIOS; do
    dump="$OUT/$scenario.callgrind"
    valgrind --tool=callgrind --callgrind-out-file="$dump" --dump-instr=no --collect-jumps=no \
        "$BIN" serve --listen "127.0.0.1:$PORT" --issuer "$ISSUER" >"$OUT/$scenario.server.log" 2>&1 &
    PID=$!
    until curl -sf -o /dev/null "$ISSUER/.well-known/openid-configuration"; do sleep 0.5; done
    flags=(--issuer "$ISSUER" --client-id bench --client-secret bench-secret
        --redirect-uri http://127.0.0.1:9/cb --concurrency 1 --runs 1 --warmup 0
        --duration "$DURATION" --scenarios "$scenario" --label "callgrind-$scenario")
    case "$scenario" in
        sso)
            # One session made before the counts start: its sign-in is not counted.
            cookie=$(OIDC_ISSUER="$ISSUER" OIDC_AUTHORIZATION_ENDPOINT="$ISSUER/authorize" \
                OIDC_CLIENT_ID=bench OIDC_REDIRECT_URI=http://127.0.0.1:9/cb OIDC_SCOPE=openid \
                "$HERE/session-login.sh")
            flags+=(--session-cookie "$cookie")
            # A few round trips first, so that one-time set-up is not counted.
            "$LOADGEN" "${flags[@]}" --duration 3 >/dev/null 2>&1
            ;;
        signin)
            flags+=(--signin-users 200 --signin-prefix signin- --signin-password bench-password)
            ;;
    esac
    callgrind_control -z "$PID" >/dev/null
    "$LOADGEN" "${flags[@]}" >"$OUT/$scenario.jsonl" 2>/dev/null
    callgrind_control -d "$PID" >/dev/null
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=""
    # The dump of the zeroed period is the highest-numbered part file.
    part=$(ls -1 "$dump".* 2>/dev/null | sort -t. -k3 -n | tail -n 1)
    ops=$(python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") == "result": print(r["ok"]); break' "$OUT/$scenario.jsonl")
    total=$(total_of "$part")
    echo
    echo "## $scenario: $ops operations, $((total / ops)) instructions each"
    echo "### by their own instructions, per operation (top $TOP)"
    functions "$part" "$ops" self
    echo "### this crate's functions, inclusive, per operation (top $TOP)"
    functions "$part" "$ops" ours
done

echo
echo "## the signatures alone (examples/sign_cost.rs: the provider's keys, its claims)"
for alg in "$ALG" "$ACCESS_ALG"; do
    for n in 0 200; do
        valgrind --tool=callgrind --callgrind-out-file="$OUT/sign-$alg-$n.callgrind" \
            "$SIGN_COST" "$GATEHOUSE_KEYS_DIR" "$alg" "$n" >/dev/null 2>&1
    done
    a=$(total_of "$OUT/sign-$alg-0.callgrind")
    b=$(total_of "$OUT/sign-$alg-200.callgrind")
    echo "$alg: $(((b - a) / 200)) instructions per signed token"
done
