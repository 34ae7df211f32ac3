package hub

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrEndpointCredentials is returned by CheckEndpoint for an endpoint that
// names credentials before its host (https://user:password@host).
var ErrEndpointCredentials = errors.New("the endpoint carries credentials")

// CheckEndpoint reads an endpoint setting called name (HF_ENDPOINT, the
// action's hf-endpoint input) and returns it without surrounding blanks or
// trailing slashes, DefaultEndpoint when it is blank.
//
// It must be a plain http(s) URL. An endpoint with user:password@ is
// refused rather than cleaned: the endpoint is written into model cards,
// logs, plan comments and collection links, and huggingface_hub gives such
// URLs no meaning of its own (the Hub authenticates with the token). A
// query or fragment is refused too: paths are appended to the endpoint, so
// either would end up inside every URL, signatures included. No error
// repeats what may be secret: userinfo, query and fragment are left out.
func CheckEndpoint(name, raw string) (string, error) {
	t := strings.TrimSpace(raw)
	if t == "" {
		return DefaultEndpoint, nil
	}
	u, err := url.Parse(t)
	if why := notHTTP(t, u, err); why != "" {
		shown := fmt.Sprintf(" %q", t)
		if strings.ContainsAny(t, "@?#") {
			shown = ""
		}
		return "", &badEndpoint{fmt.Sprintf("%s%s must be an http(s) URL such as %s: %s", name, shown, DefaultEndpoint, why)}
	}
	s := strings.TrimRight(t, "/")
	if u, err = url.Parse(s); err != nil {
		return "", &badEndpoint{fmt.Sprintf("%s must be an http(s) URL such as %s: it does not parse as a URL", name, DefaultEndpoint)}
	}
	plain := u.Scheme + "://" + u.Host + u.EscapedPath()
	if u.User != nil {
		return "", fmt.Errorf("%s names credentials before its host (%s://…@%s): skulk-weights refuses them, because the endpoint is written into model cards, logs, plan comments and collection links; the Hub authenticates with HF_TOKEN alone, so remove the user:password@ part: %w",
			name, u.Scheme, u.Host+u.EscapedPath(), ErrEndpointCredentials)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", &badEndpoint{fmt.Sprintf("%s must not have a query or a fragment (%s?…): every request path is appended to it", name, plain)}
	}
	return plain, nil
}

// notHTTP says why s (parsed as u, err) is not an absolute http(s) URL with
// a host, or "" when it is one. It is checked before any request, so a
// typo fails at once instead of as a network error retried for half a
// minute.
func notHTTP(s string, u *url.URL, err error) string {
	switch {
	case err != nil:
		return "it does not parse as a URL"
	case u.Scheme == "" || !strings.Contains(s, "://"):
		return "it has no scheme; start it with https:// or http://"
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("the scheme is %s; use https:// or http://", u.Scheme)
	case u.Opaque != "" || u.Hostname() == "":
		return "it names no host"
	case strings.ContainsAny(s, " \t\r\n\\"):
		return "it contains white space or a backslash"
	}
	return ""
}

// ErrBadEndpoint is matched by the errors of CheckEndpoint other than
// ErrEndpointCredentials: an endpoint that is not a plain http(s) URL.
var ErrBadEndpoint = errors.New("bad endpoint")

// badEndpoint is an endpoint CheckEndpoint refuses; its text is the whole
// message, without anything that may be secret.
type badEndpoint struct{ msg string }

func (e *badEndpoint) Error() string { return e.msg }
func (e *badEndpoint) Unwrap() error { return ErrBadEndpoint }

// stripUserinfo removes user:password@ from an endpoint, so a client built
// from one that CheckEndpoint would refuse still never sends or shows it.
func stripUserinfo(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.User == nil {
		return endpoint
	}
	u.User = nil
	return u.String()
}
