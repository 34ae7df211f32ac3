#!/usr/bin/env bash
# Load runs of the vision-sidecar mirror against `skulk-weights devhub` on
# loopback, measuring peak memory with GNU time:
#   1. a source of 500 files (1 MiB each): peak RSS, time, requests;
#   2. a source of one big file (default 8 GiB): peak RSS and time.
# Memory must stay flat: independent of the file count and the file size.
# The hub keeps blobs under $LOAD_DIR (default /tmp); the big case needs
# about 2 x its size of free disk there (source + sidecar upload).
# LOAD_PROFILE=DIR runs each publish under scripts/memprofile, which writes
# DIR/<n>-<case>/memstats.tsv (runtime/metrics every 50 ms) and heap
# profiles at the peak live heap and at the end, n counting the publishes;
# read them with `go tool pprof -sample_index=alloc_space -top DIR/3-big/heap-end.pprof`.
# Usage: scripts/load.sh [big-file-GiB] [jobs]
set -euo pipefail
cd "$(dirname "$0")/.."
GIB=${1:-8}
JOBS=${2:-4}
. scripts/lib.sh
setup_work "${LOAD_DIR:-/tmp}" load

if [ -n "${LOAD_PROFILE:-}" ]; then go build -o "$work/memprofile" ./scripts/memprofile; fi
runs=0
start_devhub "$bin"
export HF_ENDPOINT=$url HF_TOKEN=$tok SKULK_WEIGHTS_COLLECTION=none
requests() { curl -sf "$url/_devhub/stats" | python3 -c 'import json,sys; r=json.load(sys.stdin)["requests"]; print(sum(v for k,v in r.items() if not k.startswith("admin")))'; }

# publish KEY LABEL: runs the publish under GNU time and prints one result line.
publish() {
	mirror_manifest "$1"
	local r0 t0 t1 r1 rss
	r0=$(requests); t0=$(now)
	local cmd=("$bin")
	runs=$((runs + 1))
	if [ -n "${LOAD_PROFILE:-}" ]; then cmd=("$work/memprofile" -o "$LOAD_PROFILE/$runs-$1"); fi
	/usr/bin/time -v "${cmd[@]}" publish --manifest "$work/$1.yaml" --model "$1" --artifact vision --jobs "$JOBS" --json \
		>"$work/$1.json" 2>"$work/$1.err" || { echo "publish $1 failed"; tail -20 "$work/$1.err"; exit 1; }
	t1=$(now); r1=$(requests)
	rss=$(peak_rss_kib "$work/$1.err")
	local copied moved
	copied=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["artifacts"][0]["result"]["copied"])' "$work/$1.json")
	moved=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["artifacts"][0]["result"]["bytes_moved"])' "$work/$1.json")
	printf '  %-34s %4d files copied, %6.0f MiB moved, %7.2f s, %5d requests, peak RSS %d MiB\n' \
		"$2" "$copied" "$(echo "$moved / 1048576" | bc -l)" "$(echo "$t1 - $t0" | bc -l)" "$((r1 - r0))" "$((rss / 1024))" | tee -a "$work/results"
}

echo "== seeding third-party/many: 500 files of 1 MiB"
"$work/benchseed" -endpoint "$url" -token "$tok" -repo third-party/many -files 500 -size $((1 << 20)) >/dev/null
echo "== publishing 500 files"
publish many "500 files x 1 MiB, first mirror"
publish many "500 files x 1 MiB, no-op republish"

echo "== seeding third-party/big: one file of $GIB GiB (streams; takes a while on disk)"
t0=$(now)
"$work/benchseed" -endpoint "$url" -token "$tok" -repo third-party/big -files 1 -size $((GIB << 30)) -prefix encoder >/dev/null
printf '  seeded %d GiB in %.0f s\n' "$GIB" "$(echo "$(now) - $t0" | bc -l)"
echo "== publishing one $GIB GiB file"
publish big "1 file x $GIB GiB, first mirror"
publish big "1 file x $GIB GiB, no-op republish"

printf '\nresults (%s, %s cores, --jobs %s, blobs under %s)\n' "$(uname -sm)" "$(nproc)" "$JOBS" "${LOAD_DIR:-/tmp}"
cat "$work/results"
