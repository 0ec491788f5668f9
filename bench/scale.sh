#!/usr/bin/env bash
# The scale benchmark: every hot path and console page on a small database
# and on one grown to 200,000 members in one account, 210,000 sessions,
# 228,000 grants and 1,000,000 audit events (bench/scale/grow.sql, which
# also fills the small one: 100 members and 1,000 events), on
# SQLite and PostgreSQL; then the purge of 50,000 idle sessions and 50,000
# spent grants at the large size. Prints one table per database with the
# large/small ratio of each, and writes it to OUT_DIR/summary.md.
#
#   bench/scale.sh [OUT_DIR]
#
# Environment (defaults in brackets): BACKENDS ["sqlite postgres"] SAMPLES
# [40] page requests timed per page (median and 90th percentile by curl's
# time_total, one keep-alive connection) DURATION [5] seconds per hot path
# (gatehouse-loadgen, 16 clients) SIGNIN_USERS [600] PORT [3100].
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUT="${1:-$ROOT/target/bench/scale-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
BACKENDS="${BACKENDS:-sqlite postgres}"
SAMPLES="${SAMPLES:-40}"
DURATION="${DURATION:-5}"
SIGNIN_USERS="${SIGNIN_USERS:-600}"
PORT="${PORT:-3100}"
ISSUER="http://127.0.0.1:$PORT"
PG_ADMIN="postgres://postgres@127.0.0.1:5432/test"
PG_URL="postgres://postgres@127.0.0.1:5432/gatehouse_scale"

(cd "$ROOT" && cargo build --release --locked -j 2)
(cd "$HERE/loadgen" && CARGO_TARGET_DIR="$ROOT/target/loadgen" cargo build --release --locked -j 2 --quiet)
LOADGEN="$ROOT/target/loadgen/release/gatehouse-loadgen"
export GATEHOUSE_BIN="$ROOT/target/release/gatehouse"

rm -f "$OUT/results.jsonl"
PID=""
cleanup() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

# SQL against the run's database: a statement or a file (with :now replaced).
sql() {
  case "$DATABASE_URL" in
    sqlite://*) python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.executescript(sys.argv[2]); db.commit()' "${DATABASE_URL#sqlite://}" "$1" ;;
    *) psql "$DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -c "$1" ;;
  esac
}
query() {
  case "$DATABASE_URL" in
    sqlite://*) python3 -c 'import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print("|".join(map(str, row)))' "${DATABASE_URL#sqlite://}" "$1" ;;
    *) psql "$DATABASE_URL" -qAt -c "$1" ;;
  esac
}
sql_file() {
  local text
  text="$(sed -e "s/:now/$NOW/g" -e "s/:members/$MEMBERS/g" -e "s/:sessions/$SESSIONS/g" \
      -e "s/:grants/$GRANTS/g" -e "s/:events/$EVENTS/g" "$1")"
  case "$DATABASE_URL" in
    postgres*) text="set session_replication_role = replica; $text; set session_replication_role = origin;" ;;
  esac
  sql "$text"
}

start_server() {
  (cd "$WORK" && exec "$GATEHOUSE_BIN" serve --listen "127.0.0.1:$PORT" --issuer "$ISSUER" \
      >"$WORK/server.log" 2>&1) &
  PID=$!
  until curl -sf -o /dev/null "$ISSUER/.well-known/openid-configuration"; do sleep 0.1; done
}
stop_server() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; }

# Median and 90th percentile of SAMPLES requests to one console page, after
# one unmeasured: the server's own time (its request log's micros) and
# curl's time_total (one keep-alive connection). Every answer must be 200.
time_page() {
  local name="$1" path="$2" args=() bad logged
  for _ in $(seq 0 "$SAMPLES"); do args+=(-o /dev/null "$ISSUER$path"); done
  logged=$(wc -l <"$WORK/server.log")
  curl -s -H "Cookie: gatehouse_session=$COOKIE" -w '%{http_code} %{time_total}\n' "${args[@]}" \
      >"$WORK/page.txt"
  bad="$(awk '$1 != 200 { print; exit }' "$WORK/page.txt")"
  if [ -n "$bad" ]; then echo "page $name ($path): HTTP $bad" >&2; exit 1; fi
  sleep 0.2
  python3 - "$WORK/page.txt" "$WORK/server.log" "$logged" "$LABEL" "$name" >>"$OUT/results.jsonl" <<'PY'
import json, re, sys
def pct(values, q):
    values = sorted(values)
    return values[max(0, int(round(q * len(values))) - 1)]
client = [float(line.split()[1]) * 1000 for line in open(sys.argv[1]).readlines()[1:]]
lines = open(sys.argv[2]).readlines()[int(sys.argv[3]):]
server = [int(m.group(1)) / 1000 for m in (re.search(r"gatehouse::request: .* micros=(\d+)", l) for l in lines) if m][1:]
print(json.dumps({"type": "page", "label": sys.argv[4], "page": sys.argv[5],
                  "p50_ms": pct(server, 0.5), "p90_ms": pct(server, 0.9),
                  "client_p50_ms": pct(client, 0.5)}))
PY
}

