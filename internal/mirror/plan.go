// Package mirror owns the vision-sidecar mirror: pin the source revision,
// plan against the sidecar's head, copy each file the fastest way the Hub
// allows (server-side duplicate, already stored, or streamed source GET ->
// LFS PUT with hashes checked as bytes pass), write everything in one atomic
// commit with the model card, verify, and file the sidecar in its
// collection.
package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/progress"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

// Defaults for the source limits; flags override them.
const (
	DefaultMaxBytes = 50_000_000_000 // 50 GB
	// DefaultMaxRegularBytes bounds the regular (non-LFS) files, which the
	// commit request carries inline, base64-encoded: 256 MiB of them make a
	// 341 MiB request.
	DefaultMaxRegularBytes = 256 << 20
	DefaultMaxFiles        = 1000
	DefaultJobs            = 4
)

// Options configures Plan and Publish.
type Options struct {
	Entry *catalog.Entry
	// Source reads the vision source repo; Dest reads and writes the sidecar.
	// They may be the same client.
	Source, Dest *hub.Client
	Jobs         int   // concurrent transfers (files or parts); default DefaultJobs
	MaxBytes     int64 // refuse sources larger than this; default DefaultMaxBytes
	// MaxRegularBytes refuses sources whose regular (non-LFS) files add up
	// to more than this; default DefaultMaxRegularBytes.
	MaxRegularBytes int64
	MaxFiles        int // refuse sources with more managed files; default DefaultMaxFiles
	// Collection is the value of SKULK_WEIGHTS_COLLECTION: empty files into
	// the owner's "Vision Sidecars", a disabling value skips filing, an
	// owner/slug files there instead.
	Collection  string
	Progress    io.Writer // progress and log lines; nil discards
	Terminal    bool      // Progress is a terminal: redraw a status line
	ToolVersion string
	// ProgressEvery is the interval of plain progress lines (default 5 s).
	ProgressEvery time.Duration
	// MaxReplans bounds re-planning after the sidecar moved (412); default 3.
	MaxReplans int
	// Claims holds every repo id the entry's catalog names (Catalog.Claims).
	// Plan and Publish refuse a sidecar that any other entry or field names
	// too, before any request; nil checks the entry's own fields only.
	Claims *catalog.Claims
}

func (o *Options) defaults() {
	if o.Jobs <= 0 {
		o.Jobs = DefaultJobs
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxRegularBytes <= 0 {
		o.MaxRegularBytes = DefaultMaxRegularBytes
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 5 * time.Second
	}
	if o.MaxReplans <= 0 {
		o.MaxReplans = 3
	}
}

// FileAction is one file of a plan.
type FileAction struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"` // LFS files
	Reason string `json:"reason"`
	// Method is how the file was copied: "duplicate", "stored", "stream",
	// "multipart" or "inline"; empty in a plan.
	Method string `json:"method,omitempty"`
}

// Plan is what a publish would do, computed read-only.
type Plan struct {
	SourceRepo     string `json:"source_repo"`
	SourceRevision string `json:"source_revision"`
	SourceSHA      string `json:"source_sha"`
	SidecarRepo    string `json:"sidecar_repo"`
	SidecarHead    string `json:"sidecar_head"` // "" when the sidecar does not exist yet
	// SourceAccess is who may read the source, as its model info at the
	// pinned revision says; SidecarAccess who may read the sidecar, zero
	// when it does not exist yet (or is hidden).
	SourceAccess  hub.Access `json:"source_access"`
	SidecarAccess hub.Access `json:"sidecar_access"`
	// SidecarHidden says a plan read without a token could not see the
	// sidecar: the Hub answers alike for a private repo and a missing one.
	SidecarHidden bool `json:"sidecar_hidden,omitempty"`
	// HeadersUnread says why a plan did not check the safetensors headers
	// (a gated source read without a token); a publish always checks them.
	HeadersUnread string       `json:"headers_unread,omitempty"`
	Copy          []FileAction `json:"copy"`
	Skip          []FileAction `json:"skip"`
	Prune         []FileAction `json:"prune"`
	CopyBytes     int64        `json:"copy_bytes"`

	source   []hub.TreeEntry          // managed source files at SourceSHA
	cardData map[string]any           // the source card's front matter at SourceSHA
	sidecar  map[string]hub.TreeEntry // sidecar files at SidecarHead
	// across holds the unchanged files the sidecar stores the other way
	// (LFS or git) than the source, as the Hub asked (modes.go).
	across map[string]bool
	// known holds, for unchanged files, what the sidecar's card recorded
	// about them: their sha256 and header summary need no reading.
	known map[string]card.File
}

