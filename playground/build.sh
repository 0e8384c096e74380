#!/bin/sh
# Rebuild playground/dist from scratch (needs Node.js and npm).
set -eu
cd "$(dirname "$0")"

npm ci --no-audit --no-fund

rm -rf dist
mkdir -p dist
cp src/index.html dist/index.html

./node_modules/.bin/esbuild src/main.jsx \
  --bundle \
  --minify \
  --format=iife \
  --platform=browser \
  --target=es2020 \
  --jsx=automatic \
  --define:process.env.NODE_ENV='"production"' \
  --legal-comments=none \
  --outfile=dist/playground.js

ls -l dist
