// kfm-compile's execution harness for Argo Workflows (issue 14), our code: build.sh copies
// this file into a writable copy of github.com/argoproj/argo-workflows/v4's
// workflow/controller package and compiles the package's tests once (`go test -c`), so
// that it can call the controller's own operator (`woc.operate`) and the package's own
// test helpers (`newController` in controller_test.go: fake Kubernetes and Argo
// clientsets, real informers). The harness plays the parts the controller does not:
// the kubelet (pod phases, container states, the pod's activeDeadlineSeconds), the
// executor's wait container (one WorkflowTaskResult per finished pod), the reviewer of
// a gate (`argo resume` / `argo stop` through workflow/util), and the CronWorkflow
// controller that creates a run for a slot (workflow/common ConvertCronWorkflowToWorkflowWithProperties).
// Every behaviour of the run (the DAG, retries and their backoff, deadlines, suspend
// templates, the exit handler, workflow.failures, synchronization) is Argo's own code.
//
// Input (environment): KFM_EXEC_WORKFLOW (the generated Argo file), KFM_EXEC_SCENARIO
// (scenario.json, a `Scenario` of src/execution.ts), KFM_EXEC_OBSERVED (where
// observed.json goes). Without them the test is skipped, so the package's own tests
// are unaffected. The clock is the real one (the controller reads time.Now throughout):
// scenario waits are a few seconds. See README.md next to this file.
package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	apiv1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/argoproj/argo-workflows/v4/config"
	wfv1 "github.com/argoproj/argo-workflows/v4/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v4/util/logging"
	"github.com/argoproj/argo-workflows/v4/workflow/common"
	"github.com/argoproj/argo-workflows/v4/workflow/util"
)

// The names kfm-compile writes (src/names.ts, src/notify.ts).
const (
	kfmReservedPrefix = "kfm-"
	kfmSpecNameKey    = "kfm-compile.dev/name"
	kfmNotifyPrefix   = "kfm-notify-"
	kfmNotifyFailed   = "KFM_NOTIFY_FAILED"
	kfmJobEnv         = "KFM_JOB"
	kfmAttemptEnv     = "KFM_ATTEMPT"
	kfmDateParameter  = "logical-date"
	// Every object goes into one namespace, as `kubectl apply -n` would put them (the
	// generated file names none without the namespace option).
	kfmNamespace = "kfm-exec"
	// The entrypoint the harness lists for every image without a command (controller
	// config `images`, read by createWorkflowPod instead of asking the registry); a pod
	// command that is only this means "the image's own entrypoint" (command null).
	kfmImageEntrypoint = "kfm-image-entrypoint"
)

type kfmScenario struct {
	Name        string              `json:"name"`
	LogicalDate string              `json:"logicalDate"`
	Attempts    map[string][]string `json:"attempts"`
	Gates       map[string]string   `json:"gates"`
	// Optional, for max_active_runs: the runs due at once, in order (logical dates);
	// the first is the one reported. Absent: one run at LogicalDate.
	Runs []string `json:"runs"`
}

type kfmAttempt struct {
	Job       string            `json:"job"`
	Attempt   int               `json:"attempt"`
	StartedAt float64           `json:"startedAt"`
	EndedAt   float64           `json:"endedAt"`
	End       string            `json:"end"`
	Env       map[string]string `json:"env"`
	Command   []string          `json:"command"`
	Args      []string          `json:"args"`
}

type kfmNotification struct {
	Index      int      `json:"index"`
	FailedJobs []string `json:"failedJobs"`
}

type kfmRunObserved struct {
	LogicalDate string  `json:"logicalDate"`
	StartedAt   float64 `json:"startedAt"`
	EndedAt     float64 `json:"endedAt"`
	Run         string  `json:"run"`
}

type kfmObserved struct {
	Engine        string            `json:"engine"`
	Run           string            `json:"run"`
	Jobs          map[string]string `json:"jobs"`
	Attempts      []kfmAttempt      `json:"attempts"`
	Notifications []kfmNotification `json:"notifications"`
	// Not in `Observed`: said when the run never ended (Argo's phase then), and every run
	// of a max_active_runs scenario.
	Unfinished string           `json:"unfinished,omitempty"`
	Runs       []kfmRunObserved `json:"runs,omitempty"`
	Log        []string         `json:"log"`
}

