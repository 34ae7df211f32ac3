package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Targets for errors.Is on errors returned by the Client. An *Error matches
// every target that describes it: a 404 with X-Error-Code RepoNotFound is
// both ErrRepoNotFound and, by status, nothing else.
var (
	ErrRepoNotFound       = errors.New("repository not found")
	ErrRevisionNotFound   = errors.New("revision not found")
	ErrEntryNotFound      = errors.New("entry not found")
	ErrGated              = errors.New("gated repository")
	ErrUnauthorized       = errors.New("unauthorized")
	ErrForbidden          = errors.New("forbidden")
	ErrRateLimited        = errors.New("rate limited")
	ErrConflict           = errors.New("conflict")
	ErrPreconditionFailed = errors.New("precondition failed")

	// ErrCommitOutcomeUnknown is returned by Commit when the request may have
	// reached the Hub but no answer came back (connection lost, gateway
	// error). The caller must read the branch head to find out whether the
	// commit landed; resending blindly could commit twice.
	ErrCommitOutcomeUnknown = errors.New("commit outcome unknown")
)

// Error is a non-2xx answer from the Hub. Message is the server's own text
// (X-Error-Message or the JSON "error"), with the client's token removed
// should the server ever echo it.
type Error struct {
	Method    string
	Path      string // URL path only: query strings of storage URLs carry signatures
	Status    int
	Code      string // X-Error-Code, e.g. RepoNotFound
	Message   string
	RequestID string
	// RetryAfter is the wait the server asked for (429/503), zero if none.
	RetryAfter time.Duration

	body string // the answer's first 64 KiB, for callers that read structured errors
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	return b.String()
}

// Is reports whether target is one of the package's error targets that
// describes e.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrRepoNotFound:
		return e.Code == "RepoNotFound" || e.hiddenRepo()
	case ErrRevisionNotFound:
		return e.Code == "RevisionNotFound"
	case ErrEntryNotFound:
		return e.Code == "EntryNotFound"
	case ErrGated:
		return e.Code == "GatedRepo"
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized && e.Code != "RepoNotFound" && e.Code != "GatedRepo" && !e.hiddenRepo()
	case ErrForbidden:
		return e.Status == http.StatusForbidden && e.Code != "GatedRepo"
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrPreconditionFailed:
		return e.Status == http.StatusPreconditionFailed
	}
	return false
}

// invalidCredentials is the X-Error-Message of the Hub's 401 for a token it
// does not know.
const invalidCredentials = "Invalid credentials in Authorization header"

// repoURLRE matches the paths of repo URLs, as huggingface_hub's
// REPO_API_REGEX does (utils/_http.py): /api/{models,datasets,spaces}/...
// and /{repo}/resolve/....
var repoURLRE = regexp.MustCompile(`^(/api/(models|datasets|spaces)/.+|/.+/resolve/.+)$`)

// hiddenRepo reports a 401 without X-Error-Code on a repo URL: the Hub's
// answer to a caller without a token for a repo that is private or does
// not exist, which it does not tell apart. huggingface_hub's
// hf_raise_for_status (utils/_http.py) raises RepositoryNotFoundError for
// it, unless the message says the token itself was refused; so does this
// client, instead of reporting a token problem to a caller that sent none.
func (e *Error) hiddenRepo() bool {
	return e.Status == http.StatusUnauthorized && e.Code == "" && e.Message != invalidCredentials && repoURLRE.MatchString(e.Path)
}

// newError builds an *Error from a failed response and drains its body.
func newError(resp *http.Response, token string) *Error {
	e := &Error{
		Method:    resp.Request.Method,
		Path:      resp.Request.URL.Path,
		Status:    resp.StatusCode,
		Code:      resp.Header.Get("X-Error-Code"),
		Message:   resp.Header.Get("X-Error-Message"),
		RequestID: resp.Header.Get("X-Request-Id"),
	}
	e.RetryAfter = retryAfter(resp.Header)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e.body = string(body)
	if e.Message == "" {
		e.Message = messageFromBody(body)
	}
	if token != "" {
		e.Message = strings.ReplaceAll(e.Message, token, "[redacted]")
	}
	return e
}

// messageFromBody extracts the human text from the Hub's JSON error shapes:
// {"error": "..."}, {"error": ["..."]}, {"error_description": ...},
// {"errors": [{"message": ...}]}, {"message": ...}.
func messageFromBody(body []byte) string {
	var v struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
		Message          string          `json:"message"`
		Errors           []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &v) != nil {
		s := strings.TrimSpace(string(body))
		if len(s) > 200 {
			s = s[:200] + "..."
		}
		return s
	}
	var parts []string
	var s string
	var list []string
	switch {
	case json.Unmarshal(v.Error, &s) == nil && s != "":
		parts = append(parts, s)
	case json.Unmarshal(v.Error, &list) == nil:
		parts = append(parts, list...)
	}
	if v.ErrorDescription != "" {
		parts = append(parts, v.ErrorDescription)
	}
	for _, e := range v.Errors {
		parts = append(parts, e.Message)
	}
	if len(parts) == 0 && v.Message != "" {
		parts = append(parts, v.Message)
	}
	return strings.Join(parts, "; ")
}

// retryAfter reads the wait a 429/503 asks for: the RateLimit header's t
// when r=0 (IETF draft, as the Hub sends it: `"api";r=0;t=55`), else
// Retry-After in seconds or as an HTTP date.
func retryAfter(h http.Header) time.Duration {
	if rl := h.Get("RateLimit"); rl != "" {
		var r, t = -1, -1
		for _, p := range strings.Split(rl, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				continue
			}
			switch strings.TrimSpace(k) {
			case "r":
				r = n
			case "t":
				t = n
			}
		}
		if r == 0 && t >= 0 {
			return time.Duration(t)*time.Second + time.Second
		}
	}
	// huggingface_hub waits the announced seconds plus one "to avoid
	// rounding issues" (utils/_http.py _http_backoff_base); a whole-second
	// Retry-After rounds the same way, so it gets the same margin.
	if ra := h.Get("Retry-After"); ra != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && n >= 0 {
			return time.Duration(n)*time.Second + time.Second
		}
		if t, err := http.ParseTime(ra); err == nil {
			if d := time.Until(t); d > 0 {
				return d
			}
		}
	}
	return 0
}
