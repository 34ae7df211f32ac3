// Package devhub is a local emulator of the Hugging Face Hub's HTTP protocol:
// repos with git-faithful ids, LFS uploads (basic and multipart), NDJSON
// commits, tree listings, downloads with ranges, collections, token scopes,
// server-side LFS duplication, fault injection and request counters. A Hub is
// an http.Handler; tests mount it on httptest.Server and seed it through its
// Go API, and `skulk-weights devhub` serves it on a port.
package devhub

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the knobs a Hub exposes as options.
const (
	DefaultPageSize           = 1000
	DefaultLFSThreshold       = 10 << 20 // the Hub refuses regular text files above 10 MB
	DefaultMultipartThreshold = 64 << 20
	DefaultChunkSize          = 16 << 20
	maxLFSObjectSize          = 50 << 30 // the Hub's per-file limit
)

// Hub is the emulated Hugging Face Hub. All its methods are safe for
// concurrent use.
type Hub struct {
	mu          sync.Mutex
	store       *store
	ownDir      string // a temporary directory New made, removed by Close
	pageSize    int
	lfsThresh   int64
	mpThresh    int64
	chunkSize   int64
	duplication bool
	tokens      map[string]*token
	secret      []byte

	// storageBase is the storage origin ServeStorage started ("" while
	// storage is served on the Hub's own origin); storageTTL how long a
	// storage URL stays valid; now the clock signatures are checked on.
	storageBase atomic.Pointer[string]
	storageTTL  time.Duration
	now         func() time.Time
	// resolveCache answers /resolve/ of small files with a relative
	// redirect to /api/resolve-cache/...; xetMarked shows xetHash only on
	// objects MarkMigrated named (migrated); binaryLimit is the size from
	// which a binary file committed as a plain file line is refused (0:
	// never).
	resolveCache bool
	xetMarked    bool
	migrated     map[string]bool
	binaryLimit  int64
	// moved maps the key of a renamed repo's old name to its new key.
	moved map[string]string

	repos       map[string]*repo // by repoKey
	uploads     map[string]*upload
	collections []*collection
	faults      []*Fault
	stats       Stats
	reqSeq      atomic.Int64
	inflight    atomic.Int64 // requests other than admin ones still running (see Stats)
}

// Option configures a Hub. Its error names the bad setting without a
// "devhub:" prefix: callers (the devhub command) add their own.
type Option func(*Hub) error

// WithDir keeps blobs under dir instead of a temporary directory. Close
// leaves dir in place.
func WithDir(dir string) Option {
	return func(h *Hub) error {
		if dir == "" {
			return errors.New("empty blob directory")
		}
		s, err := newStore(dir)
		if err != nil {
			return fmt.Errorf("blob directory: %w", err)
		}
		h.store = s
		return nil
	}
}

// WithPageSize sets how many entries a page of a tree or collection listing holds.
func WithPageSize(n int) Option {
	return func(h *Hub) error {
		if n < 1 {
			return fmt.Errorf("page size must be positive, got %d", n)
		}
		h.pageSize = n
		return nil
	}
}

// WithLFSThreshold sets the size from which preupload answers "lfs" for a
// file that .gitattributes does not already send to LFS.
func WithLFSThreshold(n int64) Option {
	return func(h *Hub) error {
		if n < 1 {
			return fmt.Errorf("LFS threshold must be positive, got %d", n)
		}
		h.lfsThresh = n
		return nil
	}
}

// WithMultipart sets the object size from which the LFS batch answers with a
// multipart upload, and the size of its parts.
func WithMultipart(threshold, chunk int64) Option {
	return func(h *Hub) error {
		if threshold < 1 || chunk < 1 {
			return fmt.Errorf("multipart threshold and chunk size must be positive, got %d and %d", threshold, chunk)
		}
		h.mpThresh, h.chunkSize = threshold, chunk
		return nil
	}
}

// WithDuplication turns server-side LFS duplication on or off: when on, LFS
// tree entries carry xetHash and POST /api/models/{id}/lfs-files/duplicate
// works; when off the Hub answers that route like a Hub that predates it.
func WithDuplication(on bool) Option {
	return func(h *Hub) error { h.duplication = on; return nil }
}

// WithXetMigration makes xetHash appear only on the LFS objects
// MarkMigrated names, as on a Hub whose storage moves to Xet repo by repo
// and file by file; lfs-files/duplicate then copies only those. Without it
// (and with WithDuplication) every LFS object counts as migrated.
func WithXetMigration(on bool) Option {
	return func(h *Hub) error { h.xetMarked = on; return nil }
}

