#!/usr/bin/env bash
# Benchmark of the extraction (a sidecar cut out of an upstream checkpoint by
# ranged reads), against `skulk-weights devhub` on loopback, in one run:
#   1. seed a generated checkpoint of SHARDS shards (default 16) of ~1 GiB,
#      1 GiB of vision tensors in the last two (internal/upstream);
#   2. curl just the selected tensors' byte ranges, once (the floor: the
#      bytes the sidecar needs, read once, nothing uploaded);
#   3. a plain `skulk-weights upload` of the same output file (the upload
#      floor; curl + upload is the baseline the publishes are compared to);
#   4. publish the vision sidecar (two passes: hash, then upload) and, into a
#      second sidecar, with --scratch (one pass, spooled to disk), each under
#      /usr/bin/time -v for peak RSS; bytes read come from the hub's
#      per-repo counter.
# Needs go, curl, python3 (with PyYAML), bc and GNU time. Uses about
# SHARDS+2 GiB of disk under $BENCH_DIR (default $TMPDIR). The hub stores
# blobs by content, so the generated shards are real files, not sparse ones.
# Usage: scripts/extract-bench.sh [shards]
set -euo pipefail
cd "$(dirname "$0")/.."
SHARDS=${1:-16}
. scripts/lib.sh
setup_work "${BENCH_DIR:-${TMPDIR:-/tmp}}" xbench
start_devhub "$bin"
export HF_ENDPOINT=$url HF_TOKEN=$tok
src=third-party/kimi-upstream

echo "== seeding $SHARDS shards of ~1 GiB, 1 GiB of vision tensors in the last two ($src)"
t0=$(now)
go build -o "$work/upstreamseed" ./scripts/upstreamseed
"$work/upstreamseed" -endpoint "$url" -token "$tok" -repo "$src" -shards "$SHARDS" -size $((1 << 30)) -vision $((1 << 30)) >/dev/null 2>"$work/seed.err"
echo "   seeded in $(echo "$(now) - $t0" | bc -l | cut -c1-6) s"

cat >"$work/cat.yaml" <<YAML
models:
  - key: bench
    source_model: $src
    quant: q4k
    tier: moe
    slices: [full]
    output_name: bench.vindex
    hf_repo: FoxlightAI/bench-vindex
    vision_source_repo: $src
    vision_sidecar_repo: FoxlightAI/bench-vision
    vision_source_tensors: [vision_tower., mm_projector.]
  - key: bench-scratch
    source_model: $src
    quant: q4k
    tier: moe
    slices: [full]
    output_name: bench-scratch.vindex
    hf_repo: FoxlightAI/bench-scratch-vindex
    vision_source_repo: $src
    vision_sidecar_repo: FoxlightAI/bench-scratch-vision
    vision_source_tensors: [vision_tower., mm_projector.]
YAML

echo "== the selected tensors' byte ranges (index and headers read with curl)"
python3 - "$url" "$src" >"$work/ranges" <<'PY'
import json, struct, sys, urllib.request
url, repo = sys.argv[1], sys.argv[2]
def get(path, rng=None):
    req = urllib.request.Request(f"{url}/{repo}/resolve/main/{path}")
    if rng: req.add_header("Range", "bytes=%d-%d" % rng)
    return urllib.request.urlopen(req).read()
wm = json.loads(get("model.safetensors.index.json"))["weight_map"]
sel = {n: s for n, s in wm.items() if n.startswith(("vision_tower.", "mm_projector."))}
for shard in sorted(set(sel.values())):
    n = struct.unpack("<Q", get(shard, (0, 7)))[0]
    hdr = json.loads(get(shard, (8, 8 + n - 1)))
    spans = sorted((v["data_offsets"][0] + 8 + n, v["data_offsets"][1] + 8 + n) for k, v in hdr.items() if k in sel)
    runs = []
    for b, e in spans:  # adjacent tensors in one request, as the extraction does
        if runs and runs[-1][1] == b: runs[-1][1] = e
        else: runs.append([b, e])
    for b, e in runs: print(shard, b, e - 1)
