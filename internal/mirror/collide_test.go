package mirror_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
)

func totalRequests(e *env) int {
	n := 0
	for _, c := range e.h.Stats().Requests {
		n += c
	}
	return n
}

// TestCollidingSidecarIsRefusedBeforeAnyRequest: a library caller that
// skips validation still cannot publish into a repo the catalog also names:
// the entry's own source or vindex repo (found without any catalog), or
// another entry's repo (found through Options.Claims, in any case).
func TestCollidingSidecarIsRefusedBeforeAnyRequest(t *testing.T) {
	other := func(mut func(*catalog.Entry)) *catalog.Claims {
		o := &catalog.Entry{Key: "other", SourceModel: "org/other", HFRepo: "FoxlightAI/other-vindex", Source: &catalog.Source{Namespace: "ops", Path: "ops.yaml"}}
		mut(o)
		return catalog.NewClaims([]*catalog.Entry{o})
	}
	for _, c := range []struct {
		name   string
		mut    func(*catalog.Entry)
		claims *catalog.Claims
		want   string
	}{
		{"its own source", func(e *catalog.Entry) { e.VisionSourceRepo = dstRepo }, nil,
			"vision_sidecar_repo FoxlightAI/kimi-vision is also this entry's vision_source_repo"},
		{"its own vindex, in another case", func(e *catalog.Entry) { e.HFRepo = strings.ToLower(dstRepo) }, nil,
			"is also this entry's hf_repo (spelt foxlightai/kimi-vision; the Hub ignores case in repo ids)"},
		{"another entry's sidecar", func(*catalog.Entry) {}, other(func(o *catalog.Entry) { o.VisionSourceRepo, o.VisionSidecarRepo = "x/y", dstRepo }),
			"is also the vision_sidecar_repo of ops/other"},
		{"another entry's source model", func(*catalog.Entry) {}, other(func(o *catalog.Entry) { o.SourceModel = "FOXLIGHTAI/KIMI-VISION" }),
			"is also the source_model of ops/other"},
		{"another entry's MTP sidecar", func(*catalog.Entry) {}, other(func(o *catalog.Entry) { o.MTPSourceRepo, o.MTPSidecarRepo = "x/y", dstRepo }),
			"is also the mtp_sidecar_repo of ops/other"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t, "")
			c.mut(e.opts.Entry)
			e.opts.Claims = c.claims
			before, requests := e.h.Stats(), totalRequests(e)
			_, err := e.publish()
			var ce *catalog.CollisionError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) ||
				!strings.HasPrefix(err.Error(), "refusing to publish "+dstRepo+": foxlight/kimi: ") || !strings.HasSuffix(err.Error(), "; nothing was written") {
				t.Fatalf("publish error = %v\nwant a CollisionError saying %q", err, c.want)
			}
			if _, err := mirror.MakePlan(context.Background(), e.opts); !errors.As(err, &ce) {
				t.Errorf("plan error = %v, want the same refusal", err)
			}
			e.assertNothingWritten(before)
			if n := totalRequests(e) - requests; n != 0 {
				t.Errorf("%d requests reached the hub; the refusal needs none", n)
			}
			t.Logf("reliability: %s: %v; %d requests", t.Name(), err, totalRequests(e)-requests)
		})
	}
}

// TestClaimsOfTheEntryItselfAreNoCollision: the catalog's claims include
// the entry being published; those are not a collision.
func TestClaimsOfTheEntryItselfAreNoCollision(t *testing.T) {
	e := setup(t, "")
	e.opts.Entry.HFRepo = "FoxlightAI/kimi-vindex"
	// Another load of the same catalog: the entry is known by its ID.
	twin := *e.opts.Entry
	e.opts.Claims = catalog.NewClaims([]*catalog.Entry{&twin})
	if r := e.mustPublish(); r.Commit == "" {
		t.Errorf("result = %+v, want a commit", r)
	}
}
