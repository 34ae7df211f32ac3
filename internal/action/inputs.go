package action

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
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
	// The endpoint goes into cards, the log, the summary and comments: one
	// carrying credentials is refused, and the error does not repeat them.
	if in.HFEndpoint, err = hub.CheckEndpoint("input hf-endpoint", in.HFEndpoint); err != nil {
		return in, err
	}
	return in, nil
}

// endpointSecrets returns the credentials an endpoint names before its host
// (the password, and user:password), so they are scrubbed from any text
// even though such an endpoint is refused.
func endpointSecrets(endpoint string) []string {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil || u.User == nil {
		return nil
	}
	out := []string{u.User.String()}
	if p, ok := u.User.Password(); ok {
		out = append(out, p, u.User.Username()+":"+p)
	}
	return out
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
	case "", "vision", "mtp", "all":
		return nil
	case "vindex":
		return fmt.Errorf("artifact %q is not published by the action; it publishes vision and MTP sidecars (artifact: vision, mtp or all)", a)
	}
	return fmt.Errorf("artifact %q is not one of vision, mtp, all", a)
}
