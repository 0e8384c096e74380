#!/usr/bin/env bash
# The project's benchmark, in one command: builds release, then loads one server at a time on
# loopback: Custodian on SQLite, Custodian on PostgreSQL (when reachable), and the floor
# (bench/floor: a bare axum server that verifies the same tokens and checks passwords through
# the same hashing pool, with no GraphQL and no database). Prints a table per server: each
# figure, its target and the measured ratio. Nothing is asserted: shared machines are noisy.
#
#   bash bench/run.sh [seconds per load, default 10]
#
# BENCH_DATABASE_URL: a PostgreSQL server, without a database name (default
# postgres://postgres@127.0.0.1:5432); the run creates its own database there and drops it.
# BENCH_PORT: the first of the loopback ports used (default 18080).
set -euo pipefail
cd "$(dirname "$0")/.."

D="${1:-10}"
RESET_SECS=5
PG="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}"
PORT="${BENCH_PORT:-18080}"
USERS=100
REFRESH_CLIENTS=64
PASSWORD="correct horse battery staple"
CORES=$(nproc)
ME_BODY='{"query":"{ me { id email } }"}'
# Every request carries another X-Forwarded-For address and Custodian believes it from
# 127.0.0.1, so per-IP limits never refuse the load. What stays is lifted: the hashing queue's
# bound (it would answer most of a flood with OVERLOADED at once) and the limits per device,
# per session and per email, which the bench's 100 users and 64 sessions would meet whatever
# the address.
TRUSTED_PROXIES=127.0.0.1/32
HASH_QUEUE=1000000
LIFTED="login_device=1000000/60,refresh_session=1000000/60,reset_email=1000000/3600"

