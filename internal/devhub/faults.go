package devhub

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// FaultKind says what a Fault does to the request it hits.
type FaultKind int

const (
	// FaultNone only runs the fault's Before hook, then serves normally.
	FaultNone FaultKind = iota
	// FaultStatus answers Status (default 500) in the Hub's error form without serving.
	FaultStatus
	// FaultRateLimit answers 429 with RateLimit, RateLimit-Policy and Retry-After.
	FaultRateLimit
	// FaultCutBody closes the connection after AfterBytes bytes of the body:
	// the response body for GET and HEAD, the request body otherwise.
	FaultCutBody
	// FaultFlipByte inverts the response body's byte at offset AfterBytes.
	FaultFlipByte
	// FaultDelay waits Delay before serving.
	FaultDelay
	// FaultDropResponse serves the request (its effects happen) and then
	// closes the connection without sending the response.
	FaultDropResponse
)

var faultKindNames = map[FaultKind]string{
	FaultNone: "none", FaultStatus: "status", FaultRateLimit: "rate_limit", FaultCutBody: "cut_body",
	FaultFlipByte: "flip_byte", FaultDelay: "delay", FaultDropResponse: "drop_response",
}

func (k FaultKind) String() string {
	if s, ok := faultKindNames[k]; ok {
		return s
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText writes the kind's name ("status", "rate_limit", ...).
func (k FaultKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind's name.
func (k *FaultKind) UnmarshalText(b []byte) error {
	for kind, name := range faultKindNames {
		if name == string(b) {
			*k = kind
			return nil
		}
	}
	return fmt.Errorf("unknown fault kind %q", b)
}

// Fault is an injected failure. It hits requests whose method is Method (any
// when empty) and whose URL path matches Path (a path.Match glob, or a prefix
// when it has no glob characters; any when empty) and whose route name is
// Route (as in Stats.Requests; any when empty). The first matching fault
// fires; it fires Times times (0: on every matching request).
type Fault struct {
	Method string    `json:"method,omitempty"`
	Path   string    `json:"path,omitempty"`
	Route  string    `json:"route,omitempty"`
	Kind   FaultKind `json:"kind"`
	Status int       `json:"status,omitempty"`
	// Message replaces a status fault's error text, e.g. the Hub's
	// ConflictingOperation for a 409 on repo-create.
	Message    string        `json:"message,omitempty"`
	RetryAfter time.Duration `json:"retryAfter,omitempty"`
	AfterBytes int64         `json:"afterBytes,omitempty"`
	Delay      time.Duration `json:"delay,omitempty"`
	Times      int           `json:"times,omitempty"`
	// Before runs before the hit request is served (in its goroutine): a
	// test can move a branch while a client is between two calls.
	Before func() `json:"-"`

	fired int
}

// AddFault installs f after the faults already installed.
func (h *Hub) AddFault(f Fault) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f.fired = 0
	h.faults = append(h.faults, &f)
}

// ClearFaults removes every installed fault.
func (h *Hub) ClearFaults() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = nil
}

func (f *Fault) matches(r *http.Request, route string) bool {
	if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
		return false
	}
	if f.Route != "" && f.Route != route {
		return false
	}
	if f.Path != "" {
		p := r.URL.Path
		if strings.ContainsAny(f.Path, "*?[") {
			if ok, _ := path.Match(f.Path, p); !ok {
				return false
			}
		} else if !strings.HasPrefix(p, f.Path) {
			return false
		}
	}
	return true
}

// takeFault returns a copy of the fault that hits r, counting the firing.
func (h *Hub) takeFault(r *http.Request, route string) *Fault {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, f := range h.faults {
		if !f.matches(r, route) {
			continue
		}
		f.fired++
		h.stats.FaultsFired++
		if f.Times > 0 && f.fired >= f.Times {
			h.faults = append(h.faults[:i:i], h.faults[i+1:]...)
		}
		cp := *f
		return &cp
	}
	return nil
}

