package card

import (
	"net/url"
	"path"
	"strings"
)

// License is the license a sidecar inherits, as a model card declared it.
type License struct {
	// ID is the Hub license id ("apache-2.0", "other", ...). When the card
	// lists several, ID is the first and More holds the rest.
	ID   string
	More []string
	// Name and Link are the card's license_name and license_link, unchanged.
	// Link may be relative to the declaring repo; Render resolves it.
	Name, Link string
	// From is the repo whose card declared the license, and Revision the
	// commit that card was read at ("" means the source sha when From is the
	// vision source, else main).
	From, Revision string
}

// Limits on what is taken from a card: a license field longer than this is
// not a license id or link but noise, and is dropped rather than copied.
const (
	maxLicenseField = 256
	maxLicenseLink  = 2048
	maxLicenseIDs   = 16
)

// LicenseFrom reads license, license_name and license_link from a model
// card's parsed metadata (the Hub's cardData, or FrontMatter's result). The
// license may be a string or a list of strings; license_url, a common
// misspelling, stands in for a missing license_link. Values of any other shape
// are ignored, never a panic. The result reports true when the card declares a
// license id; Name and Link without an id are returned but do not count.
// From and Revision are left for the caller to fill in.
func LicenseFrom(cardData map[string]any) (License, bool) {
	var l License
	if cardData == nil {
		return l, false
	}
	raw := cardData["license"]
	if v, ok := raw.([]string); ok {
		items := make([]any, len(v))
		for i, s := range v {
			items[i] = s
		}
		raw = items
	}
	switch v := raw.(type) {
	case string:
		l.ID = cleanField(v, maxLicenseField)
	case []any:
		for _, item := range v {
			s, ok := item.(string)
			if !ok {
				continue
			}
			if s = cleanField(s, maxLicenseField); s == "" || len(l.More) >= maxLicenseIDs {
				continue
			}
			if l.ID == "" {
				l.ID = s
			} else {
				l.More = append(l.More, s)
			}
		}
	}
	if s, ok := cardData["license_name"].(string); ok {
		l.Name = cleanField(s, maxLicenseField)
	}
	for _, key := range []string{"license_link", "license_url"} {
		if s, ok := cardData[key].(string); ok && l.Link == "" {
			l.Link = cleanField(s, maxLicenseLink)
		}
	}
	return l, l.ID != ""
}

// cleanField trims a metadata string and drops it if it is too long or holds
// control characters: such a value cannot be a license id, name or link, and
// copying it would only carry someone else's garbage into our card.
func cleanField(s string, limit int) string {
	s = strings.TrimSpace(s)
	if len(s) > limit {
		return ""
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return ""
		}
	}
	return s
}

// resolveLink turns a license_link into a URL that works from the sidecar.
// Absolute http(s) URLs are kept. A path is a file in the declaring repo, so
// it becomes that file's URL at the pinned commit: a relative LICENSE would
// otherwise point at the sidecar, which may not hold it. A path starting with
// "/" is relative to the Hub itself. Anything else (another scheme, a
// malformed URL) cannot be trusted in a link and yields "".
func resolveLink(endpoint, repo, rev, link string) string {
	if link == "" {
		return ""
	}
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	switch {
	case u.Scheme == "http" || u.Scheme == "https":
		if u.Host == "" {
			return ""
		}
		return u.String()
	case u.Scheme != "" || u.Host != "" || u.Opaque != "":
		return ""
	case strings.HasPrefix(u.Path, "/"):
		return endpoint + escapePath(path.Clean(u.Path)) + suffix(u)
	}
	p := strings.TrimPrefix(path.Clean("/"+u.Path), "/")
	if p == "" || repo == "" {
		return ""
	}
	if rev == "" {
		rev = "main"
	}
	return repoURL(endpoint, repo) + "/blob/" + url.PathEscape(rev) + "/" + escapePath(p) + suffix(u)
}

func suffix(u *url.URL) string {
	s := ""
	if u.RawQuery != "" {
		s += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		s += "#" + u.EscapedFragment()
	}
	return s
}

// escapePath percent-encodes each segment of a slash-separated path.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// repoURL is the Hub page of a model repo.
func repoURL(endpoint, repo string) string {
	return endpoint + "/" + escapePath(repo)
}