[[ "$D" =~ ^[1-9][0-9]*$ ]] || { echo "usage: bash bench/run.sh [seconds per load]" >&2; exit 2; }
command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
# 1,000 connections on each side of the flood.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK="$(mktemp -d)"
SERVER="" FLOOR="" LOADS="" PG_DB=""
cleanup() {
  local pid
  # A background load is a subshell running wrk: stop wrk, then the subshell.
  for pid in $LOADS; do pkill -P "$pid" 2>/dev/null || true; done
  for pid in $LOADS $FLOOR $SERVER; do kill "$pid" 2>/dev/null || true; done
  for pid in $FLOOR $SERVER; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$PG_DB" ]; then
    psql "$PG/postgres" -qc "drop database if exists \"$PG_DB\" with (force)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

progress() { printf '.. %s\n' "$*"; }

echo ".. building release (custodian and the floor)"
cargo build --release --quiet -p custodian -p custodian-bench-floor
CUSTODIAN=target/release/custodian
LOAD_AT_START=$(cut -d' ' -f1 /proc/loadavg)
FLOOR_BIN=target/release/custodian-bench-floor

# ---- helpers ---------------------------------------------------------------------------

# Nothing may answer on a port before its server starts: a leftover would be measured instead.
port_free() { # BASE
  if curl -fs -m 2 "$1/healthz" >/dev/null 2>&1; then
    echo "error: something already answers on $1; stop it or set BENCH_PORT" >&2
    exit 1
  fi
}

wait_healthy() { # BASE PID LOG
  for _ in $(seq 1 300); do
    curl -fs "$1/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.2
  done
  echo "error: the server at $1 did not start; its log ends:" >&2
  tail -20 "$3" >&2
  exit 1
}

stop() { # PID: SIGTERM, then SIGKILL after 20 s
  local pid=$1
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# wrk with bench/load.lua; BENCH_MODE picks the load, the other BENCH_* variables are exported.
load() { # OUT MODE URL WRK-ARGS...
  local out=$1 mode=$2 url=$3
  shift 3
  BENCH_MODE=$mode wrk --latency -s bench/load.lua "$@" "$url" >"$out" 2>&1 ||
    { echo "error: wrk failed:" >&2; cat "$out" >&2; exit 1; }
}

to_ms() { awk -v v="$1" 'BEGIN {
  if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
  else if (v ~ /ms$/) { sub(/ms$/, "", v) }
  else if (v ~ /m$/) { sub(/m$/, "", v); v *= 60000 }
  else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
  printf "%.2f", v }'; }
rps() { awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$1"; }
p99() { to_ms "$(awk '$1 == "99%" {print $2}' "$1")"; }
mean() { to_ms "$(awk '$1 == "Latency" {print $2; exit}' "$1")"; }
answered() { awk '/^bench: responses/ {print $3}' "$1"; }
failed() { awk '/^bench: responses/ {print $5}' "$1"; }
# "F of N failed", and wrk's socket errors (timeouts, resets) when there were any.
failures() {
  local socket
  socket=$(sed -nE 's/.*Socket errors: (.*)/\1/p' "$1")
  printf '%s of %s failed%s' "$(failed "$1")" "$(answered "$1")" "${socket:+; socket errors: $socket}"
}

rss() { awk -v field="$2:" '$1 == field {printf "%.0f", $2 / 1024}' "/proc/$1/status"; } # PID FIELD, MiB

# The 1000-connection login flood, and PID's peak RSS during it, in MiB, into PEAK: the
# kernel's high-water mark, reset just before (clear_refs), and VmRSS sampled every 0.1 s
# (the only measure where the reset is refused). BEFORE: the RSS the flood started from; CODE:
# the file-backed part at its end.
flood_rss() { # PID OUT URL
  local pid=$1 exact=1 sample
  BEFORE=$(rss "$pid" VmRSS) PEAK=0
  { echo 5 >"/proc/$pid/clear_refs"; } 2>/dev/null || exact=0
  load "$2" login "$3" -t2 -c1000 -d"${D}s" --timeout 30s &
  LOADS=$!
  while kill -0 "$LOADS" 2>/dev/null; do
    sample=$(rss "$pid" VmRSS)
    ((sample > PEAK)) && PEAK=$sample
    sleep 0.1
  done
  wait "$LOADS"
  LOADS=""
  if ((exact)); then
    sample=$(rss "$pid" VmHWM)
    ((sample > PEAK)) && PEAK=$sample
  fi
  # What of it is the program's own code mapped from its file (shared, reclaimable page cache).
  CODE=$(rss "$pid" RssFile)
  return 0
}

# The median single-thread password check, in ms, measured just before and just after each
# login load (shared machines drift), and the hashing bound the faster of the two sets, in
# logins/s: cores / time.
hash_time() { # RUN before|after
  R[$1.hash_$2]=$("$FLOOR_BIN" hash-time)
  [ "$2" = after ] || return 0
  R[$1.bound]=$(awk -v cores="$CORES" -v a="${R[$1.hash_before]}" -v b="${R[$1.hash_after]}" \
    'BEGIN { printf "%.1f", cores * 1000 / (a < b ? a : b) }')
}


# Registers $USERS people, each from its own browser (cookie jar) and address; writes
# "$dir/users": id email device-cookie refresh-cookie access-token, one a line.
seed() { # BASE DIR
  local base=$1 dir=$2 pids=() i
  mkdir -p "$dir/seed"
  for ((i = 0; i < USERS; i++)); do
    register "$base" "$i" "$dir/seed" &
    pids+=($!)
    if ((${#pids[@]} == 8)); then
      for pid in "${pids[@]}"; do wait "$pid"; done
      pids=()
    fi
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  for ((i = 0; i < USERS; i++)); do cat "$dir/seed/$i"; done >"$dir/users"
}

register() { # BASE INDEX DIR
  local base=$1 i=$2 dir=$3 email="bench-$2@example.com" answer token id device refresh
  answer=$(curl -sS -c "$dir/$i.jar" "$base/graphql" -H 'content-type: application/json' \
    -H "x-forwarded-for: 10.255.$((i / 256)).$((i % 256))" \
    -d "{\"query\":\"mutation(\$i: RegisterInput!){register(input:\$i){accessToken account{id}}}\",\"variables\":{\"i\":{\"email\":\"$email\",\"password\":\"$PASSWORD\",\"firstName\":\"Bench\",\"lastName\":\"Mark\"}}}")
  token=$(sed -nE 's/.*"accessToken":"([^"]+)".*/\1/p' <<<"$answer")
  id=$(sed -nE 's/.*"account":\{"id":"([^"]+)".*/\1/p' <<<"$answer")
  device=$(awk '$6 == "custodian_device" {print $7}' "$dir/$i.jar")
  refresh=$(awk '$6 == "custodian_refresh" {print $7}' "$dir/$i.jar")
  if [ -z "$token" ] || [ -z "$id" ] || [ -z "$device" ] || [ -z "$refresh" ]; then
    echo "error: registering $email: $answer" >&2
    return 1
  fi
  echo "$id $email $device $refresh $token" >"$dir/$i"
}

# ---- one Custodian run -----------------------------------------------------------------

declare -A R # results: R[<run>.<figure>]

bench_custodian() { # NAME DATABASE-URL PORT; leaves the server running
  local name=$1 url=$2 port=$3 base="http://127.0.0.1:$3" dir="$WORK/$1"
  R[$name.port]=$port
  mkdir -p "$dir"
  progress "Custodian on $name: starting, registering $USERS users"
  port_free "$base"
  # The public URL names a host, not an address: passkeys cannot be bound to an IP address.
  CUSTODIAN_LISTEN="127.0.0.1:$port" CUSTODIAN_PUBLIC_URL="http://localhost:$port" \
    CUSTODIAN_DATABASE_URL="$url" CUSTODIAN_DATA_DIR="$dir" CUSTODIAN_COOKIE_SECURE=false \
    CUSTODIAN_TRUSTED_PROXIES="$TRUSTED_PROXIES" CUSTODIAN_HASH_QUEUE="$HASH_QUEUE" \
    CUSTODIAN_RATE_LIMITS="$LIFTED" RUST_LOG=warn \
    "$CUSTODIAN" serve >"$dir/server.log" 2>&1 &
  SERVER=$!
  wait_healthy "$base" "$SERVER" "$dir/server.log"
  seed "$base" "$dir"
  awk '{print $2, $3}' "$dir/users" >"$dir/login-users"
  head -n "$REFRESH_CLIENTS" "$dir/users" | awk '{print $4}' >"$dir/refresh"
  # The last user reads `me`; the first 64 refresh their registration sessions.
  export BENCH_TOKEN BENCH_BODY="$ME_BODY" BENCH_USERS="$dir/login-users" BENCH_LOGIN=graphql \
    BENCH_PASSWORD="$PASSWORD" BENCH_REFRESH="$dir/refresh"
  BENCH_TOKEN=$(tail -n 1 "$dir/users" | awk '{print $5}')
  curl -fsS "$base/graphql" -H 'content-type: application/json' -H "authorization: Bearer $BENCH_TOKEN" \
    -d "$ME_BODY" | grep -qF '"me":{' || { echo "error: me does not answer on $name" >&2; exit 1; }

  progress "Custodian on $name: me, ${D}s, 64 connections"
  load "$dir/me.out" me "$base/graphql" -t2 -c64 -d"${D}s"
  progress "Custodian on $name: login, ${D}s, 64 connections, between two hash times"
  hash_time "$name" before
  load "$dir/login.out" login "$base/graphql" -t2 -c64 -d"${D}s" --timeout 30s
  hash_time "$name" after
  sleep 1
  progress "Custodian on $name: me under a 64-connection login flood, ${D}s"
  load "$dir/flood.out" login "$base/graphql" -t1 -c64 -d"$((D + 3))s" --timeout 30s &
  LOADS=$!
  sleep 2
  load "$dir/me-flood.out" me "$base/graphql" -t2 -c64 -d"${D}s"
  wait "$LOADS"
  LOADS=""
  sleep 1
  progress "Custodian on $name: refresh, ${D}s, $REFRESH_CLIENTS clients each on its own session"
  load "$dir/refresh.out" refresh "$base/graphql" -t"$REFRESH_CLIENTS" -c"$REFRESH_CLIENTS" -d"${D}s"
  progress "Custodian on $name: login flood, ${D}s, 1000 connections"
  flood_rss "$SERVER" "$dir/rss.out" "$base/graphql"
  R[$name.rss]=$PEAK R[$name.rss_before]=$BEFORE R[$name.rss_code]=$CODE
  sleep 1
  # Last, as each reset of a known address queues an email that is sent in the background.
  progress "Custodian on $name: requestPasswordReset, known and unknown address, ${RESET_SECS}s each"
  BENCH_EMAIL="bench-0@example.com" load "$dir/reset-known.out" reset "$base/graphql" -t1 -c1 -d"${RESET_SECS}s"
  BENCH_EMAIL="nobody@example.com" load "$dir/reset-unknown.out" reset "$base/graphql" -t1 -c1 -d"${RESET_SECS}s"

  R[$name.me]=$(rps "$dir/me.out") R[$name.me_p99]=$(p99 "$dir/me.out")
  R[$name.login]=$(rps "$dir/login.out")
  R[$name.flood_p99]=$(p99 "$dir/me-flood.out") R[$name.flood_logins]=$(rps "$dir/flood.out")
  R[$name.refresh]=$(rps "$dir/refresh.out") R[$name.refresh_p99]=$(p99 "$dir/refresh.out")
  R[$name.reset_known]=$(mean "$dir/reset-known.out") R[$name.reset_unknown]=$(mean "$dir/reset-unknown.out")
  R[$name.rss_logins]=$(rps "$dir/rss.out")
}

# ---- the run ---------------------------------------------------------------------------

RUNS=(sqlite)
bench_custodian sqlite "sqlite://$WORK/sqlite/custodian.db?mode=rwc" $((PORT + 1))
LAST=sqlite
if command -v psql >/dev/null 2>&1 && psql "$PG/postgres" -Atqc 'select 1' >/dev/null 2>&1; then
  stop "$SERVER"
  SERVER=""
  PG_DB="custodian_bench_$$"
  psql "$PG/postgres" -qc "create database \"$PG_DB\"" >/dev/null
  bench_custodian postgres "$PG/$PG_DB" $((PORT + 2))
  RUNS+=(postgres)
  LAST=postgres
else
  progress "PostgreSQL at $PG is not reachable (or psql is missing): SQLite only"
fi

# The floor takes the last Custodian's JWKS and users, then that Custodian stops.
FPORT=$((PORT + 10))
FBASE="http://127.0.0.1:$FPORT"
CBASE="http://127.0.0.1:${R[$LAST.port]}"
progress "floor: starting (JWKS from Custodian on $LAST, the same $USERS users)"
awk '{print $1, $2}' "$WORK/$LAST/users" >"$WORK/floor-users"
port_free "$FBASE"
"$FLOOR_BIN" serve --listen "127.0.0.1:$FPORT" --jwks "$CBASE/.well-known/jwks.json" \
  --issuer "http://localhost:${R[$LAST.port]}" --users "$WORK/floor-users" --password "$PASSWORD" \
  --hash-queue "$HASH_QUEUE" >"$WORK/floor.log" 2>&1 &
FLOOR=$!
wait_healthy "$FBASE" "$FLOOR" "$WORK/floor.log"
stop "$SERVER"
SERVER=""
if [ -n "$PG_DB" ]; then
  psql "$PG/postgres" -qc "drop database if exists \"$PG_DB\" with (force)" >/dev/null
  PG_DB=""
fi

mkdir -p "$WORK/floor"
HS_TOKEN=$(curl -fsS "$FBASE/login" -H 'content-type: application/json' \
  -d "{\"email\":\"bench-$((USERS - 1))@example.com\",\"password\":\"$PASSWORD\"}" |
  sed -nE 's/.*"accessToken":"([^"]+)".*/\1/p')
for route in me me-hs256; do
  token=$([ "$route" = me ] && echo "$BENCH_TOKEN" || echo "$HS_TOKEN")
  curl -fsS -X POST "$FBASE/$route" -H "authorization: Bearer $token" | grep -qF '"me":{' ||
    { echo "error: the floor's /$route does not answer" >&2; exit 1; }
done
export BENCH_LOGIN=json BENCH_USERS="$WORK/floor/login-users"
awk '{print $2}' "$WORK/floor-users" >"$BENCH_USERS"
progress "floor: me (EdDSA), ${D}s, 64 connections"
load "$WORK/floor/me.out" me "$FBASE/me" -t2 -c64 -d"${D}s"
progress "floor: me (HS256), ${D}s, 64 connections"
BENCH_TOKEN=$HS_TOKEN load "$WORK/floor/me-hs256.out" me "$FBASE/me-hs256" -t2 -c64 -d"${D}s"
progress "floor: login, ${D}s, 64 connections, between two hash times"
hash_time floor before
load "$WORK/floor/login.out" login "$FBASE/login" -t2 -c64 -d"${D}s" --timeout 30s
hash_time floor after
sleep 1
progress "floor: login flood, ${D}s, 1000 connections"
flood_rss "$FLOOR" "$WORK/floor/rss.out" "$FBASE/login"
R[floor.rss]=$PEAK R[floor.rss_before]=$BEFORE R[floor.rss_code]=$CODE
stop "$FLOOR"
FLOOR=""
R[floor.me]=$(rps "$WORK/floor/me.out") R[floor.me_p99]=$(p99 "$WORK/floor/me.out")
R[floor.hs]=$(rps "$WORK/floor/me-hs256.out") R[floor.hs_p99]=$(p99 "$WORK/floor/me-hs256.out")
R[floor.login]=$(rps "$WORK/floor/login.out") R[floor.rss_logins]=$(rps "$WORK/floor/rss.out")

# ---- the report ------------------------------------------------------------------------

COMMIT="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- 2>/dev/null || echo '+local changes')"
echo
echo "Custodian benchmark, commit $COMMIT, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $CORES cores," \
  "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM; $(wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}')"
echo "load average (1 min): $LOAD_AT_START at the start, $(cut -d' ' -f1 /proc/loadavg) at the end;" \
  "anything else running on the machine skews every figure"
echo "loads: ${D}s each (requestPasswordReset ${RESET_SECS}s), 2 wrk threads unless said; servers one at a time on 127.0.0.1, sharing the cores with wrk"
echo "hashing bound: $CORES cores / the median single-thread password check (Argon2id m=19 MiB t=2 p=1," \
  "through Custodian's pool: bench/floor hash-time), the faster of two measures just before and after each login load"
echo "clients: every request comes from another X-Forwarded-For address (10.0.0.0/8;" \
  "CUSTODIAN_TRUSTED_PROXIES=$TRUSTED_PROXIES), so per-IP limits never refuse the load"
echo "lifted for the bench: CUSTODIAN_HASH_QUEUE=$HASH_QUEUE; CUSTODIAN_RATE_LIMITS=$LIFTED"
echo "  (per device, session and email: $USERS users and $REFRESH_CLIENTS sessions would meet them whatever the address)."
echo "  Logins spread over the $USERS users, each with its own device cookie (a returning browser), so"
echo "  the per-address backoff is not on their path. The floor verifies EdDSA as Custodian does, and"
echo "  HS256 (the kind of floor first measured against); ratios are given against both."

row() { printf '  %-46s %15s  %-30s %-14s %s\n' "$@"; }
# A ratio as a percentage or a factor, and whether it meets its bound; "-" without a measure.
ratio() { # pct|times A B [>=|<= BOUND]
  awk -v kind="$1" -v a="$2" -v b="$3" -v op="${4:-}" -v bound="${5:-}" 'BEGIN {
    if (a == "" || b == "" || b + 0 == 0) { print "-"; exit }
    r = kind == "pct" ? 100 * a / b : a / b
    text = kind == "pct" ? sprintf("%.0f %%", r) : sprintf("%.2fx", r)
    if (op == ">=") text = text (r >= bound ? " met" : " missed")
    if (op == "<=") text = text (r <= bound ? " met" : " missed")
    print text }'
}

echo
for run in "${RUNS[@]}"; do
  dir="$WORK/$run"
  target_me=$([ "$run" = sqlite ] && echo 50 || echo 35)
  echo "Custodian on $([ "$run" = sqlite ] && echo SQLite || echo PostgreSQL)"
  row "figure" "measured" "target" "ratio" "failures"
  for floor in me hs; do
    label=$([ "$floor" = me ] && echo EdDSA || echo HS256)
    row "me/s vs the $label floor (${R[floor.$floor]}/s)" "${R[$run.me]}/s" ">= $target_me % of the floor" \
      "$(ratio pct "${R[$run.me]}" "${R[floor.$floor]}" '>=' "$target_me")" "$(failures "$dir/me.out")"
  done
  for floor in me hs; do
    label=$([ "$floor" = me ] && echo EdDSA || echo HS256)
    row "me p99 vs the $label floor's (${R[floor.${floor}_p99]} ms)" "${R[$run.me_p99]} ms" "<= 2x the floor's" \
      "$(ratio times "${R[$run.me_p99]}" "${R[floor.${floor}_p99]}" '<=' 2)" ""
  done
  row "me p99 under a 64-conn login flood" "${R[$run.flood_p99]} ms" "<= 2x me p99 alone" \
    "$(ratio times "${R[$run.flood_p99]}" "${R[$run.me_p99]}" '<=' 2)" \
    "$(failures "$dir/me-flood.out"); the flood: $(failures "$dir/flood.out")"
  row "logins/s, 64 connections" "${R[$run.login]}/s" ">= 90 % of ${R[$run.bound]}/s" \
    "$(ratio pct "${R[$run.login]}" "${R[$run.bound]}" '>=' 90)" \
    "$(failures "$dir/login.out"); hash ${R[$run.hash_before]}/${R[$run.hash_after]} ms before/after"
  row "logins/s of that flood (me alongside)" "${R[$run.flood_logins]}/s" "" \
    "$(ratio pct "${R[$run.flood_logins]}" "${R[$run.bound]}")" ""
  if [ "$run" = postgres ]; then
    row "refresh/s, 64 clients" "${R[$run.refresh]}/s" ">= 3500/s" \
      "$(ratio pct "${R[$run.refresh]}" 3500 '>=' 100)" "$(failures "$dir/refresh.out"); p99 ${R[$run.refresh_p99]} ms"
  else
    row "refresh/s, 64 clients" "${R[$run.refresh]}/s" "none (3500/s is for PostgreSQL)" "-" \
      "$(failures "$dir/refresh.out"); p99 ${R[$run.refresh_p99]} ms"
  fi
  row "peak RSS, 1000-conn login flood" "${R[$run.rss]} MiB" "<= 100 MiB" \
    "$(ratio pct "${R[$run.rss]}" 100 '<=' 100)" \
    "$(failures "$dir/rss.out"); ${R[$run.rss_logins]} logins/s; RSS before: ${R[$run.rss_before]} MiB; code mapped from the binary: ${R[$run.rss_code]} MiB"
  row "requestPasswordReset mean, known/unknown" "${R[$run.reset_known]}/${R[$run.reset_unknown]} ms" \
    "alike (no timing oracle)" "$(ratio times "${R[$run.reset_known]}" "${R[$run.reset_unknown]}")" \
    "known: $(failures "$dir/reset-known.out"); unknown: $(failures "$dir/reset-unknown.out")"
  echo
done

echo "Floor (bench/floor: axum, no GraphQL, no database)"
row "figure" "measured" "target" "ratio" "failures"
row "me/s, EdDSA (Custodian's token and checks)" "${R[floor.me]}/s" "" "" "$(failures "$WORK/floor/me.out")"
row "me p99, EdDSA" "${R[floor.me_p99]} ms" "" "" ""
row "me/s, HS256" "${R[floor.hs]}/s" "" "" "$(failures "$WORK/floor/me-hs256.out")"
row "me p99, HS256" "${R[floor.hs_p99]} ms" "" "" ""
row "logins/s, 64 connections" "${R[floor.login]}/s" ">= 90 % of ${R[floor.bound]}/s" \
  "$(ratio pct "${R[floor.login]}" "${R[floor.bound]}" '>=' 90)" \
  "$(failures "$WORK/floor/login.out"); hash ${R[floor.hash_before]}/${R[floor.hash_after]} ms before/after"
row "peak RSS, 1000-conn login flood" "${R[floor.rss]} MiB" "<= 100 MiB" \
  "$(ratio pct "${R[floor.rss]}" 100 '<=' 100)" \
  "$(failures "$WORK/floor/rss.out"); ${R[floor.rss_logins]} logins/s; RSS before: ${R[floor.rss_before]} MiB; code mapped from the binary: ${R[floor.rss_code]} MiB"

# A benchmark of errors measures nothing: show what the failures were.
samples=$(cd "$WORK" && grep -H "^bench: first failure: " -- */*.out 2>/dev/null || true)
if [ -n "$samples" ]; then
  echo
  echo "First failure of each load that had any:"
  sed -E 's/^([^/]+)\/([^.]+)\.out:bench: first failure: /  \1 \2: /' <<<"$samples"
fi
