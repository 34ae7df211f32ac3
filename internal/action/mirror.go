package action

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
)

// Mirror is the part of the mirror engine the action drives. Plan must only
// read; Publish brings the entry's sidecar to its desired state.
type Mirror interface {
	Plan(ctx context.Context, e *catalog.Entry) (*Plan, error)
	Publish(ctx context.Context, e *catalog.Entry) (*Result, error)
}

// MirrorConfig is what a Mirror is built from. An empty Token builds one
// that can only read.
type MirrorConfig struct {
	Endpoint   string
	Token      string
	Collection string // SKULK_WEIGHTS_COLLECTION
	Version    string
	// Log receives the engine's progress lines.
	Log io.Writer
	// HubOptions tune the Hub client (tests shorten its retry waits).
	HubOptions []hub.Option
	// Claims holds every repo id the run's catalog names, so no sidecar is
	// planned or written that another entry also names.
	Claims *catalog.Claims
}

// The plan and result types are the mirror engine's own.
type (
	Plan       = mirror.Plan
	FileAction = mirror.FileAction
	Result     = mirror.Result
)

// defaultMirror builds the production Mirror: one Hub client for reading
// the source and reading/writing the sidecar. Without a token the client
// sends no Authorization header at all.
func defaultMirror(c MirrorConfig) Mirror {
	opts := append([]hub.Option{hub.WithUserAgent("skulk-weights/" + c.Version + " github-action")}, c.HubOptions...)
	client := hub.New(c.Endpoint, c.Token, opts...)
	return &hubMirror{cfg: c, client: client}
}

type hubMirror struct {
	cfg    MirrorConfig
	client *hub.Client
}

func (m *hubMirror) options(e *catalog.Entry) mirror.Options {
	return mirror.Options{
		Entry: e, Source: m.client, Dest: m.client,
		Collection: m.cfg.Collection, ToolVersion: m.cfg.Version, Progress: m.cfg.Log,
		Claims: m.cfg.Claims,
	}
}

func (m *hubMirror) Plan(ctx context.Context, e *catalog.Entry) (*Plan, error) {
	return mirror.MakePlan(ctx, m.options(e))
}

func (m *hubMirror) Publish(ctx context.Context, e *catalog.Entry) (*Result, error) {
	return mirror.Publish(ctx, m.options(e))
}

// safeLines is an io.Writer that passes text through logSafe line by line,
// so names from a source repository's tree cannot become workflow commands
// when the engine logs them.
type safeLines struct {
	mu    sync.Mutex
	w     io.Writer
	scrub func(string) string
	buf   []byte
}

func (s *safeLines) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexAny(s.buf, "\r\n")
		if i < 0 {
			break
		}
		line := string(s.buf[:i])
		s.buf = s.buf[i+1:]
		if line == "" {
			continue
		}
		if _, err := io.WriteString(s.w, logSafe(s.scrub(line))+"\n"); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
