package card

import (
	"testing"
)

// FuzzFrontMatter checks that any README, however hostile, yields either an
// error or metadata whose license renders into a card whose own front matter
// parses again: nothing read from a source card can break the sidecar's.
func FuzzFrontMatter(f *testing.F) {
	f.Add([]byte("---\nlicense: other\nlicense_name: x\nlicense_link: ./LICENSE\n---\n# T\n"))
	f.Add([]byte("---\nlicense: [mit, apache-2.0]\nlicense_url: https://x.test/L\n---\n"))
	f.Add([]byte("---\na: &a [1]\nb: *a\n---\n"))
	f.Add([]byte("---\r\nlicense: \"a|b\"\r\n---\r\n"))
	f.Fuzz(func(t *testing.T, readme []byte) {
		meta, err := FrontMatter(readme)
		if err != nil {
			return
		}
		lic, _ := LicenseFrom(meta)
		facts := baseFacts()
		lic.From = facts.SourceRepo
		facts.License = lic
		if _, err := FrontMatter(Render(facts)); err != nil {
			t.Fatalf("rendered card's front matter does not parse: %v (license %+v)", err, lic)
		}
	})
}