// MarkMigrated marks the LFS objects with these sha256s as stored in Xet.
func (h *Hub) MarkMigrated(sha256s ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range sha256s {
		h.migrated[s] = true
	}
}

// xetVisibleLocked reports whether an object carries xetHash.
func (h *Hub) xetVisibleLocked(sha string) bool {
	return h.duplication && (!h.xetMarked || h.migrated[sha])
}

// DefaultBinaryFileLimit is the size above which a binary file committed as
// a plain file line is refused: the Hub wants binary files in LFS/Xet.
const DefaultBinaryFileLimit = 1 << 20

// WithBinaryFileLimit sets the size above which a commit's plain file line
// holding binary content (a NUL byte in its first 8000 bytes, as git
// tells) is refused; 0 accepts any.
func WithBinaryFileLimit(n int64) Option {
	return func(h *Hub) error {
		if n < 0 {
			return fmt.Errorf("binary file limit must not be negative, got %d", n)
		}
		h.binaryLimit = n
		return nil
	}
}

// WithToken accepts token with the given scopes, a comma-separated list of
// "read:" or "write:" followed by "ns/*", "ns/name" or "*"; for example
// "write:FoxlightAI/*,read:google/*". Write implies read.
func WithToken(tok, scopes string) Option {
	return func(h *Hub) error {
		if !strings.HasPrefix(tok, "hf_") {
			return fmt.Errorf("token must start with hf_ (the official clients refuse others)")
		}
		t, err := parseScopes(scopes)
		if err != nil {
			return err
		}
		h.tokens[tok] = t
		return nil
	}
}

// New returns an empty Hub configured by opts.
func New(opts ...Option) (*Hub, error) {
	h := &Hub{
		pageSize:  DefaultPageSize,
		lfsThresh: DefaultLFSThreshold,
		mpThresh:  DefaultMultipartThreshold,
		chunkSize: DefaultChunkSize,
		tokens:    map[string]*token{},
		repos:     map[string]*repo{},
		uploads:   map[string]*upload{},
		secret:    make([]byte, 32),

		storageTTL:  DefaultStorageTTL,
		now:         time.Now,
		migrated:    map[string]bool{},
		binaryLimit: DefaultBinaryFileLimit,
		moved:       map[string]string{},
	}
	h.stats.Requests = map[string]int{}
	h.stats.Commits = map[string]int{}
	h.stats.StorageBytes = map[string]int64{}
	h.stats.FileBytesServed = map[string]int64{}
	if _, err := rand.Read(h.secret); err != nil {
		return nil, err
	}
	for _, o := range opts {
		if err := o(h); err != nil {
			return nil, err
		}
	}
	if h.store == nil {
		dir, err := os.MkdirTemp("", "devhub-")
		if err != nil {
			return nil, fmt.Errorf("blob directory: %w", err)
		}
		s, err := newStore(dir)
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("blob directory: %w", err)
		}
		h.store, h.ownDir = s, dir
	}
	return h, nil
}

// Close removes the temporary blob directory New created, if any.
func (h *Hub) Close() error {
	if h.ownDir == "" {
		return nil
	}
	return os.RemoveAll(h.ownDir)
}

// Errors the Go API returns; HTTP answers carry the same meaning as status
// codes and X-Error-Code values.
var (
	ErrRepoExists       = errors.New("repo already exists")
	ErrRepoNotFound     = errors.New("repo not found")
	ErrRevisionNotFound = errors.New("revision not found")
)

// RepoOptions describes a repo created through the Go API.
type RepoOptions struct {
	Private bool
	// Gated is "" (not gated), "auto" or "manual".
	Gated string
	// GatedAllow lists the tokens granted access to a gated repo's files
	// (tokens with read scope on the repo, or a gated: scope naming it,
	// always have it).
	GatedAllow []string
}

// SeedFile is one file committed through the Go API.
type SeedFile struct {
	Path    string
	Content io.Reader
}

// fileEntry is one file of a commit's tree.
type fileEntry struct {
	Size   int64
	SHA256 string // address of the content in the store
	GitOID string // git blob id of the content, or of the LFS pointer
	LFS    bool
}

type commit struct {
	ID, Parent         string
	Title, Description string
	Date               time.Time
	Files              map[string]*fileEntry
	Trees              map[string]string // directory -> git tree id
}

type repo struct {
	Type, NS, Name string // Type: model, dataset or space
	ObjID          string
	Private        bool
	Gated          string // "", "auto" or "manual"
	GatedAllow     map[string]bool
	Branches       map[string]string
	Commits        map[string]*commit
	LFS            map[string]bool // LFS objects this repo may reference
	Created        time.Time
}

