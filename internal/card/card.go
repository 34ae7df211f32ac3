// Package card owns the model card (README.md) a vision sidecar is published
// with: the facts it states, how they are rendered, and how the license is
// read from the source's own card. Rendering is a pure function of the facts,
// so republishing an unchanged mirror produces a byte-identical card and no
// commit.
package card

import (
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/Foxlight-Foundation/skulk-weights/internal/display"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/safetensors"
)

// DefaultEndpoint is the Hub the card links to when Facts.Endpoint is empty.
const DefaultEndpoint = "https://huggingface.co"

// File is one mirrored file as the card's file table lists it.
type File struct {
	Path string
	Size int64
	// OID is the file's git object id at the copied commit: the blob id of a
	// regular file, the pointer's blob id of an LFS file. The card records it
	// so a later run can tell, without reading the file, that a recorded
	// sha256 belongs to the same bytes (see Recorded).
	OID    string
	SHA256 string
	// Tensors is the header summary of a safetensors file, nil for other
	// files (or a safetensors file whose header could not be read).
	Tensors *safetensors.Summary
}

// Facts is everything a card states. Every field comes from the mirror run
// itself, so the card describes exactly the commit that was copied.
type Facts struct {
	// Endpoint is the Hub the repos live on (default DefaultEndpoint).
	Endpoint string
	// SidecarRepo is the repo the card is published in.
	SidecarRepo string
	// SourceRepo is the vision source and SourceSHA the commit copied.
	SourceRepo, SourceSHA string
	// TargetModel is the catalog entry's source_model; CatalogKey its id.
	TargetModel, CatalogKey string
	// ToolVersion is the skulk-weights version that made the mirror.
	ToolVersion string
	// License is the inherited license; its ID is empty when neither card
	// declares one. LicenseFallback says it came from TargetModel's card
	// because the vision source's card declares none.
	License         License
	LicenseFallback bool
	// SourceAccess is who may read the source at the copied commit, and
	// SidecarAccess who may read the sidecar the card is committed to (at
	// least as restricted). An access whose gate is not known is left out.
	SourceAccess, SidecarAccess hub.Access
	Files                       []File
}

// Tags every sidecar card carries.
var tags = []string{"vision-sidecar", "skulk", "foxlight"}

// frontMatter is the card's YAML metadata, fields in the order written.
type frontMatter struct {
	BaseModel   string    `yaml:"base_model"`
	Tags        []string  `yaml:"tags"`
	License     any       `yaml:"license,omitempty"`
	LicenseName string    `yaml:"license_name,omitempty"`
	LicenseLink string    `yaml:"license_link,omitempty"`
	Foxlight    provBlock `yaml:"foxlight"`
}

// provBlock is the namespaced provenance block: the Hub has no
// base_model_relation for a plain copy, so the relation is stated here.
type provBlock struct {
	ArtifactType   string `yaml:"artifact_type"`
	SourceRepo     string `yaml:"source_repo"`
	SourceRevision string `yaml:"source_revision"`
	// SourceAccess and SidecarAccess state who may read each repo, as
	// the Hub's settings name it: private, and gated false, auto or manual.
	SourceAccess  *accessMeta `yaml:"source_access,omitempty,flow"`
	SidecarAccess *accessMeta `yaml:"sidecar_access,omitempty,flow"`
	TargetModel   string      `yaml:"target_model,omitempty"`
	CatalogKey    string      `yaml:"catalog_key,omitempty"`
	LicenseSource string      `yaml:"license_source,omitempty"`
	ExtractedWith string      `yaml:"extracted_with"`
	// Files repeats the file table for machines: a republish reuses an
	// entry whose oid still matches instead of reading the file again.
	Files []fileMeta `yaml:"files,omitempty"`
}

// accessMeta is a repo's access in the foxlight block; Gated is false or
// the gate's mode, as model info spells it.
type accessMeta struct {
	Private bool `yaml:"private"`
	Gated   any  `yaml:"gated"`
}

