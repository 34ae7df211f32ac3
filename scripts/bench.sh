#!/usr/bin/env bash
# Benchmarks for the vision-sidecar mirror, all against `skulk-weights devhub`
# on loopback, in one run:
#   1. mirror 1 GiB in four files vs a plain curl download of the same bytes
#      from the same hub (reported as a ratio);
#   2. peak RSS of `skulk-weights publish` mirroring a single 2 GiB file;
#   3. requests and bytes of a no-op republish.
# Needs go, curl, python3 and GNU time (/usr/bin/time). Uses ~7 GiB of disk
# for the hub's blobs under $BENCH_DIR (default $TMPDIR; a tmpfs such as
# /dev/shm takes the disk out of the hub's side). Usage: scripts/bench.sh [jobs]
# BENCH_PROFILE=DIR writes CPU profiles of the hub (devhub.pprof) and of the
# first mirror (publish.pprof) to DIR; read them with `go tool pprof -top`.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${1:-4}
. scripts/lib.sh
setup_work "${BENCH_DIR:-${TMPDIR:-/tmp}}" bench

hubcmd=("$bin") pubcmd=("$bin")
if [ -n "${BENCH_PROFILE:-}" ]; then
	mkdir -p "$BENCH_PROFILE"
	go build -o "$work/cpuprofile" ./scripts/cpuprofile
	hubcmd=("$work/cpuprofile" -o "$BENCH_PROFILE/devhub.pprof")
	pubcmd=("$work/cpuprofile" -o "$BENCH_PROFILE/publish.pprof")
fi

start_devhub "${hubcmd[@]}"
stats() { curl -sf "$url/_devhub/stats"; }
export HF_ENDPOINT=$url HF_TOKEN=$tok

echo "== seeding 1 GiB in four files (third-party/kimi-k2-5-vision): the hub's upload ceiling"
t0=$(now)
"$work/benchseed" -endpoint "$url" -token "$tok" -repo third-party/kimi-k2-5-vision -files 4 -size $((256 << 20)) >/dev/null
t1=$(now)
seed=$(echo "$t1 - $t0" | bc -l)

files=$(curl -sf "$url/api/models/third-party/kimi-k2-5-vision/tree/main?recursive=true" |
	python3 -c 'import json,sys; print(" ".join(e["path"] for e in json.load(sys.stdin) if e["path"].endswith(".safetensors")))')

echo "== curl: download the same four files (sequential, then 4 in parallel)"
t0=$(now)
for f in $files; do curl -sfL -o /dev/null "$url/third-party/kimi-k2-5-vision/resolve/main/$f"; done
t1=$(now)
for f in $files; do echo "$url/third-party/kimi-k2-5-vision/resolve/main/$f"; done | xargs -P 4 -n 1 curl -sfL -o /dev/null
t2=$(now)
curl_seq=$(echo "$t1 - $t0" | bc -l); curl_par=$(echo "$t2 - $t1" | bc -l)

echo "== skulk-weights publish (first mirror, --jobs $JOBS)"
t0=$(now)
"${pubcmd[@]}" publish --model foxlight/kimi-k2-5-full-q4-k --artifact vision --jobs "$JOBS" --json >"$work/first.json" 2>"$work/first.err"
t1=$(now)
mirror=$(echo "$t1 - $t0" | bc -l)

echo "== no-op republish"
before=$(stats)
"$bin" publish --model foxlight/kimi-k2-5-full-q4-k --artifact vision --jobs "$JOBS" --json >"$work/noop.json" 2>"$work/noop.err"
after=$(stats)
noop=$(python3 - "$before" "$after" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
reqs = {k: v - a["requests"].get(k, 0) for k, v in b["requests"].items() if v - a["requests"].get(k, 0) > 0 and not k.startswith("admin")}
print(f'{sum(reqs.values())} requests ({", ".join(f"{k} {v}" for k, v in sorted(reqs.items()))}); '
      f'{b["bytesReceived"] - a["bytesReceived"]} bytes received, {b["bytesServed"] - a["bytesServed"]} bytes served; '
      f'commits {b["commits"].get("FoxlightAI/kimi-k2-5-vision", 0) - a["commits"].get("FoxlightAI/kimi-k2-5-vision", 0)}')
PY
)
grep -q '"up_to_date": true' "$work/noop.json" || { echo "no-op republish was not up to date"; cat "$work/noop.json"; exit 1; }

echo "== peak RSS: one 2 GiB file"
"$work/benchseed" -endpoint "$url" -token "$tok" -repo third-party/big-vision -files 1 -size $((2 << 30)) -prefix encoder >/dev/null
cat >"$work/big.yaml" <<'YAML'
models:
  - key: big-vision
    source_model: moonshotai/Kimi-K2.5
    quant: q4k
    tier: smoke
    slices: [full]
    output_name: big-vision.vindex
    hf_repo: FoxlightAI/big-vision-vindex
    vision_source_repo: third-party/big-vision
    vision_sidecar_repo: FoxlightAI/big-vision-sidecar
YAML
t0=$(now)
/usr/bin/time -v "$bin" publish --manifest "$work/big.yaml" --model big-vision --artifact vision --jobs "$JOBS" --json \
	>"$work/big.json" 2>"$work/big.err"
t1=$(now)
rss_kb=$(peak_rss_kib "$work/big.err")
big=$(echo "$t1 - $t0" | bc -l)

gib=1073741824
printf '\nresults (%s, %s cores, --jobs %s)\n' "$(uname -sm)" "$(nproc)" "$JOBS"
printf '  curl, 1 GiB sequential:       %6.2f s  (%4.0f MiB/s)\n' "$curl_seq" "$(echo "1024 / $curl_seq" | bc -l)"
printf '  curl, 1 GiB 4 in parallel:    %6.2f s  (%4.0f MiB/s)\n' "$curl_par" "$(echo "1024 / $curl_par" | bc -l)"
printf '  seed upload, 1 GiB generated: %6.2f s  (%4.0f MiB/s: the hub'"'"'s ingest ceiling)\n' "$seed" "$(echo "1024 / $seed" | bc -l)"
printf '  mirror 1 GiB (down + up):     %6.2f s  (%4.0f MiB/s of source read)\n' "$mirror" "$(echo "1024 / $mirror" | bc -l)"
printf '  ratio mirror / curl seq:      %6.2f\n' "$(echo "$mirror / $curl_seq" | bc -l)"
printf '  ratio mirror / curl parallel: %6.2f\n' "$(echo "$mirror / $curl_par" | bc -l)"
printf '  ratio mirror / (curl seq + seed upload): %6.2f\n' "$(echo "$mirror / ($curl_seq + $seed)" | bc -l)"
printf '  2 GiB single file: %.2f s, peak RSS %d MiB\n' "$big" "$((rss_kb / 1024))"
printf '  no-op republish: %s\n' "$noop"
