package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/progress"
	"github.com/Foxlight-Foundation/skulk-weights/internal/sidecar"
)

// DefaultConfigs are the files a vision sidecar copies unchanged from the
// source next to its weights, when the source has them.
var DefaultConfigs = []string{"config.json", "preprocessor_config.json", "processor_config.json"}

// Collection titles, per artifact.
const (
	VisionCollection = sidecar.VisionCollection
	MTPCollection    = sidecar.MTPCollection
)

// Options configures Plan and Publish.
type Options struct {
	// Source reads SourceRepo; Dest reads and writes SidecarRepo.
	Source, Dest *hub.Client
	// SourceRepo at SourceRevision (default main) is the checkpoint.
	SourceRepo, SourceRevision string
	SidecarRepo                string
	Selection                  Selection
	// Configs are copied unchanged when the source has them; nil means
	// DefaultConfigs for a vision sidecar and none for an MTP sidecar.
	Configs []string
	// TargetModel and CatalogKey go into the card.
	TargetModel, CatalogKey string
	// Jobs bounds the concurrent header reads and the multipart parts in
	// flight (default 4).
	Jobs int
	// MaxBytes refuses a selection of more tensor bytes than this (default
	// DefaultMaxBytes), before any tensor byte is read.
	MaxBytes int64
	// Scratch, when set, is a directory the output is spooled to in the
	// first pass, so the source is read once instead of twice.
	Scratch string
	// MaxShardSize splits a vision sidecar's output (default
	// DefaultMaxShardSize).
	MaxShardSize int64
	// CollectionSlug files the sidecar there; CollectionDisabled files it
	// nowhere; neither: the owner's collection titled for the artifact.
	CollectionSlug     string
	CollectionDisabled bool
	Progress           io.Writer
	Terminal           bool
	ToolVersion        string
	// MaxReplans bounds re-planning after the sidecar moved (default 3).
	MaxReplans int
	// Entry and Claims, when set, let Publish refuse a sidecar that the
	// catalog also names as another repo (Claims.VisionSidecarConflict or
	// MTPSidecarConflict), before any request, as mirror.Publish does.
	Entry  *catalog.Entry
	Claims *catalog.Claims
}

// refuseCollision refuses a sidecar the catalog also names elsewhere.
func (o *Options) refuseCollision() error {
	if o.Entry == nil {
		return nil
	}
	check := o.Claims.VisionSidecarConflict
	if o.Selection.Kind == KindMTP {
		check = o.Claims.MTPSidecarConflict
	}
	if err := check(o.Entry); err != nil {
		return fmt.Errorf("refusing to publish %s: %w; nothing was written", o.SidecarRepo, err)
	}
	return nil
}

// DefaultMaxBytes is the default bound on the selected bytes (50 GB, as
// the mirror's --max-bytes).
const DefaultMaxBytes = 50_000_000_000

// MaxTensors bounds the tensors of a selection: the card lists each one
// (about 250 bytes), and the largest real selections are a few thousand
// (DeepSeek-V3's MTP layer with its scales: about 1,700).
const MaxTensors = 100_000

// ErrTooLarge is matched when a selection is over MaxBytes or MaxTensors.
var ErrTooLarge = errors.New("selection too large")

