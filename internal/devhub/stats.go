package devhub

import (
	"errors"
	"io"
	"maps"
	"time"
)

// Stats counts what the Hub has served since it started.
type Stats struct {
	// Requests counts requests per route name: repo-create, repo-delete,
	// repo-info, tree, paths-info, preupload, commit, resolve, raw, refs,
	// lfs-batch, storage-put, storage-part, storage-complete, storage-verify,
	// blob, lfs-duplicate, whoami, collections-list, collection-create,
	// collection-get, collection-delete, collection-add-item,
	// collection-delete-item, validate-yaml, repo-move, resolve-cache,
	// moved-redirect (a renamed repo's old name redirected), admin-stats,
	// admin-faults, not-found.
	Requests map[string]int `json:"requests"`
	// BytesServed and BytesReceived count response and request body bytes.
	BytesServed   int64 `json:"bytesServed"`
	BytesReceived int64 `json:"bytesReceived"`
	// Commits counts commits per repo ("ns/name", "datasets/ns/name"),
	// including each repo's initial commit.
	Commits map[string]int `json:"commits"`
	// FaultsFired counts injected faults that hit a request.
	FaultsFired int `json:"faultsFired"`
	// StorageAuthorization counts storage requests (LFS uploads and
	// downloads) that carried an Authorization header. With storage on
	// another origin (ServeStorage) it must stay 0: a token never leaves
	// the Hub's host. On one origin, @huggingface/hub sends it to the
	// blob URL a resolve redirects to, as browsers' fetch does.
	StorageAuthorization int `json:"storageAuthorization"`
	// StorageBytes counts download bytes storage served per repo ("ns/name",
	// "datasets/ns/name"), Range reads included.
	StorageBytes map[string]int64 `json:"storageBytes"`
	// FileBytesServed counts, per repo, every response byte of its files:
	// resolve, resolve-cache and raw answers served directly (regular
	// files) and the storage reads their redirects lead to (StorageBytes),
	// Range reads included. It is what a client read of the repo's content; metadata
	// and listings are not counted.
	FileBytesServed map[string]int64 `json:"fileBytesServed"`
}

// Stats returns a snapshot of the counters.
//
// A request is counted when its handler returns, which can be just after
// its client has read the whole answer; so Stats first waits, up to a
// second, for the requests in flight to finish, and a test that reads it
// right after a response sees that response counted.
func (h *Hub) Stats() Stats {
	for deadline := time.Now().Add(time.Second); h.inflight.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.stats
	s.Requests = maps.Clone(h.stats.Requests)
	s.Commits = maps.Clone(h.stats.Commits)
	s.StorageBytes = maps.Clone(h.stats.StorageBytes)
	s.FileBytesServed = maps.Clone(h.stats.FileBytesServed)
	return s
}

func (h *Hub) adminStats(c *call) error {
	writeJSON(c.w, 200, h.Stats())
	return nil
}

// readAllLimit reads a request body of at most limit bytes.
func readAllLimit(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errors.New("request body too large")
	}
	return b, nil
}
