package card

import (
	"bytes"
	"fmt"

	"github.com/Foxlight-Foundation/skulk-weights/internal/display"
)

// Artifact types of extracted sidecars, as the foxlight block and the tags
// name them.
const (
	ArtifactVision = "vision-sidecar"
	ArtifactMTP    = "mtp-sidecar"
)

// Extraction is what an extracted sidecar's card states beyond Facts: how
// the tensors were selected and where each one came from, so anyone can
// re-check the sidecar against the source with ranged reads.
type Extraction struct {
	// Artifact is ArtifactVision or ArtifactMTP.
	Artifact string
	// Selection is the rule as configured; Resolved what it matched.
	Selection, Resolved string
	// Inputs are the source files the output is a function of (index,
	// shards, configs) with their git oids at SourceSHA.
	Inputs []Input
	// Tensors lists every source tensor read.
	Tensors []TensorProv
	// Converted says the output is BF16 (MTP) rather than a copy.
	Converted bool
}

// Input is one source file an extraction depends on.
type Input struct {
	Path string `yaml:"path"`
	OID  string `yaml:"oid"`
}

// TensorProv is one source tensor: its shard, its bytes there
// ([begin, end) in the shard file, for a Range request), dtype, shape and
// the sha256 of its data bytes. Role is "scale" for a scale consumed by a
// conversion.
type TensorProv struct {
	Name    string  `yaml:"name"`
	Shard   string  `yaml:"shard"`
	Offsets []int64 `yaml:"offsets,flow"`
	DType   string  `yaml:"dtype"`
	Shape   []int64 `yaml:"shape,flow"`
	SHA256  string  `yaml:"sha256"`
	Role    string  `yaml:"role,omitempty"`
}

type extractionMeta struct {
	Selection string       `yaml:"selection"`
	Resolved  string       `yaml:"resolved,omitempty"`
	Inputs    []Input      `yaml:"inputs"`
	Tensors   []TensorProv `yaml:"tensors"`
}

type extractedFront struct {
	BaseModel   string        `yaml:"base_model"`
	Tags        []string      `yaml:"tags"`
	License     any           `yaml:"license,omitempty"`
	LicenseName string        `yaml:"license_name,omitempty"`
	LicenseLink string        `yaml:"license_link,omitempty"`
	Foxlight    extractedProv `yaml:"foxlight"`
}

type extractedProv struct {
	provBlock  `yaml:",inline"`
	Extraction extractionMeta `yaml:"extraction"`
}

// RenderExtraction produces the card of an extracted sidecar. Like Render
// it is a pure function of its input.
func RenderExtraction(f Facts, x Extraction) []byte {
	r := newRendering(f)
	endpoint := r.endpoint
	fm := extractedFront{
		BaseModel: f.SourceRepo, Tags: []string{x.Artifact, "skulk", "foxlight"},
		LicenseLink: r.link,
		Foxlight: extractedProv{provBlock: r.prov(f, x.Artifact, f.Files),
			Extraction: extractionMeta{Selection: x.Selection, Resolved: x.Resolved, Inputs: x.Inputs, Tensors: x.Tensors}},
	}
	fm.License, fm.LicenseName = r.licenseFields()
	var b bytes.Buffer
	writeFrontMatter(&b, fm)

	src := mdLink(f.SourceRepo, repoURL(endpoint, f.SourceRepo))
	fmt.Fprintf(&b, "# %s\n\n", escape(f.SidecarRepo))
	var scales int
	for _, t := range x.Tensors {
		if t.Role == "scale" {
			scales++
		}
	}
	what := "The vision encoder"
	if x.Artifact == ArtifactMTP {
		what = "The multi-token-prediction (MTP) head"
	}
	fmt.Fprintf(&b, "%s of %s, cut out of commit %s by HTTP Range reads: %d tensors selected by %s",
		what, src, code(f.SourceSHA), len(x.Tensors)-scales, code(x.Selection))
	if x.Resolved != "" {
		fmt.Fprintf(&b, " (%s)", escape(x.Resolved))
	}
	if x.Converted {
		fmt.Fprintf(&b, ", every one converted to BF16 (quantized weights dequantized with %d block-scale tensors, as the model's reference code computes them). ", scales)
	} else {
		b.WriteString(", names, dtypes, shapes and data bytes unchanged. ")
	}
	if f.TargetModel != "" {
		fmt.Fprintf(&b, "Skulk loads it next to %s", mdLink(f.TargetModel, repoURL(endpoint, f.TargetModel)))
		if f.CatalogKey != "" {
			fmt.Fprintf(&b, " (catalog entry %s)", code(f.CatalogKey))
		}
		b.WriteString(". ")
	}
	b.WriteString("The front matter's `foxlight.extraction.tensors` lists, for every source tensor, its shard, its byte range there, dtype, shape and the SHA-256 of its bytes.\n\n")

	r.writeProvenance(&b, f, [][2]string{{"Selection", code(x.Selection)}}, false)

	b.WriteString("\n## Files\n\n| Path | Size (bytes) | SHA-256 |\n| --- | ---: | --- |\n")
	for _, file := range f.Files {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", escape(display.Escape(file.Path)), thousands(file.Size), code(file.SHA256))
	}
	writeUsageIntro(&b, f)
	b.WriteString("To fetch it with `huggingface_hub`, pin a revision so the files cannot change under you:\n\n")
	b.WriteString("```python\nfrom huggingface_hub import snapshot_download\n\n")
	fmt.Fprintf(&b, "path = snapshot_download(repo_id=%s, revision=\"main\")  # or a commit of this repository\n```\n\n", pyString(f.SidecarRepo))
	if len(x.Tensors) > 0 {
		t := x.Tensors[0]
		fmt.Fprintf(&b, "To re-check a tensor against the source without downloading a shard, read its byte range at the pinned commit and compare the SHA-256 with the one recorded above; for %s:\n\n", code(t.Name))
		// The URL is percent-encoded (no quote, space or backquote left)
		// and single-quoted, so no name can reach the shell.
		fmt.Fprintf(&b, "```sh\ncurl -sL -r %d-%d '%s' | sha256sum   # %s\n```\n", t.Offsets[0], t.Offsets[1]-1,
			endpoint+"/"+f.SourceRepo+"/resolve/"+f.SourceSHA+"/"+escapePath(t.Shard), t.SHA256)
	}

	r.writeLicense(&b, f, fmt.Sprintf("The model card of %s declares no license, so this card states none. The weights remain under whatever terms their authors set; check with them before use.\n", src))
	return b.Bytes()
}
