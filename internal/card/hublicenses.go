package card

import "strings"

// hubLicenses are the license ids the Hub accepts in a card's license
// field: the table of hub-docs docs/hub/repositories-licenses.md, plus the
// Llama ids it lists for the later Llama releases. Any other id makes the
// Hub's validate-yaml refuse the card; such an inherited id is carried as
// license: other with its name in license_name.
var hubLicenses = map[string]bool{}

func init() {
	for _, id := range []string{
		"apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m",
		"bigscience-bloom-rail-1.0", "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0",
		"bsd", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0",
		"cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0",
		"cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0",
		"cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
		"cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0",
		"epl-1.0", "epl-2.0", "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl", "gpl-2.0",
		"gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "isc", "h-research", "intel-research", "lppl-1.3c", "ms-pl",
		"apple-ascl", "apple-amlr", "mpl-2.0", "odc-by", "odbl", "openmdw-1.0", "openrail++", "osl-3.0", "postgresql", "ofl-1.1",
		"ncsa", "unlicense", "zlib", "pddl", "lgpl-lr", "deepfloyd-if-license", "fair-noncommercial-research-license",
		"llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "gemma", "unknown", "other",
	} {
		hubLicenses[id] = true
	}
}

// HubLicense reports whether id is a license id the Hub accepts.
func HubLicense(id string) bool { return hubLicenses[id] }

// hubLicenseIDs is the license field a card may carry for l, and its
// license_name: the inherited ids the Hub knows, in order and once each;
// an id it does not know becomes "other" (once), named in license_name
// unless the source card named its license itself. A source card's license
// is copied only in a form the Hub's validate-yaml accepts, so a hostile or
// mistyped id upstream cannot make the sidecar's card unpublishable; the
// card's text still quotes the declared ids.
func hubLicenseIDs(l License) ([]string, string) {
	var ids, unknown []string
	seen := map[string]bool{}
	for _, id := range append([]string{l.ID}, l.More...) {
		if !HubLicense(id) {
			unknown = append(unknown, id)
			id = "other"
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	name := l.Name
	if name == "" && len(unknown) > 0 {
		name = strings.Join(unknown, ", ")
	}
	return ids, name
}
