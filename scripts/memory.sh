#!/usr/bin/env bash
# Peak memory of `skulk-weights publish` on the inputs that once made it
# balloon, against `skulk-weights devhub` on loopback:
#   1. a source holding twenty regular (non-LFS) JSON files of 6 to 30 MiB,
#      360 MiB in all, which the one commit carries inline (base64);
#   2. a source whose one safetensors file has a header of exactly
#      safetensors.HeaderLimit (16 MiB) bytes: as many tensors as fit (wide),
#      then one __metadata__ value filling it (fat, the longest JSON token),
#      then four fat ones in one source, their headers read in parallel.
# Peak RSS is /usr/bin/time -v's maximum resident set size of the publish;
# the hub's peak (VmHWM, since it started) is shown beside it. The target
# is under 128 MiB for every publish.
# BASELINE=path/to/another/skulk-weights runs the same publishes with that
# binary too (e.g. one built from main) and prints the ratios.
# Needs go, curl, python3 and GNU time. Uses ~1 GiB of disk under
# $BENCH_DIR (default $TMPDIR). Usage: scripts/memory.sh [jobs]
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${1:-4}
. scripts/lib.sh
setup_work "${BENCH_DIR:-${TMPDIR:-/tmp}}" memory
start_devhub "$bin"
export HF_ENDPOINT=$url HF_TOKEN=$tok

hub_hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$hubpid/status"; }

# measure LABEL BIN NAME [FLAGS...]: publishes NAME with BIN, into a sidecar
# of its own (a fresh copy, so every run copies everything), and prints
# LABEL, the peak RSS in MiB and the wall time.
run=0
measure() {
	local label=$1 b=$2 name=$3; shift 3
	run=$((run + 1))
	sed "s/$name-sidecar/$name-sidecar-$run/" "$work/$name.yaml" >"$work/run$run.yaml"
	local t0 t1
	t0=$(now)
	/usr/bin/time -v "$b" publish --manifest "$work/run$run.yaml" --model "$name" --artifact vision --jobs "$JOBS" --json "$@" \
		>"$work/run$run.json" 2>"$work/run$run.err" || { echo "$label: publish failed"; tail -5 "$work/run$run.err"; exit 1; }
	t1=$(now)
	grep -q '"status": "published"' "$work/run$run.json" || { echo "$label: not published"; cat "$work/run$run.json"; exit 1; }
	local rss
	rss=$(peak_rss_kib "$work/run$run.err")
	printf '  %-44s peak RSS %5d MiB  %6.2f s  (devhub peak so far %d MiB)\n' "$label" $((rss / 1024)) "$(echo "$t1 - $t0" | bc -l)" $(($(hub_hwm) / 1024))
	last_rss=$rss
}

echo "== seeding: twenty JSON files of 6-30 MiB (third-party/regular-vision)"
"$work/benchseed" -endpoint "$url" -token "$tok" -repo third-party/regular-vision -files 1 -size $((1 << 20)) \
	-json 20 -json-min $((6 << 20)) -json-max $((30 << 20)) >/dev/null
mirror_manifest regular-vision
echo "== seeding: headers of exactly 16 MiB (third-party/wide-vision, third-party/fat-vision)"
"$work/benchseed" -endpoint "$url" -token "$tok" -repo third-party/wide-vision -header wide >/dev/null
mirror_manifest wide-vision
"$work/benchseed" -endpoint "$url" -token "$tok" -repo third-party/fat-vision -header fat -files 1 >/dev/null
mirror_manifest fat-vision
"$work/benchseed" -endpoint "$url" -token "$tok" -repo third-party/fat4-vision -header fat -files 4 >/dev/null
mirror_manifest fat4-vision

printf '\nresults (%s, %s cores, --jobs %s)\n' "$(uname -sm)" "$(nproc)" "$JOBS"
# The 360 MiB of regular files are over the default --max-regular-bytes
# (256 MiB): raised here to show memory does not follow them.
measure "360 MiB of regular files" "$bin" regular-vision --max-regular-bytes 512MiB
regular=$last_rss
measure "16 MiB header, most tensors that fit" "$bin" wide-vision
wide=$last_rss
measure "16 MiB header, one 16 MiB metadata value" "$bin" fat-vision
fat=$last_rss
measure "four such headers, --jobs $JOBS" "$bin" fat4-vision
fat4=$last_rss

if [ -n "${BASELINE:-}" ]; then
	echo "baseline: $BASELINE"
	# A baseline from before --max-regular-bytes has no such flag, nor limit.
	measure "baseline: 360 MiB of regular files" "$BASELINE" regular-vision
	printf '  ratio regular files, baseline / this: %.1f\n' "$(echo "$last_rss / $regular" | bc -l)"
	measure "baseline: 16 MiB header, most tensors" "$BASELINE" wide-vision
	printf '  ratio wide header, baseline / this: %.1f\n' "$(echo "$last_rss / $wide" | bc -l)"
	measure "baseline: 16 MiB header, one metadata value" "$BASELINE" fat-vision
	printf '  ratio fat header, baseline / this: %.1f\n' "$(echo "$last_rss / $fat" | bc -l)"
	measure "baseline: four such headers" "$BASELINE" fat4-vision
	printf '  ratio four fat headers, baseline / this: %.1f\n' "$(echo "$last_rss / $fat4" | bc -l)"
fi
