package devhub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// hubError is an HTTP failure in the Hub's form: status, X-Error-Code
// (none when Code is empty), X-Error-Message and a JSON body
// {"error": message, ...Extra}.
type hubError struct {
	Status  int
	Code    string
	Msg     string
	Extra   map[string]any
	Headers map[string]string
}

func (e *hubError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Msg) }

func badRequest(format string, args ...any) *hubError {
	return &hubError{Status: 400, Code: "BadRequest", Msg: fmt.Sprintf(format, args...)}
}

func internalError(err error) *hubError {
	return &hubError{Status: 500, Code: "InternalError", Msg: "Internal Error - " + err.Error()}
}

func errRevision(rev string) *hubError {
	return &hubError{Status: 404, Code: "RevisionNotFound", Msg: "Invalid rev id: " + rev}
}

func errEntry(p string) *hubError {
	return &hubError{Status: 404, Code: "EntryNotFound", Msg: fmt.Sprintf("%s does not exist on this revision", p)}
}

func errRepoNotFound(status int) *hubError {
	return &hubError{Status: status, Code: "RepoNotFound", Msg: "Repository not found"}
}

// errHiddenRepo is the Hub's answer to a caller without a token asking for
// a repo that is private or does not exist: 401 and no X-Error-Code, which
// huggingface_hub's hf_raise_for_status (utils/_http.py) turns into
// RepositoryNotFoundError ("401 is misleading as it is returned for private
// and gated repos if user is not authenticated, missing repos").
func errHiddenRepo() *hubError {
	return &hubError{Status: 401, Msg: "Invalid username or password."}
}

func errNotFound(msg string) *hubError {
	return &hubError{Status: 404, Code: "NotFound", Msg: msg}
}

func errUnauthorized(msg string) *hubError {
	return &hubError{Status: 401, Code: "Unauthorized", Msg: msg}
}

func errForbidden(msg string) *hubError {
	return &hubError{Status: 403, Code: "Forbidden", Msg: msg}
}

func errConflict(msg string, extra map[string]any) *hubError {
	return &hubError{Status: 409, Code: "Conflict", Msg: msg, Extra: extra}
}

// writeError sends e. Header values cannot hold line breaks, so the message
// is flattened there; the JSON body keeps it whole.
func writeError(w http.ResponseWriter, r *http.Request, e *hubError) {
	hd := w.Header()
	for k, v := range e.Headers {
		hd.Set(k, v)
	}
	if e.Code != "" {
		hd.Set("X-Error-Code", e.Code)
	}
	hd.Set("X-Error-Message", strings.Join(strings.Fields(e.Msg), " "))
	body := map[string]any{"error": e.Msg}
	for k, v := range e.Extra {
		body[k] = v
	}
	if r.Method == http.MethodHead {
		hd.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(e.Status)
		return
	}
	writeJSON(w, e.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	writeJSONKeepType(w, status, v)
}

func writeJSONKeepType(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = 500, []byte(`{"error":"cannot encode response"}`)
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