func newAccessMeta(a hub.Access) *accessMeta {
	if !a.Known() {
		return nil
	}
	m := &accessMeta{Private: a.Private, Gated: false}
	if a.Gate != hub.GateOff {
		m.Gated = string(a.Gate)
	}
	return m
}

// fileMeta is one file of the foxlight block. Tensors, DTypes and Params
// are set only for a safetensors file whose header was summarised.
type fileMeta struct {
	Path    string   `yaml:"path"`
	Size    int64    `yaml:"size"`
	OID     string   `yaml:"oid,omitempty"`
	SHA256  string   `yaml:"sha256,omitempty"`
	Tensors *int     `yaml:"tensors,omitempty"`
	DTypes  []string `yaml:"dtypes,omitempty,flow"`
	Params  *int64   `yaml:"params,omitempty"`
}

// Render produces the card for f. Same facts, same bytes: files are sorted by
// path and nothing depends on the clock.
func Render(f Facts) []byte {
	r := newRendering(f)
	endpoint := r.endpoint
	files := slices.Clone(f.Files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })

	fm := frontMatter{
		BaseModel:   f.SourceRepo,
		Tags:        tags,
		LicenseLink: r.link,
		Foxlight:    r.prov(f, "vision-sidecar", files),
	}
	fm.License, fm.LicenseName = r.licenseFields()

	var b bytes.Buffer
	writeFrontMatter(&b, fm)

	src := mdLink(f.SourceRepo, repoURL(endpoint, f.SourceRepo))
	srcAt := mdLink(f.SourceRepo+"@"+shortSHA(f.SourceSHA), treeURL(endpoint, f.SourceRepo, f.SourceSHA))

	fmt.Fprintf(&b, "# %s\n\n", escape(f.SidecarRepo))
	fmt.Fprintf(&b, "The vision encoder of %s, mirrored byte-for-byte from commit %s: no quantization, no dtype conversion, no re-serialization. ", src, code(f.SourceSHA))
	if f.TargetModel != "" {
		fmt.Fprintf(&b, "It is the vision sidecar Skulk loads next to %s", mdLink(f.TargetModel, repoURL(endpoint, f.TargetModel)))
		if f.CatalogKey != "" {
			fmt.Fprintf(&b, " (catalog entry %s)", code(f.CatalogKey))
		}
		b.WriteString(" to give it a multimodal path. ")
	}
	var total int64
	for _, file := range files {
		total += file.Size
	}
	fmt.Fprintf(&b, "%d %s, %s in all.\n\n", len(files), plural(len(files), "file", "files"), humanBytes(total))

	r.writeProvenance(&b, f, nil, true)

	b.WriteString("\n## Files\n\n")
	b.WriteString("| Path | Size (bytes) | SHA-256 | Tensors | DTypes | Parameters |\n")
	b.WriteString("| --- | ---: | --- | ---: | --- | ---: |\n")
	for _, file := range files {
		tensors, dtypes, params := "—", "—", "—"
		if t := file.Tensors; t != nil {
			tensors = strconv.Itoa(t.Tensors)
			dtypes = escape(strings.Join(t.DTypes, ", "))
			params = thousands(t.Params)
		}
		// A name is shown as display.Escape spells it, so no character
		// in it can reorder, hide or impersonate; ASCII names are as is.
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n",
			escape(display.Escape(file.Path)), thousands(file.Size), code(file.SHA256), tensors, dtypes, params)
	}
	if len(files) == 0 {
		b.WriteString("| (none) | | | | | |\n")
	}

	writeUsageIntro(&b, f)
	fmt.Fprintf(&b, "To fetch it with `huggingface_hub`, pin a revision so the files cannot change under you. The files are identical to %s, so pinning the source at the copied commit gives the same bytes:\n\n", srcAt)
	if f.SidecarAccess.Known() && f.SidecarAccess != (hub.Access{Gate: hub.GateOff}) {
		b.WriteString("This repository is " + f.SidecarAccess.String() + ", so downloading needs a token (`HF_TOKEN`) of an account that may read it.\n\n")
	}
	b.WriteString("```python\nfrom huggingface_hub import snapshot_download\n\n")
	fmt.Fprintf(&b, "# This sidecar; replace \"main\" with a commit of this repository to pin it.\n")
	fmt.Fprintf(&b, "path = snapshot_download(repo_id=%s, revision=\"main\")\n\n", pyString(f.SidecarRepo))
	b.WriteString("# The same files from the source, pinned to the commit that was copied.\n")
	fmt.Fprintf(&b, "path = snapshot_download(\n    repo_id=%s,\n    revision=%s,\n    allow_patterns=[\"*.safetensors\", \"*.safetensors.index.json\", \"*.json\", \"*.txt\", \"*.model\"],\n)\n```\n", pyString(f.SourceRepo), pyString(f.SourceSHA))

	none := "Neither the model card of " + src
	if f.TargetModel != "" && f.TargetModel != f.SourceRepo {
		none += " nor that of " + mdLink(f.TargetModel, repoURL(endpoint, f.TargetModel))
	}
	none += " declares a license, so this card states none. The weights remain under whatever terms their authors set; check with them before use.\n"
	r.writeLicense(&b, f, none)
	return b.Bytes()
}

