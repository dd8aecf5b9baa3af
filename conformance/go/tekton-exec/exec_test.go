// Package tektonexec runs one kfm-compile Tekton output through Tekton Pipelines' own
// PipelineRun and TaskRun reconcilers, for one scenario of the execution suite (issue 14),
// and writes what the engine did as observed.json (the `Observed` of src/execution.ts).
//
// It is Go test code because Tekton's reconciler test kit takes a *testing.T
// (github.com/tektoncd/pipeline/test SeedTestData, pkg/reconciler/testing SetupFakeContext):
// conformance/setup.sh builds it with `go test -c` into $KFM_CONFORMANCE_CACHE/bin/tekton-exec,
// and the suite runs
//
//	tekton-exec -test.run '^TestExecute$'
//
// with KFM_TEKTON_FILE (the output file: Pipeline, CronJob, accounts; and the output folder's
// shared files, such as StepActions, separated by the OS path list separator), KFM_TEKTON_RUN (the
// manual PipelineRun of the runs folder), KFM_TEKTON_SCENARIO (scenario.json) and
// KFM_TEKTON_OBSERVED (where observed.json goes). conformance/execution/tekton/README.md says
// what is Tekton's here and every place where this differs from a real cluster.
package tektonexec

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	ktesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	cminformer "knative.dev/pkg/configmap/informer"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/reconciler"
	"knative.dev/pkg/system"
	_ "knative.dev/pkg/system/testing" // sets system.Namespace(), as Tekton's own reconciler tests do
	"sigs.k8s.io/yaml"

	"github.com/tektoncd/pipeline/pkg/apis/config"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"
	_ "github.com/tektoncd/pipeline/pkg/pipelinerunmetrics/fake" // as the reconciler tests: metrics recorders in the fake context
	"github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun"
	"github.com/tektoncd/pipeline/pkg/reconciler/taskrun"
	ttesting "github.com/tektoncd/pipeline/pkg/reconciler/testing"
	"github.com/tektoncd/pipeline/pkg/result"
	_ "github.com/tektoncd/pipeline/pkg/taskrunmetrics/fake"
	"github.com/tektoncd/pipeline/test"
)

const (
	namespace = "kfm-exec"
	runName   = "run"
	// The user's step: kfm-compile names the job's own step `job` (targets/tekton/README.md, Names).
	jobStep = "step-job"
	// Where a step without a command gets its stub (see README: Tekton would look the image's
	// ENTRYPOINT up in a registry, pkg/pod/entrypoint_lookup.go, which is offline here).
	stubEntrypoint = "/kfm-exec/image-entrypoint"
	// How long a stub attempt that ends by itself runs, on the fake clock: no time, as on the
	// reference interpreter's virtual clock (src/interpret.ts interpretTimed), so the
	// engine's times compare with the expected timeline exactly.
	attemptSeconds = 0
	// How long the harness lets the fake clock run before it gives up on a run that never ends.
	horizon = 7 * 24 * time.Hour
)

// tektonVersion is set at build time (conformance/setup.sh: -ldflags -X from versions.env);
// a test binary carries no module build information.
var tektonVersion = "(unknown version)"

// The run starts here on the fake clock (any instant; times are reported from it).
var start = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// ---- the vocabulary of src/execution.ts ----

type scenario struct {
	Name        string              `json:"name"`
	LogicalDate string              `json:"logicalDate"`
	Attempts    map[string][]string `json:"attempts"`
	Gates       map[string]string   `json:"gates"`
}

type observedAttempt struct {
	Job       string            `json:"job"`
	Attempt   int               `json:"attempt"`
	StartedAt float64           `json:"startedAt"`
	EndedAt   float64           `json:"endedAt"`
	End       string            `json:"end"`
	Env       map[string]string `json:"env"`
	Command   []string          `json:"command"`
	Args      []string          `json:"args"`
}

type notification struct {
	Index      int      `json:"index"`
	FailedJobs []string `json:"failedJobs"`
}

type observed struct {
	Engine        string            `json:"engine"`
	Run           string            `json:"run"`
	Jobs          map[string]string `json:"jobs"`
	Attempts      []observedAttempt `json:"attempts"`
	Notifications []notification    `json:"notifications"`
}

// ---- the harness ----

type harness struct {
	t     *testing.T
	ctx   context.Context
	clk   *clocktesting.FakeClock
	c     test.Clients
	inf   test.Informers
	prCtl *controller.Impl
	trCtl *controller.Impl
	sc    scenario

	pipeline *v1.Pipeline
	// spec name of each pipeline task (its displayName; kfm- helpers keep their task name)
	specName map[string]string
	// pods started so far, by name
	pods map[string]*podRun
	// CustomRuns decided or scheduled, by name
	gates map[string]*gateRun
	tmp   string
	bin   string
	obs   observed
	// max_active_runs: the run file's starter Job's container, which starts the pending run
	// (targets/tekton/README.md, Concurrency), and the stand-in kubectl's folder.
	starterJob *corev1.Container
	state      string
	// every attempt of the user's step, in the order they started
	attempts []*observedAttempt
}

type podRun struct {
	name     string
	task     string // pipeline task
	taskRun  string
	finishAt *time.Time // nil: never ends by itself (a hanging step, a pod that cannot start)
	status   corev1.PodStatus
	attempt  *observedAttempt // the user's step, if it started
	retry    int              // len(retriesStatus) of its TaskRun when it was created
	done     bool
	wakeAt   *time.Time // when Tekton should look again (image pull back-off bound)
}

type gateRun struct {
	decideAt *time.Time
	ok       bool
	reason   string
	message  string
	done     bool
}

func TestExecute(t *testing.T) {
	file, runFile := os.Getenv("KFM_TEKTON_FILE"), os.Getenv("KFM_TEKTON_RUN")
	scFile, out := os.Getenv("KFM_TEKTON_SCENARIO"), os.Getenv("KFM_TEKTON_OBSERVED")
	if file == "" || runFile == "" || scFile == "" || out == "" {
		t.Skip("set KFM_TEKTON_FILE, KFM_TEKTON_RUN, KFM_TEKTON_SCENARIO and KFM_TEKTON_OBSERVED")
	}
	h := &harness{t: t, pods: map[string]*podRun{}, gates: map[string]*gateRun{}, specName: map[string]string{}}
	raw, err := os.ReadFile(scFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &h.sc); err != nil {
		t.Fatalf("%s: %v", scFile, err)
	}
	h.tmp = t.TempDir()
	h.setup(filepath.SplitList(file), runFile)
	h.startQueued()
	h.loop()
	h.report()
	data, err := json.MarshalIndent(h.obs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// docs reads every YAML document of a file (sigs.k8s.io/yaml, as kubectl reads it: anchors expanded).
func docs(t *testing.T, path string) [][]byte {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, doc)
	}
}

