#!/usr/bin/env bash
# Runs graphql-http's server audits against the debug binary, served on a free loopback port
# over a throwaway SQLite database. Exits non-zero unless every audit passes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
binary="$root/target/debug/custodian"

if [ ! -x "$binary" ]; then
  (cd "$root" && cargo build --bin custodian)
fi

data="$(mktemp -d)"
log="$data/server.log"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

# A port the kernel hands out as free; the server binds it a moment later.
port="$(node -e '
  const server = require("net").createServer();
  server.listen(0, "127.0.0.1", () => { console.log(server.address().port); server.close(); });
')"

# Only these settings: no custodian.toml from wherever this is run.
CUSTODIAN_CONFIG="$data/none.toml" \
  CUSTODIAN_LISTEN="127.0.0.1:$port" \
  CUSTODIAN_DATABASE_URL="sqlite://$data/custodian.db?mode=rwc" \
  CUSTODIAN_DATA_DIR="$data" \
  CUSTODIAN_COOKIE_SECURE=false \
  CUSTODIAN_MAIL_TRANSPORT=log \
  "$binary" serve >"$log" 2>&1 &
pid=$!

base="http://127.0.0.1:$port"
for _ in $(seq 1 60); do
  if curl -fsS "$base/healthz" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "error: custodian exited before serving" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.5
done
if ! curl -fsS "$base/healthz" >/dev/null 2>&1; then
  echo "error: custodian did not answer $base/healthz within 30 s" >&2
  cat "$log" >&2
  exit 1
fi

cd "$here"
npm ci --no-audit --no-fund
node audit.mjs "$base/graphql"
