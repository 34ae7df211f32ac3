package action

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// GitHub's rate limits on the calls the action makes. The waits are
// recorded, not slept, and the clock is fixed, so every wait is exact.

// rlNow is the GitHub client's clock in these tests.
var rlNow = time.Unix(1_800_000_000, 0)

// primary is a primary rate limit's headers, resetting in d.
func primary(d time.Duration) map[string]string {
	return map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5000",
		"X-RateLimit-Reset": strconv.FormatInt(rlNow.Add(d).Unix(), 10), "X-RateLimit-Resource": "core"}
}

// secondary is a secondary rate limit's headers: Retry-After when wait is
// not empty, and a primary budget far from spent.
func secondary(wait string) map[string]string {
	h := map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4321",
		"X-RateLimit-Reset": strconv.FormatInt(rlNow.Add(40*time.Minute).Unix(), 10)}
	if wait != "" {
		h["Retry-After"] = wait
	}
	return h
}

// seedPlanComment gives pull request 7 an earlier plan comment of the
// action's, so the run edits it (PATCH) instead of posting.
func (h *harness) seedPlanComment() {
	h.gh.mu.Lock()
	defer h.gh.mu.Unlock()
	h.gh.comments[7] = append(h.gh.comments[7], fakeComment{ID: 42, Author: defaultBotLogin, Body: planMarker + "\nan older plan"})
}

// planComments counts the comments on #7 that carry the plan marker.
func (h *harness) planComments() int {
	h.gh.mu.Lock()
	defer h.gh.mu.Unlock()
	n := 0
	for _, c := range h.gh.comments[7] {
		if hasMarker(c.Body, planMarker) {
			n++
		}
	}
	return n
}

// TestGitHubFaultCommentRateLimitRetried: a comment POST or PATCH refused
// once for a rate limit is sent again after the wait GitHub documents
// (Retry-After; a minute when a secondary limit names none; the reset of a
// primary limit), and exactly one plan comment results.
func TestGitHubFaultCommentRateLimitRetried(t *testing.T) {
	for _, c := range []struct {
		name, method, part string
		status             int
		header             map[string]string
		wantWait           string
	}{
		{"POST 403 secondary, Retry-After 30", "POST", "/issues/7/comments", http.StatusForbidden, secondary("30"), "[30s]"},
		{"POST 403 secondary, no Retry-After", "POST", "/issues/7/comments", http.StatusForbidden, secondary(""), "[1m0s]"},
		{"POST 429 secondary, no Retry-After", "POST", "/issues/7/comments", http.StatusTooManyRequests, secondary(""), "[1m0s]"},
		{"POST 403 primary, resets in 90 s", "POST", "/issues/7/comments", http.StatusForbidden, primary(90 * time.Second), "[1m31s]"},
		{"POST 429 primary, resets in 90 s", "POST", "/issues/7/comments", http.StatusTooManyRequests, primary(90 * time.Second), "[1m31s]"},
		{"PATCH 403 secondary, Retry-After 30", "PATCH", "/issues/comments/42", http.StatusForbidden, secondary("30"), "[30s]"},
		{"PATCH 403 primary, resets in 10 s", "PATCH", "/issues/comments/42", http.StatusForbidden, primary(10 * time.Second), "[11s]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.ghNow = rlNow
			if c.method == "PATCH" {
				h.seedPlanComment()
			}
			h.gh.failTimes(c.method, c.part, 1, c.status, c.header)
			out := h.run("pull_request", "pull_request.json")
			if out.err != nil {
				t.Fatalf("run failed: %v\n%s", out.err, out.log)
			}
			if n := h.gh.countRequests(c.method, c.part); n != 2 {
				t.Errorf("%d %s requests, want 2: the refused one and its retry", n, c.method)
			}
			if other := map[string]string{"POST": "PATCH", "PATCH": "POST"}[c.method]; h.gh.countRequests(other, "/comments") != 0 {
				t.Errorf("a %s was sent too", other)
			}
			if got := fmt.Sprint(h.ghWaits); got != c.wantWait {
				t.Errorf("waits %s, want %s", got, c.wantWait)
			}
			if n := h.planComments(); n != 1 {
				t.Errorf("%d plan comments on #7, want 1", n)
			}
			if ws := annotations(out.log, "warning"); len(ws) != 0 {
				t.Errorf("warnings after a retried comment: %q", ws)
			}
			if !strings.Contains(out.log, "rate limit") || !strings.Contains(out.log, "retry 1 in "+strings.Trim(c.wantWait, "[]")) {
				t.Errorf("the log does not say the comment was retried after the rate limit:\n%s", out.log)
			}
			reportf(t, "ok; %s requests %d, waits %s, plan comments %d, warnings 0", c.method, h.gh.countRequests(c.method, c.part), h.ghWaits, h.planComments())
		})
	}
}