func (h *harness) setup(files []string, runFile string) {
	t := h.t
	var d test.Data
	// The objects an admission webhook would accept: strictly decoded, defaulted, validated
	// (Tekton's own SetDefaults and Validate, as tekton-check does).
	admit := apis.WithinCreate(config.ToContext(context.Background(), config.FromContextOrDefaults(context.Background())))
	var all [][]byte
	for _, f := range files {
		all = append(all, docs(t, f)...)
	}
	for _, doc := range all {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatal(err)
		}
		switch tm.Kind {
		case "Pipeline":
			p := admitDoc[v1.Pipeline](t, admit, tm.Kind, doc)
			if h.pipeline != nil {
				t.Fatalf("more than one Pipeline in %v", files)
			}
			stubCommands(p.Spec.Tasks)
			stubCommands(p.Spec.Finally)
			h.pipeline = p
			d.Pipelines = append(d.Pipelines, p)
		case "Task":
			d.Tasks = append(d.Tasks, admitDoc[v1.Task](t, admit, tm.Kind, doc))
		case "StepAction":
			d.StepActions = append(d.StepActions, admitDoc[v1beta1.StepAction](t, admit, tm.Kind, doc))
		}
	}
	if h.pipeline == nil {
		t.Fatalf("%v hold no Pipeline", files)
	}
	for _, pt := range append(append([]v1.PipelineTask{}, h.pipeline.Spec.Tasks...), h.pipeline.Spec.Finally...) {
		name := pt.Name
		if !strings.HasPrefix(pt.Name, "kfm-") && pt.DisplayName != "" {
			name = pt.DisplayName
		}
		h.specName[pt.Name] = name
	}
	var pr *v1.PipelineRun
	for _, doc := range docs(t, runFile) {
		var tm metav1.TypeMeta
		_ = yaml.Unmarshal(doc, &tm)
		if tm.Kind == "Job" {
			job := &batchv1.Job{}
			if err := yaml.UnmarshalStrict(doc, job); err != nil {
				t.Fatalf("Job: %v", err)
			}
			if len(job.Spec.Template.Spec.Containers) != 1 {
				t.Fatalf("%s: the starter Job runs %d containers", runFile, len(job.Spec.Template.Spec.Containers))
			}
			h.starterJob = &job.Spec.Template.Spec.Containers[0]
			continue
		}
		if tm.Kind != "PipelineRun" {
			continue
		}
		pr = &v1.PipelineRun{}
		if err := yaml.UnmarshalStrict(doc, pr); err != nil {
			t.Fatalf("PipelineRun: %v", err)
		}
	}
	if pr == nil {
		t.Fatalf("%s holds no PipelineRun", runFile)
	}
	// What the user does before `kubectl create -f` (targets/tekton/README.md, Output): write the
	// logical date and, for a gate, the approvers (the gate controller needs one).
	pr.GenerateName, pr.Name, pr.Namespace = "", runName, namespace
	for i := range pr.Spec.Params {
		switch pr.Spec.Params[i].Name {
		case "logical-date":
			pr.Spec.Params[i].Value = *v1.NewStructuredValues(h.sc.LogicalDate)
		case "approvers":
			if len(pr.Spec.Params[i].Value.ArrayVal) == 0 {
				pr.Spec.Params[i].Value = v1.ParamValue{Type: v1.ParamTypeArray, ArrayVal: []string{"reviewer"}}
			}
		}
	}
	pr.SetDefaults(admit)
	if fe := pr.Validate(admit); fe != nil {
		t.Fatalf("PipelineRun: %v", fe)
	}
	pr.CreationTimestamp = metav1.Time{Time: start}
	d.PipelineRuns = []*v1.PipelineRun{pr}
	// The namespace's accounts the TaskRun pods run as (Tekton's default-service-account, or the
	// taskServiceAccount option's).
	accounts := map[string]bool{"default": true}
	if pr.Spec.TaskRunTemplate.ServiceAccountName != "" {
		accounts[pr.Spec.TaskRunTemplate.ServiceAccountName] = true
	}
	for _, trs := range pr.Spec.TaskRunSpecs {
		if trs.ServiceAccountName != "" {
			accounts[trs.ServiceAccountName] = true
		}
	}
	for name := range accounts {
		d.ServiceAccounts = append(d.ServiceAccounts, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}})
	}
	// config-defaults as the target's README asks (Pod-start bound: default-imagepullbackoff-timeout 10m).
	d.ConfigMaps = append(d.ConfigMaps, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: config.GetDefaultsConfigName(), Namespace: system.Namespace()},
		Data:       map[string]string{"default-imagepullbackoff-timeout": "10m"},
	})

	// The controllers exactly as Tekton's reconciler tests build them
	// (pkg/reconciler/pipelinerun/pipelinerun_test.go initializePipelineRunControllerAssets,
	// pkg/reconciler/taskrun/taskrun_test.go initializeTaskRunControllerAssets), sharing one
	// fake API server and one fake clock.
	ctx, _ := ttesting.SetupFakeContext(t)
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	test.EnsureConfigurationConfigMapsExist(&d)
	h.c, h.inf = test.SeedTestData(t, ctx, d)
	cmw := cminformer.NewInformedWatcher(h.c.Kube, system.Namespace())
	h.clk = clocktesting.NewFakeClock(start)
	// The API server stamps every object it creates (the fake clients do not); Tekton reads
	// the stamps (the run's start is adjusted to its oldest child's creation,
	// pkg/reconciler/pipelinerun/resources/pipelinerunstate.go AdjustStartTime).
	stamp := func(action ktesting.Action) (bool, runtime.Object, error) {
		if ca, ok := action.(ktesting.CreateAction); ok {
			if m, err := meta.Accessor(ca.GetObject()); err == nil && m.GetCreationTimestamp().Time.IsZero() {
				m.SetCreationTimestamp(metav1.Time{Time: h.clk.Now()})
			}
		}
		return false, nil, nil
	}
	h.c.Pipeline.PrependReactor("create", "*", stamp)
	h.c.Kube.PrependReactor("create", "*", stamp)
	opts := &pipeline.Options{Images: pipeline.Images{EntrypointImage: "tekton-entrypoint", NopImage: "tekton-nop", ShellImage: "busybox"}}
	h.prCtl = pipelinerun.NewController(opts, h.clk)(ctx, cmw)
	h.trCtl = taskrun.NewController(opts, h.clk)(ctx, cmw)
	for _, ctl := range []*controller.Impl{h.prCtl, h.trCtl} {
		if la, ok := ctl.Reconciler.(reconciler.LeaderAware); ok {
			if err := la.Promote(reconciler.UniversalBucket(), func(reconciler.Bucket, types.NamespacedName) {}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := cmw.Start(ctx.Done()); err != nil {
		t.Fatal(err)
	}
	h.ctx = ctx

	// Stand-ins on PATH for the helper scripts: `sleep` advances the fake clock instead of
	// waiting, `curl` accepts the notification.
	h.bin = filepath.Join(h.tmp, "bin")
	must(t, os.MkdirAll(h.bin, 0o755))
	must(t, os.WriteFile(filepath.Join(h.bin, "sleep"), []byte("#!/bin/sh\nprintf '%s\\n' \"$1\" >> \"$KFM_EXEC_SLEEPS\"\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(h.bin, "curl"), []byte("#!/bin/sh\ncat > /dev/null\nexit 0\n"), 0o755))
	// `kubectl` for the run starter (max_active_runs): the fake API server's PipelineRuns as
	// the harness wrote them before the step, the patches that start one recorded for the
	// harness to apply after it, the Lease kept in a file (one starter at a time here).
	h.state = filepath.Join(h.tmp, "state")
	must(t, os.MkdirAll(h.state, 0o755))
	must(t, os.WriteFile(filepath.Join(h.bin, "kubectl"), []byte(standInKubectl), 0o755))
}

// standInKubectl answers exactly the calls of the run starter's script (targets/tekton/emit.ts
// STARTER_SCRIPT); any other call fails, so a changed script shows here.
const standInKubectl = `#!/bin/bash
set -u
lease="$KFM_EXEC_STATE/lease.json"
case "$1 $2" in
  "create --namespace")
    if [[ -e $lease ]]; then echo 'Error from server (AlreadyExists): leases.coordination.k8s.io "lease" already exists' >&2; exit 1; fi
    cat > "$lease" ;;
  "get lease") cat "$lease" ;;
  "replace --namespace") cat > "$lease" ;;
  "get pipelineruns") cat "$KFM_EXEC_STATE/runs.json" ;;
  "patch pipelinerun") printf '%s\n' "$3" >> "$KFM_EXEC_STATE/started"; echo "pipelinerun.tekton.dev/$3 patched" ;;
  *) echo "kubectl stand-in: unexpected call: $*" >&2; exit 1 ;;
esac
`

// writeRuns puts the fake API server's PipelineRuns where the stand-in kubectl reads them.
func (h *harness) writeRuns() {
	prs, err := h.c.Pipeline.TektonV1().PipelineRuns(namespace).List(h.ctx, metav1.ListOptions{})
	must(h.t, err)
	data, err := json.Marshal(map[string]any{"items": prs.Items})
	must(h.t, err)
	must(h.t, os.WriteFile(filepath.Join(h.state, "runs.json"), data, 0o644))
}

// applyStarted does what the starter's JSON patches do on an API server: the runs it named
// lose spec.status PipelineRunPending (the patch's `test` op: only a run still pending).
func (h *harness) applyStarted() {
	path := filepath.Join(h.state, "started")
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	must(h.t, err)
	must(h.t, os.Remove(path))
	for _, name := range strings.Fields(string(raw)) {
		pr, err := h.c.Pipeline.TektonV1().PipelineRuns(namespace).Get(h.ctx, name, metav1.GetOptions{})
		must(h.t, err)
		if pr.Spec.Status != v1.PipelineRunSpecStatusPending {
			continue
		}
		pr.Spec.Status = ""
		_, err = h.c.Pipeline.TektonV1().PipelineRuns(namespace).Update(h.ctx, pr, metav1.UpdateOptions{})
		must(h.t, err)
	}
}

// startQueued: a run created pending (max_active_runs) is started by the run file's starter
// Job, run here for real (bash, jq, the stand-in kubectl) as `kubectl create -f` of the file
// would run it after creating the run.
func (h *harness) startQueued() {
	pr, err := h.c.Pipeline.TektonV1().PipelineRuns(namespace).Get(h.ctx, runName, metav1.GetOptions{})
	must(h.t, err)
	if !pr.IsPending() {
		return
	}
	c := h.starterJob
	if c == nil {
		// Nothing starts it: Tekton's reconciler leaves it pending, and the loop reports a run
		// that never ends (the sabotage test of the execution suite).
		return
	}
	all := map[string]string{}
	env := []string{"PATH=" + h.bin + ":/usr/local/bin:/usr/bin:/bin", "HOME=" + h.tmp, "KFM_EXEC_STATE=" + h.state, "KFM_EXEC_SLEEPS=" + filepath.Join(h.tmp, "sleeps-starter-job")}
	for _, e := range c.Env {
		v := expand(e.Value, all)
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace" {
			v = namespace
		}
		all[e.Name] = v
		env = append(env, e.Name+"="+v)
	}
	argv := make([]string, len(c.Command))
	for i, a := range c.Command {
		argv[i] = expand(a, all)
	}
	if len(argv) != 3 || argv[0] != "/bin/bash" {
		h.t.Fatalf("the starter Job runs %q, not a bash script", argv)
	}
	h.writeRuns()
	cmd := exec.Command("/bin/bash", argv[1:]...)
	cmd.Env, cmd.Dir = env, h.tmp
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.t.Fatalf("the starter Job failed: %v\n%s", err, out)
	}
	h.applyStarted()
	pr, err = h.c.Pipeline.TektonV1().PipelineRuns(namespace).Get(h.ctx, runName, metav1.GetOptions{})
	must(h.t, err)
	if pr.IsPending() {
		h.t.Fatalf("the starter Job did not start the only run:\n%s", out)
	}
}

// tektonObject: what the admission webhook does to a Tekton object, the harness does too.
type tektonObject interface {
	metav1.Object
	SetDefaults(context.Context)
	Validate(context.Context) *apis.FieldError
}

// admitDoc decodes one document strictly, puts it in the run's namespace, and defaults and
// validates it within create, as Tekton's webhook would (tekton-check does the same).
func admitDoc[T any, P interface {
	*T
	tektonObject
}](t *testing.T, ctx context.Context, kind string, doc []byte) P {
	obj := P(new(T))
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		t.Fatalf("%s: strict decoding: %v", kind, err)
	}
	obj.SetNamespace(namespace)
	obj.SetDefaults(ctx)
	if fe := obj.Validate(ctx); fe != nil {
		t.Fatalf("%s %s: %v", kind, obj.GetName(), fe)
	}
	return obj
}

// stubCommands gives every step without a command the stub's entrypoint (see stubEntrypoint).
func stubCommands(tasks []v1.PipelineTask) {
	for i := range tasks {
		if tasks[i].TaskSpec == nil {
			continue
		}
		for j := range tasks[i].TaskSpec.Steps {
			s := &tasks[i].TaskSpec.Steps[j]
			if len(s.Command) == 0 && s.Script == "" && s.Ref == nil {
				s.Command = []string{stubEntrypoint}
			}
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (h *harness) since(at time.Time) float64 { return at.Sub(start).Seconds() }

// fingerprint changes whenever any object of the run changes.
func (h *harness) fingerprint() string {
	var b strings.Builder
	pr, err := h.c.Pipeline.TektonV1().PipelineRuns(namespace).Get(h.ctx, runName, metav1.GetOptions{})
	if err == nil {
		b.WriteString(pr.ResourceVersion)
	}
	trs, _ := h.c.Pipeline.TektonV1().TaskRuns(namespace).List(h.ctx, metav1.ListOptions{})
	for _, tr := range trs.Items {
		b.WriteString("|" + tr.Name + tr.ResourceVersion)
	}
	crs, _ := h.c.Pipeline.TektonV1beta1().CustomRuns(namespace).List(h.ctx, metav1.ListOptions{})
	for _, cr := range crs.Items {
		b.WriteString("|" + cr.Name + cr.ResourceVersion)
	}
	pods, _ := h.c.Kube.CoreV1().Pods(namespace).List(h.ctx, metav1.ListOptions{})
	for _, p := range pods.Items {
		b.WriteString("|" + p.Name + string(p.Status.Phase))
	}
	return b.String()
}

// settle reconciles the PipelineRun and every TaskRun until nothing changes, as the
// controllers' work queues would at one instant.
func (h *harness) settle() {
	for i := 0; i < 50; i++ {
		before := h.fingerprint()
		h.reconcile(h.prCtl, namespace+"/"+runName)
		h.syncPatched()
		trs, _ := h.c.Pipeline.TektonV1().TaskRuns(namespace).List(h.ctx, metav1.ListOptions{})
		for _, tr := range trs.Items {
			h.reconcile(h.trCtl, namespace+"/"+tr.Name)
		}
		h.reconcile(h.prCtl, namespace+"/"+runName)
		if h.fingerprint() == before {
			return
		}
	}
}

// syncPatched copies the TaskRuns and CustomRuns from the fake API server into the informers'
// stores the reconcilers read. The fake clients' reactor (tektoncd/pipeline test/controller.go
// AddToInformer) copies creates and updates there but not patches, which a real API server's
// watch delivers; the PipelineRun reconciler patches a TaskRun or CustomRun to cancel it at
// timeouts.tasks (pkg/reconciler/pipelinerun/timeout.go timeoutTaskRun), and the TaskRun
// reconciler must see that to stop it.
func (h *harness) syncPatched() {
	trs, _ := h.c.Pipeline.TektonV1().TaskRuns(namespace).List(h.ctx, metav1.ListOptions{})
	for i := range trs.Items {
		must(h.t, h.inf.TaskRun.Informer().GetIndexer().Update(&trs.Items[i]))
	}
	crs, _ := h.c.Pipeline.TektonV1beta1().CustomRuns(namespace).List(h.ctx, metav1.ListOptions{})
	for i := range crs.Items {
		must(h.t, h.inf.CustomRun.Informer().GetIndexer().Update(&crs.Items[i]))
	}
}

func (h *harness) reconcile(ctl *controller.Impl, key string) {
	err := ctl.Reconciler.Reconcile(h.ctx, key)
	if err == nil {
		return
	}
	if ok, _ := controller.IsRequeueKey(err); ok {
		return
	}
	h.t.Logf("reconcile %s: %v", key, err)
}

func (h *harness) prDone() (*v1.PipelineRun, bool) {
	pr, err := h.c.Pipeline.TektonV1().PipelineRuns(namespace).Get(h.ctx, runName, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return pr, pr.IsDone()
}

func (h *harness) loop() {
	for round := 0; round < 10000; round++ {
		// Everything that happens at this instant: reconcile, start what was created, again.
		for {
			h.settle()
			if h.startPods()+h.startGates() == 0 {
				break
			}
		}
		h.stopped()
		pr, done := h.prDone()
		if done {
			h.endRemaining()
			return
		}
		next := h.nextEvent(pr)
		if next == nil {
			h.t.Fatalf("the run never ends: nothing left to happen at %.0f s and the PipelineRun is %v", h.since(h.clk.Now()), pr.Status.GetCondition(apis.ConditionSucceeded))
		}
		if next.After(h.clk.Now()) {
			h.clk.SetTime(*next)
		}
		h.fire()
	}
	h.t.Fatal("too many rounds")
}

// stopped ends the attempts Tekton ended from outside: a pod that cannot start (failed at
// the image pull bound), a hanging step whose TaskRun was cancelled (the run's timeout).
func (h *harness) stopped() {
	now := h.clk.Now()
	for _, p := range h.pods {
		if p.done {
			continue
		}
		tr, err := h.c.Pipeline.TektonV1().TaskRuns(namespace).Get(h.ctx, p.taskRun, metav1.GetOptions{})
		if err != nil || tr.IsDone() || len(tr.Status.RetriesStatus) > p.retry {
			p.done = true
			h.cut(p, now)
		}
	}
}

// cut: the pod was stopped at `at` (its TaskRun cancelled, or failed from outside). The
// harness played its steps ahead of the clock, so an attempt of the user's step that would
// only have started later never started, and one still running was stopped then.
func (h *harness) cut(p *podRun, at time.Time) {
	a := p.attempt
	if a == nil {
		return
	}
	if a.End != "did-not-start" && a.StartedAt > h.since(at) {
		kept := h.attempts[:0]
		for _, b := range h.attempts {
			if b != a {
				kept = append(kept, b)
			}
		}
		h.attempts = kept
		p.attempt = nil
		return
	}
	if a.EndedAt < 0 || a.EndedAt > h.since(at) {
		a.EndedAt = h.since(at)
		if a.End != "did-not-start" {
			a.End = "timed-out"
		}
	}
}

// nextEvent: the earliest instant something happens: a pod ends, a gate is decided, the
// image pull back-off bound passes, the run's timeout passes.
func (h *harness) nextEvent(pr *v1.PipelineRun) *time.Time {
	var next *time.Time
	consider := func(at *time.Time) {
		if at != nil && (next == nil || at.Before(*next)) {
			v := *at
			next = &v
		}
	}
	for _, p := range h.pods {
		if !p.done {
			consider(p.finishAt)
			consider(p.wakeAt)
		}
	}
	for _, g := range h.gates {
		if !g.done {
			consider(g.decideAt)
		}
	}
	if pr.Status.StartTime != nil && pr.PipelineTimeout(h.ctx) > 0 {
		// HasTimedOut: runtime > timeout (pkg/apis/pipeline/v1/pipelinerun_types.go)
		at := pr.Status.StartTime.Add(pr.PipelineTimeout(h.ctx)).Add(time.Millisecond)
		if at.After(h.clk.Now()) {
			consider(&at)
		}
	}
	// timeouts.tasks (HaveTasksTimedOut, from the run's start) and timeouts.finally
	// (HasFinallyTimedOut, from the first finally task's start), same file.
	if tt := pr.TasksTimeout(); pr.Status.StartTime != nil && tt != nil && tt.Duration > 0 {
		at := pr.Status.StartTime.Add(tt.Duration).Add(time.Millisecond)
		if at.After(h.clk.Now()) {
			consider(&at)
		}
	}
	if ft := pr.FinallyTimeout(); pr.Status.FinallyStartTime != nil && ft != nil && ft.Duration > 0 {
		at := pr.Status.FinallyStartTime.Add(ft.Duration).Add(time.Millisecond)
		if at.After(h.clk.Now()) {
			consider(&at)
		}
	}
	if next != nil && next.Sub(start) > horizon {
		return nil
	}
	return next
}

// fire applies what happens at the current instant.
func (h *harness) fire() {
	now := h.clk.Now()
	for _, p := range h.pods {
		if p.done {
			continue
		}
		if p.wakeAt != nil && !p.wakeAt.After(now) {
			p.wakeAt = nil
		}
		if p.finishAt != nil && !p.finishAt.After(now) {
			h.finishPod(p)
		}
	}
	for name, g := range h.gates {
		if !g.done && g.decideAt != nil && !g.decideAt.After(now) {
			h.decideGate(name, g)
		}
	}
}

// ---- gates: the manual-approval-gate controller's part ----

func (h *harness) startGates() int {
	n := 0
	crs, _ := h.c.Pipeline.TektonV1beta1().CustomRuns(namespace).List(h.ctx, metav1.ListOptions{})
	for i := range crs.Items {
		cr := &crs.Items[i]
		if _, ok := h.gates[cr.Name]; ok {
			continue
		}
		n++
		task := cr.Labels[pipeline.PipelineTaskLabelKey]
		gate := h.specName[task]
		decision := h.sc.Gates[gate]
		now := h.clk.Now()
		g := &gateRun{}
		// openshift-pipelines/manual-approval-gate pkg/reconciler/approvaltask/approvaltask.go:
		// an approval by a listed approver (numberOfApprovalsRequired 1) marks the CustomRun
		// Succeeded; a rejection marks it Failed; no decision by spec.timeout (counted from the
		// ApprovalTask's creation, when the gate is reached) is a rejection, Failed.
		switch decision {
		case "", "approve":
			g.decideAt, g.ok, g.reason, g.message = &now, true, "Approved", "Approval Task has been approved"
		case "reject":
			g.decideAt, g.ok, g.reason, g.message = &now, false, "Rejected", "Approval Task denied"
		case "none":
			if cr.Spec.Timeout != nil && cr.Spec.Timeout.Duration > 0 {
				at := now.Add(cr.Spec.Timeout.Duration)
				g.decideAt = &at
			}
			g.ok, g.reason, g.message = false, "Rejected", "Approval Task failed because of timeout"
		default:
			h.t.Fatalf("gate %s: unknown decision %q", gate, decision)
		}
		h.gates[cr.Name] = g
		cr.Status.StartTime = &metav1.Time{Time: now}
		cr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionUnknown, Reason: "Running"})
		if _, err := h.c.Pipeline.TektonV1beta1().CustomRuns(namespace).UpdateStatus(h.ctx, cr, metav1.UpdateOptions{}); err != nil {
			h.t.Fatal(err)
		}
	}
	h.fire()
	return n
}

func (h *harness) decideGate(name string, g *gateRun) {
	g.done = true
	cr, err := h.c.Pipeline.TektonV1beta1().CustomRuns(namespace).Get(h.ctx, name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	if cr.IsDone() {
		return
	}
	status := corev1.ConditionTrue
	if !g.ok {
		status = corev1.ConditionFalse
	}
	cr.Status.CompletionTime = &metav1.Time{Time: h.clk.Now()}
	cr.Status.Conditions = duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: status, Reason: g.reason, Message: g.message}}
	if _, err := h.c.Pipeline.TektonV1beta1().CustomRuns(namespace).UpdateStatus(h.ctx, cr, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

// ---- pods: the kubelet's and the entrypoint's part ----

// entrypointArgs splits a step container's args as Tekton's entrypoint reads them
// (pkg/pod/entrypoint.go orderContainers writes them; cmd/entrypoint parses them).
type stepCall struct {
	container string
	command   []string // -entrypoint and everything after --
	timeout   time.Duration
	onError   string
	results   []string
	stepRes   []string
	metaDir   string
	env       []corev1.EnvVar
	// how many of command are the step's own command (the rest are its args), from the
	// resolved TaskSpec in the TaskRun's status: the entrypoint receives command[0] as
	// -entrypoint and command[1:] + args after --
	cmdLen int
	// the step's `script`, as the TaskRun's status holds it after substitution (Tekton's
	// place-scripts init container writes it under /tekton/scripts, pkg/pod/script.go)
	script string
}

func parseStep(c corev1.Container) stepCall {
	s := stepCall{container: c.Name, env: c.Env}
	booleans := map[string]bool{"-wait_file_content": true, "-breakpoint_on_failure": true, "-debug_before_step": true}
	for i := 0; i < len(c.Args); i++ {
		a := c.Args[i]
		if a == "--" {
			s.command = append(s.command, c.Args[i+1:]...)
			break
		}
		if booleans[a] || i+1 >= len(c.Args) {
			continue
		}
		v := c.Args[i+1]
		i++
		switch a {
		case "-entrypoint":
			s.command = append([]string{v}, s.command...)
		case "-timeout":
			s.timeout, _ = time.ParseDuration(v)
		case "-on_error":
			s.onError = v
		case "-results":
			s.results = strings.Split(v, ",")
		case "-step_results":
			s.stepRes = strings.Split(v, ",")
		case "-step_metadata_dir":
			s.metaDir = v
		}
	}
	return s
}

// expand is Kubernetes' $(VAR) expansion of command, args and env values
// (kubernetes third_party/forked/golang/expansion/expand.go, applied by the kubelet,
// pkg/kubelet/kubelet_pods.go): $$ is $, $(NAME) is the value of an env var declared before
// (or the text unchanged when there is none), anything else is kept.
func expand(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

var stepResultRef = regexp.MustCompile(`\$\(steps\.([a-z0-9-]+)\.results\.([A-Za-z0-9_.-]+)\)`)

// podFiles is the pod's /tekton tree, under the harness's temp folder.
type podFiles struct{ root string }

func (f podFiles) path(p string) string {
	if strings.HasPrefix(p, "/tekton/") {
		return filepath.Join(f.root, p)
	}
	return p
}

func (f podFiles) rewrite(s string) string {
	return strings.ReplaceAll(s, "/tekton/", f.root+"/tekton/")
}

func (h *harness) startPods() int {
	n := 0
	pods, _ := h.c.Kube.CoreV1().Pods(namespace).List(h.ctx, metav1.ListOptions{})
	for i := range pods.Items {
		pod := &pods.Items[i]
		if _, ok := h.pods[pod.Name]; ok {
			continue
		}
		h.runPod(pod)
		n++
	}
	return n
}

// runPod plays one pod: its steps run in order, each as Tekton's entrypoint would run it.
// Helper steps (kfm-compile's scripts) run for real with /bin/sh; the user's step is the stub.
func (h *harness) runPod(pod *corev1.Pod) {
	t := h.t
	now := h.clk.Now()
	task := pod.Labels[pipeline.PipelineTaskLabelKey]
	p := &podRun{name: pod.Name, task: task, taskRun: pod.Labels[pipeline.TaskRunLabelKey]}
	h.pods[pod.Name] = p
	tr, err := h.c.Pipeline.TektonV1().TaskRuns(namespace).Get(h.ctx, p.taskRun, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.retry = len(tr.Status.RetriesStatus)
	files := podFiles{root: filepath.Join(h.tmp, "pods", pod.Name)}
	must(t, os.MkdirAll(files.path("/tekton/results"), 0o755))
	var steps []stepCall
	for _, c := range pod.Spec.Containers {
		if strings.HasPrefix(c.Name, "step-") {
			s := parseStep(c)
			s.cmdLen = 1
			if tr.Status.TaskSpec != nil {
				for _, st := range tr.Status.TaskSpec.Steps {
					if "step-"+st.Name != c.Name {
						continue
					}
					if len(st.Command) > 0 {
						s.cmdLen = len(st.Command)
					}
					s.script = st.Script
				}
			}
			steps = append(steps, s)
		}
	}
	// The prepare init container links /tekton/steps/<container> to the step's status folder
	// (pkg/pod/entrypoint.go, cmd/entrypoint/subcommands step-init).
	for i, s := range steps {
		dir := s.metaDir
		if dir == "" {
			dir = fmt.Sprintf("/tekton/run/%d/status", i)
		}
		steps[i].metaDir = dir
		must(t, os.MkdirAll(filepath.Join(files.path(dir), "results"), 0o755))
		must(t, os.MkdirAll(files.path("/tekton/steps"), 0o755))
		must(t, os.Symlink(files.path(dir), files.path("/tekton/steps/"+s.container)))
		must(t, os.Symlink(files.path(dir), files.path(fmt.Sprintf("/tekton/steps/%d", i))))
	}
	podInit := []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Time{Time: now}},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Time{Time: now}},
	}
	jobName, attemptNo := jobOf(steps), len(tr.Status.RetriesStatus)+1

	// An attempt whose pod cannot start: its image cannot be pulled (the kubelet's
	// ImagePullBackOff). Tekton fails it once config-defaults default-imagepullbackoff-timeout
	// has passed since PodInitialized (pkg/reconciler/taskrun/taskrun.go checkContainerFailure).
	if jobName != "" && h.outcome(jobName, attemptNo) == "no-start" {
		st := corev1.PodStatus{Phase: corev1.PodPending, Conditions: podInit, StartTime: &metav1.Time{Time: now}}
		for _, s := range steps {
			st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{
				Name:  s.container,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}},
			})
		}
		p.status = st
		wake := now.Add(10 * time.Minute)
		p.wakeAt = &wake
		env, cmd, args := h.rendered(steps, jobName, nil, files)
		// Nothing ran, so no step result was written: the attempt is reported with the
		// number Tekton counts it as (retry count + 1), which KFM_ATTEMPT would have said.
		if _, ok := env["KFM_ATTEMPT"]; ok {
			env["KFM_ATTEMPT"] = strconv.Itoa(attemptNo)
		}
		p.attempt = &observedAttempt{Job: jobName, Attempt: attemptNo, StartedAt: h.since(now), EndedAt: -1, End: "did-not-start", Env: env, Command: cmd, Args: args}
		h.attempts = append(h.attempts, p.attempt)
		h.updatePod(pod.Name, st)
		return
	}

	clock := now
	var statuses []corev1.ContainerStatus
	failed := false
	stepResults := map[string]map[string]string{} // container -> result -> value
	hangs := false
	for _, s := range steps {
		if hangs {
			// never reached: the step before has not ended
			statuses = append(statuses, corev1.ContainerStatus{Name: s.container, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Time{Time: clock}}}})
			continue
		}
		msg := []result.RunResult{{Key: "StartedAt", Value: clock.Format("2006-01-02T15:04:05.000Z07:00"), ResultType: result.InternalTektonResultType}}
		begin := clock
		if failed {
			// A step after a failed one is skipped (entrypointer.go Go: ErrSkipPreviousStepFailed).
			msg = append(msg, result.RunResult{Key: "Reason", Value: "Skipped", ResultType: result.InternalTektonResultType})
			statuses = append(statuses, terminated(s.container, 1, msg, begin, clock))
			continue
		}
		var code int
		var seconds float64
		reason := ""
		if s.container == jobStep {
			code, seconds, hangs = h.stub(s, jobName, stepResults, files, begin, p)
		} else {
			code, seconds = h.helper(s, stepResults, files, p)
		}
		if s.timeout > 0 && (hangs || seconds > s.timeout.Seconds()) {
			// The entrypoint's deadline (entrypointer.go Go: context.WithTimeout, TimeoutExceeded):
			// the step is killed, its post file written with an error.
			hangs, seconds, code, reason = false, s.timeout.Seconds(), 1, "TimeoutExceeded"
			if p.attempt != nil && s.container == jobStep {
				p.attempt.End = "timed-out"
			}
		}
		if hangs {
			statuses = append(statuses, corev1.ContainerStatus{Name: s.container, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Time{Time: begin}}}})
			continue
		}
		clock = begin.Add(time.Duration(seconds * float64(time.Second)))
		if p.attempt != nil && s.container == jobStep {
			p.attempt.EndedAt = h.since(clock)
		}
		exitCode := code
		switch {
		case reason != "":
			msg = append(msg, result.RunResult{Key: "Reason", Value: reason, ResultType: result.InternalTektonResultType})
			failed = true
		case code != 0 && s.onError == "continue":
			// entrypointer.go Go: with onError continue the exit code is recorded and the step succeeds.
			msg = append(msg, result.RunResult{Key: "ExitCode", Value: strconv.Itoa(code), ResultType: result.InternalTektonResultType})
			writeFile(t, filepath.Join(files.path(s.metaDir), "exitCode"), strconv.Itoa(code))
			exitCode = 0
		case code == 0:
			writeFile(t, filepath.Join(files.path(s.metaDir), "exitCode"), "0")
		default:
			failed = true
		}
		// Results go into the step's termination message (entrypointer.go readResultsFromDisk).
		for _, r := range s.results {
			if r == "" {
				continue
			}
			if v, err := os.ReadFile(filepath.Join(files.path("/tekton/results"), r)); err == nil {
				msg = append(msg, result.RunResult{Key: r, Value: string(v), ResultType: result.TaskRunResultType})
			}
		}
		stepResults[s.container] = map[string]string{}
		for _, r := range s.stepRes {
			if r == "" {
				continue
			}
			if v, err := os.ReadFile(filepath.Join(files.path(s.metaDir), "results", r)); err == nil {
				msg = append(msg, result.RunResult{Key: r, Value: string(v), ResultType: result.StepResultType})
				stepResults[s.container][r] = string(v)
			}
		}
		statuses = append(statuses, terminated(s.container, exitCode, msg, begin, clock))
	}
	st := corev1.PodStatus{Phase: corev1.PodRunning, Conditions: podInit, StartTime: &metav1.Time{Time: now}}
	if hangs {
		st.ContainerStatuses = statuses
		p.status = st
		h.updatePod(pod.Name, runningView(st, now))
		return
	}
	st.Phase = corev1.PodSucceeded
	for _, cs := range statuses {
		if cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0 {
			st.Phase = corev1.PodFailed
		}
	}
	st.ContainerStatuses = statuses
	p.status = st
	p.finishAt = &clock
	if !clock.After(now) {
		h.finishPod(p)
		return
	}
	h.updatePod(pod.Name, runningView(st, now))
}