// applyFault arms or applies f; it reports whether the request should then
// be served.
func (h *Hub) applyFault(f *Fault, c *call, cw *countingWriter, cr *countingReader) bool {
	if f.Before != nil {
		f.Before()
	}
	r := c.r
	switch f.Kind {
	case FaultStatus:
		st := f.Status
		if st == 0 {
			st = 500
		}
		msg := http.StatusText(st)
		if st >= 500 {
			msg = "Internal Error - We're working hard to fix this as soon as possible!"
		}
		if f.Message != "" {
			msg = f.Message
		}
		writeError(cw, r, &hubError{Status: st, Code: "InjectedFault", Msg: msg})
		return false
	case FaultRateLimit:
		secs := int(math.Ceil(f.RetryAfter.Seconds()))
		if secs < 1 {
			secs = 1
		}
		writeError(cw, r, &hubError{Status: 429, Code: "RateLimited",
			Msg: "You have been rate-limited; you can retry this action in about " + strconv.Itoa(secs) + " seconds.",
			Headers: map[string]string{
				"RateLimit":        fmt.Sprintf(`"api";r=0;t=%d`, secs),
				"RateLimit-Policy": `"fixed window";"api";q=1000;w=300`,
				"Retry-After":      strconv.Itoa(secs),
			}})
		return false
	case FaultCutBody:
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			cw.cutAt, cw.armed = f.AfterBytes, true
		} else {
			cr.cutAt, cr.armed = f.AfterBytes, true
		}
	case FaultFlipByte:
		cw.flip, cw.armed = f.AfterBytes, true
	case FaultDelay:
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return false
		}
	case FaultDropResponse:
		c.w = &discardWriter{header: http.Header{}}
		c.dropAfter = true
	}
	return true
}

// discardWriter swallows a response that a FaultDropResponse will never send.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// faultJSON is the admin route's form of a Fault: durations may be Go
// duration strings ("1.5s") or numbers of seconds.
type faultJSON struct {
	Method     string          `json:"method"`
	Path       string          `json:"path"`
	Route      string          `json:"route"`
	Kind       FaultKind       `json:"kind"`
	Status     int             `json:"status"`
	Message    string          `json:"message"`
	RetryAfter json.RawMessage `json:"retryAfter"`
	AfterBytes int64           `json:"afterBytes"`
	Delay      json.RawMessage `json:"delay"`
	Times      int             `json:"times"`
}

func parseDuration(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return time.ParseDuration(s)
	}
	var secs float64
	if err := json.Unmarshal(raw, &secs); err != nil {
		return 0, fmt.Errorf("duration %s: want \"1.5s\" or seconds", raw)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// adminFaults: GET lists the installed faults, POST installs one (or an array
// of them), DELETE removes them all.
func (h *Hub) adminFaults(c *call) error {
	switch c.r.Method {
	case http.MethodGet:
		h.mu.Lock()
		list := make([]Fault, 0, len(h.faults))
		for _, f := range h.faults {
			list = append(list, *f)
		}
		h.mu.Unlock()
		writeJSON(c.w, 200, list)
	case http.MethodDelete:
		h.ClearFaults()
		writeJSON(c.w, 200, map[string]any{"success": true})
	case http.MethodPost:
		body, err := readAllLimit(c.r.Body, 1<<20)
		if err != nil {
			return badRequest("%v", err)
		}
		var many []faultJSON
		if err := json.Unmarshal(body, &many); err != nil {
			var one faultJSON
			if err := json.Unmarshal(body, &one); err != nil {
				return badRequest("invalid fault: %v", err)
			}
			many = []faultJSON{one}
		}
		var faults []Fault
		for _, fj := range many {
			ra, err := parseDuration(fj.RetryAfter)
			if err != nil {
				return badRequest("retryAfter: %v", err)
			}
			d, err := parseDuration(fj.Delay)
			if err != nil {
				return badRequest("delay: %v", err)
			}
			faults = append(faults, Fault{Method: fj.Method, Path: fj.Path, Route: fj.Route, Kind: fj.Kind,
				Status: fj.Status, Message: fj.Message, RetryAfter: ra, AfterBytes: fj.AfterBytes, Delay: d, Times: fj.Times})
		}
		for _, f := range faults {
			h.AddFault(f)
		}
		writeJSON(c.w, 200, map[string]any{"success": true, "added": len(faults)})
	default:
		return &hubError{Status: 405, Code: "MethodNotAllowed", Msg: "use GET, POST or DELETE"}
	}
	return nil
}

// ConflictingOperation is the Hub's 409 text for a repo creation that
// raced another operation on the same name; huggingface_hub's create_repo
// retries while it sees it (hf_api.py).
const ConflictingOperation = "Cannot create repo: another conflicting operation is in progress"

// CreateConflictFault is a fault answering the next times repo creations
// with the Hub's 409 ConflictingOperation.
func CreateConflictFault(times int) Fault {
	return Fault{Route: "repo-create", Kind: FaultStatus, Status: 409, Message: ConflictingOperation, Times: times}
}
