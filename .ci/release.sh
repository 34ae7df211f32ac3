#!/usr/bin/env bash
# Checks the release config as a tag would exercise it, without publishing:
# `goreleaser check`, then a snapshot release (every binary, archive,
# checksum and SBOM) in a fresh clone of this checkout, so a broken
# .goreleaser.yaml fails a pull request, not a tag. The versions are the
# release workflow's.
set -euo pipefail
cd "$(dirname "$0")/.."
goreleaser=github.com/goreleaser/goreleaser/v2@v2.15.1
cyclonedx=github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Compiling GoReleaser from the module proxy is most of this script's time;
# build it once and say how long it took.
start=$SECONDS
GOBIN="$work/bin" go install "$goreleaser"
GOBIN="$work/bin" go install "$cyclonedx"
echo "release: goreleaser and cyclonedx-gomod built in $((SECONDS - start))s"
export PATH="$work/bin:$PATH"

goreleaser check

git clone -q --no-local . "$work/src"
cd "$work/src"
start=$SECONDS
goreleaser release --snapshot --clean --skip=publish
echo "release: snapshot built in $((SECONDS - start))s"

# What a release would upload: four archives, four SBOMs, one checksum file
# that covers the archives.
shopt -s nullglob
archives=(dist/*.tar.gz) sboms=(dist/*.cdx.json) sums=(dist/*_checksums.txt)
if [ ${#archives[@]} -ne 4 ] || [ ${#sboms[@]} -ne 4 ] || [ ${#sums[@]} -ne 1 ]; then
  echo "release: want 4 archives, 4 SBOMs and 1 checksum file; got:" >&2
  ls dist >&2
  exit 1
fi
(cd dist && sha256sum --quiet -c "$(basename "${sums[0]}")" --ignore-missing)
for a in "${archives[@]}"; do
  grep -q " $(basename "$a")\$" "${sums[0]}" || { echo "release: $a is not in ${sums[0]}" >&2; exit 1; }
done
for s in "${sboms[@]}"; do
  jq -e '.bomFormat == "CycloneDX" and (.components | length > 0)' "$s" >/dev/null ||
    { echo "release: $s is not a CycloneDX SBOM with components" >&2; exit 1; }
done
# The linux/amd64 binary reports the snapshot's version and this commit.
bin=$(jq -r '.[] | select(.type == "Binary" and .goos == "linux" and .goarch == "amd64") | .path' dist/artifacts.json)
"$bin" version | tee "$work/version.txt"
grep -q "^commit: $(git rev-parse HEAD)\$" "$work/version.txt" ||
  { echo "release: the snapshot binary does not report commit $(git rev-parse HEAD)" >&2; exit 1; }
echo "release: ${#archives[@]} archives, ${#sboms[@]} SBOMs, checksums verified"
