package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/Foxlight-Foundation/skulk-weights/internal/extract"
	"github.com/Foxlight-Foundation/skulk-weights/internal/hub"
	"github.com/Foxlight-Foundation/skulk-weights/internal/mirror"
)

// publishSchema is the schema id of publish --json documents. The schema
// itself is schema/publish.v1.json; a version adds fields, it never changes
// or removes one.
const publishSchema = "skulk-weights/publish/v1"

// publishDoc is the one JSON document publish --json prints, for a dry run
// and a real run alike, whether it succeeded or not.
type publishDoc struct {
	Schema string `json:"schema"`
	// Status is ok (every asked artifact was planned or published),
	// nothing_to_do (nothing asked is configured and supported), failed or
	// interrupted.
	Status   string `json:"status"`
	DryRun   bool   `json:"dry_run"`
	Model    string `json:"model"`    // --model as given
	Artifact string `json:"artifact"` // --artifact as given
	// Entry is the catalog entry; null when the run failed before finding it.
	Entry     *entryDoc      `json:"entry"`
	Artifacts []*artifactDoc `json:"artifacts"`
	Error     *cliError      `json:"error,omitempty"`
}

// entryDoc is the catalog entry a publish document is about.
type entryDoc struct {
	ID          string   `json:"id"`
	Tier        string   `json:"tier"`
	SourceModel string   `json:"source_model"`
	HFRepo      string   `json:"hf_repo"`
	Slices      []string `json:"slices"`
}

// artifactDoc is one artifact of a publish: its plan and what became of it.
type artifactDoc struct {
	Artifact string `json:"artifact"` // vindex, mtp or vision
	// Status is planned (dry run), published, up_to_date, skipped (Reason
	// says why) or failed (Error says why).
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Plan is the artifact's plan, shaped by its kind; new fields may be
	// added to it.
	Plan   any            `json:"plan,omitempty"`
	Result *mirror.Result `json:"result,omitempty"`
	// Extraction is what an extraction (an MTP sidecar, or a vision sidecar
	// with vision_source_tensors) did, in place of Result.
	Extraction *extract.Result `json:"extraction,omitempty"`
	Error      *cliError       `json:"error,omitempty"`
}

func (a *artifactDoc) fail(e *cliError) {
	a.Status, a.Error = "failed", e
}

// published records that the artifact's publish ran; up_to_date when it
// changed nothing.
func (a *artifactDoc) published(upToDate bool) {
	a.Status = "published"
	if upToDate {
		a.Status = "up_to_date"
	}
}

// vindexPlan is the vindex step's plan.
type vindexPlan struct {
	TargetRepo string   `json:"target_repo"`
	OutputPath string   `json:"output_path"`
	Collection string   `json:"collection,omitempty"` // slug; "" when filing is disabled
	Slices     []string `json:"slices"`
}

// mtpPlan is the MTP step's plan.
type mtpPlan struct {
	SourceRepo    string `json:"source_repo"`
	SidecarRepo   string `json:"sidecar_repo"`
	Step          string `json:"step,omitempty"`
	Collection    string `json:"collection,omitempty"`
	SidecarAccess string `json:"sidecar_access,omitempty"`
	// Extraction is what a dry run read of the source's index and headers,
	// PlanError why it could not.
	Extraction *extract.Plan `json:"extraction,omitempty"`
	PlanError  string        `json:"plan_error,omitempty"`
	planErr    error
}

// cliError is the error object of every JSON document: Code is stable and
// meant for programs, Message for people.
type cliError struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	ExitCode int    `json:"exit_code"`
}

// writeJSONError writes a document holding only an error.
func writeJSONError(w io.Writer, schema string, e *cliError) {
	status := "failed"
	if e.ExitCode == ExitInterrupted {
		status = "interrupted"
	}
	writeJSON(w, struct {
		Schema string    `json:"schema"`
		Status string    `json:"status"`
		Error  *cliError `json:"error"`
	}{schema, status, e})
}

func (p *publishPlan) entryDoc() *entryDoc {
	return &entryDoc{ID: p.ModelKey, Tier: p.Tier, SourceModel: p.SourceModel, HFRepo: p.entry.HFRepo, Slices: p.Slices}
}

