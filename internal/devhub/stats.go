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
	// collection-delete-item, admin-stats, admin-faults, not-found.
	Requests map[string]int `json:"requests"`
	// BytesServed and BytesReceived count response and request body bytes.
	BytesServed   int64 `json:"bytesServed"`
	BytesReceived int64 `json:"bytesReceived"`
	// FileBytesServed counts, per repo ("ns/name", "datasets/ns/name"),
	// the response bytes of its files: resolve and raw downloads and the
	// storage (blob) URLs they redirect to, ranged or whole. It is what a
	// client read of that repo's content, metadata and listings excluded.
	FileBytesServed map[string]int64 `json:"fileBytesServed"`
	// Commits counts commits per repo ("ns/name", "datasets/ns/name"),
	// including each repo's initial commit.
	Commits map[string]int `json:"commits"`
	// FaultsFired counts injected faults that hit a request.
	FaultsFired int `json:"faultsFired"`
}

// Stats returns a snapshot of the counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.stats
	s.Requests = maps.Clone(h.stats.Requests)
	s.Commits = maps.Clone(h.stats.Commits)
	s.FileBytesServed = maps.Clone(h.stats.FileBytesServed)
	return s
}

// Settled returns the counters once no request is being served (waiting
// at most timeout). A client may read a response's last byte just before
// its handler returns and counts it, so a test that asserts counters right
// after its client finished reads them through Settled.
func (h *Hub) Settled(timeout time.Duration) Stats {
	deadline := time.Now().Add(timeout)
	for h.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	return h.Stats()
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
