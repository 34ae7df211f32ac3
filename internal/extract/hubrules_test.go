package extract_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/devhub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/extract"
)

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func report(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("reliability: %s: "+format, append([]any{t.Name()}, args...)...)
}

// TestPublishThroughRedirectsWithStorageElsewhere extracts a vision and an
// MTP sidecar from a private and from a gated (manual) checkpoint, each
// renamed after the catalog named it, on a hub that answers small files
// with a relative redirect to /api/resolve-cache and serves storage from
// another origin: the token follows the redirects on the hub's host, never
// reaches storage, and the Range reads stay within their bound.
func TestPublishThroughRedirectsWithStorageElsewhere(t *testing.T) {
	const mtpSrc = "deepseek-ai/DeepSeek-V3"
	for _, c := range []struct {
		name, scope, gated string
		private            bool
	}{
		{"private", "write:FoxlightAI/*,read:moonshotai/*,read:deepseek-ai/*", "", true},
		{"gated", "write:FoxlightAI/*,gated:moonshotai/*,gated:deepseek-ai/*", "manual", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Outputs over 20 KiB go up in parts, so part uploads and their
			// completion meet the other origin too.
			e := setup(t, devhub.WithToken(token, c.scope), devhub.WithResolveCache(true), devhub.WithMultipart(20<<10, 8<<10))
			if _, stop, err := e.h.ServeStorage("127.0.0.1:0"); err != nil {
				t.Fatal(err)
			} else {
				defer stop()
			}
			vc, mc := kimi("v1"), deepseek()
			e.seed(srcRepo, vc, "upload Kimi")
			e.seed(mtpSrc, mc, "upload DeepSeek")
			for _, r := range []string{srcRepo, mtpSrc} {
				if err := e.h.SetRepoAccess(r, c.private, c.gated); err != nil {
					t.Fatal(err)
				}
				// The catalog still names the old repo.
				if err := e.h.MoveRepo(r, r+"-renamed"); err != nil {
					t.Fatal(err)
				}
			}

			before := e.h.Stats()
			vres := e.publish(e.visionOpts())
			mres := e.publish(e.mtpOpts(mtpSrc))
			st := e.h.Stats()
			if vres.Commit == "" || mres.Commit == "" {
				t.Fatalf("first publish: vision %+v, mtp %+v", vres, mres)
			}

			// Vision: the source's tensors, byte for byte.
			got := parseFile(t, e.download(dstRepo, extract.VisionFile))
			if len(got.tensors) != vres.Plan.Tensors || len(got.tensors) != 20 {
				t.Errorf("vision sidecar holds %d tensors, plan %d, fixture 20", len(got.tensors), vres.Plan.Tensors)
			}
			for n, out := range got.tensors {
				if !bytes.Equal(out.data, vc.find(n).data) {
					t.Errorf("%s differs from the source", n)
				}
			}
			// MTP: converted as the reference computes it; spot checks of
			// the FP8 x scale conversion and a copied BF16 tensor.
			mtp := parseFile(t, e.download(mtpRepo, extract.MTPFile))
			if len(mtp.tensors) != 5 {
				t.Errorf("mtp sidecar holds %d tensors, want 5", len(mtp.tensors))
			}
			w, s := mc.find("model.layers.2.mlp.gate.weight").data, mc.find("model.layers.2.mlp.gate.weight_scale_inv").data
			checkBF16(t, "gate", mtp.tensors["model.layers.2.mlp.gate.weight"], 128*128, func(i int) float32 {
				return float32(e4m3(w[i])) * math.Float32frombits(binary.LittleEndian.Uint32(s))
			})
			if !bytes.Equal(mtp.tensors["model.layers.2.enorm.weight"].data, mc.find("model.layers.2.enorm.weight").data) {
				t.Error("enorm: BF16 not copied unchanged")
			}

			// Each sidecar is at least as closed as its source.
			for _, r := range []string{dstRepo, mtpRepo} {
				private, gated, err := e.h.RepoAccess(r)
				if err != nil || private != c.private || gated != c.gated {
					t.Errorf("%s access private=%v gated=%q (%v), want private=%v gated=%q", r, private, gated, err, c.private, c.gated)
				}
			}

			// Through the redirects, storage elsewhere, the token never there.
			d := func(route string) int { return st.Requests[route] - before.Requests[route] }
			if d("moved-redirect") == 0 || d("resolve-cache") == 0 || d("blob") == 0 || d("storage-part") == 0 || d("storage-complete") == 0 {
				t.Errorf("the publishes did not go through the redirects and storage: %v", st.Requests)
			}
			if st.StorageAuthorization != 0 {
				t.Errorf("storage saw the token %d times", st.StorageAuthorization)
			}
			// Bytes read: within the bound, and what the hub served.
			for _, x := range []struct {
				repo  string
				res   *extract.Result
				small int64
			}{
				{srcRepo, vres, int64(len(vc.small["config.json"]) + len(vc.small["preprocessor_config.json"]))},
				{mtpSrc, mres, int64(len(mc.small["config.json"]))},
			} {
				served := st.FileBytesServed[x.repo+"-renamed"] - before.FileBytesServed[x.repo+"-renamed"]
				if served != x.res.BytesRead {
					t.Errorf("%s: hub served %d bytes, the result says %d were read", x.repo, served, x.res.BytesRead)
				}
				if bound := 2*x.res.Plan.SelectedBytes + x.res.Plan.HeaderBytes + x.small; x.res.BytesRead > bound {
					t.Errorf("%s: read %d bytes, bound 2 x %d selected + %d headers + %d configs = %d", x.repo, x.res.BytesRead, x.res.Plan.SelectedBytes, x.res.Plan.HeaderBytes, x.small, bound)
				}
				if st.StorageBytes[x.repo+"-renamed"] == 0 {
					t.Errorf("%s: storage served none of its bytes", x.repo)
				}
			}
			report(t, "vision + MTP publish: %d requests (%d moved-redirect, %d resolve-cache); %d storage requests (%d blob GETs, %d PUTs, %d part PUTs, %d completions), %d storage bytes of the sources, %d with a token at storage",
				total(st.Requests)-total(before.Requests), d("moved-redirect"), d("resolve-cache"),
				d("blob")+d("storage-put")+d("storage-part")+d("storage-complete"), d("blob"), d("storage-put"), d("storage-part"), d("storage-complete"),
				st.StorageBytes[srcRepo+"-renamed"]+st.StorageBytes[mtpSrc+"-renamed"], st.StorageAuthorization)
			report(t, "bytes read: vision %d of a %d-byte checkpoint (2 x %d selected + %d index and headers + configs), MTP %d of %d (2 x %d + %d + config)",
				vres.BytesRead, vres.Plan.CheckpointBytes, vres.Plan.SelectedBytes, vres.Plan.HeaderBytes, mres.BytesRead, mres.Plan.CheckpointBytes, mres.Plan.SelectedBytes, mres.Plan.HeaderBytes)

			// Again: up to date, nothing committed, the token still never at
			// storage.
			e.h.ClearFaults()
			if r := e.publish(e.visionOpts()); !r.UpToDate || r.BytesRead != 0 {
				t.Errorf("vision republish: up to date %v, read %d", r.UpToDate, r.BytesRead)
			}
			if r := e.publish(e.mtpOpts(mtpSrc)); !r.UpToDate || r.BytesRead != 0 {
				t.Errorf("mtp republish: up to date %v, read %d", r.UpToDate, r.BytesRead)
			}
			after := e.h.Stats()
			for _, r := range []string{dstRepo, mtpRepo} {
				if after.Commits[r] != st.Commits[r] {
					t.Errorf("republish of %s: commits %d -> %d", r, st.Commits[r], after.Commits[r])
				}
			}
			if after.StorageAuthorization != 0 {
				t.Errorf("storage saw the token %d times after the republish", after.StorageAuthorization)
			}
		})
	}
}
