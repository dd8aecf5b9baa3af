package main

// What the controller computes from the objects Argo parsed, beyond the objects
// themselves. Each part names the controller code whose rule it applies; where that
// code is unexported (it lives on the controller's operation contexts), the rule is
// restated here over Argo's own parsing and evaluation functions:
//
//   - retry waits: processNodeRetries (workflow/controller/operator.go), with
//     wfv1.ParseStringToDuration and util/intstr.Int32 reading the backoff;
//   - depends: evaluateDependsLogic (workflow/controller/dag.go), with
//     common.GetTaskDependencies expanding the expression and argoexpr.EvalBool
//     evaluating it;
//   - run concurrency: the workflow's synchronization, semaphore limits read from
//     ConfigMaps of the same file as createSynchronizationManager
//     (workflow/controller/controller.go) reads them (strconv.Atoi of the key);
//   - the CronWorkflow `when` guard: evalWhen (workflow/cron/operator.go), with
//     util/template and the controller's expression environment, `now()` fixed.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/Knetic/govaluate"

	wfv1 "github.com/argoproj/argo-workflows/v4/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v4/util/expr/argoexpr"
	argointstr "github.com/argoproj/argo-workflows/v4/util/intstr"
	"github.com/argoproj/argo-workflows/v4/util/template"
	"github.com/argoproj/argo-workflows/v4/workflow/common"
)

// maxListedWaits bounds the waits listed for a retryStrategy without a limit.
const maxListedWaits = 20

type retryInfo struct {
	Template string `json:"template"`
	// Limit is retryStrategy.limit as the controller reads it; null: no limit.
	Limit       *int32 `json:"limit"`
	RetryPolicy string `json:"retryPolicy"`
	// WaitsSeconds: the wait before attempts 2, 3, ... (limit entries).
	WaitsSeconds []float64 `json:"waitsSeconds"`
	MaxDuration  string    `json:"maxDuration,omitempty"`
	Expression   string    `json:"expression,omitempty"`
	Error        string    `json:"error,omitempty"`
}

// backoffWait is the wait processNodeRetries sets after `failed` failed attempts of
// a node (len(childNodeIds)): duration for the first retry, duration *
// factor^(failed-1) after that (the power as a float, truncated to an integer
// multiplier by time.Duration, clamped to MaxInt64 on overflow), then at most cap.
// No backoff: no wait.
func backoffWait(b *wfv1.Backoff, failed int) (time.Duration, error) {
	if b == nil {
		return 0, nil
	}
	if b.Duration == "" {
		return 0, fmt.Errorf("no base duration specified for retryStrategy")
	}
	base, err := wfv1.ParseStringToDuration(b.Duration)
	if err != nil {
		return 0, err
	}
	wait := base
	factor, err := argointstr.Int32(b.Factor)
	if err != nil {
		return 0, err
	}
	if factor != nil && *factor > 0 {
		power := math.Pow(float64(*factor), float64(failed-1))
		if power > float64(math.MaxInt64)/float64(base) {
			wait = time.Duration(math.MaxInt64)
		} else {
			wait = base * time.Duration(power)
		}
	}
	if b.Cap != "" {
		capDuration, err := wfv1.ParseStringToDuration(b.Cap)
		if err != nil {
			return 0, err
		}
		if wait > capDuration {
			wait = capDuration
		}
	}
	return wait, nil
}

func retryInfos(spec *wfv1.WorkflowSpec) []retryInfo {
	out := []retryInfo{}
	for _, t := range spec.Templates {
		rs := t.RetryStrategy
		if rs == nil {
			continue
		}
		info := retryInfo{Template: t.Name, RetryPolicy: string(rs.RetryPolicyActual()), WaitsSeconds: []float64{}, Expression: rs.Expression}
		if rs.Backoff != nil {
			info.MaxDuration = rs.Backoff.MaxDuration
		}
		limit, err := argointstr.Int32(rs.Limit)
		if err != nil {
			info.Error = err.Error()
			out = append(out, info)
			continue
		}
		info.Limit = limit
		n := maxListedWaits
		if limit != nil && int(*limit) < n {
			n = int(*limit)
		}
		for failed := 1; failed <= n; failed++ {
			w, err := backoffWait(rs.Backoff, failed)
			if err != nil {
				info.Error = err.Error()
				break
			}
			info.WaitsSeconds = append(info.WaitsSeconds, w.Seconds())
		}
		out = append(out, info)
	}
	return out
}

