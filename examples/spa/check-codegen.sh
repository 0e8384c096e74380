#!/usr/bin/env bash
# Fails when the checked-in client (src/gql/ and persisted-documents.json) is not what codegen
# makes of ../../schema.graphql and src/operations.graphql today. Run `npm run codegen` and
# commit the result to fix it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

npm run --silent codegen >/dev/null

generated=(src/gql persisted-documents.json)
if ! git diff --exit-code -- "${generated[@]}"; then
  echo "check-codegen: the generated client differs from the checked-in one (diff above); run npm run codegen and commit" >&2
  exit 1
fi
untracked=$(git ls-files --others --exclude-standard -- "${generated[@]}")
if [[ -n "$untracked" ]]; then
  echo "check-codegen: codegen wrote files that are not checked in:" >&2
  echo "$untracked" >&2
  exit 1
fi
echo "check-codegen: src/gql and persisted-documents.json match the schema"
