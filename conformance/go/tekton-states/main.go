// Command tekton-states runs kfm-compile's Tekton Pipelines through Tekton Pipelines' own
// PipelineRun state code, offline, for scenarios of job outcomes, and prints how each task
// and the run end:
//
//	tekton-states FILE...
//
// For each Pipeline (strictly decoded, defaulted and validated as tekton-check does), the
// scenarios are "all succeed" and, for each job task J, "J fails": J's last attempt fails,
// every other task that runs succeeds. A task "runs" as the controller would start it, and
// ends as kfm-compile's generated scripts end it (their behaviour is tested by running them
// in test/targets/tekton.test.ts): a job task whose job step continues on error ends with
// its TaskRun Succeeded and the result ok = false (the kfm-status step of a retried job);
// any other failing job task's TaskRun fails; the kfm-failed-<n> and kfm-run-status tasks
// fail (their scripts exit 1); every other TaskRun succeeds, writing ok = true and a value
// for each other declared result. A gate (custom task) is approved.
//
// What is Tekton's here is everything that decides: which tasks are next and which are
// skipped, and why (pkg/reconciler/pipelinerun/resources: PipelineRunFacts.DAGExecutionQueue,
// GetFinalTasks, ResolvedPipelineTask.Skip and IsFinallySkipped with the result and
// `when` resolution they do, CheckMissingResultReferences, ApplyPipelineTaskStateContext for
// $(tasks.status)), the same loop as the reconciler's runNextSchedulableTask
// (pkg/reconciler/pipelinerun/pipelinerun.go), and the run's condition, from
// PipelineRunFacts.GetPipelineConditionStatus. The state is rebuilt from the Pipeline on
// each round, as each reconcile does (resolution mutates it).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"

	"io"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/clock"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"sigs.k8s.io/yaml"

	"github.com/tektoncd/pipeline/pkg/apis/config"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	"github.com/tektoncd/pipeline/pkg/reconciler/pipeline/dag"
	"github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun/resources"
	taskresources "github.com/tektoncd/pipeline/pkg/reconciler/taskrun/resources"

	"kfm-compile/conformance/report"
)

// scenario is one run of a Pipeline: how each task ended, and the run's condition.
type scenario struct {
	Name string `json:"name"`
	// Tasks: task name -> "Succeeded", "Failed", "Skipped: <reason>" or "Not run".
	Tasks map[string]string `json:"tasks"`
	// Run: the PipelineRun's Succeeded condition.
	Run condition `json:"run"`
	// TasksStatus: $(tasks.status) as the finally tasks received it ("" if none ran).
	TasksStatus string `json:"tasksStatus"`
}

type condition struct {
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func main() {
	if len(os.Args) < 2 {
		report.Fatal("usage: tekton-states FILE...")
	}
	rep := &report.Report{Tool: "tekton-states", Version: report.ModuleVersions("github.com/tektoncd/pipeline", "knative.dev/pkg")}
	for _, path := range os.Args[1:] {
		rep.Add(checkFile(path))
	}
	os.Exit(rep.Print())
}

func checkFile(path string) *report.File {
	res := &report.File{File: path}
	data, err := os.ReadFile(path)
	if err != nil {
		res.Errors = append(res.Errors, err.Error())
		return res
	}
	var out []scenario
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
			break
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(raw, &tm); err != nil || tm.Kind != "Pipeline" {
			continue
		}
		p := &v1.Pipeline{}
		if err := yaml.UnmarshalStrict(raw, p); err != nil {
			res.Errors = append(res.Errors, "strict decoding: "+err.Error())
			continue
		}
		ctx := apis.WithinCreate(config.ToContext(context.Background(), config.FromContextOrDefaults(context.Background())))
		p.SetDefaults(ctx)
		if fe := p.Validate(ctx); fe != nil {
			res.Errors = append(res.Errors, fe.Error())
			continue
		}
		out = append(out, simulate(p, ""))
		for _, t := range p.Spec.Tasks {
			if isJob(t) {
				out = append(out, simulate(p, t.Name))
			}
		}
	}
	res.Parsed = out
	return res
}