// TestGitHubFaultCommentRateLimitBounded: a comment refused for a rate
// limit every time is sent at most 3 times, never waits past the 3-minute
// budget, and ends as a refused comment does today: a warning naming the
// limit and when GitHub would answer, the plan kept in the summary, no
// comment, the check passing.
func TestGitHubFaultCommentRateLimitBounded(t *testing.T) {
	for _, c := range []struct {
		name     string
		status   int
		header   map[string]string
		posts    int
		wantWait string
		wantNote string
	}{
		{"secondary every time, Retry-After 60", http.StatusForbidden, secondary("60"), 3, "[1m0s 1m0s]",
			"GitHub asks to wait 60 s; still rate limited after 3 requests"},
		{"secondary every time, no Retry-After", http.StatusForbidden, secondary(""), 3, "[1m0s 1m0s]",
			"GitHub names no wait, so at least 60 s; still rate limited after 3 requests"},
		{"secondary every time, Retry-After 100", http.StatusTooManyRequests, secondary("100"), 2, "[1m40s]",
			"GitHub asks to wait 100 s, past the 3m0s the action waits on rate limits in all (1m40s of it already waited)"},
		{"secondary, Retry-After 3600", http.StatusForbidden, secondary("3600"), 1, "[]",
			"GitHub asks to wait 3600 s, past the 3m0s the action waits on rate limits in all: rerun the job later"},
		{"primary, resets in 45 minutes", http.StatusForbidden, primary(45 * time.Minute), 1, "[]",
			"the primary rate limit resets at " + rlNow.Add(45*time.Minute).UTC().Format(time.RFC3339) + ", in 45m0s, past the 3m0s the action waits"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.ghNow = rlNow
			h.gh.failTimes("POST", "/issues/7/comments", 0, c.status, c.header)
			out := h.run("pull_request", "pull_request.json")
			if out.err != nil {
				t.Fatalf("a rate-limited comment failed the check: %v\n%s", out.err, out.log)
			}
			if n := h.gh.countRequests("POST", "/issues/7/comments"); n != c.posts {
				t.Errorf("%d comment POSTs, want %d", n, c.posts)
			}
			if got := fmt.Sprint(h.ghWaits); got != c.wantWait {
				t.Errorf("waits %s, want %s", got, c.wantWait)
			}
			var total time.Duration
			for _, w := range h.ghWaits {
				total += w
			}
			if total > 3*time.Minute {
				t.Errorf("waited %s in all, past the budget", total)
			}
			if n := h.planComments(); n != 0 {
				t.Errorf("%d plan comments, want none", n)
			}
			warns := annotations(out.log, "warning")
			if len(warns) != 1 || !strings.Contains(warns[0], "could not comment on #7") || !strings.Contains(warns[0], c.wantNote) || !strings.Contains(warns[0], "the plan is in the job summary") {
				t.Errorf("want one warning naming the rate limit (%q), got %q", c.wantNote, warns)
			}
			if len(warns) == 1 && strings.Contains(warns[0], "permissions") {
				t.Errorf("a rate limit is blamed on the token's permissions: %q", warns[0])
			}
			if !strings.Contains(out.summary, "acme/kimi-k2-5-full-q4-k") {
				t.Errorf("the summary lost the plan")
			}
			reportf(t, "warns %q; comment POSTs %d, waits %v, comments 0, exit 0", lastField(warns), h.gh.countRequests("POST", "/issues/7/comments"), h.ghWaits)
		})
	}
}

// TestGitHubFaultRateLimitBudgetShared: the budget is for the whole run,
// not per call: 150 s waited on the comment list leave too little for the
// POST's 60 s, which is then not waited.
func TestGitHubFaultRateLimitBudgetShared(t *testing.T) {
	h := newHarness(t)
	h.ghNow = rlNow
	h.gh.failTimes("GET", "/issues/7/comments", 1, http.StatusForbidden, secondary("150"))
	h.gh.failTimes("POST", "/issues/7/comments", 1, http.StatusForbidden, secondary("60"))
	out := h.run("pull_request", "pull_request.json")
	if out.err != nil {
		t.Fatalf("run failed: %v\n%s", out.err, out.log)
	}
	if got := fmt.Sprint(h.ghWaits); got != "[2m30s]" {
		t.Errorf("waits %s, want [2m30s]", got)
	}
	if n := h.gh.countRequests("GET", "/issues/7/comments"); n != 2 {
		t.Errorf("%d comment-list requests, want 2", n)
	}
	if n := h.gh.countRequests("POST", "/issues/7/comments"); n != 1 {
		t.Errorf("%d comment POSTs, want 1", n)
	}
	warns := annotations(out.log, "warning")
	if len(warns) != 1 || !strings.Contains(warns[0], "GitHub asks to wait 60 s, past the 3m0s the action waits on rate limits in all (2m30s of it already waited)") {
		t.Errorf("warnings %q", warns)
	}
	reportf(t, "warns %q; waits %v, comment POSTs 1", lastField(warns), h.ghWaits)
}

