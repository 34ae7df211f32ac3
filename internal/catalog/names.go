package catalog

import (
	"strings"
)

// SourceSlug returns the slug of a model repo the way sidecar names use it:
// the name after the slash without -4bit, -8bit, -mlx or -optiq parts,
// lowercased, with "." turned into "-" and runs of "-" collapsed.
// "mlx-community/Kimi-K2.5-4bit" gives "kimi-k2-5".
func SourceSlug(repo string) string {
	name := repo
	if i := strings.LastIndexByte(repo, '/'); i >= 0 {
		name = repo[i+1:]
	}
	parts := strings.Split(strings.ToLower(name), "-")
	kept := parts[:0]
	for _, p := range parts {
		switch p {
		case "4bit", "8bit", "mlx", "optiq":
			continue
		}
		kept = append(kept, p)
	}
	s := strings.ReplaceAll(strings.Join(kept, "-"), ".", "-")
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	return strings.Trim(s, "-")
}

// maxRepoNameLen is the longest repo name the Hub accepts.
const maxRepoNameLen = 96

// RepoIDProblem says why the Hub would refuse id as a repo id (owner/name
// over [A-Za-z0-9_.-], no "--" or "..", no part starting or ending with
// "-" or ".", a name of at most 96 characters), or "" when it would not.
func RepoIDProblem(id string) string {
	if !repoRE.MatchString(id) {
		return "it must look like owner/name, over letters, digits, '-', '_' and '.'"
	}
	return hfRepoIDProblem(id)
}

// hfRepoIDProblem applies the Hub's naming rules to an id already known to
// be owner/name over [A-Za-z0-9_.-]; it returns why the Hub would reject it,
// or "".
func hfRepoIDProblem(id string) string {
	o, n, _ := strings.Cut(id, "/")
	for _, part := range []string{o, n} {
		switch {
		case strings.Contains(part, "--"), strings.Contains(part, ".."):
			return `"--" and ".." are not allowed`
		case strings.HasPrefix(part, "-"), strings.HasPrefix(part, "."),
			strings.HasSuffix(part, "-"), strings.HasSuffix(part, "."):
			return `a part must not start or end with "-" or "."`
		}
	}
	if len(n) > maxRepoNameLen {
		return "the name is longer than 96 characters"
	}
	return ""
}

// checkRevision applies git's reference-name rules (git check-ref-format)
// to a branch or tag name; a 40-hex commit id passes too. It returns why
// rev is not a usable revision, or "".
func checkRevision(rev string) string {
	if isFullSHA(rev) {
		return ""
	}
	switch {
	case len(rev) > 255:
		return "longer than 255 characters"
	case rev == "@":
		return `"@" alone is not a ref name`
	case strings.HasPrefix(rev, "/"), strings.HasSuffix(rev, "/"):
		return `must not start or end with "/"`
	case strings.HasSuffix(rev, "."):
		return `must not end with "."`
	case strings.Contains(rev, ".."):
		return `must not contain ".."`
	case strings.Contains(rev, "//"):
		return `must not contain "//"`
	case strings.Contains(rev, "@{"):
		return `must not contain "@{"`
	}
	for _, r := range rev {
		if r < 0x20 || r == 0x7f || r == ' ' || strings.ContainsRune(`~^:?*[\`, r) {
			return "must not contain spaces, control characters or any of ~ ^ : ? * [ \\"
		}
	}
	for _, c := range strings.Split(rev, "/") {
		if strings.HasPrefix(c, ".") || strings.HasSuffix(c, ".lock") {
			return `no part may start with "." or end with ".lock"`
		}
	}
	return ""
}

func isFullSHA(s string) bool { return len(s) == 40 && isHex(s) }

// isShortHex reports whether s looks like an abbreviated commit id.
func isShortHex(s string) bool {
	return len(s) >= 7 && len(s) < 40 && isHex(s) && strings.ContainsAny(s, "0123456789")
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return s != ""
}
