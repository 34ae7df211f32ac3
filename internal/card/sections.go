package card

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// rendering is what every kind of card derives from its Facts before
// writing: the Hub it links to, the license with its origin filled in, and
// the tool version it names.
type rendering struct {
	endpoint string
	// lic is Facts.License with From defaulting to the source; licRev is
	// the commit its card was read at, when known.
	lic    License
	licRev string
	// link is the license's terms as an absolute link, "" when it has none
	// a card can carry.
	link    string
	version string
}

func newRendering(f Facts) rendering {
	r := rendering{endpoint: strings.TrimRight(withoutUserinfo(f.Endpoint), "/"), lic: f.License, version: f.ToolVersion}
	if r.endpoint == "" {
		r.endpoint = DefaultEndpoint
	}
	if r.lic.From == "" {
		r.lic.From = f.SourceRepo
	}
	r.licRev = r.lic.Revision
	if r.licRev == "" && r.lic.From == f.SourceRepo {
		r.licRev = f.SourceSHA
	}
	r.link = resolveLink(r.endpoint, r.lic.From, r.licRev, r.lic.Link)
	if r.version == "" {
		r.version = "dev"
	}
	return r
}

// prov is the foxlight block every card carries: provenance, access and
// the machine-readable file list.
func (r rendering) prov(f Facts, artifact string, files []File) provBlock {
	p := provBlock{
		ArtifactType:   artifact,
		SourceRepo:     f.SourceRepo,
		SourceRevision: f.SourceSHA,
		SourceAccess:   newAccessMeta(f.SourceAccess),
		SidecarAccess:  newAccessMeta(f.SidecarAccess),
		TargetModel:    f.TargetModel,
		CatalogKey:     f.CatalogKey,
		ExtractedWith:  "skulk-weights " + r.version,
	}
	for _, file := range files {
		m := fileMeta{Path: file.Path, Size: file.Size, OID: file.OID, SHA256: file.SHA256}
		if t := file.Tensors; t != nil {
			n, p := t.Tensors, t.Params
			m.Tensors, m.DTypes, m.Params = &n, t.DTypes, &p
		}
		p.Files = append(p.Files, m)
	}
	if r.lic.ID != "" {
		p.LicenseSource = r.lic.From
	}
	return p
}

// writeFrontMatter writes fm as the card's YAML block.
func writeFrontMatter(b *bytes.Buffer, fm any) {
	b.WriteString("---\n")
	enc := yaml.NewEncoder(b)
	enc.SetIndent(2)
	if err := enc.Encode(fm); err != nil {
		// Only plain strings and lists go in; yaml.v3 cannot fail on them.
		panic(fmt.Sprintf("card: encode front matter: %v", err))
	}
	enc.Close()
	b.WriteString("---\n\n")
}

// writeProvenance writes the provenance table. extra rows follow the
// source revision; terms adds the rows that say where the license's terms
// are.
func (r rendering) writeProvenance(b *bytes.Buffer, f Facts, extra [][2]string, terms bool) {
	b.WriteString("## Provenance\n\n| Field | Value |\n| --- | --- |\n")
	row := func(k, v string) { fmt.Fprintf(b, "| %s | %s |\n", k, v) }
	row("Source repository", mdLink(f.SourceRepo, repoURL(r.endpoint, f.SourceRepo)))
	row("Source revision", code(f.SourceSHA)+" ("+mdLink("browse", treeURL(r.endpoint, f.SourceRepo, f.SourceSHA))+")")
	for _, e := range extra {
		row(e[0], e[1])
	}
	if f.SourceAccess.Known() {
		row("Source access", f.SourceAccess.String())
	}
	if f.SidecarAccess.Known() {
		row("Sidecar access", f.SidecarAccess.String()+"; never less restricted than the source")
	}
	if f.TargetModel != "" {
		row("Target model", mdLink(f.TargetModel, repoURL(r.endpoint, f.TargetModel)))
	}
	if f.CatalogKey != "" {
		row("Catalog key", code(f.CatalogKey))
	}
	lic := r.lic
	if lic.ID != "" {
		v := licenseIDs(lic)
		if lic.Name != "" {
			v += " (" + escape(lic.Name) + ")"
		}
		row("License", v)
		row("License declared by", licenseOrigin(r.endpoint, f, r.licRev))
		switch {
		case !terms:
		case r.link != "":
			v := mdLink(r.link, r.link)
			if r.link != lic.Link {
				v += " (declared as " + code(lic.Link) + " in that card; resolved at the commit it was read from)"
			}
			row("License terms", v)
		case lic.Link != "":
			row("License terms", "declared as "+code(lic.Link)+", which is not a link this card can carry")
		}
	} else {
		row("License", "none declared")
	}
	row("Extracted with", escape("skulk-weights "+r.version))
}

// writeUsageIntro opens the usage section.
func writeUsageIntro(b *bytes.Buffer, f Facts) {
	b.WriteString("\n## Usage\n\n")
	if f.CatalogKey != "" {
		fmt.Fprintf(b, "Skulk fetches this sidecar itself when it loads %s. ", code(f.CatalogKey))
	}
}

// writeLicense writes the license section; none is its text when no
// license is declared.
func (r rendering) writeLicense(b *bytes.Buffer, f Facts, none string) {
	b.WriteString("\n## License\n\n")
	lic := r.lic
	if lic.ID == "" {
		b.WriteString(none)
		return
	}
	fmt.Fprintf(b, "These weights keep the license of their source, unchanged: %s", licenseIDs(lic))
	if lic.Name != "" {
		fmt.Fprintf(b, " (%s)", escape(lic.Name))
	}
	fmt.Fprintf(b, ", as declared by %s.", licenseOrigin(r.endpoint, f, r.licRev))
	if r.link != "" {
		fmt.Fprintf(b, " Full terms: %s.", mdLink(r.link, r.link))
	}
	b.WriteString(" Using them means accepting those terms.\n")
}

// licenseFields are the front matter's license and license_name. Ids the
// Hub does not know become "other", the declared id named in license_name:
// the Hub refuses a card with any other. Without an id, license is left
// out and license_name keeps what the source's card said, if anything.
func (r rendering) licenseFields() (license any, name string) {
	if r.lic.ID == "" {
		return nil, r.lic.Name
	}
	ids, name := hubLicenseIDs(r.lic)
	if len(ids) > 1 {
		return ids, name
	}
	return ids[0], name
}
