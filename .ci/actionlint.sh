#!/usr/bin/env bash
# Lints every workflow in .github/workflows and the documented example
# workflows in .github/examples with actionlint. actionlint also checks the
# local action's action.yml through the self-test workflow's `uses: ./`.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
files=(.github/workflows/*.yml .github/workflows/*.yaml .github/examples/*.yml .github/examples/*.yaml)
if [ ${#files[@]} -eq 0 ]; then
  echo "actionlint: no workflow files found" >&2
  exit 1
fi
go run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 -color=false "${files[@]}"
echo "actionlint: ${#files[@]} files clean"