// isJob: a pipeline task kfm-compile writes for a job (not its kfm- helpers, not a gate).
func isJob(t v1.PipelineTask) bool {
	return !strings.HasPrefix(t.Name, "kfm-") && t.TaskSpec != nil
}

// state builds the PipelineRunState from the Pipeline, with the runs so far, as the
// reconciler does (pipelinerun.go reconcile, resolvePipelineState): first the tasks that
// have a run, then the others, each resolved against the state built before it, which
// substitutes the result references it can resolve (ResolvePipelineTask: ResolveResultRefs,
// ApplyTaskResults).
func state(p *v1.Pipeline, taskRuns map[string]*v1.TaskRun, customRuns map[string]*v1beta1.CustomRun) resources.PipelineRunState {
	all := append(append([]v1.PipelineTask{}, p.Spec.Tasks...), p.Spec.Finally...)
	var started, notStarted []v1.PipelineTask
	for _, t := range all {
		_, tr := taskRuns[t.Name]
		_, cr := customRuns[t.Name]
		if tr || cr {
			started = append(started, t)
		} else {
			notStarted = append(notStarted, t)
		}
	}
	var s resources.PipelineRunState
	for _, group := range [][]v1.PipelineTask{started, notStarted} {
		for i := range group {
			pt := group[i].DeepCopy()
			rpt := &resources.ResolvedPipelineTask{PipelineTask: pt}
			if refs, _, err := resources.ResolveResultRefs(s, resources.PipelineRunState{rpt}); err == nil {
				resources.ApplyTaskResults(resources.PipelineRunState{rpt}, refs)
			}
			if pt.TaskRef != nil && pt.TaskRef.APIVersion != "" {
				rpt.CustomTask = true
				rpt.CustomRunNames = []string{pt.Name}
				if r, ok := customRuns[pt.Name]; ok {
					rpt.CustomRuns = []*v1beta1.CustomRun{r}
				}
			} else {
				rpt.TaskRunNames = []string{pt.Name}
				rpt.ResolvedTask = &taskresources.ResolvedTask{TaskSpec: &pt.TaskSpec.TaskSpec}
				if r, ok := taskRuns[pt.Name]; ok {
					rpt.TaskRuns = []*v1.TaskRun{r}
				}
			}
			s = append(s, rpt)
		}
	}
	return s
}

