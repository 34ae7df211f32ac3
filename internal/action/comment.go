package action

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Markers identify the action's own comments. They are HTML comments, so
// they do not render; a comment counts as ours only when it carries the
// marker AND was written by the login the action posts as, so a marker
// pasted by someone else is never edited.
const (
	planMarker    = "<!-- skulk-weights:plan -->"
	publishMarker = "<!-- skulk-weights:publish -->"
)

// maxCommentBytes is GitHub's comment limit. It is documented as 65,536
// characters; counting bytes is stricter, so it holds for any text.
const maxCommentBytes = 65536

// defaultBotLogin is who GITHUB_TOKEN comments as.
const defaultBotLogin = "github-actions[bot]"

// stickyOutcome says what upsertComment did.
type stickyOutcome string

const (
	commentCreated   stickyOutcome = "created"
	commentEdited    stickyOutcome = "edited"
	commentUnchanged stickyOutcome = "unchanged"
)

// upsertComment makes sure pull request number carries exactly one comment
// with marker and body: it edits the newest existing one in place, leaves it
// alone when the body is already right, and creates one otherwise.
func upsertComment(ctx context.Context, gh GitHub, owner, repo string, number int, login, marker, body string) (stickyOutcome, string, error) {
	comments, err := gh.Comments(ctx, owner, repo, number)
	if err != nil {
		return "", "", err
	}
	var mine *Comment
	for i := range comments {
		c := &comments[i]
		if sameLogin(c.Author, login) && hasMarker(c.Body, marker) {
			mine = c // the list is oldest first: keep the newest
		}
	}
	if mine == nil {
		c, err := gh.CreateComment(ctx, owner, repo, number, body)
		if err != nil {
			return "", "", err
		}
		return commentCreated, c.URL, nil
	}
	if normalizeBody(mine.Body) == normalizeBody(body) {
		return commentUnchanged, mine.URL, nil
	}
	if err := gh.EditComment(ctx, owner, repo, mine.ID, body); err != nil {
		return "", "", err
	}
	return commentEdited, mine.URL, nil
}

// resolveLogin returns the login the action's comments are written by:
// the configured one, else the token's own (GET /user), else the Actions bot.
func resolveLogin(ctx context.Context, gh GitHub, configured string) string {
	if configured != "" {
		return configured
	}
	if l, err := gh.Login(ctx); err == nil && l != "" {
		return l
	}
	return defaultBotLogin
}

// sameLogin compares logins the way GitHub's two APIs spell them: REST says
// "github-actions[bot]", GraphQL says "github-actions".
func sameLogin(a, b string) bool {
	trim := func(s string) string { return strings.TrimSuffix(strings.ToLower(s), "[bot]") }
	return a != "" && trim(a) == trim(b)
}

// hasMarker reports whether body carries marker on a line of its own.
func hasMarker(body, marker string) bool {
	for _, line := range strings.Split(body, "\n") {
		if strings.TrimSpace(line) == marker {
			return true
		}
	}
	return false
}

// normalizeBody undoes what GitHub does to a stored body (CRLF line ends,
// trailing blanks) so an unchanged plan compares equal.
func normalizeBody(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
}

// isForbidden reports whether err means the token may not write comments.
func isForbidden(err error) bool { return errors.Is(err, ErrForbidden) }

// fitComment returns body cut to GitHub's limit with fitMarkdown, and a
// note that sends readers to the job summary only when summaryWhole says
// the summary holds the whole text. The marker stays first, so a cut
// comment is still found again.
func fitComment(body string, limit int, summaryWhole bool) string {
	out, _ := fitMarkdown(body, limit, commentNote(summaryWhole))
	return out
}

// commentError turns a failure to comment into the message the log shows.
// summaryWhole says whether the job summary holds the whole plan.
func commentError(err error, number int, fork, summaryWhole bool) string {
	where := "the plan is in the job summary"
	if !summaryWhole {
		where = "a shortened plan is in the job summary"
	}
	if isForbidden(err) && fork {
		return fmt.Sprintf("could not comment on #%d: a pull request from a fork gets a read-only token; %s", number, where)
	}
	if isForbidden(err) {
		return fmt.Sprintf("could not comment on #%d: the token may not write to pull requests (give the job permissions: pull-requests: write); %s", number, strings.Replace(where, "plan", "result", 1))
	}
	return fmt.Sprintf("could not comment on #%d: %v; %s", number, err, where)
}

// openFence reports whether s ends inside a fenced code block.
func openFence(s string) bool {
	open := false
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			open = !open
		}
	}
	return open
}
