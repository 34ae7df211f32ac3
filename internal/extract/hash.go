package extract

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

type hashWriter struct {
	h hash.Hash
	n int64
}

func newHashWriter() *hashWriter { return &hashWriter{h: sha256.New()} }

func (w *hashWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	w.n += int64(len(p))
	return len(p), nil
}

func (w *hashWriter) sum() string { return hex.EncodeToString(w.h.Sum(nil)) }
