package action

import (
	"fmt"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// Inputs are the action's inputs (action.yml), read from INPUT_* variables.
type Inputs struct {
	HFToken      string
	GitHubToken  string
	Catalog      string
	Model        string
	Artifact     string
	DryRun       bool
	HFEndpoint   string
	Comment      bool
	Collection   string
	CommentLogin string

	dryRunSet bool // dry-run was given explicitly (not just defaulted)
}

func readInputs(a *githubactions.Action) (Inputs, error) {
	in := Inputs{
		HFToken:      a.GetInput("hf-token"),
		GitHubToken:  a.GetInput("github-token"),
		Catalog:      a.GetInput("catalog"),
		Model:        a.GetInput("model"),
		Artifact:     a.GetInput("artifact"),
		HFEndpoint:   a.GetInput("hf-endpoint"),
		Collection:   a.GetInput("collection"),
		CommentLogin: a.GetInput("comment-login"),
	}
	var err error
	raw := a.GetInput("dry-run")
	in.dryRunSet = raw != ""
	if in.DryRun, err = parseBool("dry-run", raw, false); err != nil {
		return in, err
	}
	if in.Comment, err = parseBool("comment", a.GetInput("comment"), true); err != nil {
		return in, err
	}
	if in.HFEndpoint == "" {
		in.HFEndpoint = "https://huggingface.co"
	}
	in.HFEndpoint = strings.TrimSuffix(in.HFEndpoint, "/")
	if !strings.HasPrefix(in.HFEndpoint, "https://") && !strings.HasPrefix(in.HFEndpoint, "http://") {
		return in, fmt.Errorf("input hf-endpoint %q must be an http(s) URL", in.HFEndpoint)
	}
	return in, nil
}

// parseBool reads a boolean input the way the Actions toolkit does
// (YAML 1.2 core schema: true/True/TRUE, false/False/FALSE).
func parseBool(name, v string, def bool) (bool, error) {
	switch v {
	case "":
		return def, nil
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	}
	return false, fmt.Errorf("input %s must be true or false, not %q", name, v)
}

// checkArtifact accepts the artifacts the action publishes: the vision
// sidecar, which is also what "all" means here.
func checkArtifact(a string) error {
	switch a {
	case "", "vision", "all":
		return nil
	case "vindex", "mtp":
		return fmt.Errorf("artifact %q is not published by the action; it publishes vision sidecars (artifact: vision)", a)
	}
	return fmt.Errorf("artifact %q is not one of vision, all", a)
}
