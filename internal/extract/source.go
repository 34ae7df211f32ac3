package extract

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// reader reads byte ranges of one repo at one commit and counts the bytes
// it receives, so a run can report (and tests can bound) what it read.
type reader struct {
	cl        *hub.Client
	repo, sha string
	n         atomic.Int64
}

// open streams length bytes of path from offset. The pinned sha makes a
// resumed read return the same bytes.
func (r *reader) open(ctx context.Context, path string, offset, length int64) (io.ReadCloser, error) {
	f, err := r.cl.OpenRange(ctx, r.repo, r.sha, path, offset, length)
	if err != nil {
		return nil, fmt.Errorf("reading %s bytes %d-%d of %s@%s: %w", path, offset, offset+length, r.repo, short(r.sha), err)
	}
	return &countReader{r: f, n: &r.n, left: length}, nil
}

// readAll reads a whole range into memory; callers bound length.
func (r *reader) readAll(ctx context.Context, path string, offset, length int64) ([]byte, error) {
	f, err := r.open(ctx, path, offset, length)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, length)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("reading %s bytes %d-%d of %s@%s: %w", path, offset, offset+length, r.repo, short(r.sha), err)
	}
	return b, nil
}

// countReader counts bytes and refuses more than it asked for.
type countReader struct {
	r    io.ReadCloser
	n    *atomic.Int64
	left int64
}

