package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ErrInvalidCard matches the error of ValidateYAML for a card the Hub
// refuses.
var ErrInvalidCard = errors.New("invalid metadata in README.md")

// CardError is a card the Hub's validate-yaml refused; Problems are its
// messages, one per problem.
type CardError struct {
	Problems []string
	hub      *Error
}

func (e *CardError) Error() string {
	if len(e.Problems) == 0 {
		return fmt.Sprintf("%v: %v", ErrInvalidCard, e.hub)
	}
	return fmt.Sprintf("%v: %s", ErrInvalidCard, strings.Join(e.Problems, "; "))
}

// Unwrap lets errors.Is find ErrInvalidCard and the Hub's own *Error.
func (e *CardError) Unwrap() []error { return []error{ErrInvalidCard, e.hub} }

// ValidateYAML asks the Hub whether a model card's metadata is one it
// accepts (POST /api/validate-yaml), as huggingface_hub's create_commit
// does for a README.md before uploading anything (hf_api.py _validate_yaml:
// {"content", "repoType"}; a 400 lists "errors" with a message each). A
// refused card fails with a *CardError matching ErrInvalidCard.
func (c *Client) ValidateYAML(ctx context.Context, content []byte) error {
	body, size, err := jsonBody(map[string]string{"content": string(content), "repoType": "model"})
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, call{method: http.MethodPost, url: c.api("/api/validate-yaml"), auth: true, retry: true,
		body: body, size: size, ok: []int{http.StatusBadRequest, http.StatusUnprocessableEntity},
		header: http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	he := newError(resp, c.token)
	var v struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	ce := &CardError{hub: he}
	// newError drained the body into its message when the header had
	// none; the problems list is read from the JSON it kept.
	if json.Unmarshal([]byte(he.body), &v) == nil {
		for _, e := range v.Errors {
			if m := strings.TrimSpace(e.Message); m != "" {
				ce.Problems = append(ce.Problems, c.Redact(m))
			}
		}
	}
	return ce
}
