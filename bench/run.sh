#!/usr/bin/env bash
# Throughput and memory of the release binary on this machine: authenticated reads (`me`),
# logins (bounded by Argon2id) and peak RSS under a login flood. Numbers go to stdout; nothing
# here is asserted, because shared machines are noisy.
#   bash bench/run.sh [seconds per run, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-20}"
PORT="${BENCH_PORT:-18080}"
BASE="http://127.0.0.1:${PORT}"

command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet

WORK="$(mktemp -d)"
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
# Rate limits would answer most of the flood before Argon2 runs, and the hashing queue's bound
# (cores x 32) would answer most of a 256-connection flood at once with OVERLOADED: both are
# lifted here, so logins/s measures the hashing path itself.
CUSTODIAN_RATE_LIMITS="login_ip_email=1000000/60,login_ip=1000000/60,login_device=1000000/60,reset_email=1000000/3600,reset_ip=1000000/3600,reset_ip_email=1000000/3600" \
CUSTODIAN_HASH_QUEUE=1000000 \
CUSTODIAN_LISTEN="127.0.0.1:${PORT}" CUSTODIAN_COOKIE_SECURE=false CUSTODIAN_DATA_DIR="$WORK" \
  CUSTODIAN_DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc" RUST_LOG=warn \
  target/release/custodian serve >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 50); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done

EMAIL="bench-$(date +%s)@example.com"
PASSWORD="correct horse battery staple"
# The registering browser keeps its cookies: its device cookie is what a returning person's
# browser presents, which exempts it from the per-address backoff that would otherwise hold
# back a flood of sign-ins to one address.
TOKEN=$(curl -fs -c "$WORK/cookies" "$BASE/graphql" -H 'content-type: application/json' \
  -d "{\"query\":\"mutation(\$i: RegisterInput!){register(input:\$i){accessToken}}\",\"variables\":{\"i\":{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\",\"firstName\":\"Bench\",\"lastName\":\"Mark\"}}}" |
  sed -E 's/.*"accessToken":"([^"]+)".*/\1/')

cat >"$WORK/me.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"query":"{ me { id email } }"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
LOGIN_BODY="{\"query\":\"mutation(\$i: LoginInput!){login(input:\$i){... on AuthPayload{accessToken}}}\",\"variables\":{\"i\":{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}}}"
# A benchmark of errors measures nothing: check that this body signs in before flooding it.
curl -fs "$BASE/graphql" -H 'content-type: application/json' -d "$LOGIN_BODY" | grep -q accessToken ||
  { echo "the login request does not sign in" >&2; exit 1; }
DEVICE=$(awk '$6 ~ /custodian_device$/ {print $6 "=" $7}' "$WORK/cookies")
cat >"$WORK/login.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$LOGIN_BODY]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = "$DEVICE"
-- GraphQL answers refusals with 200: count the answers that did not sign in.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) failed = 0 end
function response(status, headers, body)
  if not string.find(body, "accessToken", 1, true) then failed = failed + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("failed") end
  io.write(string.format("not signed in: %d\n", total))
end
LUA

peak_rss() { # samples the server's RSS every 0.2 s while $1 runs; prints the peak in MiB
  local pid=$1 peak=0 rss
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")
    [ "$rss" -gt "$peak" ] && peak=$rss
    sleep 0.2
  done
  echo $((peak / 1024))
}

echo "== me (authenticated read, session check included), ${DURATION}s, 2 threads, 64 connections"
wrk -t2 -c64 -d"${DURATION}s" -s "$WORK/me.lua" "$BASE/graphql" | grep -E "Requests/sec|Latency|Non-2xx"

echo "== login (Argon2id m=19 MiB t=2 p=1), ${DURATION}s, 2 threads, 256 connections"
wrk -t2 -c256 -d"${DURATION}s" --timeout 30s -s "$WORK/login.lua" "$BASE/graphql" >"$WORK/login.out" &
WRK=$!
PEAK=$(peak_rss "$WRK")
grep -E "Requests/sec|Latency|Non-2xx|not signed in" "$WORK/login.out"
echo "peak RSS during the login flood: ${PEAK} MiB"

# requestPasswordReset must not tell known addresses from unknown ones by its timing.
for who in "$EMAIL" "nobody-$(date +%s)@example.com"; do
  cat >"$WORK/reset.lua" <<LUA
wrk.method = "POST"
wrk.body = [[{"query":"mutation(\$e: String!){requestPasswordReset(email:\$e)}","variables":{"e":"$who"}}]]
wrk.headers["Content-Type"] = "application/json"
LUA
  label=$([ "$who" = "$EMAIL" ] && echo "known" || echo "unknown")
  echo "== requestPasswordReset, $label address, 5s, 1 connection"
  wrk -t1 -c1 -d5s -s "$WORK/reset.lua" "$BASE/graphql" | grep -E "Latency|Requests/sec|Non-2xx"
done
