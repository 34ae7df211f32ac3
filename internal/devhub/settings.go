package devhub

import (
	"encoding/json"
	"net/http"
)

// visibility reads a repo's privacy from the two spellings clients send:
// huggingface_hub's create_repo sends "private": bool, @huggingface/hub's
// createRepo (create-repo.ts) sends "visibility": "public" | "private". Both
// may be absent (public); given together they must agree.
func visibility(private *bool, vis string) (bool, *hubError) {
	var v *bool
	switch vis {
	case "":
	case "public", "private":
		b := vis == "private"
		v = &b
	default:
		return false, badRequest("visibility must be \"public\" or \"private\", not %q", vis)
	}
	switch {
	case v != nil && private != nil && *v != *private:
		return false, badRequest("private and visibility disagree")
	case v != nil:
		return *v, nil
	case private != nil:
		return *private, nil
	}
	return false, nil
}

// repoSettings serves PUT /api/{models,datasets,spaces}/{id}/settings, the
// call huggingface_hub's update_repo_settings makes (hf_api.py): a JSON
// body whose "private" (bool), "visibility" ("public" | "private") and
// "gated" (false | "auto" | "manual") are each optional; an absent field is
// left as it is, and other fields (description, discussions, ...) are
// accepted and ignored. It needs write access to the repo. The answer's
// body is not read by the official clients; it is an empty object.
func (h *Hub) repoSettings(c *call) error {
	var req struct {
		Private    *bool           `json:"private"`
		Visibility string          `json:"visibility"`
		Gated      json.RawMessage `json:"gated"`
	}
	if err := decodeJSON(c.r, &req, 1<<20); err != nil {
		return err
	}
	var gated *string
	if len(req.Gated) > 0 {
		var g string
		switch string(req.Gated) {
		case "false":
			g = ""
		case `"auto"`, `"manual"`:
			json.Unmarshal(req.Gated, &g)
		default:
			return badRequest("gated must be false, \"auto\" or \"manual\", not %s", clip(string(req.Gated)))
		}
		gated = &g
	}
	var private *bool
	if req.Private != nil || req.Visibility != "" {
		p, herr := visibility(req.Private, req.Visibility)
		if herr != nil {
			return herr
		}
		private = &p
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, herr := h.writeRepoLocked(c.caller, c.typ, c.ns, c.name)
	if herr != nil {
		return herr
	}
	if private != nil {
		rp.Private = *private
	}
	if gated != nil {
		rp.Gated = *gated
	}
	writeJSON(c.w, http.StatusOK, map[string]any{})
	return nil
}

// clip shortens a value repeated in an error message.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
