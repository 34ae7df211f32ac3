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

# The release workflow's image step, on the snapshot: the image made of the
# released linux binaries must be the one scripts/image builds from source
# with the same version, so anyone can rebuild a released digest.
go build -o "$work/image" ./scripts/image
version=v$(jq -r .version dist/metadata.json)
"$work/image" build --out "$work/from-release" --version "$version" \
  --binary "linux/amd64=$bin" \
  --binary "linux/arm64=$(jq -r '.[] | select(.type == "Binary" and .goos == "linux" and .goarch == "arm64") | .path' dist/artifacts.json)"
"$work/image" check --layout "$work/from-release" --run=false >/dev/null
"$work/image" build --out "$work/from-source" --version "$version"
if ! diff -r "$work/from-release" "$work/from-source" >/dev/null; then
  echo "release: the image of the released binaries differs from the one built from source:" >&2
  diff -r "$work/from-release" "$work/from-source" >&2 || true
  exit 1
fi
echo "release: the released binaries' image is the source's: $(jq -r '.manifests[0].digest' "$work/from-source/index.json")"
