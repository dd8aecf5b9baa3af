package main

// What the controller computes from the Pipeline Tekton admitted, beyond the object
// itself:
//
//   - when: each pipeline task's `when` expressions after result substitution, with
//     Tekton's WhenExpressions.ReplaceVariables and AllowsExecution (the calls
//     pkg/reconciler/pipelinerun/resources ApplyTaskResults and the skip logic make),
//     for scenarios of which tasks wrote their `ok` result;
//   - attempts: each attempt's steps as the TaskRun reconciler substitutes them: first
//     the task's params (their defaults; a pass of its own), then
//     $(context.task.retry-count) is len(status.retriesStatus), i.e. attempt - 1
//     (getContextReplacements, pkg/reconciler/taskrun/resources/apply.go), and, with
//     --task-results, $(tasks.<task>.results.<name>) from the given results
//     (PropagateResults, pkg/reconciler/pipelinerun/resources/apply.go). The
//     substitution itself is Tekton's step substitution,
//     pkg/container.ApplyStepReplacements, which ApplyReplacements runs on every step.
//     Those two reconciler packages are not imported: they pull in the registry and
//     cloud clients; the replacement keys are built here as they build them.
//   - a step that runs a StepAction (`ref`) is first resolved as the TaskRun reconciler
//     resolves it before any of those substitutions (pkg/reconciler/taskrun/taskrun.go
//     calls resources.GetStepActionsData; pkg/reconciler/taskrun/resources/taskspec.go
//     resolveStepRef, apply.go applyStepActionParameters): the StepAction named by the
//     ref, from the files given (the folder's shared StepActions), its params replaced by
//     the step's values or its defaults, and its image, command, args, script, env,
//     results and securityContext taken for the step.

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/container"
)

// stepActions: the StepActions of every file given, by name (the namespace's, as the
// reconciler's local lookup sees them).
var stepActions = map[string]*v1beta1.StepAction{}

// maxRenderedAttempts bounds the attempts rendered per pipeline task.
const maxRenderedAttempts = 100

type taskAnalysis struct {
	Name string `json:"name"`
	// Finally: a finally task.
	Finally bool `json:"finally,omitempty"`
	// WhenRuns: per scenario ("all ok", "<task> without ok", "<task> ok=false"; every
	// other task wrote ok=true; for a finally task also "tasks.status <status>"),
	// whether the task's when expressions allow it to run.
	// Absent when the task has no when expressions.
	WhenRuns map[string]bool `json:"whenRuns,omitempty"`
	// Attempts: the inline task's steps as substituted for attempts 1, 2, ...
	Attempts []renderedAttempt `json:"attempts,omitempty"`
}

type renderedAttempt struct {
	Attempt int                     `json:"attempt"`
	Steps   map[string]renderedStep `json:"steps"`
}

type renderedStep struct {
	Image   string         `json:"image"`
	Command []string       `json:"command"`
	Args    []string       `json:"args"`
	Env     map[string]any `json:"env"`
	// Error: the step's StepAction could not be resolved (the TaskRun would fail).
	Error string `json:"error,omitempty"`
}

// okResult is the result name kfm-compile's failure emulation guards on.
const okResult = "ok"

