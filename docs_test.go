package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/Foxlight-Foundation/skulk-weights/internal/cli"
)

// generatedDocs are the blocks of README.md and docs/*.md made from the
// code: a block opens with <!-- generated: NAME ... --> and ends with
// <!-- end generated: NAME -->, and TestGeneratedDocs keeps its text equal
// to what its function returns.
var generatedDocs = map[string]func(t *testing.T) string{
	"synopsis":       func(*testing.T) string { return cli.Synopsis() },
	"cli-reference":  func(*testing.T) string { return cli.Reference() },
	"action-inputs":  actionInputs,
	"action-outputs": actionOutputs,
	"example-workflow": func(t *testing.T) string {
		return yamlFile(t, ".github/examples/catalog-publish.yml")
	},
	"example-workflow-minimal": func(t *testing.T) string {
		return yamlFile(t, ".github/examples/catalog-publish-minimal.yml")
	},
}

// yamlFile returns a file of the repository as a fenced YAML block, so a
// workflow the docs show is the one actionlint checks in CI.
func yamlFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return "```yaml\n" + string(data) + "```\n"
}

func generatedBegin(name string) string {
	return "<!-- generated: " + name + " by TestGeneratedDocs; `go test -run TestGeneratedDocs -update .` rewrites it -->\n"
}

func generatedEnd(name string) string { return "<!-- end generated: " + name + " -->\n" }

// docFiles lists README.md and every Markdown file under docs/.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"README.md"}, files...)
}

// TestGeneratedDocs keeps every generated block of the docs equal to the
// code it is made from (the command table, action.yml), so the CLI and
// action references cannot drift; -update rewrites the blocks. Every
// generator must be used somewhere, so a block cannot be dropped unseen.
func TestGeneratedDocs(t *testing.T) {
	used := map[string]bool{}
	for _, file := range docFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		s, changed := string(data), false
		for name, gen := range generatedDocs {
			begin, end := generatedBegin(name), generatedEnd(name)
			i := strings.Index(s, begin)
			if i < 0 {
				continue
			}
			used[name] = true
			j := strings.Index(s[i:], end)
			if j < 0 {
				t.Fatalf("%s: generated block %q has no end marker %q", file, name, end)
			}
			j += i
			got, want := s[i+len(begin):j], "\n"+gen(t)+"\n"
			if got == want {
				continue
			}
			if !*update {
				t.Errorf("%s: generated block %q differs from the code; run 'go test -run TestGeneratedDocs -update .'\nhave:\n%s\nwant:\n%s", file, name, got, want)
				continue
			}
			s, changed = s[:i+len(begin)]+want+s[j:], true
		}
		if changed {
			if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name := range generatedDocs {
		if !used[name] {
			t.Errorf("no doc holds the generated block %q (marker %q)", name, strings.TrimSpace(generatedBegin(name)))
		}
	}
}

// actionYML is the part of action.yml the reference is made from.
type actionYML struct {
	Inputs  yaml.Node `yaml:"inputs"`
	Outputs yaml.Node `yaml:"outputs"`
}

type actionField struct {
	Description string `yaml:"description"`
	Required    bool   `yaml:"required"`
	Default     string `yaml:"default"`
}

// actionFields reads action.yml's inputs or outputs in file order.
func actionFields(t *testing.T, outputs bool) (names []string, fields []actionField) {
	t.Helper()
	data, err := os.ReadFile("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionYML
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	node := a.Inputs
	if outputs {
		node = a.Outputs
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		var f actionField
		if err := node.Content[i+1].Decode(&f); err != nil {
			t.Fatalf("action.yml:%d: %v", node.Content[i+1].Line, err)
		}
		names = append(names, node.Content[i].Value)
		fields = append(fields, f)
	}
	if len(names) == 0 {
		t.Fatal("action.yml declares no inputs or outputs")
	}
	return names, fields
}

// cell makes a description fit one Markdown table cell.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

func actionInputs(t *testing.T) string {
	names, fields := actionFields(t, false)
	var b strings.Builder
	b.WriteString("| input | default | description |\n| --- | --- | --- |\n")
	for i, n := range names {
		def := "`" + fields[i].Default + "`"
		if fields[i].Default == "" {
			def = "(empty)"
		}
		if fields[i].Required {
			def = "required"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", n, def, cell(fields[i].Description))
	}
	return b.String()
}

func actionOutputs(t *testing.T) string {
	names, fields := actionFields(t, true)
	var b strings.Builder
	b.WriteString("| output | description |\n| --- | --- |\n")
	for i, n := range names {
		fmt.Fprintf(&b, "| `%s` | %s |\n", n, cell(fields[i].Description))
	}
	return b.String()
}

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile("(?m)^#{1,6} +(.+)$")
	fence     = regexp.MustCompile("(?ms)^```.*?^```")
)

// anchors returns the GitHub anchors of a Markdown file's headings.
func anchors(md string) map[string]bool {
	out := map[string]bool{}
	for _, m := range mdHeading.FindAllStringSubmatch(fence.ReplaceAllString(md, ""), -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(m[1])) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 0x7f:
				b.WriteRune(r)
			}
		}
		out[b.String()] = true
	}
	return out
}

// TestDocLinks checks that every relative link of README.md and docs/*.md
// names a file of the repository, and that a link to a heading of a
// Markdown file names a heading it has.
func TestDocLinks(t *testing.T) {
	for _, file := range docFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := fence.ReplaceAllString(string(data), "")
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(link, "#")
			target := file
			if path != "" {
				target = filepath.Join(filepath.Dir(file), path)
			}
			body, err := os.ReadFile(target)
			if err != nil {
				if fi, serr := os.Stat(target); serr == nil && fi.IsDir() {
					continue
				}
				t.Errorf("%s: link %q: no file %s", file, link, target)
				continue
			}
			if anchor != "" && strings.HasSuffix(target, ".md") && !anchors(string(body))[anchor] {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s", file, link, target, anchor)
			}
		}
	}
}