for backend in $BACKENDS; do
  for size in small large; do
    LABEL="$backend-$size"
    WORK="$OUT/$LABEL"
    rm -rf "$WORK"; mkdir -p "$WORK"
    if [ "$backend" = postgres ]; then
      psql "$PG_ADMIN" -qc "drop database if exists gatehouse_scale" -c "create database gatehouse_scale"
      export DATABASE_URL="$PG_URL"
    else
      export DATABASE_URL="sqlite://$WORK/gatehouse.db"
    fi
    export GATEHOUSE_DATABASE_URL="$DATABASE_URL" GATEHOUSE_KEYS_DIR="$WORK/keys"
    echo "== $LABEL: provisioning" >&2
    PEER_DIR="$WORK" PORT="$PORT" ALG=ES256 SIGNIN_USERS="$SIGNIN_USERS" "$HERE/gatehouse-peer.sh" prepare
    "$GATEHOUSE_BIN" account create scale >/dev/null
    echo bench-password | "$GATEHOUSE_BIN" user create --username scale-admin \
        --email scale-admin@example.com --account scale --admin --password-stdin >/dev/null
    NOW="$(date +%s)"
    # The administrator's authenticator app and a signed-in (aal2) session.
    COOKIE="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    HASH="$(printf %s "$COOKIE" | sha256sum | cut -d' ' -f1)"
    sql "insert into totp_factors (id, user_id, secret_enc, last_step, confirmed_at, created_at)
         select 'admin-totp', id, 'sealed', 0, $NOW, $NOW from users where username = 'scale-admin';
         insert into sessions (id_hash, sid, user_id, auth_time, acr, amr, created_at, last_seen_at,
                               expires_at, idle_secs, idle_until)
         select '$HASH', 'admin-sid', id, $NOW, 'aal2', 'pwd otp', $NOW, $NOW, $NOW + 86400,
                86400, $NOW + 86400 from users where username = 'scale-admin'"
    # The small size fills every page the console shows (100 members, a
    # thousand events); the large one is the issue's.
    if [ "$size" = large ]; then
      MEMBERS=200000 SESSIONS=210000 GRANTS=228000 EVENTS=1000000
    else
      MEMBERS=100 SESSIONS=105 GRANTS=114 EVENTS=1000
    fi
    echo "== $LABEL: growing to $MEMBERS members, $EVENTS events" >&2
    started=$(date +%s)
    sql_file "$HERE/scale/grow.sql"
    echo "   grown in $(( $(date +%s) - started )) s" >&2
    if [ "$backend" = postgres ]; then psql "$DATABASE_URL" -qc "vacuum analyze"; fi
    ACCOUNT="$(query "select id from accounts where name = 'scale'")"
    ADMIN="$(query "select id from users where username = 'scale-admin'")"
    DEEP="$(query "select at || '.' || id from audit_events where account_id = '$ACCOUNT'
                   order by at desc, id desc limit 1 offset $(( EVENTS / 20 ))")"
    DEEP="${DEEP:-$NOW.zzzz}"
    start_server
    echo "== $LABEL: console pages" >&2
    time_page overview "/admin?account=$ACCOUNT"
    time_page contacts "/admin/contacts/all?account=$ACCOUNT"
    DEEP_MEMBER="scale-user-$(( 1000000 + MEMBERS * 3 / 4 )):member$(( 1000000 + MEMBERS * 3 / 4 ))"
    time_page contacts-deep "/admin/contacts/all?account=$ACCOUNT&after=$DEEP_MEMBER"
    time_page contacts-search "/admin/contacts/all?account=$ACCOUNT&q=member10000"
    time_page contacts-search-wide "/admin/contacts/all?account=$ACCOUNT&q=MEMBER"
    time_page without-2fa "/admin/contacts/all?account=$ACCOUNT&without=1"
    time_page member "/admin/contacts/$ADMIN"
    time_page audit "/admin/audit?account=$ACCOUNT"
    time_page audit-deep "/admin/audit?account=$ACCOUNT&older=$DEEP"
    time_page audit-member "/admin/audit?account=$ACCOUNT&member=member1000042"
    time_page audit-kind "/admin/audit?account=$ACCOUNT&kind=password_failed"
    time_page settings "/admin/settings?account=$ACCOUNT"
    echo "== $LABEL: hot paths" >&2
    "$LOADGEN" --issuer "$ISSUER" --scenarios sso,refresh,signin --signin-users "$SIGNIN_USERS" \
        --session-cmd "$HERE/session-login.sh" --expect-alg ES256 \
        --concurrency 16 --duration "$DURATION" --warmup 1 --runs 1 --pause 1 \
        --server-pid "$PID" --label "$LABEL" >>"$OUT/results.jsonl"
    RSS_IDLE="$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$PID/status")"
    echo "{\"type\":\"rss\",\"label\":\"$LABEL\",\"idle_after_load_mb\":$RSS_IDLE}" >>"$OUT/results.jsonl"
    if [ "$size" = large ]; then
      # The purge, on a running server: what it removed and its longest batch.
      stop_server
      NOW="$(date +%s)"
      sql_file "$HERE/scale/expired.sql"
      GATEHOUSE_PURGE_INTERVAL_SECS=3600 GATEHOUSE_LOG_FILTER=info,gatehouse::store=debug start_server
      until grep -q "purged expired rows" "$WORK/server.log"; do sleep 0.2; done
      grep "purged expired rows" "$WORK/server.log" | head -n 1 | python3 -c '
