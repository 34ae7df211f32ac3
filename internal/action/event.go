package action

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Event is the part of a webhook payload (GITHUB_EVENT_PATH) the action
// reads. One type covers the four events; each handler checks the fields it
// needs, so a payload missing them fails with a message naming the field.
type Event struct {
	// pull_request
	Number      int              `json:"number"`
	PullRequest *EventPR         `json:"pull_request"`
	Repository  *EventRepository `json:"repository"`

	// push
	Ref     string `json:"ref"`
	Before  string `json:"before"`
	After   string `json:"after"`
	Created bool   `json:"created"`
	Deleted bool   `json:"deleted"`

	// workflow_dispatch
	Inputs map[string]any `json:"inputs"`
}

// EventPR is a pull request in a payload.
type EventPR struct {
	Number int       `json:"number"`
	Head   EventRef  `json:"head"`
	Base   EventRef  `json:"base"`
	Merged bool      `json:"merged"`
	User   EventUser `json:"user"`
}

// EventRef is the head or base of a pull request.
type EventRef struct {
	Ref  string           `json:"ref"`
	SHA  string           `json:"sha"`
	Repo *EventRepository `json:"repo"`
}

// EventRepository is a repository in a payload.
type EventRepository struct {
	FullName      string `json:"full_name"`
	DefaultBranch string `json:"default_branch"`
	Fork          bool   `json:"fork"`
}

// EventUser is a user in a payload.
type EventUser struct {
	Login string `json:"login"`
}

// maxEventBytes bounds the payload read; GitHub caps webhook payloads at
// 25 MB.
const maxEventBytes = 25 << 20

func readEvent(path, name string) (*Event, error) {
	if path == "" {
		return nil, fmt.Errorf("GITHUB_EVENT_PATH is not set; the %s event payload is needed", name)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the event payload: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read the event payload: %w", err)
	}
	if st.Size() > maxEventBytes {
		return nil, fmt.Errorf("event payload %s is %d bytes, more than GitHub ever sends", path, st.Size())
	}
	dec := json.NewDecoder(f)
	var ev Event
	if err := dec.Decode(&ev); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("event payload %s is empty", path)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("event payload %s is not valid JSON: it is cut short", path)
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("event payload %s is not valid JSON (at byte %d): %v", path, se.Offset, err)
		}
		return nil, fmt.Errorf("event payload %s is not a %s payload: %v", path, name, err)
	}
	return &ev, nil
}

// zeroSHA is the "before" of a push that created its branch.
func zeroSHA(s string) bool {
	return s != "" && strings.Trim(s, "0") == ""
}

// dispatchInput reads a workflow_dispatch input from the payload. Inputs
// arrive as strings, except boolean inputs which newer runners send as JSON
// booleans.
func (e *Event) dispatchInput(names ...string) string {
	for _, n := range names {
		switch v := e.Inputs[n].(type) {
		case string:
			return strings.TrimSpace(v)
		case bool:
			if v {
				return "true"
			}
			return "false"
		case float64:
			return fmt.Sprint(v)
		}
	}
	return ""
}
