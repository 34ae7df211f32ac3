package devhub

import (
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/Foxlight-Foundation/skulk-weights/internal/card"
)

// validateYAML is POST /api/validate-yaml: {"content": README text,
// "repoType"}. A card the Hub would refuse gets 400 with "errors" (a
// message each), as huggingface_hub's _validate_yaml reads them
// (hf_api.py); an accepted one 200, with "warnings" for a card without
// metadata.
func (h *Hub) validateYAML(c *call) error {
	var req struct {
		Content  string `json:"content"`
		RepoType string `json:"repoType"`
	}
	if err := decodeJSON(c.r, &req, 16<<20); err != nil {
		return err
	}
	problems, warnings := ValidateCard([]byte(req.Content))
	warn := []map[string]string{}
	for _, w := range warnings {
		warn = append(warn, map[string]string{"message": w})
	}
	if len(problems) > 0 {
		errs := make([]map[string]string, 0, len(problems))
		for _, p := range problems {
			errs = append(errs, map[string]string{"message": p})
		}
		return &hubError{Status: 400, Code: "BadRequest", Msg: strings.Join(problems, "\n"),
			Extra: map[string]any{"errors": errs, "warnings": warn}}
	}
	writeJSON(c.w, 200, map[string]any{"warnings": warn})
	return nil
}

// hubRepoID is what the Hub accepts as a base_model: a repo id, never a
// local path or a URL.
var hubRepoID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$`)

// ValidateCard checks a model card's front matter as the Hub's
// validate-yaml does for the fields a sidecar card writes: the metadata
// must be a mapping; license a known id (or a list of them); tags a string
// or a list of strings; base_model a repo id or a list of them;
// license_name and license_link strings. It returns the problems (the card
// is refused) and warnings (it is accepted).
func ValidateCard(content []byte) (problems, warnings []string) {
	text := strings.TrimPrefix(string(content), "\ufeff")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	rest, ok := strings.CutPrefix(text, "---\n")
	if !ok {
		return nil, []string{"empty or missing yaml metadata in repo card"}
	}
	end := strings.Index(rest, "\n---")
	if strings.HasPrefix(rest, "---") {
		end = 0
	}
	if end < 0 {
		return []string{"Error parsing YAML metadata: the front matter is not closed by a --- line"}, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(rest[:end]), &doc); err != nil {
		return []string{"Error parsing YAML metadata: " + err.Error()}, nil
	}
	if len(doc.Content) == 0 {
		return nil, []string{"empty or missing yaml metadata in repo card"}
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return []string{"YAML metadata must be a mapping (key: value pairs)"}, nil
	}
	strs := func(n *yaml.Node) ([]string, bool) {
		switch n.Kind {
		case yaml.ScalarNode:
			return []string{n.Value}, n.Tag == "!!str"
		case yaml.SequenceNode:
			out := []string{}
			for _, e := range n.Content {
				if e.Kind != yaml.ScalarNode || e.Tag != "!!str" {
					return nil, false
				}
				out = append(out, e.Value)
			}
			return out, true
		}
		return nil, false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i].Value, m.Content[i+1]
		switch k {
		case "license":
			ids, ok := strs(v)
			if !ok {
				problems = append(problems, `"license" must be a string or an array of strings`)
				continue
			}
			for _, id := range ids {
				if !card.HubLicense(id) {
					problems = append(problems, `"license" must be one of the license identifiers listed at https://huggingface.co/docs/hub/repositories-licenses, got "`+id+`"`)
				}
			}
		case "tags":
			if _, ok := strs(v); !ok {
				problems = append(problems, `"tags" must be an array of strings`)
			}
		case "base_model":
			ids, ok := strs(v)
			if !ok {
				problems = append(problems, `"base_model" must be a string or an array of strings`)
				continue
			}
			for _, id := range ids {
				if !hubRepoID.MatchString(id) || strings.Contains(id, "..") || strings.Contains(id, "--") {
					problems = append(problems, `"base_model" with value "`+id+`" is not valid. Use a model id from https://hf.co/models.`)
				}
			}
		case "license_name", "license_link":
			if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
				problems = append(problems, `"`+k+`" must be a string`)
			}
		}
	}
	return problems, warnings
}