import json, re, sys
line = sys.stdin.read()
fields = dict(re.findall(r"(\w+)=(\d+)", line))
print(json.dumps({"type": "purge", "label": sys.argv[1], **{k: int(v) for k, v in fields.items()}}))' "$LABEL" >>"$OUT/results.jsonl"
    fi
    stop_server
  done
done

python3 - "$OUT" <<'PY' | tee "$OUT/summary.md"
import json, sys
out = sys.argv[1]
rows = [json.loads(l) for l in open(f"{out}/results.jsonl") if l.startswith("{")]
backends = sorted({r["label"].rsplit("-", 1)[0] for r in rows}, key=lambda b: b != "sqlite")
for backend in backends:
    print(f"\n### {backend}\n")
    print("| what | small | large | large/small |")
    print("|---|---|---|---|")
    def get(size, kind, key):
        for r in rows:
            if r["label"] == f"{backend}-{size}" and r.get("type") == kind and (r.get("page") or r.get("scenario")) == key:
                return r
    pages = [r["page"] for r in rows if r.get("type") == "page" and r["label"] == f"{backend}-small"]
    for page in pages:
        s, l = get("small", "page", page), get("large", "page", page)
        if s and l:
            print(f"| {page}, server ms p50 (p90) | {s['p50_ms']:.2f} ({s['p90_ms']:.2f}) | {l['p50_ms']:.2f} ({l['p90_ms']:.2f}) | {l['p50_ms'] / s['p50_ms']:.2f} |")
    for scen in ["sso", "refresh", "signin"]:
        s, l = get("small", "summary", scen), get("large", "summary", scen)
        if s and l and s.get("rps") and l.get("rps"):
            print(f"| {scen}, 16 clients: req/s, p50 ms, server CPU ms/op | {s['rps']:.0f}, {s['p50_ms']:.2f}, {s['server_cpu_ms_per_op']:.3f} "
                  f"| {l['rps']:.0f}, {l['p50_ms']:.2f}, {l['server_cpu_ms_per_op']:.3f} | {l['server_cpu_ms_per_op'] / s['server_cpu_ms_per_op']:.2f} (CPU/op) |")
    for size in ["small", "large"]:
        peak = max((r.get("server_rss_mb_max") or 0 for r in rows if r["label"] == f"{backend}-{size}" and r.get("type") == "summary"), default=0)
        idle = next((r["idle_after_load_mb"] for r in rows if r["label"] == f"{backend}-{size}" and r.get("type") == "rss"), 0)
        print(f"| RSS {size}: under load (max), after load | | {peak:.1f} MB, {idle:.1f} MB | |")
    for r in rows:
        if r.get("type") == "purge" and r["label"] == f"{backend}-large":
            print(f"| purge: {r.get('rows', 0)} rows ({r.get('sessions', 0)} sessions, {r.get('grants', 0)} grants) | | longest batch {r.get('longest_batch_us', 0) / 1000:.1f} ms | |")
PY
