package mirror_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
)

// noopRequests publishes once, then republishes unchanged and returns the
// republish's requests by route.
func (e *env) noopRequests() map[string]int {
	e.t.Helper()
	e.mustPublish()
	before := e.h.Stats()
	r := e.mustPublish()
	after := e.h.Stats()
	if !r.UpToDate || r.Commit != "" || after.Commits[dstRepo] != before.Commits[dstRepo] {
		e.t.Fatalf("republish was not a no-op: %+v\nlog:\n%s", r, e.log)
	}
	got := map[string]int{}
	for route, n := range after.Requests {
		if d := n - before.Requests[route]; d != 0 {
			got[route] = d
		}
	}
	return got
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestNoopCostIsIndependentOfShards: an unchanged republish reads its
// facts from the card it wrote, so 3 shards and 30 cost the same requests:
// source repo-info and tree, sidecar repo-info and tree, the card (one
// resolve), preupload, and collections list + add.
func TestNoopCostIsIndependentOfShards(t *testing.T) {
	want := map[string]int{"repo-info": 2, "tree": 2, "resolve": 1, "preupload": 1, "collections-list": 1, "collection-add-item": 1}
	for _, shards := range []int{3, 30} {
		t.Run(fmt.Sprint(shards), func(t *testing.T) {
			e := setup(t, "")
			if shards > 3 {
				more := map[string]int64{}
				for i := 3; i < shards; i++ {
					more[fmt.Sprintf("more/s-%02d.safetensors", i)] = 64 << 10
				}
				seed(t, e.h, "more shards", more, map[string]string{"tokenizer.json": `{"v":1}`}, nil)
			}
			got := e.noopRequests()
			if !maps.Equal(got, want) {
				t.Errorf("no-op republish of %d shards: %d requests %v, want %d %v", shards, total(got), got, total(want), want)
			}
		})
	}
}

// TestTamperedCardFallsBackToReading: a card entry that does not fit the
// bytes (a wrong sha256 for an LFS file, an oid that is not the file's, a
// card that cannot be parsed) is not trusted: the run reads those files
// again, commits the corrected card, and the next run is a no-op.
func TestTamperedCardFallsBackToReading(t *testing.T) {
	for _, c := range []struct {
		name   string
		tamper func(string) string
		reads  string // a route the fallback must hit
	}{
		{"wrong sha256", func(s string) string {
			return replaceAfter(s, "path: a.safetensors", "sha256: ", strings.Repeat("0", 64))
		}, "blob"},
		{"oid mismatch", func(s string) string {
			return replaceAfter(s, "path: config.json", "oid: ", strings.Repeat("1", 40))
		}, "resolve"},
		{"not yaml", func(s string) string { return strings.Replace(s, "foxlight:", "foxlight: [", 1) }, "blob"},
		{"alias", func(s string) string {
			return strings.Replace(s, "---\n", "---\nx: &x [1]\ny: *x\n", 1)
		}, "blob"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t, "")
			e.mustPublish()
			good := e.readme()
			bad := c.tamper(good)
			if bad == good {
				t.Fatal("tampering changed nothing")
			}
			if _, err := e.h.CommitFiles(dstRepo, "main", "tamper", []devhub.SeedFile{{Path: "README.md", Content: strings.NewReader(bad)}}, nil); err != nil {
				t.Fatal(err)
			}
			before := e.h.Stats()
			r := e.mustPublish()
			after := e.h.Stats()
			if r.UpToDate || r.Commit == "" {
				t.Fatalf("the tampered card was kept: %+v", r)
			}
			if after.Requests[c.reads] <= before.Requests[c.reads]+1 {
				t.Errorf("no fallback reads (%s: %d)", c.reads, after.Requests[c.reads]-before.Requests[c.reads])
			}
			if got := e.readme(); got != good {
				t.Errorf("corrected card differs from the original:\n%s\nwant:\n%s", got, good)
			}
			if r := e.mustPublish(); !r.UpToDate {
				t.Errorf("the run after the correction is not a no-op: %+v", r)
			}
		})
	}
}

// replaceAfter replaces the value of the first key line after anchor.
func replaceAfter(s, anchor, key, value string) string {
	i := strings.Index(s, anchor)
	if i < 0 {
		return s
	}
	j := strings.Index(s[i:], key)
	if j < 0 {
		return s
	}
	start := i + j + len(key)
	end := start + strings.IndexByte(s[start:], '\n')
	return s[:start] + value + s[end:]
}

// TestLyingHeaderOnChangedFileIsRefused: with a card that describes every
// file, a shard replaced by one whose header lies is still read and
// refused, by the plan and by the publish, before anything is written.
func TestLyingHeaderOnChangedFileIsRefused(t *testing.T) {
	e := setup(t, "")
	e.mustPublish()
	const hdr = `{"w":{"dtype":"BF16","shape":[4,4],"data_offsets":[0,32]}}`
	liar := lyingSafetensors(4096, hdr, 32)
	if _, err := e.h.CommitFiles(srcRepo, "main", "liar", []devhub.SeedFile{{Path: "b.safetensors", Content: bytes.NewReader(liar)}}, nil); err != nil {
		t.Fatal(err)
	}
	const want = "header length 4096 exceeds the 90 bytes that follow it"
	var pe *mirror.PlanError
	if _, err := mirror.MakePlan(context.Background(), e.opts); !errors.As(err, &pe) || !strings.Contains(err.Error(), want) {
		t.Errorf("MakePlan: %v", err)
	}
	head, _ := e.h.Head(dstRepo, "main")
	writes, received := hubWrites(e.h), e.h.Stats().BytesReceived
	_, err := e.publish()
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "b.safetensors") || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v\nlog:\n%s", err, e.log)
	}
	if h, _ := e.h.Head(dstRepo, "main"); h != head {
		t.Errorf("the sidecar moved %s -> %s", head, h)
	}
	if n, b := hubWrites(e.h)-writes, e.h.Stats().BytesReceived-received; n != 0 || b != 0 {
		t.Errorf("%d write requests, %d bytes received", n, b)
	}
}
