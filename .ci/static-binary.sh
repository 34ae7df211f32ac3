#!/usr/bin/env bash
# Proves the action image needs nothing but the binary: builds skulk-weights
# with the Dockerfile's exact flags, then runs it inside an empty root
# directory (no /etc, no CA bundle, no libc, no shell) through chroot.
# Needs root (or unprivileged user namespaces for `unshare -r`).
set -euo pipefail
cd "$(dirname "$0")/.."

pkg=github.com/Foxlight-Foundation/skulk-weights/internal/buildinfo
ldflags="-s -w -X $pkg.version=\${VERSION} -X $pkg.commit=\${COMMIT} -X $pkg.date=\${DATE}"
# The Dockerfile is the source of truth: fail if its build line drifted.
for want in 'CGO_ENABLED=0 GOOS=linux go build -trimpath' "-ldflags \"$ldflags\"" 'ENTRYPOINT ["/skulk-weights", "action"]'; do
  if ! grep -qF -- "$want" Dockerfile; then
    echo "static-binary: Dockerfile no longer contains: $want" >&2
    exit 1
  fi
done
if grep -qE '^[[:space:]]*USER[[:space:]]' Dockerfile; then
  echo "static-binary: Dockerfile sets USER; the runner needs root to write its files" >&2
  exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
VERSION=v0.0.0-static-check COMMIT=0123456789abcdef0123456789abcdef01234567 DATE=2026-01-02T03:04:05Z
ldflags=${ldflags//\$\{VERSION\}/$VERSION}
ldflags=${ldflags//\$\{COMMIT\}/$COMMIT}
ldflags=${ldflags//\$\{DATE\}/$DATE}
CGO_ENABLED=0 GOOS=linux go build -trimpath \
  -ldflags "$ldflags" \
  -o "$root/skulk-weights" .

if command -v file >/dev/null && ! file "$root/skulk-weights" | grep -q 'statically linked'; then
  echo "static-binary: not statically linked: $(file "$root/skulk-weights")" >&2
  exit 1
fi

# Run inside the empty root. chroot needs root; otherwise map ourselves to
# root in a new user namespace first.
inroot() {
  if [ "$(id -u)" = 0 ]; then
    chroot "$root" /skulk-weights "$@"
  else
    unshare -r chroot "$root" /skulk-weights "$@"
  fi
}

fail=0
check() {
  local want=$1; shift
  local out
  if ! out=$(inroot "$@" 2>&1); then
    echo "static-binary: 'skulk-weights $*' failed in an empty root:" >&2
    echo "$out" >&2
    fail=1
    return
  fi
  if ! grep -qF -- "$want" <<<"$out"; then
    echo "static-binary: 'skulk-weights $*' did not print '$want':" >&2
    echo "$out" >&2
    fail=1
    return
  fi
  echo "ok   skulk-weights $*"
}

echo "root: $(ls -A "$root")"
check "skulk-weights $VERSION" version
check "commit: $COMMIT" version
check "date:   $DATE" version
check "" catalog validate
# Dry-run an entry with a vision sidecar (else the first entry).
list=$(inroot catalog list 2>/dev/null || true)
first=$(awk 'NR > 1 && /vision/ {print $1; exit}' <<<"$list")
[ -n "$first" ] || first=$(awk 'NR > 1 && NF {print $1; exit}' <<<"$list")
if [ -n "$first" ]; then
  check "dry run complete" publish --model "$first" --artifact all --dry-run
else
  echo "static-binary: 'catalog list' printed no entry to dry-run" >&2
  fail=1
fi
# The action itself, outside a runner, must fail cleanly (not crash) without
# any file from the image.
out=$(inroot action 2>&1) && { echo "static-binary: 'action' succeeded outside a runner" >&2; fail=1; }
if grep -q 'panic:' <<<"$out"; then
  echo "static-binary: 'action' panicked in an empty root:" >&2
  echo "$out" >&2
  fail=1
else
  echo "ok   skulk-weights action (fails cleanly outside a runner)"
fi
exit $fail