// TestGitHubFaultPrimaryRateLimitOnRead: a read refused by the primary
// limit (x-ratelimit-remaining 0, no Retry-After) waits for the reset when
// it is near, and fails at once naming the reset time when it is not.
func TestGitHubFaultPrimaryRateLimitOnRead(t *testing.T) {
	t.Run("reset in 30 s", func(t *testing.T) {
		h := newHarness(t)
		h.ghNow = rlNow
		h.gh.failTimes("GET", "/pulls/7/files", 1, http.StatusForbidden, primary(30*time.Second))
		out := h.run("pull_request", "pull_request.json")
		if out.err != nil {
			t.Fatalf("run failed: %v\n%s", out.err, out.log)
		}
		if got := fmt.Sprint(h.ghWaits); got != "[31s]" {
			t.Errorf("waits %s, want [31s]", got)
		}
		// Two pages, the first sent twice.
		if n := h.gh.countRequests("GET", "/pulls/7/files"); n != 3 {
			t.Errorf("%d file-list requests, want 3", n)
		}
		reportf(t, "ok; waits %v, file-list requests %d", h.ghWaits, h.gh.countRequests("GET", "/pulls/7/files"))
	})
	t.Run("reset in an hour", func(t *testing.T) {
		h := newHarness(t)
		h.ghNow = rlNow
		h.gh.failTimes("GET", "/pulls/7/files", 0, http.StatusTooManyRequests, primary(time.Hour))
		out := h.run("pull_request", "pull_request.json")
		if !errors.Is(out.err, ErrFailed) {
			t.Fatalf("err = %v, want a failed check", out.err)
		}
		errs := annotations(out.log, "error")
		reset := rlNow.Add(time.Hour).UTC().Format(time.RFC3339)
		if len(errs) == 0 || !strings.Contains(errs[0], "list the pull request's files: rate limited by GitHub (primary rate limit, answered 429") || !strings.Contains(errs[0], "resets at "+reset) {
			t.Errorf("error annotations %q should name the call, the primary limit and its reset %s", errs, reset)
		}
		if n := h.gh.countRequests("GET", "/pulls/7/files"); n != 1 || len(h.ghWaits) != 0 {
			t.Errorf("%d requests, waits %v: want 1 request and no wait", n, h.ghWaits)
		}
		reportf(t, "fails clearly: %q; requests 1, waits []", lastField(errs))
	})
}

// TestGitHubFaultCommentLandedAnswerLost: GitHub creates the comment, then
// the connection drops before the answer. The POST may have landed, so it
// is not sent again: one comment, never two.
func TestGitHubFaultCommentLandedAnswerLost(t *testing.T) {
	h := newHarness(t)
	f := h.gh
	f.mu.Lock()
	dropped := false
	f.fault = func(w http.ResponseWriter, r *http.Request) bool {
		f.mu.Lock()
		if dropped || r.Method != "POST" || !strings.Contains(r.URL.Path, "/issues/7/comments") {
			f.mu.Unlock()
			return false
		}
		dropped = true
		f.mu.Unlock()
		r.SetPathValue("n", "7")
		f.createComment(httptest.NewRecorder(), r)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			f.t.Errorf("hijack: %v", err)
			return false
		}
		conn.Close()
		return true
	}
	f.mu.Unlock()
	out := h.run("pull_request", "pull_request.json")
	if n := h.gh.countRequests("POST", "/issues/7/comments"); n != 1 {
		t.Errorf("%d comment POSTs, want 1", n)
	}
	if n := h.planComments(); n != 1 {
		t.Errorf("%d plan comments, want 1", n)
	}
	if len(h.ghWaits) != 0 {
		t.Errorf("waited %v before resending a POST", h.ghWaits)
	}
	warns := annotations(out.log, "warning")
	if len(warns) != 1 || !strings.Contains(warns[0], "could not comment on #7") {
		t.Errorf("want one warning, got %q", warns)
	}
	// The next run finds the comment that landed and leaves it as it is.
	if out = h.run("pull_request", "pull_request.json"); out.err != nil || h.planComments() != 1 || h.gh.countRequests("POST", "/issues/7/comments") != 1 {
		t.Errorf("second run: %v, plan comments %d, POSTs %d", out.err, h.planComments(), h.gh.countRequests("POST", "/issues/7/comments"))
	}
	reportf(t, "err %v; comment POSTs 1, plan comments 1, waits %v, warning %q", out.err, h.ghWaits, lastField(warns))
}
