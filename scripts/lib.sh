# Shared by the benchmark scripts (bench.sh, load.sh, memory.sh,
# extract-bench.sh), which source it: a work directory removed on exit, the
# binaries built into it, `skulk-weights devhub` serving on loopback with a
# random write token, a mirroring catalog and GNU time's peak RSS.

# setup_work PARENT NAME: makes $work (PARENT/skulk-NAME.XXXXXX), builds
# $bin (skulk-weights) and $work/benchseed into it and draws a token $tok
# (hf_NAME_...). On exit the hub, if started, is stopped and $work removed.
setup_work() {
	work=$(mktemp -d "$1/skulk-$2.XXXXXX")
	hubpid=
	trap stop_work EXIT
	go build -o "$work/skulk-weights" .
	go build -o "$work/benchseed" ./scripts/benchseed
	bin=$work/skulk-weights
	tok=hf_$2_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
}

stop_work() {
	if [ -n "$hubpid" ]; then kill "$hubpid" 2>/dev/null; wait "$hubpid" 2>/dev/null || true; fi
	rm -rf "$work"
}

# start_devhub CMD...: runs `CMD... devhub` with its blobs under $work/blobs,
# $tok allowed to write FoxlightAI/* and third-party/*, and waits until it
# listens; sets $hubpid and $url.
start_devhub() {
	"$@" devhub --dir "$work/blobs" --token "$tok=write:FoxlightAI/*,write:third-party/*" >"$work/devhub.out" 2>"$work/devhub.err" &
	hubpid=$!
	for _ in $(seq 50); do grep -q listening "$work/devhub.out" 2>/dev/null && break; sleep 0.1; done
	url=$(sed -n 's/^devhub listening on //p' "$work/devhub.out")
	[ -n "$url" ] || { echo "devhub did not start"; cat "$work/devhub.err"; exit 1; }
}

now() { date +%s.%N; }

# mirror_manifest NAME: writes $work/NAME.yaml, a one-entry catalog mirroring
# third-party/NAME into FoxlightAI/NAME-sidecar.
mirror_manifest() {
	cat >"$work/$1.yaml" <<YAML
models:
  - key: $1
    source_model: moonshotai/Kimi-K2.5
    quant: q4k
    tier: smoke
    slices: [full]
    output_name: $1.vindex
    hf_repo: FoxlightAI/$1-vindex
    vision_source_repo: third-party/$1
    vision_sidecar_repo: FoxlightAI/$1-sidecar
YAML
}

# peak_rss_kib FILE: the maximum resident set size (KiB) /usr/bin/time -v
# wrote to FILE.
peak_rss_kib() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
