#!/usr/bin/env bash
# Conformance: drive `skulk-weights devhub` with the official @huggingface/hub
# client (pinned in conformance/package-lock.json). Needs Go, Node >= 20, npm.
set -euo pipefail
cd "$(dirname "$0")/.."

bin_dir=$(mktemp -d)
trap 'rm -rf "$bin_dir"' EXIT
echo "== build skulk-weights"
go build -o "$bin_dir/skulk-weights" .

echo "== npm ci (conformance)"
(cd conformance && npm ci --no-audit --no-fund)

echo "== conformance tests"
(cd conformance && SKULK_WEIGHTS_BIN="$bin_dir/skulk-weights" node --test --test-reporter=spec)
