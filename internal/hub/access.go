package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Gate is how a repo gates downloads of its files. Model info carries it as
// `gated`: false, "auto" (access requests approved automatically) or
// "manual" (approved by the owner), as huggingface_hub's ModelInfo.gated and
// update_repo_settings(gated=...) define it (hf_api.py).
//
// The zero Gate means the Hub did not say; any other value than the three
// known ones holds the raw JSON the Hub sent. Neither is Known: a caller
// deciding who may read weights must refuse to guess (see Access.Check).
type Gate string

// The known gates, least to most restrictive.
const (
	GateOff    Gate = "off"
	GateAuto   Gate = "auto"
	GateManual Gate = "manual"
)

// maxRawGate bounds how much of an unknown value an error repeats.
const maxRawGate = 40

// UnmarshalJSON reads false, "auto" or "manual". Anything else (true, null,
// another string, a number) is kept, clipped, as an unknown gate.
func (g *Gate) UnmarshalJSON(b []byte) error {
	raw := string(bytes.TrimSpace(b))
	switch raw {
	case "false":
		*g = GateOff
	case `"auto"`:
		*g = GateAuto
	case `"manual"`:
		*g = GateManual
	default:
		if len(raw) > maxRawGate {
			raw = raw[:maxRawGate] + "…"
		}
		*g = Gate(raw)
	}
	return nil
}

// MarshalJSON writes a known gate as the Hub spells it (false, "auto",
// "manual"), a gate not read (zero) as null, and an unknown one as a
// string describing it.
func (g Gate) MarshalJSON() ([]byte, error) {
	switch g {
	case GateOff:
		return []byte("false"), nil
	case GateAuto, GateManual:
		return json.Marshal(string(g))
	case "":
		return []byte("null"), nil
	}
	return json.Marshal(g.String())
}

// Known reports whether g is one of GateOff, GateAuto and GateManual.
func (g Gate) Known() bool { return g.rank() >= 0 }

// rank orders the known gates; -1 for an unknown one.
func (g Gate) rank() int {
	switch g {
	case GateOff:
		return 0
	case GateAuto:
		return 1
	case GateManual:
		return 2
	}
	return -1
}

// String describes g for people: "not gated", "gated (auto)", "gated
// (manual)", or what is unknown about it.
func (g Gate) String() string {
	switch g {
	case GateOff:
		return "not gated"
	case GateAuto, GateManual:
		return "gated (" + string(g) + ")"
	case "":
		return "gate not stated by the Hub"
	}
	return "gated " + string(g) + " (unknown)"
}

// Access is who may read a repo. Private and gated are separate settings
// on the Hub (a private repo can also be gated), so Access orders them on
// each axis separately: public < private, and not gated < gated (auto) <
// gated (manual).
type Access struct {
	Private bool `json:"private"`
	Gate    Gate `json:"gated"`
}

// AccessOf returns the access model info states.
func AccessOf(info *RepoInfo) Access { return Access{Private: info.Private, Gate: info.Gated} }

// String describes a for people: "public", "private", "public, gated
// (manual)", "private, gated (auto)".
func (a Access) String() string {
	vis := "public"
	if a.Private {
		vis = "private"
	}
	if a.Gate == GateOff {
		return vis
	}
	return vis + ", " + a.Gate.String()
}

// Known reports whether both settings of a are known.
func (a Access) Known() bool { return a.Gate.Known() }

// Covers reports whether a is at least as restricted as b on both axes:
// private if b is private, and gated at least as strictly as b. Unknown
// gates cover nothing and are covered by nothing.
func (a Access) Covers(b Access) bool {
	if !a.Known() || !b.Known() {
		return false
	}
	return (a.Private || !b.Private) && a.Gate.rank() >= b.Gate.rank()
}

// Join returns the least restricted access that covers both a and b.
func (a Access) Join(b Access) Access {
	j := Access{Private: a.Private || b.Private, Gate: a.Gate}
	if b.Gate.rank() > a.Gate.rank() {
		j.Gate = b.Gate
	}
	return j
}

// ErrUnknownAccess is returned for a repo whose model info states a gate
// this client does not know.
var ErrUnknownAccess = errors.New("unknown access setting")

// Check returns an error matching ErrUnknownAccess when a's gate is not
// one this client knows. Deciding who may read weights from a value it does
// not understand would be a guess either way: treating it as the most
// restrictive gate would write a sidecar whose gate differs from its
// source's; treating it as no gate would loosen it. So callers stop, and
// nothing is written.
func (a Access) Check(repo string) error {
	if a.Known() {
		return nil
	}
	return fmt.Errorf("%s: the Hub reports its access as %s, which this version of skulk-weights does not know (it knows gated false, \"auto\" and \"manual\"): %w", repo, a.Gate, ErrUnknownAccess)
}

// RepoSettings is what UpdateRepoSettings changes; a nil field is left as
// it is, as huggingface_hub's update_repo_settings leaves a None argument
// out of its body.
type RepoSettings struct {
	Private *bool
	Gate    *Gate
}

// UpdateRepoSettings changes a model repo's settings with PUT
// /api/models/{repo}/settings, body {"private": bool, "gated": false |
// "auto" | "manual"} holding only the fields set (huggingface_hub hf_api.py
// update_repo_settings). It needs write access to the repo. Setting the
// same value twice is harmless, so a lost answer is retried.
func (c *Client) UpdateRepoSettings(ctx context.Context, repo string, s RepoSettings) error {
	body := map[string]any{}
	if s.Private != nil {
		body["private"] = *s.Private
	}
	if s.Gate != nil {
		if !s.Gate.Known() {
			return fmt.Errorf("settings of %s: gate %s is not one the Hub accepts", repo, *s.Gate)
		}
		body["gated"] = *s.Gate
	}
	if len(body) == 0 {
		return fmt.Errorf("settings of %s: nothing to change", repo)
	}
	b, size, err := jsonBody(body)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, call{method: http.MethodPut, url: c.api("/api/models/%s/settings", repoPath(repo)), auth: true, retry: true,
		body: b, size: size, header: http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