// artifactDocs lists the asked artifacts in the order a publish runs them.
func (p *publishPlan) artifactDocs() []*artifactDoc {
	var out []*artifactDoc
	all := p.Artifact == "all"
	if all || p.Artifact == "vindex" {
		out = append(out, &artifactDoc{Artifact: "vindex", Status: "skipped", Reason: p.Vindex,
			Plan: &vindexPlan{TargetRepo: p.entry.HFRepo, OutputPath: p.OutputPath, Collection: p.Collection, Slices: p.Slices}})
	}
	if all || p.Artifact == "mtp" {
		a := &artifactDoc{Artifact: "mtp", Status: "skipped", Reason: p.MTP}
		if p.MTPPlan != nil {
			a.Status, a.Reason, a.Plan = "planned", "", p.MTPPlan
		}
		out = append(out, a)
	}
	if p.visionAsked {
		a := &artifactDoc{Artifact: "vision", Status: "skipped", Reason: notConfig}
		if p.Vision != nil {
			a.Status, a.Reason, a.Plan = "planned", "", p.Vision
		}
		out = append(out, a)
	}
	return out
}

// publishOutput sends a publish run's output where it belongs: with --json
// exactly one document on stdout and all text on stderr; without, results
// on stdout and logs on stderr.
type publishOutput struct {
	env  Env
	json bool
	text io.Writer // result text: stdout, or stderr under --json
	doc  publishDoc
}

func newPublishOutput(opts *publishOptions, env Env) *publishOutput {
	o := &publishOutput{env: env, json: opts.JSON, text: env.Stdout,
		doc: publishDoc{Schema: publishSchema, DryRun: opts.DryRun, Model: opts.Model, Artifact: opts.Artifact, Artifacts: []*artifactDoc{}}}
	if opts.JSON {
		o.text = env.Stderr
	}
	return o
}

// artifact returns the document's entry for name, adding one if missing.
func (o *publishOutput) artifact(name string) *artifactDoc {
	for _, a := range o.doc.Artifacts {
		if a.Artifact == name {
			return a
		}
	}
	a := &artifactDoc{Artifact: name}
	o.doc.Artifacts = append(o.doc.Artifacts, a)
	return a
}

// usage reports a wrong command line.
func (o *publishOutput) usage(msg string) int {
	schema := ""
	if o.json {
		schema = publishSchema
	}
	return usageErr(o.env, "publish", schema, msg)
}

// fail reports an error that ends the run.
func (o *publishOutput) fail(code string, exit int, msg string) int {
	fmt.Fprintf(o.env.Stderr, "skulk-weights: %s\n", msg)
	o.doc.Error = &cliError{Code: code, Message: msg, ExitCode: exit}
	status := "failed"
	if exit == ExitInterrupted {
		status = "interrupted"
	}
	return o.finish(status, exit)
}

// failArtifact reports an error of one artifact that ends the run.
// failPublish records that publishing the name sidecar of entry id failed
// with err (redacted by client; interrupted when ctx ended) and returns the
// exit code.
func (o *publishOutput) failPublish(ctx context.Context, art *artifactDoc, client *hub.Client, name, id string, err error) int {
	msg := client.Redact(err.Error())
	code, exit := "publish_failed", ExitFailure
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		msg = "interrupted; nothing was committed by this run unless a commit is shown above"
		code, exit = "interrupted", ExitInterrupted
	}
	msg = fmt.Sprintf("publishing the %s sidecar of %s: %s", name, id, msg)
	art.fail(&cliError{Code: code, Message: msg, ExitCode: exit})
	return o.fail(code, exit, msg)
}

func (o *publishOutput) failArtifact(name, code, msg string) int {
	o.artifact(name).fail(&cliError{Code: code, Message: msg, ExitCode: ExitFailure})
	return o.fail(code, ExitFailure, msg)
}

// finish writes the document under --json and returns exit. A status of
// ok becomes nothing_to_do when no artifact was planned or published.
func (o *publishOutput) finish(status string, exit int) int {
	if status == "ok" {
		status = "nothing_to_do"
		for _, a := range o.doc.Artifacts {
			if a.Status != "skipped" {
				status = "ok"
			}
		}
	}
	o.doc.Status = status
	if o.json {
		writeJSON(o.env.Stdout, &o.doc)
	}
	return exit
}
