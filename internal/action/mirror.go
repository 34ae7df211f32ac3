package action

import (
	"context"
	"errors"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
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
}

// Plan is what publishing an entry would do.
type Plan struct {
	SourceRepo, SourceRevision, SourceSHA, SidecarRepo, SidecarHead string
	Copy, Skip, Prune                                               []FileAction
	CopyBytes                                                       int64
}

// FileAction is one file of a plan.
type FileAction struct {
	Path   string
	Size   int64
	SHA256 string
	Reason string
}

// Result is what publishing an entry did.
type Result struct {
	Plan                    *Plan
	Commit                  string
	UpToDate                bool
	Copied, Skipped, Pruned int
	BytesMoved              int64
	Duration                time.Duration
	Collection              string
}

// errNoMirror is what the default Mirror answers until the mirror engine
// is linked in.
var errNoMirror = errors.New("the mirror engine is not available in this build")

// defaultMirror builds the production Mirror.
func defaultMirror(MirrorConfig) Mirror { return noMirror{} }

type noMirror struct{}

func (noMirror) Plan(context.Context, *catalog.Entry) (*Plan, error)      { return nil, errNoMirror }
func (noMirror) Publish(context.Context, *catalog.Entry) (*Result, error) { return nil, errNoMirror }
