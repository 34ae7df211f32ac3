package action

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/Foxlight-Foundation/skulk-weights/internal/catalog"
)

func TestFitCommentCutsOnALineAndKeepsTheMarker(t *testing.T) {
	var b strings.Builder
	b.WriteString(planMarker + "\n```\n")
	for b.Len() < 3*maxCommentBytes {
		b.WriteString("| copy | `shard-é.safetensors` | 1.0 GB |\n")
	}
	got := fitComment(b.String(), maxCommentBytes, true)
	if len(got) > maxCommentBytes {
		t.Fatalf("fitted body is %d bytes, over the %d limit", len(got), maxCommentBytes)
	}
	if !utf8.ValidString(got) || !strings.HasPrefix(got, planMarker) || !strings.Contains(got, "job summary") {
		t.Errorf("fitted body lost its marker, its note or UTF-8 validity: %q...", got[len(got)-300:])
	}
	if openFence(got) {
		t.Errorf("fitted body leaves a code fence open")
	}
	if short := "small body"; fitComment(short, maxCommentBytes, true) != short {
		t.Errorf("a short body was changed")
	}
}

func TestLogSafeNeverStartsACommand(t *testing.T) {
	for _, in := range []string{"::set-output name=x::y", "a\n::add-mask::z", "  ::error::x", "x ##[set-output name=a]b", "100%\r\n::warning::w"} {
		out := logSafe(in)
		if strings.ContainsAny(out, "\r\n") || strings.Contains(out, "::") || strings.Contains(out, "##[") {
			t.Errorf("logSafe(%q) = %q, still a command", in, out)
		}
	}
	if got := logSafe("50% done"); got != "50%25 done" {
		t.Errorf("logSafe escapes %% as %q", got)
	}
}

func TestOwnerCheckRefusesOtherOwners(t *testing.T) {
	src := &catalog.Source{Namespace: "acme", HFOwner: "AcmeAI"}
	ok := &catalog.Entry{Source: src, Key: "a", HFRepo: "AcmeAI/a-vindex", VisionSidecarRepo: "AcmeAI/a-vision"}
	for _, col := range []string{"", "none", "AcmeAI/vision-0123"} {
		if err := ownerCheck(ok, col); err != nil {
			t.Errorf("own sidecar refused (collection %q): %v", col, err)
		}
	}
	if err := ownerCheck(ok, "Mallory/vision-0123"); err == nil || !strings.Contains(err.Error(), "collection Mallory/vision-0123") {
		t.Errorf("foreign collection: err = %v", err)
	}
	bad := &catalog.Entry{Source: src, Key: "b", HFRepo: "AcmeAI/b-vindex", VisionSidecarRepo: "FoxlightAI/b-vision"}
	if err := ownerCheck(bad, ""); err == nil || !strings.Contains(err.Error(), "refusing to write FoxlightAI/b-vision") {
		t.Errorf("foreign sidecar: err = %v", err)
	}
	manifest := &catalog.Entry{Source: &catalog.Source{}, Key: "c", HFRepo: "AcmeAI/c-vindex", VisionSidecarRepo: "acmeai/c-vision"}
	if err := ownerCheck(manifest, ""); err == nil {
		t.Errorf("a manifest entry may not write outside its hf_repo owner (case-sensitive)")
	}
}

func TestSameLoginAcrossAPIs(t *testing.T) {
	if !sameLogin("github-actions[bot]", "github-actions") || !sameLogin("My-Bot", "my-bot") || sameLogin("", "") || sameLogin("mallory", "github-actions[bot]") {
		t.Error("sameLogin")
	}
}