func licenseIDs(l License) string {
	ids := []string{code(l.ID)}
	for _, m := range l.More {
		ids = append(ids, code(m))
	}
	return strings.Join(ids, ", ")
}

// licenseOrigin says whose card declared the license, and why that one.
func licenseOrigin(endpoint string, f Facts, rev string) string {
	from := f.License.From
	if from == "" {
		from = f.SourceRepo // Render's default too
	}
	target := repoURL(endpoint, from)
	if rev != "" {
		target = treeURL(endpoint, from, rev)
	}
	s := "the model card of " + mdLink(from, target)
	if f.LicenseFallback {
		s += ", the target model, because the vision source's card declares no license"
	} else if from == f.SourceRepo {
		s += ", the vision source"
	}
	return s
}

// withoutUserinfo drops user:password@ from an endpoint: the card is
// published, and credentials must never be part of it.
func withoutUserinfo(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		if strings.Contains(endpoint, "@") {
			return ""
		}
		return endpoint
	}
	if u.User == nil {
		return endpoint
	}
	u.User = nil
	return u.String()
}

func treeURL(endpoint, repo, rev string) string {
	return repoURL(endpoint, repo) + "/tree/" + escapePath(rev)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// mdEscaper backslash-escapes the characters that could turn text from a repo
// (paths, names, license strings) into markup: emphasis, links, HTML, table
// cells and code spans.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", `\<`, ">", `\>`, "|", `\|`, "~", `\~`, "#", `\#`, "!", `\!`,
	"(", `\(`, ")", `\)`, "&", "&amp;",
	"\r\n", " ", "\n", " ", "\r", " ",
)

// escape makes s safe as inline markdown text, including inside a table cell.
func escape(s string) string { return mdEscaper.Replace(s) }

var plainCode = regexp.MustCompile(`^[A-Za-z0-9._/:@+-]*$`)

// code renders s as a code span when it is plain enough that no escaping is
// needed (ids, hex digests); anything else is escaped text instead, since a
// code span cannot escape its own backticks.
func code(s string) string {
	if s == "" {
		return "—"
	}
	if plainCode.MatchString(s) {
		return "`" + s + "`"
	}
	return escape(s)
}

// mdLink renders a link with escaped text; parentheses and spaces in the
// target are percent-encoded so they cannot end it early.
func mdLink(text, target string) string {
	target = strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E").Replace(target)
	return "[" + escape(text) + "](" + target + ")"
}

// pyString quotes s as a Python string literal. strconv.Quote's escapes are
// valid Python, and no quoted string can close the surrounding code fence.
func pyString(s string) string { return strconv.Quote(s) }

func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.2f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