// dagContext is the part of the controller's dagContext that the dependency
// expansion reads: the DAG's tasks by name.
type dagContext struct{ tasks map[string]*wfv1.DAGTask }

func (d dagContext) GetTask(_ context.Context, name string) *wfv1.DAGTask {
	if t, ok := d.tasks[name]; ok {
		return t
	}
	return &wfv1.DAGTask{Name: name}
}

func (d dagContext) GetTaskDependencies(ctx context.Context, name string) []string {
	deps, _ := common.GetTaskDependencies(ctx, d.GetTask(ctx, name), d)
	out := make([]string, 0, len(deps))
	for k := range deps {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (d dagContext) GetTaskFinishedAtTime(context.Context, string) time.Time { return time.Time{} }

// taskResults has the fields evaluateDependsLogic puts in scope for each dependency.
type taskResults struct {
	Succeeded    bool `json:"Succeeded"`
	Failed       bool `json:"Failed"`
	Errored      bool `json:"Errored"`
	Skipped      bool `json:"Skipped"`
	Omitted      bool `json:"Omitted"`
	Daemoned     bool `json:"Daemoned"`
	AnySucceeded bool `json:"AnySucceeded"`
	AllFailed    bool `json:"AllFailed"`
}

func phaseResults(phase wfv1.NodePhase) taskResults {
	return taskResults{
		Succeeded: phase == wfv1.NodeSucceeded,
		Failed:    phase == wfv1.NodeFailed,
		Errored:   phase == wfv1.NodeError,
		Skipped:   phase == wfv1.NodeSkipped,
		Omitted:   phase == wfv1.NodeOmitted,
	}
}

type dependsInfo struct {
	Template string `json:"template"`
	Task     string `json:"task"`
	// Expression: the depends logic the controller evaluates (dependencies expanded).
	Expression   string   `json:"expression"`
	Dependencies []string `json:"dependencies"`
	// Runs: per scenario ("all Succeeded", "<dependency> Failed", ...; the other
	// dependencies Succeeded), whether the controller would run the task (true), skip
	// it as Omitted (false), or an evaluation error (a string).
	Runs map[string]any `json:"runs"`
}

// failurePhases are the fulfilled phases other than Succeeded a dependency can end in.
var failurePhases = []wfv1.NodePhase{wfv1.NodeFailed, wfv1.NodeError, wfv1.NodeSkipped, wfv1.NodeOmitted}

func dependsInfos(ctx context.Context, spec *wfv1.WorkflowSpec) []dependsInfo {
	out := []dependsInfo{}
	for _, t := range spec.Templates {
		if t.DAG == nil {
			continue
		}
		d := dagContext{tasks: map[string]*wfv1.DAGTask{}}
		for i := range t.DAG.Tasks {
			d.tasks[t.DAG.Tasks[i].Name] = &t.DAG.Tasks[i]
		}
		for i := range t.DAG.Tasks {
			task := &t.DAG.Tasks[i]
			deps, expression := common.GetTaskDependencies(ctx, task, d)
			info := dependsInfo{Template: t.Name, Task: task.Name, Expression: expression, Dependencies: []string{}, Runs: map[string]any{}}
			for k := range deps {
				info.Dependencies = append(info.Dependencies, k)
			}
			sort.Strings(info.Dependencies)
			if len(info.Dependencies) == 0 {
				out = append(out, info)
				continue
			}
			eval := func(phases map[string]wfv1.NodePhase) any {
				scope := map[string]taskResults{}
				for _, dep := range info.Dependencies {
					scope[strings.ReplaceAll(dep, "-", "_")] = phaseResults(phases[dep])
				}
				ok, err := argoexpr.EvalBool(strings.ReplaceAll(expression, "-", "_"), scope)
				if err != nil {
					return err.Error()
				}
				return ok
			}
			all := map[string]wfv1.NodePhase{}
			for _, dep := range info.Dependencies {
				all[dep] = wfv1.NodeSucceeded
			}
			info.Runs["all Succeeded"] = eval(all)
			for _, dep := range info.Dependencies {
				for _, p := range failurePhases {
					phases := map[string]wfv1.NodePhase{}
					for k, v := range all {
						phases[k] = v
					}
					phases[dep] = p
					info.Runs[dep+" "+string(p)] = eval(phases)
				}
			}
			out = append(out, info)
		}
	}
	return out
}

type semaphoreInfo struct {
	ConfigMap string `json:"configMap"`
	Key       string `json:"key"`
	Namespace string `json:"namespace,omitempty"`
	// Limit as the controller reads it from the ConfigMap (in this file).
	Limit *int   `json:"limit"`
	Error string `json:"error,omitempty"`
}

type syncInfo struct {
	Mutexes    []string        `json:"mutexes"`
	Semaphores []semaphoreInfo `json:"semaphores"`
}

func synchronizationInfo(s *wfv1.Synchronization, configMaps map[string]*corev1.ConfigMap) *syncInfo {
	if s == nil {
		return nil
	}
	out := &syncInfo{Mutexes: []string{}, Semaphores: []semaphoreInfo{}}
	for _, m := range s.Mutexes {
		if m != nil {
			out.Mutexes = append(out.Mutexes, m.Name)
		}
	}
	for _, sem := range s.Semaphores {
		if sem == nil {
			continue
		}
		if sem.ConfigMapKeyRef == nil {
			out.Semaphores = append(out.Semaphores, semaphoreInfo{Namespace: sem.Namespace, Error: "not a ConfigMap semaphore"})
			continue
		}
		info := semaphoreInfo{ConfigMap: sem.ConfigMapKeyRef.Name, Key: sem.ConfigMapKeyRef.Key, Namespace: sem.Namespace}
		cm, ok := configMaps[info.ConfigMap]
		switch {
		case !ok:
			info.Error = fmt.Sprintf("ConfigMap %q is not in the file (the controller fails the run when it cannot read it)", info.ConfigMap)
		default:
			value, found := cm.Data[info.Key]
			if !found {
				info.Error = fmt.Sprintf("Sync configuration key '%s' not found in ConfigMap", info.Key)
				break
			}
			n, err := strconv.Atoi(value)
			if err != nil {
				info.Error = err.Error()
				break
			}
			info.Limit = &n
		}
		out.Semaphores = append(out.Semaphores, info)
	}
	return out
}

// configMaps reads the v1 ConfigMaps of a file (Argo's parser skips non-Argo kinds).
func configMaps(path string) map[string]*corev1.ConfigMap {
	out := map[string]*corev1.ConfigMap{}
	data, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) || err != nil {
			break
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if yaml.Unmarshal(raw, &head) != nil || head.APIVersion != "v1" || head.Kind != "ConfigMap" {
			continue
		}
		cm := &corev1.ConfigMap{}
		if yaml.UnmarshalStrict(raw, cm) == nil {
			out[cm.Name] = cm
		}
	}
	return out
}

// whenAt evaluates a CronWorkflow's `when` as evalWhen does when the cron fires at
// `at`: util/template substitutes the `{{...}}` tags with the cronworkflow.*
// variables of expressionEnv (workflow/cron/operator.go) in scope, then the result
// must be a boolean. `now()` (expr-lang's builtin, the controller's clock) is fixed
// at `at` by an environment entry of the same name, which expr-lang resolves before
// its builtins. evalWhen's last step evaluates the result with govaluate; for the
// results "true" and "false" that is the same boolean, and anything else is reported
// as an error here.
func whenAt(ctx context.Context, cron *wfv1.CronWorkflow, at time.Time) any {
	if cron.Spec.When == "" {
		return true
	}
	t, err := template.NewTemplate(cron.Spec.When)
	if err != nil {
		return err.Error()
	}
	env := map[string]any{}
	set := func(name string, value any) { env["cronworkflow."+name] = value }
	set("name", cron.Name)
	set("namespace", cron.Namespace)
	set("labels", cron.Labels)
	set("annotations", cron.Labels) // as expressionEnv sets it
	set("failed", cron.Status.Failed)
	set("succeeded", cron.Status.Succeeded)
	labels, _ := json.Marshal(&cron.Labels)
	annotations, _ := json.Marshal(&cron.Annotations)
	set("labels.json", labels)
	set("annotations.json", annotations)
	set("lastScheduledTime", (*time.Time)(nil))
	env["now"] = func() time.Time { return at }
	s, err := t.Replace(ctx, env, false)
	if err != nil {
		return err.Error()
	}
	switch strings.TrimSpace(s) {
	case "true":
		return true
	case "false":
		return false
	}
	return fmt.Sprintf("not a boolean: %q", s)
}

// exitInfo: a task of the exit handler (spec.onExit) and, per phase the run ended
// in, whether the controller runs it. The controller runs the onExit template with
// workflow.status set to the run's phase (operator.go runOnExitNode: globalParams
// workflow.status); a DAG task's `when` is substituted by util/template with that
// global in scope and then evaluated by shouldExecute (workflow/controller/steps.go),
// restated here with the same govaluate calls: variables become strings, the result
// must be a boolean. shouldExecute is unexported in a package that cannot be imported
// here (it pulls in the whole controller).
type exitInfo struct {
	Template string `json:"template"`
	Task     string `json:"task"`
	When     string `json:"when"`
	// Runs: per workflow.status (Succeeded, Failed, Error), true/false or an error text.
	Runs map[string]any `json:"runs"`
}

func exitInfos(ctx context.Context, spec *wfv1.WorkflowSpec) []exitInfo {
	out := []exitInfo{}
	if spec.OnExit == "" {
		return out
	}
	for _, t := range spec.Templates {
		if t.Name != spec.OnExit {
			continue
		}
		tasks := []struct{ name, when string }{}
		if t.DAG != nil {
			for _, x := range t.DAG.Tasks {
				tasks = append(tasks, struct{ name, when string }{x.Name, x.When})
			}
		}
		for _, group := range t.Steps {
			for _, x := range group.Steps {
				tasks = append(tasks, struct{ name, when string }{x.Name, x.When})
			}
		}
		if len(tasks) == 0 {
			// The exit handler is itself a container (or other leaf): it always runs.
			out = append(out, exitInfo{Template: t.Name, Task: t.Name, Runs: map[string]any{"Succeeded": true, "Failed": true, "Error": true}})
		}
		for _, x := range tasks {
			info := exitInfo{Template: t.Name, Task: x.name, When: x.when, Runs: map[string]any{}}
			for _, phase := range []string{"Succeeded", "Failed", "Error"} {
				t, err := template.NewTemplate(x.when)
				if err != nil {
					info.Runs[phase] = err.Error()
					continue
				}
				s, err := t.Replace(ctx, map[string]any{"workflow.status": phase}, true)
				if err != nil {
					info.Runs[phase] = err.Error()
					continue
				}
				ok, err := shouldExecute(s)
				if err != nil {
					info.Runs[phase] = err.Error()
					continue
				}
				info.Runs[phase] = ok
			}
			out = append(out, info)
		}
	}
	return out
}

// shouldExecute is workflow/controller/steps.go shouldExecute of Argo v4.0.7.
func shouldExecute(when string) (bool, error) {
	if when == "" {
		return true, nil
	}
	expression, err := govaluate.NewEvaluableExpression(when)
	if err != nil {
		return false, fmt.Errorf("invalid 'when' expression '%s': %v", when, err)
	}
	tokens := expression.Tokens()
	for i, tok := range tokens {
		if tok.Kind == govaluate.VARIABLE {
			tok.Kind = govaluate.STRING
		}
		tokens[i] = tok
	}
	expression, err = govaluate.NewEvaluableExpressionFromTokens(tokens)
	if err != nil {
		return false, fmt.Errorf("failed to parse 'when' expression '%s': %v", when, err)
	}
	result, err := expression.Evaluate(nil)
	if err != nil {
		return false, fmt.Errorf("failed to evaluate 'when' expression '%s': %v", when, err)
	}
	b, ok := result.(bool)
	if !ok {
		return false, fmt.Errorf("expected boolean evaluation for '%s', got %v", when, result)
	}
	return b, nil
}