// Managed reports whether p is one of the kinds a vision sidecar mirrors:
// *.safetensors, *.safetensors.index.json, *.json, *.txt and *.model at any
// depth.
func Managed(p string) bool {
	for _, ext := range []string{".safetensors", ".json", ".txt", ".model"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// unsafePath says why p must not be written into a sidecar, or "".
func unsafePath(p string) string {
	switch {
	case p == "":
		return "empty path"
	case strings.HasPrefix(p, "/"):
		return "absolute path"
	case strings.Contains(p, `\`):
		return "backslash in path"
	case strings.IndexFunc(p, unicode.IsControl) >= 0:
		return "control character in path"
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "":
			return "empty path segment"
		case ".", "..":
			return fmt.Sprintf("%q path segment", seg)
		}
	}
	if path.Clean(p) != p {
		return "path is not clean"
	}
	return ""
}

// PlanError is a refusal found while planning: nothing was written. Err,
// if set, is the refusal's cause (such as safetensors.ErrHeaderTooLarge),
// for errors.Is and errors.As; Msg already says it.
type PlanError struct {
	Msg string
	Err error
}

func (e *PlanError) Error() string { return e.Msg }

func (e *PlanError) Unwrap() error { return e.Err }

// MakePlan pins the source revision, lists the source at that commit and
// the sidecar at its head, and says what a publish would copy, skip and
// prune. It writes nothing and works without a token for public repos.
func MakePlan(ctx context.Context, opts Options) (*Plan, error) {
	opts.defaults()
	if err := refuseCollision(&opts); err != nil {
		return nil, err
	}
	p, err := pinSource(ctx, &opts)
	if err != nil {
		return nil, err
	}
	if err := planSidecar(ctx, &opts, p); err != nil {
		return nil, err
	}
	// A sidecar a publish would refuse for its access is refused here too.
	if err := checkAccess(p); err != nil {
		return nil, err
	}
	// A file a publish would refuse is refused here too, so a pull
	// request's plan shows it before the merge.
	reuseCard(ctx, &opts, p, nil)
	if p.SourceAccess.Gate != hub.GateOff && !opts.Source.HasToken() {
		// A gated repo's metadata and tree are public, its files are not.
		p.HeadersUnread = fmt.Sprintf("%s is %s: its files cannot be read without a token, so its safetensors headers are checked by the publish, before anything is written", p.SourceRepo, p.SourceAccess.Gate)
		return p, nil
	}
	if err := checkHeaders(ctx, &opts, p, map[string]*safetensors.Summary{}); err != nil {
		return nil, err
	}
	return p, nil
}

// refuseCollision refuses a sidecar that the catalog also names as another
// repo: writing it would prune and re-card a vindex, a source or another
// sidecar. Validation reports the same; this holds for callers that skip it.
// The error wraps the *catalog.CollisionError.
func refuseCollision(opts *Options) error {
	if opts.Entry == nil || !opts.Entry.HasVision() {
		return nil // pinSource says what is missing
	}
	if err := opts.Claims.VisionSidecarConflict(opts.Entry); err != nil {
		return fmt.Errorf("refusing to publish %s: %w; nothing was written", opts.Entry.VisionSidecarRepo, err)
	}
	return nil
}

// pinSource resolves the source revision to a sha and lists the managed
// files there, refusing unsafe paths and oversize sources.
func pinSource(ctx context.Context, opts *Options) (*Plan, error) {
	e := opts.Entry
	if e == nil || !e.HasVision() {
		id := ""
		if e != nil {
			id = e.ID()
		}
		return nil, &PlanError{Msg: fmt.Sprintf("no vision sidecar configured for %s; add vision_source_repo and vision_sidecar_repo to the catalog entry", id)}
	}
	p := &Plan{SourceRepo: e.VisionSourceRepo, SourceRevision: e.VisionSourceRevision, SidecarRepo: e.VisionSidecarRepo}
	if p.SourceRevision == "" {
		p.SourceRevision = "main"
	}
	info, err := opts.Source.RepoInfo(ctx, p.SourceRepo, p.SourceRevision)
	if err == nil && !hub.IsCommitSHA(info.SHA) {
		err = fmt.Errorf("the hub answered no commit sha")
	}
	if err != nil {
		if !opts.Source.HasToken() && errors.Is(err, hub.ErrRepoNotFound) {
			return nil, &hiddenError{repo: p.SourceRepo, rev: p.SourceRevision, hub: err}
		}
		return nil, fmt.Errorf("resolving %s@%s: %w", p.SourceRepo, p.SourceRevision, describe(err, p.SourceRepo))
	}
	sha := info.SHA
	p.SourceSHA = sha
	p.cardData = info.CardData
	p.SourceAccess = hub.AccessOf(info)
	if err := p.SourceAccess.Check(p.SourceRepo); err != nil {
		return nil, &PlanError{Msg: fmt.Sprintf("refusing to mirror %s: %v; nothing was written", p.SourceRepo, err)}
	}
	tree, err := opts.Source.ListTree(ctx, p.SourceRepo, sha)
	if err != nil {
		return nil, fmt.Errorf("listing %s@%s: %w", p.SourceRepo, short(sha), describe(err, p.SourceRepo))
	}
	var bad []string
	var total, regular int64
	weights := 0
	for _, t := range tree {
		if t.Type != "file" {
			continue
		}
		if why := unsafePath(t.Path); why != "" {
			bad = append(bad, fmt.Sprintf("%q (%s)", t.Path, why))
			continue
		}
		if !Managed(t.Path) {
			continue
		}
		if t.Size < 0 || (t.LFS != nil && t.LFS.Size != t.Size) {
			bad = append(bad, fmt.Sprintf("%q (inconsistent size)", t.Path))
			continue
		}
		if strings.HasSuffix(t.Path, ".safetensors") {
			weights++
		}
		total = addSat(total, t.Size)
		if t.LFS == nil {
			regular = addSat(regular, t.Size)
		}
		p.source = append(p.source, t)
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, &PlanError{Msg: fmt.Sprintf("refusing to mirror %s@%s: unsafe paths in the source tree: %s", p.SourceRepo, short(sha), strings.Join(bad, ", "))}
	}
	if both := fileAndDir(tree); len(both) > 0 {
		return nil, &PlanError{Msg: fmt.Sprintf("refusing to mirror %s@%s: the source tree lists %s as both a file and a directory; no git tree, so no sidecar, can hold that", p.SourceRepo, short(sha), quoteList(both))}
	}
	if weights == 0 {
		return nil, &PlanError{Msg: fmt.Sprintf("no .safetensors weights found in %s; confirm this repo holds the vision encoder weights", p.SourceRepo)}
	}
	if len(p.source) > opts.MaxFiles {
		return nil, &PlanError{Msg: fmt.Sprintf("refusing to mirror %s@%s: %d files exceed the limit of %d (raise --max-files if this is intended)", p.SourceRepo, short(sha), len(p.source), opts.MaxFiles)}
	}
	if total > opts.MaxBytes {
		what := HumanBytes(total)
		if total == math.MaxInt64 {
			what = "more than " + what
		}
		return nil, &PlanError{Msg: fmt.Sprintf("refusing to mirror %s@%s: %s exceed the limit of %s (raise --max-bytes if this is intended)", p.SourceRepo, short(sha), what, HumanBytes(opts.MaxBytes))}
	}
	if regular > opts.MaxRegularBytes {
		what := HumanBytes(regular)
		if regular == math.MaxInt64 {
			what = "more than " + what
		}
		return nil, &PlanError{Msg: fmt.Sprintf("refusing to mirror %s@%s: %s of regular (non-LFS) files, which one commit carries inline, exceed the limit of %s (raise --max-regular-bytes if this is intended)", p.SourceRepo, short(sha), what, HumanBytes(opts.MaxRegularBytes))}
	}
	sort.Slice(p.source, func(i, j int) bool { return p.source[i].Path < p.source[j].Path })
	return p, nil
}

// addSat adds n to total, saturating: a hostile listing could make a sum
// wrap around int64 and slip under a limit.
func addSat(total, n int64) int64 {
	if n > math.MaxInt64-total {
		return math.MaxInt64
	}
	return total + n
}

// planSidecar lists the sidecar at its head and fills Copy, Skip and Prune.
func planSidecar(ctx context.Context, opts *Options, p *Plan) error {
	p.Copy, p.Skip, p.Prune, p.CopyBytes = nil, nil, nil, 0
	p.sidecar = map[string]hub.TreeEntry{}
	p.across = map[string]bool{}
	p.SidecarAccess, p.SidecarHidden = hub.Access{}, false
	info, err := opts.Dest.RepoInfo(ctx, p.SidecarRepo, "main")
	switch {
	case errors.Is(err, hub.ErrRepoNotFound) || errors.Is(err, hub.ErrRevisionNotFound):
		p.SidecarHead = ""
		// Without a token a private sidecar looks missing.
		p.SidecarHidden = !opts.Dest.HasToken() && errors.Is(err, hub.ErrRepoNotFound)
	case err != nil:
		return fmt.Errorf("reading sidecar %s: %w", p.SidecarRepo, describe(err, p.SidecarRepo))
	default:
		p.SidecarHead = info.SHA
		p.SidecarAccess = hub.AccessOf(info)
		if err := p.SidecarAccess.Check(p.SidecarRepo); err != nil {
			return &PlanError{Msg: fmt.Sprintf("refusing to publish into %s: %v; nothing was written", p.SidecarRepo, err)}
		}
		tree, err := opts.Dest.ListTree(ctx, p.SidecarRepo, info.SHA)
		if err != nil {
			return fmt.Errorf("listing sidecar %s@%s: %w", p.SidecarRepo, short(info.SHA), describe(err, p.SidecarRepo))
		}
		for _, t := range tree {
			if t.Type == "file" {
				p.sidecar[t.Path] = t
			}
		}
	}
	inSource := map[string]bool{}
	for _, s := range p.source {
		inSource[s.Path] = true
		a := FileAction{Path: s.Path, Size: s.Size}
		if s.LFS != nil {
			a.SHA256 = s.LFS.OID
		}
		d, ok := p.sidecar[s.Path]
		switch {
		case !ok:
			a.Reason = "new"
		case sameContent(s, d):
			a.Reason = "unchanged"
			p.Skip = append(p.Skip, a)
			continue
		case sameAcrossModes(ctx, opts, p, s, d):
			a.Reason = "unchanged"
			p.across[s.Path] = true
			p.Skip = append(p.Skip, a)
			continue
		default:
			a.Reason = "changed"
		}
		p.Copy = append(p.Copy, a)
		p.CopyBytes += a.Size
	}
	var extra []string
	for path := range p.sidecar {
		// Only managed kinds are pruned: the card (README.md),
		// .gitattributes and files added by hand are never managed.
		if !inSource[path] && Managed(path) {
			extra = append(extra, path)
		}
	}
	sort.Strings(extra)
	for _, path := range extra {
		d := p.sidecar[path]
		a := FileAction{Path: path, Size: d.Size, Reason: "not in source"}
		if d.LFS != nil {
			a.SHA256 = d.LFS.OID
		}
		p.Prune = append(p.Prune, a)
	}
	return nil
}

// maxCardRead bounds the bytes of the sidecar's card read back: enough for
// any front matter card.FrontMatter accepts.
const maxCardRead = card.MaxFrontMatter + 64<<10

// reuseCard reads the card at the sidecar head (one request; none when the
// sidecar has no README.md) and fills p.known with the entries of its
// foxlight files list that describe a source file the sidecar already holds
// unchanged: same path, size and git oid as the source at the pinned sha,
// and, for an LFS file, a recorded sha256 equal to its LFS oid; a
// safetensors file must also carry its header summary. Everything else, and
// everything when the card is missing or cannot be parsed, is read from the
// source as before: the card is trusted only for bytes it was written for.
func reuseCard(ctx context.Context, opts *Options, p *Plan, prog *progress.Reporter) {
	p.known = map[string]card.File{}
	d, ok := p.sidecar["README.md"]
	if !ok || p.SidecarHead == "" || d.LFS != nil {
		return
	}
	logf := func(format string, a ...any) {
		if prog != nil {
			prog.Logf(format, a...)
		}
	}
	f, err := opts.Dest.Open(ctx, p.SidecarRepo, p.SidecarHead, "README.md", 0)
	if err != nil {
		logf("reading the card of %s: %s; reading every file instead", p.SidecarRepo, opts.Dest.Redact(err.Error()))
		return
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCardRead))
	f.Close()
	if err != nil {
		logf("reading the card of %s: %s; reading every file instead", p.SidecarRepo, opts.Dest.Redact(err.Error()))
		return
	}
	rec, err := card.Recorded(b)
	if err != nil {
		logf("the card of %s cannot be parsed (%v); reading every file instead", p.SidecarRepo, err)
		return
	}
	for _, s := range p.source {
		r, ok := rec[s.Path]
		d, held := p.sidecar[s.Path]
		switch {
		case !ok || !held || !(sameContent(s, d) || p.across[s.Path]):
		case r.Size != s.Size || r.OID != s.OID:
		case s.LFS != nil && r.SHA256 != s.LFS.OID:
		case strings.HasSuffix(s.Path, ".safetensors") && r.Tensors == nil:
		default:
			if !strings.HasSuffix(s.Path, ".safetensors") {
				r.Tensors = nil
			}
			p.known[s.Path] = r
		}
	}
}

// sameContent compares a source and a sidecar entry: sha256 and size for LFS
// files, git blob id and size for regular files. A file that moved between
// LFS and regular storage is not the same: its git id differs.
func sameContent(s, d hub.TreeEntry) bool {
	if s.Size != d.Size || (s.LFS == nil) != (d.LFS == nil) {
		return false
	}
	if s.LFS != nil {
		return s.LFS.OID == d.LFS.OID && s.LFS.Size == d.LFS.Size
	}
	return s.OID == d.OID
}

// describe turns Hub errors into what a user can act on.
func describe(err error, repo string) error {
	switch {
	case errors.Is(err, hub.ErrRepoNotFound):
		return fmt.Errorf("%s does not exist or the token cannot see it: %w", repo, err)
	case errors.Is(err, hub.ErrGated):
		return fmt.Errorf("%s is gated: accept its terms on the Hub with the token's account: %w", repo, err)
	case errors.Is(err, hub.ErrUnauthorized):
		return fmt.Errorf("the Hub refused the token (check HF_TOKEN): %w", err)
	}
	return err
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// HumanBytes formats n in binary units.
func HumanBytes(n int64) string { return progress.HumanBytes(n) }

// fileAndDir returns, sorted, the paths that a tree listing gives as a file
// and also as a directory, explicitly or as the parent of another file. The
// Hub lists no such tree; a hostile or broken one could, and the sidecar's
// commit would then be refused after the uploads.
func fileAndDir(tree []hub.TreeEntry) []string {
	files := map[string]bool{}
	for _, t := range tree {
		if t.Type == "file" {
			files[t.Path] = true
		}
	}
	both := map[string]bool{}
	for _, t := range tree {
		if t.Type != "file" && files[t.Path] {
			both[t.Path] = true
		}
		for i := 0; i < len(t.Path); i++ {
			if t.Path[i] == '/' && files[t.Path[:i]] {
				both[t.Path[:i]] = true
			}
		}
	}
	out := make([]string, 0, len(both))
	for p := range both {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// quoteList quotes each path and joins them with commas.
func quoteList(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = strconv.Quote(p)
	}
	return strings.Join(q, ", ")
}
