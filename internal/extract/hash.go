package extract

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"

	"github.com/Foxlight-Foundation/skulk-weights/internal/sidecar"
)

// hashWriter hashes what is written and keeps its first bytes, the sample
// preupload is shown.
type hashWriter struct {
	h    hash.Hash
	n    int64
	head []byte
}

func newHashWriter() *hashWriter { return &hashWriter{h: sha256.New()} }

func (w *hashWriter) Write(p []byte) (int, error) {
	if k := sidecar.SampleSize - len(w.head); k > 0 {
		w.head = append(w.head, p[:min(k, len(p))]...)
	}
	w.h.Write(p)
	w.n += int64(len(p))
	return len(p), nil
}

func (w *hashWriter) sum() string { return hex.EncodeToString(w.h.Sum(nil)) }
