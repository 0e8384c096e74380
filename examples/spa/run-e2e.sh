#!/usr/bin/env bash
# The example SPA's checks, as CI runs them: a clean install from package-lock.json, the
# codegen drift check, a type-checked production build, then the browser flow against the
# Custodian binary (CUSTODIAN_BIN, default ../../target/debug/custodian; build it first with
# `cargo build --bin custodian`) and Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
# E2E_TRUSTED_ONLY=1 runs the flow with document ids only, against a server that supports
# CUSTODIAN_TRUSTED_DOCUMENTS_ONLY.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

npm ci --no-audit --no-fund
bash ./check-codegen.sh
npm run build
node e2e/flow.mjs