func simulate(p *v1.Pipeline, failing string) scenario {
	name := "all succeed"
	if failing != "" {
		name = failing + " fails"
	}
	sc := scenario{Name: name, Tasks: map[string]string{}}
	tasks := v1.PipelineTaskList(p.Spec.Tasks)
	finally := v1.PipelineTaskList(p.Spec.Finally)
	graph, err := dag.Build(tasks, tasks.Deps())
	if err != nil {
		sc.Run = condition{Status: "Error", Message: err.Error()}
		return sc
	}
	finalGraph, err := dag.Build(finally, map[string][]string{})
	if err != nil {
		sc.Run = condition{Status: "Error", Message: err.Error()}
		return sc
	}
	clk := clock.RealClock{}
	start := time.Now()
	taskRuns := map[string]*v1.TaskRun{}
	customRuns := map[string]*v1beta1.CustomRun{}
	facts := func() *resources.PipelineRunFacts {
		return &resources.PipelineRunFacts{
			State: state(p, taskRuns, customRuns), TasksGraph: graph, FinalTasksGraph: finalGraph,
			TimeoutsState: resources.PipelineRunTimeoutsState{Clock: clk, StartTime: &start},
		}
	}
	var validationFailed []string
	for round := 0; round < 10*(len(p.Spec.Tasks)+len(p.Spec.Finally)+1); round++ {
		f := facts()
		next, err := f.DAGExecutionQueue()
		if err != nil {
			sc.Run = condition{Status: "Error", Message: err.Error()}
			return sc
		}
		for _, rpt := range next {
			if err := resources.CheckMissingResultReferences(f.State, rpt); err != nil {
				validationFailed = append(validationFailed, rpt.PipelineTask.Name)
				next = nil
			}
		}
		fin := f.GetFinalTasks()
		if len(fin) > 0 {
			status := f.GetPipelineTaskStatus()
			sc.TasksStatus = status[v1.PipelineTasksAggregateStatus]
			resources.ApplyPipelineTaskStateContext(fin, status)
			for _, rpt := range fin {
				refs, _, err := resources.ResolveResultRef(f.State, rpt)
				if err != nil {
					continue
				}
				resources.ApplyTaskResults(resources.PipelineRunState{rpt}, refs)
				next = append(next, rpt)
			}
		}
		started := 0
		for _, rpt := range next {
			if rpt.Skip(f).IsSkipped || rpt.IsFinallySkipped(f).IsSkipped {
				continue
			}
			started++
			if rpt.CustomTask {
				customRuns[rpt.PipelineTask.Name] = customRun(rpt.PipelineTask.Name, true)
				continue
			}
			taskRuns[rpt.PipelineTask.Name] = taskRun(rpt.PipelineTask, failing)
		}
		if started == 0 {
			break
		}
	}
	f := facts()
	for _, name := range validationFailed {
		for _, rpt := range f.State {
			if rpt.PipelineTask.Name == name {
				f.ValidationFailedTask = append(f.ValidationFailedTask, rpt)
			}
		}
	}
	for _, rpt := range f.State {
		n := rpt.PipelineTask.Name
		switch {
		case len(rpt.TaskRuns) > 0:
			sc.Tasks[n] = string(rpt.TaskRuns[0].Status.GetCondition(apis.ConditionSucceeded).Status)
		case len(rpt.CustomRuns) > 0:
			sc.Tasks[n] = string(rpt.CustomRuns[0].Status.GetCondition(apis.ConditionSucceeded).Status)
		case rpt.Skip(f).IsSkipped:
			sc.Tasks[n] = "Skipped: " + string(rpt.Skip(f).SkippingReason)
		case rpt.IsFinallySkipped(f).IsSkipped:
			sc.Tasks[n] = "Skipped: " + string(rpt.IsFinallySkipped(f).SkippingReason)
		default:
			sc.Tasks[n] = "Not run"
		}
		sc.Tasks[n] = strings.NewReplacer("True", "Succeeded", "False", "Failed").Replace(sc.Tasks[n])
	}
	pr := &v1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "run"}, Spec: v1.PipelineRunSpec{Timeouts: &v1.TimeoutFields{Pipeline: &metav1.Duration{Duration: 0}}}}
	c := f.GetPipelineConditionStatus(context.Background(), pr, zap.NewNop().Sugar(), clk)
	sc.Run = condition{Status: string(c.Status), Reason: c.Reason, Message: c.Message}
	return sc
}

// taskRun is the finished TaskRun of a pipeline task, as kfm-compile's scripts end it.
func taskRun(pt *v1.PipelineTask, failing string) *v1.TaskRun {
	failed := false
	results := map[string]string{}
	for _, r := range pt.TaskSpec.Results {
		results[r.Name] = "x"
	}
	if _, ok := results["ok"]; ok {
		results["ok"] = "true"
	}
	switch {
	case pt.Name == failing:
		soft := false
		for _, s := range pt.TaskSpec.Steps {
			if s.OnError == v1.Continue {
				soft = true
			}
		}
		if soft {
			results["ok"] = "false" // kfm-status after the last failed attempt
		} else {
			failed = true
			results = map[string]string{}
		}
	case strings.HasPrefix(pt.Name, "kfm-failed-"), pt.Name == "kfm-run-status":
		failed = true
	}
	status := corev1.ConditionTrue
	reason := "Succeeded"
	if failed {
		status, reason = corev1.ConditionFalse, "Failed"
	}
	tr := &v1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: pt.Name}}
	tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: status, Reason: reason})
	for k, v := range results {
		tr.Status.Results = append(tr.Status.Results, v1.TaskRunResult{Name: k, Type: v1.ResultsTypeString, Value: *v1.NewStructuredValues(v)})
	}
	return tr
}

func customRun(name string, ok bool) *v1beta1.CustomRun {
	status := corev1.ConditionTrue
	if !ok {
		status = corev1.ConditionFalse
	}
	r := &v1beta1.CustomRun{ObjectMeta: metav1.ObjectMeta{Name: name}}
	r.Status.Status = duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: status}}}
	return r
}