func (r *repo) ID() string { return r.NS + "/" + r.Name }

// urlPrefix is the path prefix of the repo's git/file URLs.
func (r *repo) urlPrefix() string {
	if r.Type == "model" {
		return ""
	}
	return r.Type + "s/"
}

func repoKey(typ, ns, name string) string { return typ + "/" + ns + "/" + name }

// statsKey names a repo in Stats.Commits: "ns/name" for models,
// "datasets/ns/name" for others.
func (r *repo) statsKey() string { return r.urlPrefix() + r.ID() }

// splitRepoID parses "ns/name", "datasets/ns/name" or "spaces/ns/name".
func splitRepoID(id string) (typ, ns, name string, err error) {
	parts := strings.Split(id, "/")
	typ = "model"
	if len(parts) == 3 && (parts[0] == "datasets" || parts[0] == "spaces") {
		typ = strings.TrimSuffix(parts[0], "s")
		parts = parts[1:]
	}
	if len(parts) != 2 || !validName(parts[0]) || !validName(parts[1]) {
		return "", "", "", fmt.Errorf("devhub: invalid repo id %q", id)
	}
	return typ, parts[0], parts[1], nil
}

func validName(s string) bool {
	if s == "" || len(s) > 96 || s == "." || s == ".." || strings.HasPrefix(s, "-") || strings.HasSuffix(s, ".git") {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// CreateRepo creates the repo id ("ns/name" for a model, "datasets/ns/name"
// or "spaces/ns/name" otherwise) with its initial commit.
func (h *Hub) CreateRepo(id string, o RepoOptions) error {
	typ, ns, name, err := splitRepoID(id)
	if err != nil {
		return err
	}
	if !validGate(o.Gated) {
		return fmt.Errorf("devhub: %s: gated %q is not \"\", \"auto\" or \"manual\"", id, o.Gated)
	}
	ga, err := h.store.put(strings.NewReader(defaultGitattributes), "", -1)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.repos[repoKey(typ, ns, name)]; ok {
		return fmt.Errorf("devhub: %s: %w", id, ErrRepoExists)
	}
	rp := h.newRepoLocked(typ, ns, name, o.Private)
	rp.Gated = o.Gated
	for _, t := range o.GatedAllow {
		rp.GatedAllow[t] = true
	}
	h.initialCommitLocked(rp, ga, nil)
	return nil
}

func validGate(g string) bool { return g == "" || g == "auto" || g == "manual" }

// RepoAccess returns who may read repo id: whether it is private, and its
// gate ("", "auto" or "manual").
func (h *Hub) RepoAccess(id string) (private bool, gated string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, err := h.lookupRepo(id)
	if err != nil {
		return false, "", err
	}
	return rp.Private, rp.Gated, nil
}

// SetRepoAccess changes repo id's settings as PUT .../settings does: a test
// can make a source private or gated between two runs.
func (h *Hub) SetRepoAccess(id string, private bool, gated string) error {
	if !validGate(gated) {
		return fmt.Errorf("devhub: %s: gated %q is not \"\", \"auto\" or \"manual\"", id, gated)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, err := h.lookupRepo(id)
	if err != nil {
		return err
	}
	rp.Private, rp.Gated = private, gated
	return nil
}

func (h *Hub) newRepoLocked(typ, ns, name string, private bool) *repo {
	rp := &repo{
		Type: typ, NS: ns, Name: name, ObjID: randHex(12), Private: private,
		GatedAllow: map[string]bool{}, Branches: map[string]string{},
		Commits: map[string]*commit{}, LFS: map[string]bool{}, Created: time.Now().UTC(),
	}
	h.repos[repoKey(typ, ns, name)] = rp
	return rp
}

// initialCommitLocked writes the repo's first commit: the default
// .gitattributes plus any extra regular files.
func (h *Hub) initialCommitLocked(rp *repo, ga blobInfo, extra map[string]*fileEntry) {
	files := map[string]*fileEntry{
		".gitattributes": {Size: ga.Size, SHA256: ga.SHA256, GitOID: gitBlobSHA1([]byte(defaultGitattributes))},
	}
	for p, e := range extra {
		files[p] = e
	}
	h.addCommitLocked(rp, "main", "", "initial commit", "", files)
}

// addCommitLocked records a commit of files on top of parent and moves branch to it.
func (h *Hub) addCommitLocked(rp *repo, branch, parent, title, desc string, files map[string]*fileEntry) *commit {
	trees := treeIDs(files)
	now := time.Now().UTC().Truncate(time.Second)
	c := &commit{Parent: parent, Title: title, Description: desc, Date: now, Files: files, Trees: trees}
	c.ID = commitID(trees[""], parent, title, desc, now)
	rp.Commits[c.ID] = c
	rp.Branches[branch] = c.ID
	h.stats.Commits[rp.statsKey()]++
	return c
}

func (h *Hub) lookupRepo(id string) (*repo, error) {
	typ, ns, name, err := splitRepoID(id)
	if err != nil {
		return nil, err
	}
	rp, ok := h.repos[repoKey(typ, ns, name)]
	if !ok {
		return nil, fmt.Errorf("devhub: %s: %w", id, ErrRepoNotFound)
	}
	return rp, nil
}

// Head returns the commit branch of repo id points at.
func (h *Hub) Head(id, branch string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, err := h.lookupRepo(id)
	if err != nil {
		return "", err
	}
	sha, ok := rp.Branches[branch]
	if !ok {
		return "", fmt.Errorf("devhub: %s@%s: %w", id, branch, ErrRevisionNotFound)
	}
	return sha, nil
}

// CommitFiles commits files and deletions to branch of repo id and returns
// the new commit id. Contents stream to the blob store; each file becomes LFS
// or regular by the rules preupload applies.
func (h *Hub) CommitFiles(id, branch, summary string, files []SeedFile, deletes []string) (string, error) {
	h.mu.Lock()
	rp, err := h.lookupRepo(id)
	var rules []attrRule
	if err == nil {
		rules, err = h.gitattributesLocked(rp, branch)
	}
	h.mu.Unlock()
	if err != nil {
		return "", err
	}
	ops := make([]commitOp, 0, len(files)+len(deletes))
	// A .gitattributes in the same commit decides for the other files, so
	// it is stored first.
	sorted := make([]SeedFile, 0, len(files))
	for _, f := range files {
		if f.Path == ".gitattributes" {
			sorted = append([]SeedFile{f}, sorted...)
		} else {
			sorted = append(sorted, f)
		}
	}
	for _, f := range sorted {
		info, err := h.store.put(f.Content, "", -1)
		if err != nil {
			return "", fmt.Errorf("devhub: store %s: %w", f.Path, err)
		}
		e := &fileEntry{Size: info.Size, SHA256: info.SHA256}
		if f.Path == ".gitattributes" {
			rules = parseGitattributes(h.readSmall(e))
		}
		if f.Path != ".gitattributes" && h.isLFS(rules, f.Path, info.Size, info.Head) {
			e.LFS = true
			ops = append(ops, commitOp{Kind: "lfsFile", Path: f.Path, Entry: e})
			continue
		}
		if e.GitOID, err = h.store.gitSHA1(info.SHA256, info.Size); err != nil {
			return "", err
		}
		ops = append(ops, commitOp{Kind: "file", Path: f.Path, Entry: e})
	}
	for _, d := range deletes {
		ops = append(ops, commitOp{Kind: "deletedFile", Path: d})
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, op := range ops {
		if op.Kind == "lfsFile" {
			rp.LFS[op.Entry.SHA256] = true
		}
	}
	c, herr := h.applyCommitLocked(rp, branch, "", summary, "", ops)
	if herr != nil {
		return "", herr
	}
	return c.ID, nil
}

// isLFS is the upload-mode policy: empty files are regular; files that
// .gitattributes tracks, that look binary or that reach the threshold are LFS.
func (h *Hub) isLFS(rules []attrRule, p string, size int64, head []byte) bool {
	switch {
	case size == 0:
		return false
	case tracksLFS(rules, p):
		return true
	case size >= h.lfsThresh:
		return true
	}
	for _, b := range head {
		if b == 0 {
			return true
		}
	}
	return false
}

// gitattributesLocked returns the LFS rules of branch's .gitattributes.
func (h *Hub) gitattributesLocked(rp *repo, branch string) ([]attrRule, error) {
	sha, ok := rp.Branches[branch]
	if !ok {
		return nil, fmt.Errorf("devhub: %s@%s: %w", rp.ID(), branch, ErrRevisionNotFound)
	}
	return parseGitattributes(h.readSmall(rp.Commits[sha].Files[".gitattributes"])), nil
}

// readSmall returns the content of a small regular file ("" when absent).
func (h *Hub) readSmall(e *fileEntry) string {
	if e == nil || e.LFS || e.Size > 1<<20 {
		return ""
	}
	f, err := h.store.open(e.SHA256)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return string(b)
}

// commitOp is one line of a commit, already resolved to store contents.
type commitOp struct {
	Kind    string // file, lfsFile, deletedFile, deletedFolder
	Path    string
	OldPath string     // lfsFile copied from another path of the branch
	Entry   *fileEntry // file and lfsFile (LFS: SHA256 set, Size -1 when not given)
}

// applyCommitLocked applies ops on top of branch's head and records the commit.
func (h *Hub) applyCommitLocked(rp *repo, branch, parentCommit, title, desc string, ops []commitOp) (*commit, *hubError) {
	head, ok := rp.Branches[branch]
	if !ok {
		return nil, errRevision(branch)
	}
	if parentCommit != "" && (len(parentCommit) < 5 || !strings.HasPrefix(head, parentCommit)) {
		return nil, &hubError{Status: 412, Code: "PreconditionFailed",
			Msg: "The branch was updated since you opened this page. Please refresh and try again."}
	}
	base := rp.Commits[head].Files
	files := make(map[string]*fileEntry, len(base)+len(ops))
	for p, e := range base {
		files[p] = e
	}
	var lfsAdded []string
	for _, op := range ops {
		p := strings.Trim(op.Path, "/")
		if p == "" && op.Kind != "deletedFolder" {
			return nil, badRequest("Invalid path %q", op.Path)
		}
		switch op.Kind {
		case "file":
			files[p] = op.Entry
		case "lfsFile":
			e := op.Entry
			if op.OldPath != "" && (e == nil || e.SHA256 == "") {
				src, ok := files[strings.Trim(op.OldPath, "/")]
				if !ok {
					return nil, errEntry(op.OldPath)
				}
				files[p] = src
				continue
			}
			size, stored := h.store.has(e.SHA256)
			if !stored || !rp.LFS[e.SHA256] || (e.Size >= 0 && e.Size != size) {
				return nil, badRequest("Your push was rejected because an LFS pointer pointed to a file that does not exist. For instance, this can happen if you used git push --no-verify to push your changes. Offending file: - %s", p)
			}
			files[p] = &fileEntry{Size: size, SHA256: e.SHA256, GitOID: gitBlobSHA1([]byte(lfsPointer(e.SHA256, size))), LFS: true}
			lfsAdded = append(lfsAdded, p)
		case "deletedFile", "deletedFolder":
			n := 0
			if _, ok := files[p]; ok && op.Kind == "deletedFile" {
				delete(files, p)
				n++
			} else {
				for q := range files {
					if p == "" || strings.HasPrefix(q, p+"/") {
						delete(files, q)
						n++
					}
				}
			}
			if n == 0 {
				return nil, errEntry(p)
			}
		default:
			return nil, badRequest("Unknown commit operation %q", op.Kind)
		}
	}
	// A git tree cannot hold a file and a directory of one name; the Hub
	// refuses such a commit whole.
	if p := fileDirConflict(files); p != "" {
		return nil, badRequest("Invalid commit: %q would be both a file and a directory", p)
	}
	// Like the Hub, track LFS files that .gitattributes does not cover by
	// appending a rule for each of them.
	ga := h.readSmall(files[".gitattributes"])
	rules := parseGitattributes(ga)
	var extra []string
	for _, p := range lfsAdded {
		if files[p] != nil && files[p].LFS && !tracksLFS(rules, p) {
			extra = append(extra, strings.ReplaceAll(p, " ", "[[:space:]]")+" filter=lfs diff=lfs merge=lfs -text")
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		if ga != "" && !strings.HasSuffix(ga, "\n") {
			ga += "\n"
		}
		ga += strings.Join(extra, "\n") + "\n"
		info, err := h.store.put(strings.NewReader(ga), "", -1)
		if err != nil {
			return nil, internalError(err)
		}
		files[".gitattributes"] = &fileEntry{Size: info.Size, SHA256: info.SHA256, GitOID: gitBlobSHA1([]byte(ga))}
	}
	return h.addCommitLocked(rp, branch, head, title, desc, files), nil
}

// fileDirConflict returns a path that is a file of files and also a parent
// directory of another of its files, or "" if there is none (the smallest
// such path, so the answer does not depend on map order).
func fileDirConflict(files map[string]*fileEntry) string {
	bad := ""
	for p := range files {
		for i := 0; i < len(p); i++ {
			if p[i] != '/' {
				continue
			}
			if _, ok := files[p[:i]]; ok && (bad == "" || p[:i] < bad) {
				bad = p[:i]
			}
		}
	}
	return bad
}
