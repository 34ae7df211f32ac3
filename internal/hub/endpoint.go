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
	s := strings.TrimRight(strings.TrimSpace(raw), "/")
	if s == "" {
		return DefaultEndpoint, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		shown := fmt.Sprintf(" %q", s)
		if strings.ContainsAny(s, "@?#") {
			shown = ""
		}
		return "", fmt.Errorf("%s%s must be an http(s) URL such as %s", name, shown, DefaultEndpoint)
	}
	plain := u.Scheme + "://" + u.Host + u.EscapedPath()
	if u.User != nil {
		return "", fmt.Errorf("%s names credentials before its host (%s://…@%s): skulk-weights refuses them, because the endpoint is written into model cards, logs, plan comments and collection links; the Hub authenticates with HF_TOKEN alone, so remove the user:password@ part: %w",
			name, u.Scheme, u.Host+u.EscapedPath(), ErrEndpointCredentials)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", fmt.Errorf("%s must not have a query or a fragment (%s?…): every request path is appended to it", name, plain)
	}
	return plain, nil
}

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
