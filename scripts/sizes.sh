#!/usr/bin/env bash
# Measures what a job pulls before the action can start, both ways:
#
# - the prebuilt image (action.yml pinned to ghcr.io/...@sha256:...): the
#   compressed size of each platform's image, built here from this commit
#   with scripts/image (manifest + config + the one layer);
# - the Dockerfile path (action.yml `image: Dockerfile`): the runner builds
#   the image in every job, so it pulls the golang build image and go build
#   downloads the modules the binary needs. Measured here: those modules
#   fetched into an empty module cache, every module of go.mod for
#   comparison (what a `go mod download` step would fetch: the Dockerfile
#   does not run one), and the Go toolchain of go.mod's version as the
#   module proxy serves it (a floor for the golang image, which holds that
#   toolchain plus Debian and gcc; the image itself is on Docker Hub, which
#   this script does not reach).
#
# Usage: bash scripts/sizes.sh [LAYOUT]   (LAYOUT: an OCI layout from
# `go run ./scripts/image build`; built into a temporary directory if absent)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

layout=${1:-}
if [ -z "$layout" ]; then
  layout=$work/layout
  go run ./scripts/image build --out "$layout" >&2
fi

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
zips() { find "$1" -path '*/cache/download/*' \( -name '*.zip' -o -name '*.mod' \) -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

# Empty module caches, so nothing already downloaded on this machine counts.
export GOFLAGS=-modcacherw
mkdir -p "$work/dl"
cp go.mod go.sum "$work/dl/"
(cd "$work/dl" && GOMODCACHE="$work/mod-all" go mod download)
all_zip=$(zips "$work/mod-all")
all_disk=$(du -sb "$work/mod-all" | cut -f1)
GOMODCACHE="$work/mod-bin" go list -deps . >/dev/null
bin_zip=$(zips "$work/mod-bin")
gover=$(sed -n 's/^go //p' go.mod)
GOMODCACHE="$work/tc" go mod download "golang.org/toolchain@v0.0.1-go$gover.linux-amd64"
tc_zip=$(find "$work/tc" -name "*.zip" -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')

echo "| what a job downloads before the action starts | bytes | size |"
echo "| --- | --- | --- |"
go run ./scripts/image size --layout "$layout" | tail -n +2 | while IFS=$'\t' read -r plat comp _; do
  echo "| prebuilt image, $plat (compressed) | $comp | $(mib "$comp") |"
  if [ "$plat" = linux/amd64 ]; then echo "$comp" > "$work/amd64"; fi
done
echo "| Dockerfile path: modules go build fetches (zips) | $bin_zip | $(mib "$bin_zip") |"
echo "| Dockerfile path: Go $gover toolchain, linux/amd64 (module proxy zip; part of the golang image) | $tc_zip | $(mib "$tc_zip") |"
echo "| for comparison: every module of go.mod (\`go mod download\`, zips) | $all_zip | $(mib "$all_zip") |"
echo "| for comparison: the same module cache on disk | $all_disk | $(mib "$all_disk") |"
amd64=$(cat "$work/amd64")
awk -v a="$amd64" -v m="$bin_zip" -v t="$tc_zip" 'BEGIN {
  printf "\nDockerfile path, measured part only (toolchain + modules): %.1f MiB, %.0fx the prebuilt amd64 image\n", (m + t) / 1048576, (m + t) / a
}'