// runningView: the pod as it looks while its first step runs.
func runningView(st corev1.PodStatus, now time.Time) corev1.PodStatus {
	v := *st.DeepCopy()
	v.Phase = corev1.PodRunning
	for i := range v.ContainerStatuses {
		v.ContainerStatuses[i].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Time{Time: now}}}
	}
	return v
}

func terminated(name string, code int, msg []result.RunResult, from, to time.Time) corev1.ContainerStatus {
	m, _ := json.Marshal(msg)
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: int32(code), Reason: reason, Message: string(m), StartedAt: metav1.Time{Time: from}, FinishedAt: metav1.Time{Time: to},
	}}}
}

func writeFile(t *testing.T, path, content string) {
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, []byte(content), 0o644))
}

func (h *harness) finishPod(p *podRun) {
	p.done = true
	h.updatePod(p.name, p.status)
}

func (h *harness) updatePod(name string, st corev1.PodStatus) {
	pod, err := h.c.Kube.CoreV1().Pods(namespace).Get(h.ctx, name, metav1.GetOptions{})
	if err != nil {
		return // deleted (cancelled)
	}
	pod.Status = st
	if _, err := h.c.Kube.CoreV1().Pods(namespace).UpdateStatus(h.ctx, pod, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

// endRemaining: once the run is done, attempts still running were stopped by Tekton (the
// run's timeout cancels its TaskRuns, pkg/reconciler/pipelinerun/timeout.go).
func (h *harness) endRemaining() {
	now := h.clk.Now()
	for _, p := range h.pods {
		if !p.done {
			h.cut(p, now)
		}
	}
}

// jobOf: the spec job a pod runs, from the user's step's KFM_JOB (a literal env value).
func jobOf(steps []stepCall) string {
	for _, s := range steps {
		if s.container != jobStep {
			continue
		}
		for _, e := range s.env {
			if e.Name == "KFM_JOB" && e.ValueFrom == nil {
				return expand(e.Value, nil)
			}
		}
	}
	return ""
}

func (h *harness) outcome(job string, attempt int) string {
	list := h.sc.Attempts[job]
	if attempt >= 1 && attempt <= len(list) {
		return list[attempt-1]
	}
	return "succeed"
}

// environ renders a container's env as the kubelet and the entrypoint would: secrets get a
// placeholder (and are left out of what the stub records), $(VAR) and $$ are expanded in
// order, then the entrypoint substitutes step results (entrypointer.go
// applyStepResultSubstitutions / replaceEnv) and the /tekton paths are mapped to the pod's folder.
func (h *harness) environ(s stepCall, stepResults map[string]map[string]string, files podFiles) (all map[string]string, order []string, secret map[string]bool) {
	all, secret = map[string]string{}, map[string]bool{}
	for _, e := range s.env {
		v := ""
		if e.ValueFrom != nil {
			secret[e.Name] = true
			v = "https://hooks.example.invalid/kfm-exec"
		} else {
			v = stepResultsIn(expand(e.Value, all), stepResults)
		}
		if _, seen := all[e.Name]; !seen {
			order = append(order, e.Name)
		}
		all[e.Name] = v
	}
	return all, order, secret
}

func stepResultsIn(s string, stepResults map[string]map[string]string) string {
	return stepResultRef.ReplaceAllStringFunc(s, func(m string) string {
		g := stepResultRef.FindStringSubmatch(m)
		if v, ok := stepResults["step-"+g[1]][g[2]]; ok {
			return v
		}
		return m
	})
}

// rendered: what the user's step is given (env without secrets, command, args), as it runs.
func (h *harness) rendered(steps []stepCall, job string, stepResults map[string]map[string]string, files podFiles) (map[string]string, []string, []string) {
	for _, s := range steps {
		if s.container != jobStep {
			continue
		}
		all, _, secret := h.environ(s, stepResults, files)
		env := map[string]string{}
		for k, v := range all {
			if !secret[k] {
				env[k] = v
			}
		}
		var cmd []string
		args := []string{}
		for i, a := range s.command {
			a = stepResultsIn(expand(a, all), stepResults)
			if i < s.cmdLen {
				if a != stubEntrypoint {
					cmd = append(cmd, a)
				}
				continue
			}
			args = append(args, a)
		}
		return env, cmd, args
	}
	return map[string]string{}, nil, []string{}
}

// stub plays the user's container: it follows the scenario by KFM_JOB and KFM_ATTEMPT as
// rendered, records what it was given, and ends as the scenario says.
func (h *harness) stub(s stepCall, job string, stepResults map[string]map[string]string, files podFiles, begin time.Time, p *podRun) (code int, seconds float64, hangs bool) {
	env, cmd, args := h.rendered([]stepCall{s}, job, stepResults, files)
	attempt, err := strconv.Atoi(env["KFM_ATTEMPT"])
	if err != nil {
		h.t.Logf("%s: KFM_ATTEMPT is %q", job, env["KFM_ATTEMPT"])
		attempt = -1
	}
	if env["KFM_JOB"] != "" {
		job = env["KFM_JOB"]
	}
	p.attempt = &observedAttempt{Job: job, Attempt: attempt, StartedAt: h.since(begin), EndedAt: -1, Env: env, Command: cmd, Args: args}
	h.attempts = append(h.attempts, p.attempt)
	out := h.outcome(job, attempt)
	switch {
	case out == "succeed":
		p.attempt.End = "succeeded"
		return 0, attemptSeconds, false
	case strings.HasPrefix(out, "fail:"):
		n, _ := strconv.Atoi(strings.TrimPrefix(out, "fail:"))
		p.attempt.End = "failed"
		return n, attemptSeconds, false
	case out == "hang":
		return 0, 0, true
	}
	h.t.Fatalf("%s attempt %d: unknown outcome %q", job, attempt, out)
	return 0, 0, false
}

var sentLine = regexp.MustCompile(`kfm-notify: sent the .* \(failed jobs: (.*)\)`)

// helper runs a step kfm-compile added, for real: its command (after Tekton's substitution,
// Kubernetes' expansion and the entrypoint's step results) with /bin/sh and the stand-ins on
// PATH, /tekton mapped to the pod's folder. Returns its exit code and how long it took on the
// fake clock (what it asked `sleep` for).
func (h *harness) helper(s stepCall, stepResults map[string]map[string]string, files podFiles, p *podRun) (int, float64) {
	t := h.t
	all, order, _ := h.environ(s, stepResults, files)
	if len(s.command) == 0 {
		t.Fatalf("%s/%s: a helper step without a command", p.task, s.container)
	}
	argv := make([]string, len(s.command))
	for i, a := range s.command {
		argv[i] = files.rewrite(stepResultsIn(expand(a, all), stepResults))
	}
	if s.script != "" {
		// A `script` step: its text (no Kubernetes expansion: it is a file, not an argument),
		// with Tekton's default interpreter when it has no #! line (pkg/pod/script.go
		// defaultScriptPreamble "#!/bin/sh\nset -e\n").
		script := files.rewrite(stepResultsIn(s.script, stepResults))
		if !strings.HasPrefix(script, "#!") {
			script = "#!/bin/sh\nset -e\n" + script
		}
		first, _, _ := strings.Cut(script, "\n")
		if !regexp.MustCompile(`^#!\s*(/bin/sh|/usr/bin/env sh)\s*$`).MatchString(first) {
			t.Fatalf("%s/%s: cannot run a script with %q locally (only sh scripts)", p.task, s.container, first)
		}
		path := filepath.Join(files.root, "script-"+s.container)
		writeFile(t, path, script)
		argv = append([]string{"/bin/sh", path}, argv[min(1, len(argv)):]...)
	} else if argv[0] == "sh" || argv[0] == "/bin/sh" {
		argv[0] = "/bin/sh"
	} else if argv[0] == "/bin/bash" {
		// The run starter (max_active_runs): bash, jq and the stand-in kubectl.
	} else {
		t.Fatalf("%s/%s: cannot run %q locally (only sh scripts)", p.task, s.container, argv[0])
	}
	sleeps := filepath.Join(files.root, "sleeps-"+s.container)
	env := []string{"PATH=" + h.bin + ":/usr/local/bin:/usr/bin:/bin", "HOME=" + files.root, "KFM_EXEC_SLEEPS=" + sleeps, "KFM_EXEC_STATE=" + h.state}
	for _, k := range order {
		env = append(env, k+"="+files.rewrite(all[k]))
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = files.root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := 0
	h.writeRuns()
	defer h.applyStarted()
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s/%s: %v", p.task, s.container, err)
		}
		code = ee.ExitCode()
	}
	if os.Getenv("KFM_TEKTON_VERBOSE") != "" {
		fmt.Fprintf(os.Stderr, "[%s %s exit %d]\n%s%s", p.task, s.container, code, stdout.String(), stderr.String())
	}
	seconds := 0.0
	if data, err := os.ReadFile(sleeps); err == nil {
		for _, f := range strings.Fields(string(data)) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatalf("%s/%s: sleep %q", p.task, s.container, f)
			}
			seconds += v
		}
	}
	if m := sentLine.FindStringSubmatch(stdout.String()); m != nil && code == 0 {
		n, err := strconv.Atoi(strings.TrimPrefix(p.task, "kfm-notify-"))
		if err != nil {
			t.Fatalf("a notification sent by task %s", p.task)
		}
		failed := []string{}
		if m[1] != "none" {
			failed = strings.Split(m[1], ", ")
		}
		sort.Strings(failed)
		h.obs.Notifications = append(h.obs.Notifications, notification{Index: n - 1, FailedJobs: failed})
	}
	return code, seconds
}

