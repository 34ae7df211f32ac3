#!/usr/bin/env bash
# Builds the action's image (linux/amd64 and linux/arm64, one OCI index) as
# an OCI layout from this checkout and checks it: media types, one layer
# with the static binary, entrypoint, no USER, labels, fixed timestamps;
# then runs the amd64 binary from it in an empty root (chroot, hence root).
# Then it builds the image again from a fresh clone at another path with an
# empty build cache and requires the same digest, byte for byte: the same
# commit builds the same image anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/image" ./scripts/image

version=$(cat internal/buildinfo/VERSION)
revision=$(git rev-parse HEAD)
date=$(git show -s --format=%cI HEAD)

start=$SECONDS
"$work/image" build --out "$work/a"
echo "image: built in $((SECONDS - start))s"
"$work/image" check --layout "$work/a" --version "$version" --revision "$revision" --date "$date"

git clone -q --no-local . "$work/clone"
start=$SECONDS
(cd "$work/clone" && GOCACHE="$work/gocache" "$work/image" build --out "$work/b")
echo "image: rebuilt from a fresh clone with an empty build cache in $((SECONDS - start))s"
if ! diff -r "$work/a" "$work/b" >/dev/null; then
  echo "image: the same commit built two different layouts:" >&2
  diff -r "$work/a" "$work/b" >&2 || true
  exit 1
fi
echo "image: reproducible: $(jq -r '.manifests[0].digest' "$work/a/index.json") twice"
"$work/image" size --layout "$work/a"