PY
sel=$(awk '{s += $3 - $2 + 1} END {print s}' "$work/ranges")
echo "   $(wc -l <"$work/ranges") ranges, $sel bytes"

read_bytes() { curl -sf "$url/_devhub/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['fileBytesServed'].get('$src', 0))"; }

echo "== curl: just those ranges, once"
t0=$(now)
while read -r shard b e; do curl -sfL -r "$b-$e" -o /dev/null "$url/$src/resolve/main/$shard"; done <"$work/ranges"
curl_t=$(echo "$(now) - $t0" | bc -l)

echo "== publish (two passes, no disk)"
r0=$(read_bytes); t0=$(now)
/usr/bin/time -v "$bin" publish --manifest "$work/cat.yaml" --model bench --artifact vision --json >"$work/two.json" 2>"$work/two.err" || { tail -20 "$work/two.err"; exit 1; }
two_t=$(echo "$(now) - $t0" | bc -l); two_read=$(( $(read_bytes) - r0 ))
two_rss=$(peak_rss_kib "$work/two.err")

echo "== publish --scratch (one pass, spooled)"
r0=$(read_bytes); t0=$(now)
/usr/bin/time -v "$bin" publish --manifest "$work/cat.yaml" --model bench-scratch --artifact vision --scratch "$work/scratch" --json >"$work/one.json" 2>"$work/one.err" || { tail -20 "$work/one.err"; exit 1; }
one_t=$(echo "$(now) - $t0" | bc -l); one_read=$(( $(read_bytes) - r0 ))
one_rss=$(peak_rss_kib "$work/one.err")

echo "== plain upload of the same output file (the upload floor)"
curl -sfL -o "$work/out.safetensors" "$url/FoxlightAI/bench-vision/resolve/main/model.safetensors"
t0=$(now)
"$bin" upload FoxlightAI/plain-upload "$work/out.safetensors" >/dev/null 2>&1
up_t=$(echo "$(now) - $t0" | bc -l)
rm -f "$work/out.safetensors"
[ -z "$(ls -A "$work/scratch")" ] || { echo "--scratch left files behind"; ls -R "$work/scratch"; exit 1; }

echo "== republish (no-op)"
r0=$(read_bytes)
"$bin" publish --manifest "$work/cat.yaml" --model bench --artifact vision --json >"$work/noop.json" 2>/dev/null
noop_read=$(( $(read_bytes) - r0 ))
grep -q '"up_to_date": true' "$work/noop.json" || { echo "republish was not up to date"; exit 1; }

total=$(python3 -c "import json; p=json.load(open('$work/two.json'))['artifacts'][0]['extraction']['plan']; print(p['checkpoint_bytes'], p['shard_bytes'], p['selected_bytes'], p['header_bytes'], len(p['shards']), p['checkpoint_shards'])")
set -- $total
cat <<OUT

checkpoint:                        $1 bytes in $6 shards; selected $3 bytes in $5 shards ($2 bytes touched)
curl of the selected ranges, once: $(printf %.2f "$curl_t") s
plain upload of the 1 GiB output:  $(printf %.2f "$up_t") s  (curl + upload: $(printf %.2f "$(echo "$curl_t + $up_t" | bc -l)") s)
publish, two passes:               $(printf %.2f "$two_t") s  ($(echo "$two_t / ($curl_t + $up_t)" | bc -l | cut -c1-4)x curl + upload)  read $two_read bytes ($(echo "$two_read / $3" | bc -l | cut -c1-5)x selected; headers $4)  peak RSS $((two_rss / 1024)) MiB
publish --scratch, one pass:       $(printf %.2f "$one_t") s  ($(echo "$one_t / ($curl_t + $up_t)" | bc -l | cut -c1-4)x curl + upload)  read $one_read bytes ($(echo "$one_read / $3" | bc -l | cut -c1-5)x selected)  peak RSS $((one_rss / 1024)) MiB
no-op republish:                   read $noop_read bytes
OUT