// ---- the report ----

func (h *harness) report() {
	pr, _ := h.prDone()
	h.obs.Engine = "tekton " + tektonVersion + " reconcilers (fake clients, fake clock)"
	h.obs.Run = "failed"
	if pr.Status.GetCondition(apis.ConditionSucceeded).IsTrue() {
		h.obs.Run = "succeeded"
	}
	if os.Getenv("KFM_TEKTON_VERBOSE") != "" {
		c := pr.Status.GetCondition(apis.ConditionSucceeded)
		fmt.Fprintf(os.Stderr, "PipelineRun: %s %s %s\n", c.Status, c.Reason, c.Message)
	}
	// Every job and gate: its TaskRun's (CustomRun's) condition; a job whose last failure
	// its TaskRun had to end Succeeded shows Failed through its kfm-failed-<n> task
	// (targets/tekton/README.md, Failure behaviour 5), whose display name is `<job> failed`.
	state := map[string]string{}
	trs, _ := h.c.Pipeline.TektonV1().TaskRuns(namespace).List(h.ctx, metav1.ListOptions{})
	for _, tr := range trs.Items {
		task := tr.Labels[pipeline.PipelineTaskLabelKey]
		s := "failed"
		if tr.Status.GetCondition(apis.ConditionSucceeded).IsTrue() {
			s = "succeeded"
		}
		state[task] = s
	}
	crs, _ := h.c.Pipeline.TektonV1beta1().CustomRuns(namespace).List(h.ctx, metav1.ListOptions{})
	for _, cr := range crs.Items {
		task := cr.Labels[pipeline.PipelineTaskLabelKey]
		s := "failed"
		if cr.Status.GetCondition(apis.ConditionSucceeded).IsTrue() {
			s = "succeeded"
		}
		state[task] = s
	}
	h.obs.Jobs = map[string]string{}
	tasks := append(append([]v1.PipelineTask{}, h.pipeline.Spec.Tasks...), h.pipeline.Spec.Finally...)
	for _, pt := range tasks {
		if strings.HasPrefix(pt.Name, "kfm-") {
			continue
		}
		s, ok := state[pt.Name]
		if !ok {
			s = "not-run"
		}
		h.obs.Jobs[h.specName[pt.Name]] = s
	}
	for _, pt := range tasks {
		if strings.HasPrefix(pt.Name, "kfm-failed-") && state[pt.Name] == "failed" {
			job := strings.TrimSuffix(pt.DisplayName, " failed")
			if _, ok := h.obs.Jobs[job]; ok {
				h.obs.Jobs[job] = "failed"
			}
		}
	}
	h.obs.Attempts = []observedAttempt{}
	for _, a := range h.attempts {
		if a.EndedAt < 0 {
			a.EndedAt = h.since(h.clk.Now())
		}
		h.obs.Attempts = append(h.obs.Attempts, *a)
	}
	sort.SliceStable(h.obs.Attempts, func(i, j int) bool { return h.obs.Attempts[i].StartedAt < h.obs.Attempts[j].StartedAt })
	if h.obs.Notifications == nil {
		h.obs.Notifications = []notification{}
	}
}
