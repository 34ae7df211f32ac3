package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
)

// preuploadHub answers preupload with files, after checking the request
// carries each file's size and base64 sample.
func preuploadHub(t *testing.T, status int, files ...map[string]any) *hub.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/models/org/side/preupload/main" {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		var req struct {
			Files []struct {
				Path   string `json:"path"`
				Size   int64  `json:"size"`
				Sample string `json:"sample"`
			} `json:"files"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Files) != 2 || req.Files[0].Sample != "AAE=" || req.Files[0].Size != 2 {
			t.Errorf("preupload request %+v, %v", req, err)
		}
		w.Header().Set("Content-Type", "application/json")
		if status != 200 {
			w.WriteHeader(status)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"files": files, "commitOid": strings.Repeat("a", 40)})
	}))
	t.Cleanup(srv.Close)
	return hub.New(srv.URL, "hf_test", hub.WithRetryPolicy(hub.RetryPolicy{}))
}

func TestUploadModes(t *testing.T) {
	files := []hub.PreuploadFile{{Path: "w.bin", Size: 2, Sample: []byte{0, 1}}, {Path: "notes.txt", Size: 5, Sample: []byte("notes")}}
	cl := preuploadHub(t, 200,
		map[string]any{"path": "w.bin", "uploadMode": "lfs"},
		map[string]any{"path": "notes.txt", "uploadMode": "regular", "shouldIgnore": true},
		map[string]any{"path": "other.txt", "uploadMode": "regular"})
	modes, err := UploadModes(context.Background(), cl, "org/side", files)
	if err != nil || len(modes) != 2 || modes["w.bin"] != ModeLFS || modes["notes.txt"] != ModeIgnored {
		t.Errorf("modes %v, %v; want w.bin lfs, notes.txt ignored, nothing else", modes, err)
	}
	cl = preuploadHub(t, 200, map[string]any{"path": "w.bin", "uploadMode": "xet"})
	if _, err := UploadModes(context.Background(), cl, "org/side", files); err == nil || !strings.Contains(err.Error(), `upload mode "xet" for w.bin`) {
		t.Errorf("an unknown mode: %v", err)
	}
	cl = preuploadHub(t, 403)
	if _, err := UploadModes(context.Background(), cl, "org/side", files); !errors.Is(err, hub.ErrForbidden) || !strings.Contains(err.Error(), "the token cannot write to org/side") {
		t.Errorf("a refused preupload: %v", err)
	}
}

func TestSample(t *testing.T) {
	if n := len(Sample(make([]byte, 600))); n != SampleSize {
		t.Errorf("sample of 600 bytes has %d", n)
	}
	if n := len(Sample([]byte("ab"))); n != 2 {
		t.Errorf("sample of 2 bytes has %d", n)
	}
}
