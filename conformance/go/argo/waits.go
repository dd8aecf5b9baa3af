package main

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	wfv1 "github.com/argoproj/argo-workflows/v4/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v4/util/expr/argoexpr"
	"github.com/argoproj/argo-workflows/v4/util/expr/env"
	"github.com/argoproj/argo-workflows/v4/util/template"
	"github.com/argoproj/argo-workflows/v4/workflow/common"
)

// waitInfo is what the controller and the executor make of a resource template that
// gets an object and waits on it (a wait for an upstream workflow's run):
//   - Manifest: the manifest after the controller's substitution of the global variables
//     (the object the executor's `kubectl get -f` reads);
//   - RetryAfter: the retryStrategy expression evaluated as processNodeRetries does
//     (argoexpr.EvalBool over env.GetFuncMap of the lastRetry.* local variables), for the
//     message each kind of failed attempt leaves;
//   - Phases: for an object with each status.phase, which of the template's conditions
//     holds, with the executor's parser (labels.Parse, Requirement.Matches) over the
//     object's JSON fields: "success", "failure" or "neither" (matchConditions in
//     workflow/executor/resource.go checks failure first).
type waitInfo struct {
	Template    string            `json:"template"`
	Action      string            `json:"action"`
	Manifest    string            `json:"manifest"`
	Error       string            `json:"error,omitempty"`
	RetryAfter  map[string]any    `json:"retryAfter"`
	Phases      map[string]string `json:"phases"`
	ParseErrors []string          `json:"parseErrors,omitempty"`
}

// The messages a failed attempt of such a template leaves as its node's message: kubectl
// when the object does not exist (its own text, checked against a real API server in
// test/conformance), the executor when the failure condition matched (matchConditions),
// and the kubelet when the pod reached its activeDeadlineSeconds.
var waitMessages = map[string]string{
	"not found":         `no more retries Error from server (NotFound): workflows.argoproj.io "up-1704081600" not found`,
	"failure condition": "failure condition 'status.phase in (Failed,Error)' evaluated true",
	"deadline":          "Pod was active on the node longer than the specified deadline",
}

var waitPhases = []string{"", "Pending", "Running", "Succeeded", "Failed", "Error"}

// objectFields reads a dotted path of a JSON object, the way the executor's gjson labels do for these paths.
type objectFields struct{ obj map[string]any }

func (o objectFields) lookup(path string) (string, bool) {
	var cur any = o.obj
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[k]; !ok {
			return "", false
		}
	}
	s, ok := cur.(string)
	return s, ok
}
func (o objectFields) Has(label string) bool          { _, ok := o.lookup(label); return ok }
func (o objectFields) Get(label string) string        { s, _ := o.lookup(label); return s }
func (o objectFields) Lookup(l string) (string, bool) { return o.lookup(l) }

func waitInfos(ctx context.Context, spec *wfv1.WorkflowSpec, meta metav1.ObjectMeta, cronMeta *metav1.ObjectMeta, opts *renderOpts) []waitInfo {
	g := globals(spec, meta, cronMeta, opts)
	out := []waitInfo{}
	for _, tmpl := range spec.Templates {
		if tmpl.Resource == nil {
			continue
		}
		w := waitInfo{Template: tmpl.Name, Action: tmpl.Resource.Action, RetryAfter: map[string]any{}, Phases: map[string]string{}}
		text, _ := json.Marshal(tmpl.Resource.Manifest)
		s, err := template.Replace(ctx, string(text), g, true)
		if err == nil {
			err = json.Unmarshal([]byte(s), &w.Manifest)
		}
		if err != nil {
			w.Error = err.Error()
		}
		if rs := tmpl.RetryStrategy; rs != nil && rs.Expression != "" {
			for kind, msg := range waitMessages {
				scope := env.GetFuncMap(map[string]any{
					common.LocalVarRetries:             "0",
					common.LocalVarRetriesLastExitCode: "1",
					common.LocalVarRetriesLastStatus:   string(wfv1.NodeFailed),
					common.LocalVarRetriesLastDuration: "1",
					common.LocalVarRetriesLastMessage:  msg,
				})
				ok, err := argoexpr.EvalBool(rs.Expression, scope)
				if err != nil {
					w.RetryAfter[kind] = "error: " + err.Error()
				} else {
					w.RetryAfter[kind] = ok
				}
			}
		}
		parse := func(cond string) labels.Requirements {
			if cond == "" {
				return nil
			}
			sel, err := labels.Parse(cond)
			if err != nil {
				w.ParseErrors = append(w.ParseErrors, err.Error())
				return nil
			}
			reqs, _ := sel.Requirements()
			return reqs
		}
		success, failure := parse(tmpl.Resource.SuccessCondition), parse(tmpl.Resource.FailureCondition)
		for _, phase := range waitPhases {
			obj := map[string]any{"status": map[string]any{}}
			if phase != "" {
				obj["status"] = map[string]any{"phase": phase}
			}
			ls := objectFields{obj}
			state := "neither"
			failed := false
			for _, r := range failure {
				failed = failed || r.Matches(ls)
			}
			matched := 0
			for _, r := range success {
				if r.Matches(ls) {
					matched++
				}
			}
			if failed {
				state = "failure"
			} else if matched >= len(success) {
				state = "success"
			}
			w.Phases[phase] = state
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Template < out[j].Template })
	return out
}