// One pod as the harness (the kubelet) drives it.
type kfmPod struct {
	run       int
	attempt   *kfmAttempt // nil for a notification pod
	outcome   string
	started   time.Time // when the kubelet started it (zero for a pod that never starts)
	done      bool
	notify    int // notification index, -1 for a job pod
	failedTxt string
}

func TestKfmExecution(t *testing.T) {
	wfPath, scenarioPath, outPath := os.Getenv("KFM_EXEC_WORKFLOW"), os.Getenv("KFM_EXEC_SCENARIO"), os.Getenv("KFM_EXEC_OBSERVED")
	if wfPath == "" || scenarioPath == "" || outPath == "" {
		t.Skip("KFM_EXEC_WORKFLOW, KFM_EXEC_SCENARIO and KFM_EXEC_OBSERVED are not set")
	}
	observed, err := kfmRun(t, wfPath, scenarioPath)
	if err != nil {
		t.Fatalf("kfm execution harness: %v", err)
	}
	data, err := json.MarshalIndent(observed, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func kfmEnvSeconds(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v > 0 {
		return v
	}
	return def
}

func kfmRun(t *testing.T, wfPath, scenarioPath string) (*kfmObserved, error) {
	var scenario kfmScenario
	raw, err := os.ReadFile(scenarioPath)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &scenario); err != nil {
		return nil, fmt.Errorf("%s: %w", scenarioPath, err)
	}
	docs, err := kfmReadDocs(wfPath)
	if err != nil {
		return nil, err
	}

	// The controller's own logs only at error level: the harness's log is in observed.json.
	ctx := logging.WithLogger(t.Context(), logging.NewSlogLogger(logging.Error, logging.Text))

	var (
		cron       *wfv1.CronWorkflow
		tmpl       *wfv1.WorkflowTemplate
		configMaps []*apiv1.ConfigMap
		options    []interface{}
	)
	for _, doc := range docs {
		var head metav1.TypeMeta
		_ = json.Unmarshal(doc, &head)
		switch head.Kind {
		case "CronWorkflow":
			cron = &wfv1.CronWorkflow{}
			err = json.Unmarshal(doc, cron)
		case "WorkflowTemplate":
			tmpl = &wfv1.WorkflowTemplate{}
			err = json.Unmarshal(doc, tmpl)
			options = append(options, tmpl)
		case "ServiceAccount":
			sa := &apiv1.ServiceAccount{}
			err = json.Unmarshal(doc, sa)
			options = append(options, sa)
		case "ConfigMap":
			cm := &apiv1.ConfigMap{}
			err = json.Unmarshal(doc, cm)
			configMaps = append(configMaps, cm)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", wfPath, head.Kind, err)
		}
	}
	for _, o := range options {
		if m, ok := o.(metav1.Object); ok && m.GetNamespace() == "" {
			m.SetNamespace(kfmNamespace)
		}
	}
	for _, cm := range configMaps {
		if cm.Namespace == "" {
			cm.Namespace = kfmNamespace
		}
	}
	var spec *wfv1.WorkflowSpec
	switch {
	case cron != nil:
		spec = &cron.Spec.WorkflowSpec
	case tmpl != nil:
		spec = &tmpl.Spec
	default:
		return nil, fmt.Errorf("%s holds no CronWorkflow or WorkflowTemplate", wfPath)
	}

	// Spec names of the templates (the annotation when the Kubernetes name differs).
	specName := map[string]string{}
	for _, tp := range spec.Templates {
		if strings.HasPrefix(tp.Name, kfmReservedPrefix) {
			continue
		}
		name := tp.Name
		if v := tp.Metadata.Annotations[kfmSpecNameKey]; v != "" {
			name = v
		}
		specName[tp.Name] = name
	}
	// Images without a command: listed in the controller's `images` config (as the
	// emissary executor's docs ask of a cluster that cannot reach the registry).
	images := map[string]config.Image{}
	for _, tp := range spec.Templates {
		if tp.Container != nil && len(tp.Container.Command) == 0 {
			images[tp.Container.Image] = config.Image{Entrypoint: []string{kfmImageEntrypoint}}
		}
	}
	options = append(options, func(wfc *WorkflowController) {
		for k, v := range images {
			wfc.Config.Images[k] = v
		}
	})

	cancel, controller := newController(ctx, options...)
	defer cancel()
	for _, cm := range configMaps {
		if _, err := controller.kubeclientset.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}

	dates := scenario.Runs
	if len(dates) == 0 {
		dates = []string{scenario.LogicalDate}
	}
	wfIf := controller.wfclientset.ArgoprojV1alpha1().Workflows(kfmNamespace)
	var names []string
	t0 := time.Now()
	since := func(at time.Time) float64 { return at.Sub(t0).Seconds() }
	obs := &kfmObserved{Engine: "argo v4.0.7 operator", Jobs: map[string]string{}, Attempts: []kfmAttempt{}, Notifications: []kfmNotification{}, Log: []string{}}
	logf := func(format string, args ...interface{}) {
		obs.Log = append(obs.Log, fmt.Sprintf("%6.2f ", since(time.Now()))+fmt.Sprintf(format, args...))
	}
	for i, date := range dates {
		at, err := time.Parse(time.RFC3339, date)
		if err != nil {
			return nil, fmt.Errorf("logical date %q: %w", date, err)
		}
		var wf *wfv1.Workflow
		name := fmt.Sprintf("kfm-run-%d", i+1)
		if cron != nil {
			// What the CronWorkflow controller does for a slot (workflow/cron/operator.go
			// run -> ConvertCronWorkflowToWorkflowWithProperties): the slot is the
			// `workflows.argoproj.io/scheduled-time` annotation, `workflow.scheduledTime`.
			wf = common.ConvertCronWorkflowToWorkflowWithProperties(ctx, cron, name, at)
		} else {
			// What `argo submit --from workflowtemplate/<name> -p logical-date=<date>` sends.
			wf = common.NewWorkflowFromWorkflowTemplate(tmpl.Name, false)
			wf.GenerateName = ""
			wf.Name = name
			if err := util.ApplySubmitOpts(wf, &wfv1.SubmitOpts{Parameters: []string{kfmDateParameter + "=" + date}}); err != nil {
				return nil, err
			}
		}
		wf.Namespace = kfmNamespace
		if _, err := wfIf.Create(ctx, wf, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
		names = append(names, name)
		obs.Runs = append(obs.Runs, kfmRunObserved{LogicalDate: date, StartedAt: -1, EndedAt: -1})
	}

	pods := map[string]*kfmPod{}
	decided := map[string]bool{}
	tick := time.Duration(kfmEnvSeconds("KFM_EXEC_TICK_SECONDS", 0.1) * float64(time.Second))
	limit := time.Duration(kfmEnvSeconds("KFM_EXEC_LIMIT_SECONDS", 120) * float64(time.Second))
	quiet := time.Duration(kfmEnvSeconds("KFM_EXEC_QUIET_SECONDS", 4) * float64(time.Second))
	lastChange := time.Now()
	lastState := ""

	for {
		now := time.Now()
		allDone := true
		state := ""
		var nextTimer *time.Time
		timer := func(at time.Time) {
			if at.After(now) && (nextTimer == nil || at.Before(*nextTimer)) {
				nextTimer = &at
			}
		}
		for ri, name := range names {
			wf, err := wfIf.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			if !wf.Status.Phase.Completed() {
				woc := newWorkflowOperationCtx(ctx, wf, controller)
				began := time.Now()
				woc.operate(ctx)
				if os.Getenv("KFM_EXEC_DEBUG") != "" {
					logf("operate %s took %s", name, time.Since(began))
				}
				if wf, err = wfIf.Get(ctx, name, metav1.GetOptions{}); err != nil {
					return nil, err
				}
			}
			run := &obs.Runs[ri]
			if run.StartedAt < 0 && !wf.Status.StartedAt.IsZero() && wf.Status.Phase == wfv1.WorkflowRunning {
				run.StartedAt = since(time.Now())
				logf("run %s started", name)
			}
			if wf.Status.Phase.Completed() && run.EndedAt < 0 {
				run.EndedAt = since(time.Now())
				run.Run = map[bool]string{true: "succeeded", false: "failed"}[wf.Status.Phase == wfv1.WorkflowSucceeded]
				logf("run %s ended %s: %s", name, wf.Status.Phase, wf.Status.Message)
			}
			if !wf.Status.Phase.Completed() {
				allDone = false
			}
			state += string(wf.Status.Phase)
			if d := kfmWorkflowDeadline(wf); d != nil && !wf.Status.Phase.Completed() {
				timer(*d)
			}
			// Gates: a reviewer's decision on each suspend node of a job template.
			for _, id := range kfmSortedKeys(wf.Status.Nodes) {
				node := wf.Status.Nodes[id]
				state += node.ID + string(node.Phase) + node.Message
				if node.Type == wfv1.NodeTypeSuspend && node.Phase == wfv1.NodeRunning {
					tname := util.GetTemplateFromNode(node)
					gate, isGate := specName[tname]
					if !isGate {
						continue
					}
					// A gate left without a decision ends at its suspend.duration.
					tp := kfmTemplate(spec, tname)
					if tp != nil && tp.Suspend != nil && tp.Suspend.Duration != "" {
						if d, err := wfv1.ParseStringToDuration(tp.Suspend.Duration); err == nil {
							timer(node.StartedAt.Add(d))
						}
					}
					if decided[name+"/"+node.ID] {
						continue
					}
					decision := scenario.Gates[gate]
					if decision == "" {
						decision = "approve"
					}
					selector := "displayName=" + node.DisplayName
					switch decision {
					case "approve":
						// `argo resume <run> --node-field-selector displayName=<gate>`
						err = util.ResumeWorkflow(ctx, wfIf, controller.hydrator, name, selector)
					case "reject":
						// `argo stop <run> --node-field-selector displayName=<gate>`
						err = util.StopWorkflow(ctx, wfIf, controller.hydrator, name, selector, "rejected")
					}
					if err != nil {
						return nil, fmt.Errorf("gate %s: %s: %w", gate, decision, err)
					}
					decided[name+"/"+node.ID] = true
					logf("gate %s: %s", gate, decision)
				}
				if strings.HasPrefix(node.Message, "Backoff for") {
					// processNodeRetries requeues the node after its backoff; the
					// harness only needs to know something is still due.
					timer(now.Add(quiet))
				}
			}
			if err := kfmKubelet(ctx, controller, wf, ri, pods, specName, scenario, since, logf, timer); err != nil {
				return nil, err
			}
		}
		for _, name := range kfmSortedKeys(pods) {
			state += name + fmt.Sprint(pods[name].done)
		}
		if allDone {
			break
		}
		if state != lastState {
			lastState = state
			lastChange = time.Now()
		}
		if time.Since(t0) > limit {
			obs.Unfinished = fmt.Sprintf("the run had not ended %s after it started", limit)
			break
		}
		if nextTimer == nil && time.Since(lastChange) > quiet {
			obs.Unfinished = fmt.Sprintf("nothing changed for %s and nothing is due (Argo's phase %s)", quiet, lastPhase(ctx, wfIf, names[0]))
			break
		}
		time.Sleep(tick)
	}

	// The first run is the one reported.
	wf, err := wfIf.Get(ctx, names[0], metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	switch wf.Status.Phase {
	case wfv1.WorkflowSucceeded:
		obs.Run = "succeeded"
	case wfv1.WorkflowFailed, wfv1.WorkflowError:
		obs.Run = "failed"
	default:
		obs.Run = "failed"
	}
	for tname, name := range specName {
		obs.Jobs[name] = "not-run"
		for _, node := range wf.Status.Nodes {
			if util.GetTemplateFromNode(node) != tname || strings.Contains(node.DisplayName, "(") || node.Type == wfv1.NodeTypePod && node.BoundaryID == "" {
				continue
			}
			if node.Type != wfv1.NodeTypeRetry && node.Type != wfv1.NodeTypeSuspend && node.Type != wfv1.NodeTypePod {
				continue
			}
			switch node.Phase {
			case wfv1.NodeSucceeded:
				obs.Jobs[name] = "succeeded"
			case wfv1.NodeFailed, wfv1.NodeError:
				obs.Jobs[name] = "failed"
			default:
				obs.Jobs[name] = "not-run"
			}
			logf("job %s: node %s %s %s", name, node.DisplayName, node.Phase, node.Message)
		}
	}
	end := since(time.Now())
	for _, p := range podsInOrder(pods) {
		if p.run != 0 {
			continue
		}
		if p.notify >= 0 {
			if p.done {
				obs.Notifications = append(obs.Notifications, kfmNotification{Index: p.notify, FailedJobs: kfmFailedJobs(p.failedTxt)})
			}
			continue
		}
		a := *p.attempt
		if !p.done {
			a.EndedAt = end
			if p.started.IsZero() {
				a.End = "did-not-start"
			} else {
				a.End = "timed-out"
			}
		}
		obs.Attempts = append(obs.Attempts, a)
	}
	return obs, nil
}

func lastPhase(ctx context.Context, wfIf interface {
	Get(context.Context, string, metav1.GetOptions) (*wfv1.Workflow, error)
}, name string) string {
	wf, err := wfIf.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	return string(wf.Status.Phase)
}

// kfmSortedKeys: a map's keys in order (the harness's idea of "nothing changed" must not
// depend on Go's map order).
func kfmSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func podsInOrder(pods map[string]*kfmPod) []*kfmPod {
	out := make([]*kfmPod, 0, len(pods))
	for _, p := range pods {
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ai, aj := out[i].attempt, out[j].attempt
		if ai == nil || aj == nil {
			return ai != nil && aj == nil
		}
		if ai.StartedAt != aj.StartedAt {
			return ai.StartedAt < aj.StartedAt
		}
		return ai.Job < aj.Job
	})
	return out
}

// kfmFailedJobs reads the failed jobs the notification's text names (KFM_NOTIFY_FAILED:
// spec names separated by white space), sorted.
func kfmFailedJobs(text string) []string {
	out := strings.Fields(text)
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func kfmTemplate(spec *wfv1.WorkflowSpec, name string) *wfv1.Template {
	for i := range spec.Templates {
		if spec.Templates[i].Name == name {
			return &spec.Templates[i]
		}
	}
	return nil
}

// The controller's workflow deadline (getWorkflowDeadline: startedAt truncated to the second).
func kfmWorkflowDeadline(wf *wfv1.Workflow) *time.Time {
	if wf.Spec.ActiveDeadlineSeconds == nil && (wf.Status.StoredWorkflowSpec == nil || wf.Status.StoredWorkflowSpec.ActiveDeadlineSeconds == nil) {
		return nil
	}
	if wf.Status.StartedAt.IsZero() {
		return nil
	}
	ads := wf.Spec.ActiveDeadlineSeconds
	if ads == nil {
		ads = wf.Status.StoredWorkflowSpec.ActiveDeadlineSeconds
	}
	d := wf.Status.StartedAt.Truncate(time.Second).Add(time.Duration(*ads) * time.Second)
	return &d
}

// kfmKubelet plays the kubelet and the executor for every pod of one run: a new pod
// starts (Running) or stays Pending (no-start); a started pod ends per the scenario
// (Succeeded, or Failed with the main container's exit code), or, when it hangs, when
// its activeDeadlineSeconds has passed since it started (the kubelet's
// DeadlineExceeded) or when the controller has failed its node (the workflow's
// deadline: the controller then terminates the pod's containers).
func kfmKubelet(ctx context.Context, controller *WorkflowController, wf *wfv1.Workflow, run int, pods map[string]*kfmPod, specName map[string]string,
	scenario kfmScenario, since func(time.Time) float64, logf func(string, ...interface{}), timer func(time.Time)) error {
	podIf := controller.kubeclientset.CoreV1().Pods(wf.Namespace)
	list, err := podIf.List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	store := controller.PodController.TestingPodInformer().GetStore()
	for i := range list.Items {
		pod := list.Items[i]
		if pod.Labels[common.LabelKeyWorkflow] != wf.Name {
			continue
		}
		nodeID := pod.Annotations[common.AnnotationKeyNodeID]
		node, nodeErr := wf.Status.Nodes.Get(nodeID)
		p := pods[pod.Name]
		now := time.Now()
		changed := false
		if p == nil {
			if nodeErr != nil {
				continue
			}
			p = &kfmPod{run: run, notify: -1}
			pods[pod.Name] = p
			main := kfmMain(&pod)
			if main == nil {
				return fmt.Errorf("pod %s has no main container", pod.Name)
			}
			tname := util.GetTemplateFromNode(*node)
			if strings.HasPrefix(tname, kfmNotifyPrefix) {
				n, _ := strconv.Atoi(strings.TrimPrefix(tname, kfmNotifyPrefix))
				p.notify = n - 1
				p.outcome = "succeed"
				for _, e := range main.Env {
					if e.Name == kfmNotifyFailed {
						p.failedTxt = e.Value
					}
				}
				logf("notification %d: %s=%q", n, kfmNotifyFailed, p.failedTxt)
			} else {
				env := map[string]string{}
				for _, e := range main.Env {
					// The executor's own variables (ARGO_*) are Argo's plumbing, not the
					// job's; secrets (valueFrom) are not recorded.
					if e.ValueFrom != nil || strings.HasPrefix(e.Name, "ARGO_") {
						continue
					}
					env[e.Name] = e.Value
				}
				job := env[kfmJobEnv]
				if job == "" {
					job = specName[tname]
				}
				attempt, err := strconv.Atoi(env[kfmAttemptEnv])
				if err != nil {
					return fmt.Errorf("pod %s: %s=%q is not a number", pod.Name, kfmAttemptEnv, env[kfmAttemptEnv])
				}
				command, args := kfmCommand(main)
				p.attempt = &kfmAttempt{Job: job, Attempt: attempt, StartedAt: since(now), Env: env, Command: command, Args: args}
				p.outcome = "succeed"
				if outs := scenario.Attempts[job]; attempt >= 1 && attempt <= len(outs) {
					p.outcome = outs[attempt-1]
				}
				deadline := "none"
				if d := kfmDeadline(&pod); d != nil {
					deadline = fmt.Sprintf("%ds", *d)
				}
				logf("pod %s: job %s attempt %d: %s (activeDeadlineSeconds %s)", pod.Name, job, attempt, p.outcome, deadline)
			}
			if p.outcome == "no-start" {
				// No node takes it: Pending, PodScheduled False / Unschedulable.
				pod.Status.Phase = apiv1.PodPending
				pod.Status.Conditions = []apiv1.PodCondition{{Type: apiv1.PodScheduled, Status: apiv1.ConditionFalse, Reason: apiv1.PodReasonUnschedulable, Message: "0/1 nodes are available"}}
			} else {
				p.started = now
				pod.Status.Phase = apiv1.PodRunning
				pod.Status.StartTime = &metav1.Time{Time: now}
				pod.Status.ContainerStatuses = kfmStatuses(&pod, func(string) apiv1.ContainerState {
					return apiv1.ContainerState{Running: &apiv1.ContainerStateRunning{StartedAt: metav1.Time{Time: now}}}
				})
			}
			changed = true
		} else if !p.done {
			exit := int32(-1)
			reason, message := "", ""
			var end string
			fulfilled := nodeErr == nil && node.Fulfilled()
			switch {
			case p.started.IsZero():
				if fulfilled {
					// The controller gave up on it (the workflow's deadline): it deletes
					// a Pending pod's containers; the attempt never started.
					end = "did-not-start"
					exit = 143
				}
			case p.outcome == "succeed":
				exit, end = 0, "succeeded"
			case strings.HasPrefix(p.outcome, "fail:"):
				n, _ := strconv.Atoi(strings.TrimPrefix(p.outcome, "fail:"))
				exit, end = int32(n), "failed"
			default: // hang
				if d := kfmDeadline(&pod); d != nil {
					at := p.started.Add(time.Duration(*d) * time.Second)
					timer(at)
					if !now.Before(at) {
						// The kubelet's activeDeadlineSeconds (pkg/kubelet/active_deadline.go):
						// the pod fails with reason DeadlineExceeded; its containers are killed.
						exit, end = 137, "timed-out"
						reason, message = "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
					}
				}
				if end == "" && fulfilled {
					// The controller failed the node (workflow deadline) and terminates the containers.
					exit, end = 143, "timed-out"
				}
			}
			if end != "" {
				p.done = true
				if p.attempt != nil {
					p.attempt.EndedAt = since(now)
					p.attempt.End = end
				}
				pod.Status.Reason, pod.Status.Message = reason, message
				pod.Status.Phase = apiv1.PodSucceeded
				if exit != 0 {
					pod.Status.Phase = apiv1.PodFailed
				}
				pod.Status.ContainerStatuses = kfmStatuses(&pod, func(name string) apiv1.ContainerState {
					code := int32(0)
					r := "Completed"
					if name == common.MainContainerName && exit != 0 {
						code, r = exit, "Error"
					}
					return apiv1.ContainerState{Terminated: &apiv1.ContainerStateTerminated{ExitCode: code, Reason: r, StartedAt: metav1.Time{Time: p.started}, FinishedAt: metav1.Time{Time: now}}}
				})
				changed = true
				// The wait container reports the pod's outputs (none here) as a
				// WorkflowTaskResult marked complete (executor ReportOutputs).
				if err := kfmTaskResult(ctx, controller, wf, nodeID); err != nil {
					return err
				}
				logf("pod %s ended: %s (exit %d) %s", pod.Name, end, exit, message)
			}
		}
		if changed {
			updated, err := podIf.UpdateStatus(ctx, &pod, metav1.UpdateOptions{})
			if err != nil {
				return err
			}
			if err := store.Update(updated); err != nil {
				return err
			}
		}
	}
	return nil
}

func kfmTaskResult(ctx context.Context, controller *WorkflowController, wf *wfv1.Workflow, nodeID string) error {
	result := &wfv1.WorkflowTaskResult{
		ObjectMeta: metav1.ObjectMeta{
			Name:      nodeID,
			Namespace: wf.Namespace,
			Labels: map[string]string{
				common.LabelKeyWorkflow:               wf.Name,
				common.LabelKeyReportOutputsCompleted: "true",
			},
		},
		NodeResult: wfv1.NodeResult{Outputs: &wfv1.Outputs{}},
	}
	created, err := controller.wfclientset.ArgoprojV1alpha1().WorkflowTaskResults(wf.Namespace).Create(ctx, result, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	// Straight into the informer's store, as the package's own tests do with pods.
	return controller.taskResultInformer.GetStore().Add(created)
}

func kfmDeadline(pod *apiv1.Pod) *int64 { return pod.Spec.ActiveDeadlineSeconds }

func kfmMain(pod *apiv1.Pod) *apiv1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == common.MainContainerName {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

// kfmCommand: the command the user's container runs, as written before the controller
// put the emissary in front of it (`/var/run/argo/argoexec emissary ... --` + command,
// createWorkflowPod), and its args.
func kfmCommand(c *apiv1.Container) ([]string, []string) {
	cmd := c.Command
	for i, s := range cmd {
		if s == "--" {
			cmd = cmd[i+1:]
			break
		}
	}
	args := c.Args
	if args == nil {
		args = []string{}
	}
	if len(cmd) == 1 && cmd[0] == kfmImageEntrypoint {
		return nil, args
	}
	return append([]string{}, cmd...), args
}

func kfmStatuses(pod *apiv1.Pod, state func(name string) apiv1.ContainerState) []apiv1.ContainerStatus {
	var out []apiv1.ContainerStatus
	for _, c := range pod.Spec.Containers {
		out = append(out, apiv1.ContainerStatus{Name: c.Name, Image: c.Image, State: state(c.Name), Ready: state(c.Name).Running != nil})
	}
	return out
}

// kfmReadDocs: every YAML document of the file as JSON (anchors resolved).
func kfmReadDocs(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out [][]byte
	for {
		var obj map[string]interface{}
		if err := dec.Decode(&obj); err != nil {
			if err == io.EOF {
				return out, nil
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if obj == nil {
			continue
		}
		doc, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		out = append(out, doc)
	}
}