func (c *countReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	c.left -= int64(n)
	if err == io.EOF && c.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (c *countReader) Close() error { return c.r.Close() }

// Source is what a run knows about the source checkpoint at the pinned
// commit: its files, and the selected tensors found through the index and
// the headers of the shards that hold them.
type Source struct {
	Repo, SHA string
	// Files is the repository tree at SHA, by path.
	Files map[string]hub.TreeEntry
	// IndexPath is IndexFile, or "" for a checkpoint of one file.
	IndexPath string
	// AllShards are the checkpoint's weight files, sorted.
	AllShards []string
	// Names is every tensor name of the checkpoint, sorted.
	Names []string
	// Selected are the selected tensors, in file order: by shard path, then
	// by their place in the shard.
	Selected []Tensor
	// Shards are the shards that hold a selected tensor, sorted; ShardBytes
	// their total size.
	Shards     []string
	ShardBytes int64
	// SelectedBytes is the data size of Selected.
	SelectedBytes int64
	// Config is config.json at SHA when the run read it, else nil.
	Config map[string]any
}

// fileSize returns the size of path in the tree, or an error naming it.
func (s *Source) entry(path string) (hub.TreeEntry, error) {
	e, ok := s.Files[path]
	if !ok {
		return hub.TreeEntry{}, invalidf("%s@%s has no file %s", s.Repo, short(s.SHA), path)
	}
	return e, nil
}

// loadNames reads the checkpoint's tensor names: from the index when there
// is one, else from the header of its one safetensors file (whose tensors
// are then known in full).
func loadNames(ctx context.Context, rd *reader, s *Source) (map[string]string, map[string][]Tensor, error) {
	if e, ok := s.Files[IndexFile]; ok {
		if e.Size > MaxIndexSize {
			return nil, nil, invalidf("%s is %d bytes; at most %d are read", IndexFile, e.Size, MaxIndexSize)
		}
		b, err := rd.readAll(ctx, IndexFile, 0, e.Size)
		if err != nil {
			return nil, nil, err
		}
		idx, err := ParseIndex(b)
		if err != nil {
			return nil, nil, err
		}
		for _, sh := range idx.Shards {
			if _, ok := s.Files[sh]; !ok {
				return nil, nil, invalidf("%s names shard %s, which %s@%s does not have", IndexFile, sh, s.Repo, short(s.SHA))
			}
		}
		s.IndexPath = IndexFile
		s.AllShards = idx.Shards
		for n := range idx.WeightMap {
			s.Names = append(s.Names, n)
		}
		sort.Strings(s.Names)
		return idx.WeightMap, nil, nil
	}
	single := ""
	if _, ok := s.Files["model.safetensors"]; ok {
		single = "model.safetensors"
	} else {
		var roots []string
		for p := range s.Files {
			if !strings.Contains(p, "/") && strings.HasSuffix(p, ".safetensors") {
				roots = append(roots, p)
			}
		}
		switch len(roots) {
		case 0:
			return nil, nil, invalidf("%s@%s has neither %s nor a .safetensors file at its root", s.Repo, short(s.SHA), IndexFile)
		case 1:
			single = roots[0]
		default:
			sort.Strings(roots)
			return nil, nil, invalidf("%s@%s has %d .safetensors files at its root (%s) and no %s saying which tensors each holds", s.Repo, short(s.SHA), len(roots), strings.Join(roots, ", "), IndexFile)
		}
	}
	ts, err := readHeader(ctx, rd, s, single)
	if err != nil {
		return nil, nil, err
	}
	s.AllShards = []string{single}
	wm := make(map[string]string, len(ts))
	for _, t := range ts {
		wm[t.Name] = single
		s.Names = append(s.Names, t.Name)
	}
	sort.Strings(s.Names)
	return wm, map[string][]Tensor{single: ts}, nil
}

// readHeader reads a shard's length prefix and header: two ranged GETs.
func readHeader(ctx context.Context, rd *reader, s *Source, shard string) ([]Tensor, error) {
	e, err := s.entry(shard)
	if err != nil {
		return nil, err
	}
	if e.Size < 8 {
		return nil, invalidf("%s: %d bytes is too short for safetensors", shard, e.Size)
	}
	prefix, err := rd.readAll(ctx, shard, 0, 8)
	if err != nil {
		return nil, err
	}
	n, err := headerLength(prefix, e.Size, shard)
	if err != nil {
		return nil, err
	}
	h, err := rd.readAll(ctx, shard, 8, n)
	if err != nil {
		return nil, err
	}
	return parseHeader(h, e.Size, shard)
}

// locate reads the headers of the shards holding the selected names and
// fills s.Selected, s.Shards and the byte counts.
func locate(ctx context.Context, rd *reader, s *Source, wm map[string]string, known map[string][]Tensor, names []string, jobs int) error {
	want := map[string][]string{}
	for _, n := range names {
		want[wm[n]] = append(want[wm[n]], n)
	}
	for sh := range want {
		s.Shards = append(s.Shards, sh)
	}
	sort.Strings(s.Shards)
	headers := make([][]Tensor, len(s.Shards))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(jobs, 1))
	var mu sync.Mutex
	for i, sh := range s.Shards {
		if ts, ok := known[sh]; ok {
			headers[i] = ts
			continue
		}
		g.Go(func() error {
			ts, err := readHeader(gctx, rd, s, sh)
			if err != nil {
				return err
			}
			mu.Lock()
			headers[i] = ts
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, sh := range s.Shards {
		e, _ := s.entry(sh)
		s.ShardBytes += e.Size
		byName := make(map[string]*Tensor, len(headers[i]))
		for j := range headers[i] {
			byName[headers[i][j].Name] = &headers[i][j]
		}
		for _, n := range want[sh] {
			t, ok := byName[n]
			if !ok {
				return invalidf("%s says %s holds %s, but its header has no such tensor", IndexFile, sh, n)
			}
			s.Selected = append(s.Selected, *t)
			s.SelectedBytes += t.Size()
		}
	}
	sort.SliceStable(s.Selected, func(i, j int) bool {
		a, b := s.Selected[i], s.Selected[j]
		if a.Shard != b.Shard {
			return a.Shard < b.Shard
		}
		return a.Begin < b.Begin
	})
	return nil
}

// readConfig reads config.json at the pinned commit (at most 4 MiB), or
// returns nil when the checkpoint has none.
func readConfig(ctx context.Context, rd *reader, s *Source) (map[string]any, error) {
	e, ok := s.Files["config.json"]
	if !ok {
		return nil, nil
	}
	if e.Size > 4<<20 {
		return nil, invalidf("config.json is %d bytes; at most %d are read", e.Size, 4<<20)
	}
	b, err := rd.readAll(ctx, "config.json", 0, e.Size)
	if err != nil {
		return nil, err
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, invalidf("config.json is not a JSON object: %v", err)
	}
	return cfg, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