func (o *Options) defaults() {
	if o.Jobs <= 0 {
		o.Jobs = 4
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxShardSize <= 0 {
		o.MaxShardSize = DefaultMaxShardSize
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.MaxReplans <= 0 {
		o.MaxReplans = 3
	}
	if o.Configs == nil && o.Selection.Kind == KindVision {
		o.Configs = DefaultConfigs
	}
	if o.SourceRevision == "" {
		o.SourceRevision = "main"
	}
}

func (o *Options) artifact() string {
	if o.Selection.Kind == KindMTP {
		return card.ArtifactMTP
	}
	return card.ArtifactVision
}

func (o *Options) collectionTitle() string {
	if o.Selection.Kind == KindMTP {
		return MTPCollection
	}
	return VisionCollection
}

// selectionKey is what the card records as the selection: the rule and
// the configs copied, so changing either republishes.
func (o *Options) selectionKey() string {
	s := o.Selection.String()
	if len(o.Configs) > 0 {
		s += "; configs " + strings.Join(o.Configs, ",")
	}
	return s
}

// Plan is what an extraction reads and writes, computed from the index and
// headers alone.
type Plan struct {
	Kind        string `json:"kind"`
	SourceRepo  string `json:"source_repo"`
	SourceSHA   string `json:"source_sha"`
	SidecarRepo string `json:"sidecar_repo"`
	Selection   string `json:"selection"`
	Resolved    string `json:"resolved"`
	Tensors     int    `json:"tensors"`
	// Scales counts the scale tensors a conversion consumes (MTP).
	Scales int   `json:"scales,omitempty"`
	Params int64 `json:"params"`
	// SelectedBytes are the selected tensors' bytes; Shards the files that
	// hold them and ShardBytes those files' size.
	SelectedBytes int64    `json:"selected_bytes"`
	Shards        []string `json:"shards"`
	ShardBytes    int64    `json:"shard_bytes"`
	// CheckpointShards and CheckpointBytes are the whole checkpoint's
	// weight files and their size.
	CheckpointShards int   `json:"checkpoint_shards"`
	CheckpointBytes  int64 `json:"checkpoint_bytes"`
	// HeaderBytes is what reading the index, configs and headers took.
	HeaderBytes int64 `json:"header_bytes"`
	// ReadBytes is what a publish reads of tensor data: twice
	// SelectedBytes, once with a scratch directory.
	ReadBytes int64 `json:"read_bytes"`
	// Files are the output weight files and their sizes.
	Files []FileOut `json:"files"`
	// UpToDate says, in a plan made by MakePlan, that the sidecar already
	// holds this extraction of unchanged source files: a publish would read
	// and commit nothing.
	UpToDate bool `json:"up_to_date,omitempty"`
	// SourceAccess is who may read the source, as its model info at the
	// pinned commit says.
	SourceAccess hub.Access `json:"source_access"`
	// SidecarHead is the sidecar's head before any write: "" when it does
	// not exist yet, or when SidecarHidden. SidecarAccess is who may read
	// it, nil when it was not seen.
	SidecarHead   string      `json:"sidecar_head,omitempty"`
	SidecarAccess *hub.Access `json:"sidecar_access,omitempty"`
	// SidecarHidden says a plan read without a token could not see the
	// sidecar: the Hub answers an anonymous caller alike for a private repo
	// and a missing one, so it does not exist yet or it is private.
	SidecarHidden bool `json:"sidecar_hidden,omitempty"`
}

// FileOut is one file a sidecar gets.
type FileOut struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	// Sent says its bytes were uploaded in this run (false: the sidecar's
	// storage already had them).
	Sent bool `json:"sent,omitempty"`
}

// Result is what a publish did.
type Result struct {
	Plan *Plan `json:"plan"`
	// UpToDate says the sidecar already held this extraction: nothing was
	// read and nothing committed.
	UpToDate bool   `json:"up_to_date"`
	Commit   string `json:"commit,omitempty"`
	// BytesRead is every byte read from the source's files (index, configs,
	// headers and tensor data); BytesWritten the bytes of the files the
	// sidecar got in this commit, BytesUploaded those sent to storage.
	BytesRead     int64         `json:"bytes_read"`
	BytesWritten  int64         `json:"bytes_written"`
	BytesUploaded int64         `json:"bytes_uploaded"`
	Pruned        []string      `json:"pruned"`
	Duration      time.Duration `json:"duration_ns"`
	Collection    string        `json:"collection,omitempty"`
}

// ErrNoToken is returned by Publish when Dest has no token.
var ErrNoToken = errors.New("HF_TOKEN is required for non-dry-run publishing")

// run is one extraction in progress.
type run struct {
	opts *Options
	prog *progress.Reporter
	rd   *reader
	src  *Source
	info *hub.RepoInfo
	// Filled by load:
	layout   *Layout
	resolved string
	sums     map[string]string
	headerN  int64
	configs  map[string][]byte
	spooled  map[string]string // output path -> scratch file
	spoolDir string            // this run's directory in the scratch directory
}

func pin(ctx context.Context, o *Options) (*run, error) {
	info, err := o.Source.RepoInfo(ctx, o.SourceRepo, o.SourceRevision)
	if err == nil && !hub.IsCommitSHA(info.SHA) {
		err = errors.New("the hub answered no commit sha")
	}
	if err != nil {
		return nil, fmt.Errorf("resolving %s@%s: %w", o.SourceRepo, o.SourceRevision, err)
	}
	if err := hub.AccessOf(info).Check(o.SourceRepo); err != nil {
		return nil, fmt.Errorf("refusing to extract from %s: %w; nothing was written", o.SourceRepo, err)
	}
	tree, err := o.Source.ListTree(ctx, o.SourceRepo, info.SHA)
	if err != nil {
		return nil, fmt.Errorf("listing %s@%s: %w", o.SourceRepo, short(info.SHA), err)
	}
	s := &Source{Repo: o.SourceRepo, SHA: info.SHA, Files: map[string]hub.TreeEntry{}}
	for _, e := range tree {
		if e.Type == "" || e.Type == "file" {
			s.Files[e.Path] = e
		}
	}
	prog := progress.New(o.Progress, o.Terminal, 5*time.Second, "uploaded")
	return &run{opts: o, prog: prog, src: s, info: info, rd: &reader{cl: o.Source, repo: o.SourceRepo, sha: info.SHA}}, nil
}

// load reads the index, configs and headers and lays out the output.
func (r *run) load(ctx context.Context) error {
	wm, known, err := loadNames(ctx, r.rd, r.src)
	if err != nil {
		return r.refuse(err)
	}
	if r.opts.Selection.Kind == KindMTP {
		if r.src.Config, err = readConfig(ctx, r.rd, r.src); err != nil {
			return r.refuse(err)
		}
	}
	names, resolved, err := r.opts.Selection.choose(r.src)
	if err != nil {
		return err
	}
	r.resolved = resolved
	if len(names) > MaxTensors {
		return fmt.Errorf("refusing to extract from %s@%s: %w: %d tensors selected, at most %d; nothing was written", r.src.Repo, short(r.src.SHA), ErrTooLarge, len(names), MaxTensors)
	}
	if err := locate(ctx, r.rd, r.src, wm, known, names, r.opts.Jobs); err != nil {
		return r.refuse(err)
	}
	if r.src.SelectedBytes > r.opts.MaxBytes {
		return fmt.Errorf("refusing to extract from %s@%s: %w: the selection holds %s of tensors, over the %s limit (--max-bytes); nothing was written",
			r.src.Repo, short(r.src.SHA), ErrTooLarge, humanBytes(r.src.SelectedBytes), humanBytes(r.opts.MaxBytes))
	}
	meta := map[string]string{
		"format":                 "pt",
		"skulk_weights.source":   r.src.Repo,
		"skulk_weights.sha":      r.src.SHA,
		"skulk_weights.select":   r.opts.Selection.String(),
		"skulk_weights.artifact": r.opts.artifact(),
	}
	r.layout, err = plan(r.src, r.opts.Selection, meta, r.opts.MaxShardSize)
	if err != nil {
		return r.refuse(err)
	}
	r.headerN = r.rd.n.Load()
	return nil
}

func (r *run) refuse(err error) error {
	if errors.Is(err, ErrInvalid) {
		return fmt.Errorf("refusing to extract from %s@%s: %w; nothing was written", r.src.Repo, short(r.src.SHA), err)
	}
	return err
}

func (r *run) plan() *Plan {
	p := &Plan{Kind: r.opts.Selection.Kind, SourceRepo: r.src.Repo, SourceSHA: r.src.SHA, SidecarRepo: r.opts.SidecarRepo,
		Selection: r.opts.selectionKey(), Resolved: r.resolved, Params: r.layout.Params,
		SelectedBytes: r.src.SelectedBytes, Shards: r.src.Shards, ShardBytes: r.src.ShardBytes, HeaderBytes: r.headerN,
		SourceAccess: hub.AccessOf(r.info)}
	for _, sh := range r.src.AllShards {
		p.CheckpointShards++
		p.CheckpointBytes += r.src.Files[sh].Size
	}
	for _, f := range r.layout.Files {
		p.Tensors += len(f.Tensors)
		p.Files = append(p.Files, FileOut{Path: f.Path, Size: f.Size, SHA256: f.SHA256})
	}
	p.Scales = len(r.layout.Companions)
	p.ReadBytes = 2 * p.SelectedBytes
	if r.opts.Scratch != "" {
		p.ReadBytes = p.SelectedBytes
	}
	return p
}

// MakePlan reads the source's index and headers (no tensor data, no
// token needed for a public source) and the sidecar's head, and says what
// a publish would read and write. It writes nothing. A sidecar a publish
// would refuse for its access is refused here too.
func MakePlan(ctx context.Context, opts Options) (*Plan, error) {
	opts.defaults()
	r, err := pin(ctx, &opts)
	if err != nil {
		return nil, err
	}
	defer r.prog.Close()
	st, err := readSidecar(ctx, &opts)
	if err != nil {
		return nil, err
	}
	if err := checkAccess(&opts, r, st); err != nil {
		return nil, err
	}
	if err := r.load(ctx); err != nil {
		return nil, err
	}
	p := r.plan()
	p.UpToDate = upToDate(&opts, r.src, st)
	p.seen(st)
	return p, nil
}

// seen records what a plan saw of the sidecar.
func (p *Plan) seen(st *sidecarState) {
	p.SidecarHead, p.SidecarAccess, p.SidecarHidden = st.head, nil, st.hidden
	if st.head != "" {
		a := st.access
		p.SidecarAccess = &a
	}
}

// hashPass produces every output file once, hashing it (and spooling it
// to the scratch directory when there is one), and hashes every source
// tensor's bytes for the card.
func (r *run) hashPass(ctx context.Context) error {
	r.sums = map[string]string{}
	if r.opts.Scratch != "" {
		r.spooled = map[string]string{}
		// A directory of this run's own: two runs spooling the same
		// sidecar at once never share a file.
		if err := os.MkdirAll(r.opts.Scratch, 0o755); err != nil {
			return err
		}
		dir, err := os.MkdirTemp(r.opts.Scratch, strings.ReplaceAll(r.opts.SidecarRepo, "/", "--")+".")
		if err != nil {
			return err
		}
		r.spoolDir = dir
	}
	for _, f := range r.layout.Files {
		h := newHashWriter()
		var w io.Writer = h
		var spool *os.File
		if r.opts.Scratch != "" {
			name := filepath.Join(r.spoolDir, f.Path)
			var err error
			if spool, err = os.Create(name); err != nil {
				return err
			}
			r.spooled[f.Path] = name
			w = io.MultiWriter(h, spool)
		}
		fp := r.prog.Begin(f.Path+" (hash pass)", f.Size)
		err := writeFile(ctx, r.rd, f, &progressWriter{w: w, f: fp}, r.sums)
		if spool != nil {
			if cerr := spool.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return err
		}
		if h.n != f.Size {
			return fmt.Errorf("%s: produced %d bytes, laid out %d", f.Path, h.n, f.Size)
		}
		f.SHA256, f.Sample = h.sum(), h.head
		r.prog.Finish(fp, "hashed")
	}
	return nil
}

type progressWriter struct {
	w io.Writer
	f *progress.File
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.f.Add(int64(n))
	return n, err
}

// inputs are the source files the output depends on, with their git oids:
// the index (or the single file), the shards read, and the configs (an
// absent config is recorded with an empty oid, so its arrival counts).
func (r *run) inputs() []card.Input {
	seen := map[string]bool{}
	var out []card.Input
	add := func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		out = append(out, card.Input{Path: p, OID: r.src.Files[p].OID})
	}
	if r.src.IndexPath != "" {
		add(r.src.IndexPath)
	}
	for _, s := range r.src.Shards {
		add(s)
	}
	for _, c := range r.opts.Configs {
		add(c)
	}
	if r.opts.Selection.Kind == KindMTP {
		add("config.json")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// managed reports whether a sidecar file is one an extraction owns: the
// weights, their index and configs. README.md and .gitattributes are not.
func managed(p string) bool {
	for _, ext := range []string{".safetensors", ".json", ".txt", ".model"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// GitBlobID is git's object id for a blob with content b.
func GitBlobID(b []byte) string { return sidecar.GitBlobID(b) }

func humanBytes(n int64) string { return progress.HumanBytes(n) }