func analyzePipeline(p *v1.Pipeline, results map[string]map[string]string) []taskAnalysis {
	out := []taskAnalysis{}
	names := []string{}
	for _, t := range p.Spec.Tasks {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	okKey := func(task string) string { return "tasks." + task + ".results." + okResult }
	for _, group := range []struct {
		tasks   []v1.PipelineTask
		finally bool
	}{{p.Spec.Tasks, false}, {p.Spec.Finally, true}} {
		for _, t := range group.tasks {
			a := taskAnalysis{Name: t.Name, Finally: group.finally}
			if len(t.When) > 0 {
				a.WhenRuns = map[string]bool{}
				eval := func(repl map[string]string) bool {
					return t.When.DeepCopy().ReplaceVariables(repl, map[string][]string{}).AllowsExecution(map[string]bool{})
				}
				all := map[string]string{}
				for _, n := range names {
					all[okKey(n)] = "true"
				}
				a.WhenRuns["all ok"] = eval(all)
				if group.finally {
					// $(tasks.status): the aggregate status of the pipeline tasks, which the
					// PipelineRun reconciler substitutes into finally tasks
					// (ApplyPipelineTaskStateContext, key "tasks.status"); its value per
					// outcome is given as GetPipelineTasksStatus documents it: Succeeded (all
					// succeeded), Failed (one failed), Completed (none failed, one skipped).
					for _, status := range []string{"Succeeded", "Failed", "Completed"} {
						repl := map[string]string{v1.PipelineTasksAggregateStatus: status}
						for k, v := range all {
							repl[k] = v
						}
						a.WhenRuns["tasks.status "+status] = eval(repl)
					}
				}
				for _, n := range names {
					if n == t.Name {
						continue
					}
					without := map[string]string{}
					falseOk := map[string]string{}
					for k, v := range all {
						without[k] = v
						falseOk[k] = v
					}
					delete(without, okKey(n))
					falseOk[okKey(n)] = "false"
					a.WhenRuns[n+" without ok"] = eval(without)
					a.WhenRuns[n+" ok=false"] = eval(falseOk)
				}
			}
			if t.TaskSpec != nil {
				attempts := t.Retries + 1
				if attempts > maxRenderedAttempts {
					attempts = maxRenderedAttempts
				}
				for k := 1; k <= attempts; k++ {
					a.Attempts = append(a.Attempts, renderAttempt(t.TaskSpec.TaskSpec, k, results))
				}
			}
			out = append(out, a)
		}
	}
	return out
}

func renderAttempt(spec v1.TaskSpec, attempt int, results map[string]map[string]string) renderedAttempt {
	repl := map[string]string{"context.task.retry-count": strconv.Itoa(attempt - 1)}
	for task, rs := range results {
		for name, value := range rs {
			repl["tasks."+task+".results."+name] = value
		}
	}
	// The TaskRun's param pass runs first and on its own (applyParamsContextsResultsAndWorkspaces,
	// pkg/reconciler/taskrun/taskrun.go: ApplyParameters before ApplyContexts): each param's
	// default under the keys paramPatterns builds (replacementsFromDefaultParams,
	// pkg/reconciler/taskrun/resources/apply.go). A default holding $(params. is resolved
	// there against the other params; no output of ours has one, so it is left out.
	params := map[string]string{}
	for _, p := range spec.Params {
		if p.Default != nil && p.Default.Type == v1.ParamTypeString && !strings.Contains(p.Default.StringVal, "$(params.") {
			for _, pattern := range []string{"params.%s", "params[%q]", "params['%s']"} {
				params[fmt.Sprintf(pattern, p.Name)] = p.Default.StringVal
			}
		}
	}
	r := renderedAttempt{Attempt: attempt, Steps: map[string]renderedStep{}}
	for _, s := range spec.DeepCopy().Steps {
		if s.Ref != nil {
			resolved, err := resolveStep(s)
			if err != nil {
				r.Steps[s.Name] = renderedStep{Env: map[string]any{}, Error: err.Error()}
				continue
			}
			s = resolved
		}
		container.ApplyStepReplacements(&s, params, map[string][]string{})
		container.ApplyStepReplacements(&s, repl, map[string][]string{})
		rs := renderedStep{Image: s.Image, Command: s.Command, Args: s.Args, Env: map[string]any{}}
		for _, e := range s.Env {
			rs.Env[e.Name] = envValue(e)
		}
		r.Steps[s.Name] = rs
	}
	return r
}

func envValue(e corev1.EnvVar) any {
	if e.ValueFrom != nil {
		return map[string]any{"valueFrom": e.ValueFrom}
	}
	return e.Value
}

// resolveStep is resolveStepRef for a StepAction of the given files: a param the step does
// not pass takes the StepAction's default, and one with neither is an error
// (validateStepHasStepActionParameters); the step keeps its name, onError and timeout.
func resolveStep(s v1.Step) (v1.Step, error) {
	sa, ok := stepActions[s.Ref.Name]
	if !ok {
		return s, fmt.Errorf("step %q runs StepAction %q, which no file given holds", s.Name, s.Ref.Name)
	}
	spec := sa.Spec.DeepCopy()
	spec.SetDefaults(context.Background())
	from := spec.ToStep()
	repl := map[string]string{}
	for _, p := range spec.Params {
		if p.Default != nil {
			repl["params."+p.Name] = p.Default.StringVal
		}
	}
	for _, p := range s.Params {
		repl["params."+p.Name] = p.Value.StringVal
	}
	for _, p := range spec.Params {
		if _, ok := repl["params."+p.Name]; !ok {
			return s, fmt.Errorf("step %q passes no value for param %q of StepAction %q", s.Name, p.Name, s.Ref.Name)
		}
	}
	container.ApplyStepReplacements(from, repl, map[string][]string{})
	out := *s.DeepCopy()
	out.Image = from.Image
	out.SecurityContext = from.SecurityContext
	if len(from.Command) > 0 {
		out.Command = from.Command
	}
	if len(from.Args) > 0 {
		out.Args = from.Args
	}
	if from.Script != "" {
		out.Script = from.Script
	}
	out.WorkingDir = from.WorkingDir
	if from.Env != nil {
		out.Env = from.Env
	}
	if len(from.Results) > 0 {
		out.Results = from.Results
	}
	out.Ref = nil
	out.Params = nil
	return out, nil
}
