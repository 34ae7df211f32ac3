// Package catalog holds the built-in catalog that ships inside the
// skulk-weights binary. It is data only; internal/catalog parses and checks it.
package catalog

import _ "embed"

// Foxlight is the content of foxlight.yaml, the built-in catalog.
//
//go:embed foxlight.yaml
var Foxlight []byte

// KimiUpstream is kimi-k2-5-upstream.yaml, an example catalog (not part of
// the built-in catalog) whose sidecars are cut out of the full upstream
// checkpoint; the demo publishes it.
//
//go:embed kimi-k2-5-upstream.yaml
var KimiUpstream []byte

// The built-in source's identity. Its entries are addressed as
// "foxlight/<key>", must publish under the FoxlightAI owner and, unless an
// entry names its own hf_collection, are filed into the Vindexes collection.
const (
	FoxlightPath         = "catalog/foxlight.yaml"
	FoxlightNamespace    = "foxlight"
	FoxlightHFOwner      = "FoxlightAI"
	FoxlightHFCollection = "FoxlightAI/vindexes-6a124406dd5fb439c431b051"
)
