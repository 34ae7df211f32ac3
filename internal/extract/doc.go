// Package extract owns tensor extraction: it cuts a selection of tensors out
// of a source checkpoint on the Hub by HTTP Range reads and publishes them as
// a sidecar. It reads the checkpoint's index (or its single file's header)
// at a pinned commit, then only the length prefix and JSON header of each
// shard that holds a selected tensor, then only the selected tensors' bytes,
// one request per run of adjacent tensors. The output is safetensors with a
// deterministic layout, so the same source commit and selection always give
// the same bytes, sha256 and git oid.
//
// Two selections exist: the vision sidecar (tensors by name prefix, bytes
// copied unchanged) and the MTP sidecar (the multi-token-prediction head,
// every tensor converted to BF16 by internal/bf16).
//
// The LFS upload needs a file's sha256 before it starts, so by default a
// publish reads the selected bytes twice, hashing in the first pass and
// uploading in the second, with nothing on disk and memory bounded by one
// upload part; with a scratch directory it reads them once and spools the
// output there.
package extract
