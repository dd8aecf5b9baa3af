// Command tekton-check hands each document of the given files to Tekton Pipelines'
// own admission logic, offline: strict unmarshal into the v1 Go types (the
// webhook disallows unknown fields), SetDefaults, then Validate, both with the
// context the webhook builds (the config store's defaults and feature flags,
// apis.WithinCreate). It prints {"files":[{"file","ok","errors","parsed"}]};
// "parsed" lists each document's kind, name, errors and defaulted object.
//
//	tekton-check [--flag key=value]... [--default key=value]... [--from RFC3339 --n N]
//	             [--task-results FILE.json] FILE...
//
// --flag overrides an entry of the config-feature-flags ConfigMap, --default one
// of config-defaults (both start from Tekton's shipped defaults).
//
// For a Pipeline, "tasks" adds what the controller computes from it (analyze.go):
// each task's when expressions evaluated for scenarios of written `ok` results, and
// each attempt's steps after the TaskRun substitutions ($(context.task.retry-count)
// and, from --task-results {"FILE": {"TASK": {"RESULT": "value"}}}, propagated
// results).
//
// For a CronJob whose container passes the PipelineRun to create as JSON in the env
// value KFM_PIPELINERUN (kfm-compile's creator), "createdRun" is that PipelineRun as
// the creator submits it for the first fire time (named after the Job, logical-date
// set to the slot), through the same admission logic.
//
// The creator's v1 ServiceAccount and rbac.authorization.k8s.io/v1 Role and RoleBinding
// are strictly decoded into the k8s.io/api types, with their metadata validated.
//
// A batch/v1 CronJob (Tekton has no cron; the CronJob creates the PipelineRun) is
// unmarshalled strictly into k8s.io/api types and checked with the parts of the
// API server's CronJob validation that are reachable as libraries: object
// metadata (apimachinery), the schedule through robfig/cron/v3 ParseStandard
// with the CRON_TZ prefix the CronJob controller adds, timeZone via the Go zone
// database, and the enum and pod-template rules listed in checkCronJob. With
// --from the next N fire times of the schedule are printed.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"

	"github.com/tektoncd/pipeline/pkg/apis/config"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/apis/pipeline/v1beta1"

	"kfm-compile/conformance/report"
)

// generatedSuffix stands for the 5 random characters the API server's name
// generator appends to generateName (its alphabet, fixed for repeatable output).
const generatedSuffix = "bcdfg"

type kvFlags map[string]string

func (k kvFlags) String() string { return fmt.Sprint(map[string]string(k)) }
func (k kvFlags) Set(s string) error {
	key, value, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want key=value, got %q", s)
	}
	k[key] = value
	return nil
}

func main() {
	featureFlags := kvFlags{}
	defaults := kvFlags{}
	flag.Var(featureFlags, "flag", "config-feature-flags entry key=value (repeatable)")
	flag.Var(defaults, "default", "config-defaults entry key=value (repeatable)")
	from := flag.String("from", "", "RFC 3339 instant: print a CronJob's next fire times after it")
	n := flag.Int("n", 10, "number of fire times")
	resultsFile := flag.String("task-results", "", "JSON {file: {task: {result: value}}}: results to substitute when rendering attempts")
	flag.Parse()
	if flag.NArg() == 0 {
		report.Fatal("usage: tekton-check [--flag key=value]... [--default key=value]... [--from RFC3339 --n N] FILE...")
	}
	var fromT *time.Time
	if *from != "" {
		t, err := time.Parse(time.RFC3339, *from)
		if err != nil {
			report.Fatal("--from: %v", err)
		}
		fromT = &t
	}

	cfg := config.FromContextOrDefaults(context.Background())
	if len(featureFlags) > 0 {
		ff, err := config.NewFeatureFlagsFromMap(featureFlags)
		if err != nil {
			report.Fatal("--flag: %v", err)
		}
		cfg.FeatureFlags = ff
	}
	if len(defaults) > 0 {
		d, err := config.NewDefaultsFromMap(defaults)
		if err != nil {
			report.Fatal("--default: %v", err)
		}
		cfg.Defaults = d
	}

	rep := &report.Report{
		Tool: "tekton-check",
		Version: report.ModuleVersions("github.com/tektoncd/pipeline", "knative.dev/pkg", "k8s.io/api",
			"k8s.io/apimachinery", "sigs.k8s.io/yaml", "github.com/robfig/cron/v3"),
	}
	results := map[string]map[string]map[string]string{}
	if *resultsFile != "" {
		data, err := os.ReadFile(*resultsFile)
		if err != nil {
			report.Fatal("--task-results: %v", err)
		}
		if err := json.Unmarshal(data, &results); err != nil {
			report.Fatal("--task-results: %v", err)
		}
	}
	// The StepActions of every file first: a Pipeline's steps may run one of another file
	// (the folder's shared StepActions).
	for _, path := range flag.Args() {
		collectStepActions(path)
	}
	for _, path := range flag.Args() {
		rep.Add(checkFile(cfg, path, fromT, *n, results[path]))
	}
	os.Exit(rep.Print())
}

type document struct {
	Index      int      `json:"index"`
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Name       string   `json:"name"`
	Errors     []string `json:"errors"`
	// Object is the document after the runner's strict decoding and defaulting.
	Object    any              `json:"object"`
	FireTimes *cronJobFireTime `json:"fireTimes,omitempty"`
	// Tasks: for a Pipeline, what the controller computes from it (analyze.go).
	Tasks []taskAnalysis `json:"tasks,omitempty"`
	// CreatedRun: for a CronJob of kfm-compile's creator, the PipelineRun it creates.
	CreatedRun *document `json:"createdRun,omitempty"`
}

type cronJobFireTime struct {
	Schedule string   `json:"schedule"`
	Local    []string `json:"local"`
	UTC      []string `json:"utc"`
}

func checkFile(cfg *config.Config, path string, from *time.Time, n int, results map[string]map[string]string) *report.File {
	res := &report.File{File: path}
	docs := []*document{}
	res.Parsed = docs
	data, err := os.ReadFile(path)
	if err != nil {
		res.Errors = append(res.Errors, err.Error())
		return res
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 0; ; i++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("document %d: %v", i, err))
			break
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			i--
			continue
		}
		d := checkDocument(cfg, raw, from, n, results)
		d.Index = i
		for _, e := range d.Errors {
			res.Errors = append(res.Errors, fmt.Sprintf("document %d (%s %q): %s", i, d.Kind, d.Name, e))
		}
		docs = append(docs, d)
	}
	if len(docs) == 0 && len(res.Errors) == 0 {
		res.Errors = append(res.Errors, "no Kubernetes object found")
	}
	res.Parsed = docs
	return res
}

// collectStepActions adds the StepActions of a file to stepActions (leniently: checkFile
// reports what is wrong with them).
func collectStepActions(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		raw, err := reader.Read()
		if err != nil {
			return
		}
		var tm metav1.TypeMeta
		if yaml.Unmarshal(raw, &tm) != nil || tm.APIVersion != "tekton.dev/v1beta1" || tm.Kind != "StepAction" {
			continue
		}
		sa := &v1beta1.StepAction{}
		if yaml.Unmarshal(raw, sa) == nil && sa.Name != "" {
			stepActions[sa.Name] = sa
		}
	}
}

func stripComments(b []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// tektonObject is what the admission webhook calls on a resource.
type tektonObject interface {
	metav1.Object
	SetDefaults(context.Context)
	Validate(context.Context) *apis.FieldError
}

func checkDocument(cfg *config.Config, raw []byte, from *time.Time, n int, results map[string]map[string]string) *document {
	d := &document{Errors: []string{}}
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(raw, &tm); err != nil {
		d.Errors = append(d.Errors, err.Error())
		return d
	}
	d.APIVersion, d.Kind = tm.APIVersion, tm.Kind

	var obj tektonObject
	switch tm.APIVersion + "/" + tm.Kind {
	case "tekton.dev/v1/Task":
		obj = &v1.Task{}
	case "tekton.dev/v1/Pipeline":
		obj = &v1.Pipeline{}
	case "tekton.dev/v1/PipelineRun":
		obj = &v1.PipelineRun{}
	case "tekton.dev/v1/TaskRun":
		obj = &v1.TaskRun{}
	case "tekton.dev/v1beta1/StepAction":
		// Served as v1beta1, the stored version, in v1.15 (config/300-crds/300-stepaction.yaml).
		obj = &v1beta1.StepAction{}
	case "batch/v1/CronJob":
		return checkCronJob(cfg, d, raw, from, n)
	case "batch/v1/Job":
		// The run files' starter Job (max_active_runs): strictly decoded, one named container with an image.
		var job batchv1.Job
		if err := yaml.UnmarshalStrict(raw, &job); err != nil {
			d.Errors = append(d.Errors, "strict decoding: "+err.Error())
			return d
		}
		d.Name = job.Name
		if d.Name == "" {
			d.Name = job.GenerateName + generatedSuffix
		}
		if cs := job.Spec.Template.Spec.Containers; len(cs) == 0 || cs[0].Name == "" || strings.TrimSpace(cs[0].Image) == "" {
			d.Errors = append(d.Errors, "spec.template.spec.containers: a named container with an image is required")
		}
		d.Object = report.ToJSONValue(&job)
		return d
	case "v1/ServiceAccount", "rbac.authorization.k8s.io/v1/Role", "rbac.authorization.k8s.io/v1/RoleBinding":
		return checkAccount(d, tm, raw)
	case "triggers.tekton.dev/v1beta1/TriggerBinding", "triggers.tekton.dev/v1beta1/TriggerTemplate", "triggers.tekton.dev/v1beta1/EventListener":
		// Tekton Triggers' own code checks these (tekton-triggers-check, conformance/go/tekton-triggers):
		// named here so the file's other documents are checked, not refused as unknown.
		var meta struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal(raw, &meta); err != nil {
			d.Errors = append(d.Errors, err.Error())
		}
		d.Name = meta.Metadata.Name
		return d
	default:
		d.Errors = append(d.Errors, fmt.Sprintf("unsupported apiVersion/kind %s %s (tekton-check knows tekton.dev/v1 Task, Pipeline, PipelineRun, TaskRun, tekton.dev/v1beta1 StepAction, batch/v1 CronJob and Job, the accounts, and names the triggers.tekton.dev kinds tekton-triggers-check checks)", tm.APIVersion, tm.Kind))
		return d
	}
	if err := yaml.UnmarshalStrict(raw, obj); err != nil {
		d.Errors = append(d.Errors, "strict decoding: "+err.Error())
		// Show what a lenient decode keeps, for diagnosis only.
		_ = yaml.Unmarshal(raw, obj)
		d.Name = obj.GetName()
		d.Object = report.ToJSONValue(obj)
		return d
	}
	// The API server names a generateName object before the validating webhook
	// sees it (a random 5-character suffix; a fixed one here).
	if obj.GetName() == "" && obj.GetGenerateName() != "" {
		obj.SetName(obj.GetGenerateName() + generatedSuffix)
	}
	d.Name = obj.GetName()

	// The context the webhook builds: the config store's content, then
	// knative's admission marks the request as a create.
	ctx := config.ToContext(context.Background(), cfg)
	ctx = apis.WithinCreate(ctx)
	obj.SetDefaults(ctx)
	if fe := obj.Validate(ctx); fe != nil {
		for _, e := range fe.WrappedErrors() {
			d.Errors = append(d.Errors, e.Error())
		}
		if len(d.Errors) == 0 {
			d.Errors = append(d.Errors, fe.Error())
		}
	}
	d.Object = report.ToJSONValue(obj)
	if p, ok := obj.(*v1.Pipeline); ok {
		d.Tasks = analyzePipeline(p, results)
	}
	return d
}

func checkCronJob(cfg *config.Config, d *document, raw []byte, from *time.Time, n int) *document {
	cj := &batchv1.CronJob{}
	if err := yaml.UnmarshalStrict(raw, cj); err != nil {
		d.Errors = append(d.Errors, "strict decoding: "+err.Error())
		_ = yaml.Unmarshal(raw, cj)
		d.Name = cj.Name
		d.Object = report.ToJSONValue(cj)
		return d
	}
	// The API server takes the namespace from the request (kubectl's current
	// namespace) and names a generateName object, before validation.
	if cj.Namespace == "" {
		cj.Namespace = "default"
	}
	if cj.Name == "" && cj.GenerateName != "" {
		cj.Name = cj.GenerateName + generatedSuffix
	}
	d.Name = cj.Name
	d.Object = report.ToJSONValue(cj)

	var errs field.ErrorList
	// Namespaced object metadata, as ValidateObjectMeta does for every kind;
	// CronJob names are DNS-1123 subdomains limited to 52 characters (the Job
	// controller appends an 11-character suffix).
	errs = append(errs, apivalidation.ValidateObjectMeta(&cj.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))...)
	if len(cj.Name) > 52 {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), cj.Name, "must be no more than 52 characters"))
	}
	spec := field.NewPath("spec")
	schedule := cj.Spec.Schedule
	if schedule == "" {
		errs = append(errs, field.Required(spec.Child("schedule"), ""))
	} else if strings.Contains(schedule, "TZ") {
		errs = append(errs, field.Invalid(spec.Child("schedule"), schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
	}
	if cj.Spec.TimeZone != nil {
		if *cj.Spec.TimeZone == "" || strings.EqualFold(*cj.Spec.TimeZone, "Local") {
			errs = append(errs, field.Invalid(spec.Child("timeZone"), *cj.Spec.TimeZone, "unknown time zone"))
		} else if _, err := time.LoadLocation(*cj.Spec.TimeZone); err != nil {
			errs = append(errs, field.Invalid(spec.Child("timeZone"), *cj.Spec.TimeZone, err.Error()))
		}
	}
	// What the CronJob controller parses: the schedule, prefixed with the zone.
	full := schedule
	if cj.Spec.TimeZone != nil && *cj.Spec.TimeZone != "" {
		full = "CRON_TZ=" + *cj.Spec.TimeZone + " " + schedule
	}
	parsed, perr := cron.ParseStandard(full)
	if schedule != "" && perr != nil {
		errs = append(errs, field.Invalid(spec.Child("schedule"), schedule, perr.Error()))
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
	case "": // the API server defaults it to Allow
	default:
		errs = append(errs, field.NotSupported(spec.Child("concurrencyPolicy"), cj.Spec.ConcurrencyPolicy, []string{"Allow", "Forbid", "Replace"}))
	}
	if s := cj.Spec.StartingDeadlineSeconds; s != nil && *s < 0 {
		errs = append(errs, field.Invalid(spec.Child("startingDeadlineSeconds"), *s, "must be greater than or equal to 0"))
	}
	for _, l := range []struct {
		name string
		v    *int32
	}{{"successfulJobsHistoryLimit", cj.Spec.SuccessfulJobsHistoryLimit}, {"failedJobsHistoryLimit", cj.Spec.FailedJobsHistoryLimit}} {
		if l.v != nil && *l.v < 0 {
			errs = append(errs, field.Invalid(spec.Child(l.name), *l.v, "must be greater than or equal to 0"))
		}
	}
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	podPath := spec.Child("jobTemplate", "spec", "template", "spec")
	switch pod.RestartPolicy {
	case corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	default:
		errs = append(errs, field.NotSupported(podPath.Child("restartPolicy"), pod.RestartPolicy, []string{"OnFailure", "Never"}))
	}
	if len(pod.Containers) == 0 {
		errs = append(errs, field.Required(podPath.Child("containers"), ""))
	}
	for list, cs := range map[string][]corev1.Container{"containers": pod.Containers, "initContainers": pod.InitContainers} {
		for i, c := range cs {
			cp := podPath.Child(list).Index(i)
			if c.Name == "" {
				errs = append(errs, field.Required(cp.Child("name"), ""))
			}
			if strings.TrimSpace(c.Image) == "" {
				errs = append(errs, field.Required(cp.Child("image"), ""))
			}
		}
	}
	for _, e := range errs {
		d.Errors = append(d.Errors, e.Error())
	}
	if from != nil && perr == nil {
		ft := &cronJobFireTime{Schedule: full, Local: []string{}, UTC: []string{}}
		loc := time.Local // the CronJob controller's zone when timeZone is unset
		if cj.Spec.TimeZone != nil {
			if l, err := time.LoadLocation(*cj.Spec.TimeZone); err == nil {
				loc = l
			}
		}
		t := *from
		for i := 0; i < n; i++ {
			t = parsed.Next(t)
			if t.IsZero() {
				break
			}
			ft.Local = append(ft.Local, t.In(loc).Format(time.RFC3339))
			ft.UTC = append(ft.UTC, t.UTC().Format(time.RFC3339))
		}
		d.FireTimes = ft
	}
	d.CreatedRun = createdRun(cfg, cj, parsed, from)
	if d.CreatedRun != nil {
		for _, e := range d.CreatedRun.Errors {
			d.Errors = append(d.Errors, "the PipelineRun its creator submits: "+e)
		}
	}
	return d
}

// createdRun is the PipelineRun kfm-compile's creator container submits for the
// CronJob's first slot after `from` (or after 2000-01-01): the JSON in its env value
// KFM_PIPELINERUN, with metadata replaced by the Job's name (the CronJob controller
// names Jobs <cronjob>-<minutes since the epoch>, getJobName in
// pkg/controller/cronjob/utils.go) and the logical-date param set to the slot as the
// batch.kubernetes.io/cronjob-scheduled-timestamp annotation carries it (RFC 3339 in
// the CronJob's zone), as the creator's script does; then the same admission logic
// as every PipelineRun.
func createdRun(cfg *config.Config, cj *batchv1.CronJob, schedule cron.Schedule, from *time.Time) *document {
	var value *string
	// With max_active_runs the creator is the pod's init container, the run starter its container.
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	for _, c := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
		for _, e := range c.Env {
			if e.Name == "KFM_PIPELINERUN" && e.ValueFrom == nil {
				v := e.Value
				value = &v
			}
		}
	}
	if value == nil {
		return nil
	}
	d := &document{Errors: []string{}}
	if strings.Contains(*value, "$") {
		// kubelet would expand $(VAR) and $$ in the value before the creator reads it.
		d.Errors = append(d.Errors, "KFM_PIPELINERUN contains $: kubelet's expansion is not applied here")
		return d
	}
	var run map[string]any
	if err := json.Unmarshal([]byte(*value), &run); err != nil {
		d.Errors = append(d.Errors, "KFM_PIPELINERUN is not a JSON object: "+err.Error())
		return d
	}
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if from != nil {
		start = *from
	}
	slot := start
	loc := time.Local
	if cj.Spec.TimeZone != nil {
		if l, err := time.LoadLocation(*cj.Spec.TimeZone); err == nil {
			loc = l
		}
	}
	if schedule != nil {
		slot = schedule.Next(start)
	}
	run["metadata"] = map[string]any{"name": fmt.Sprintf("%s-%d", cj.Name, slot.Unix()/60)}
	if spec, ok := run["spec"].(map[string]any); ok {
		if params, ok := spec["params"].([]any); ok {
			for _, p := range params {
				if pm, ok := p.(map[string]any); ok && pm["name"] == "logical-date" {
					pm["value"] = slot.In(loc).Format(time.RFC3339)
				}
			}
		}
	}
	raw, err := json.Marshal(run)
	if err != nil {
		d.Errors = append(d.Errors, err.Error())
		return d
	}
	return checkDocument(cfg, raw, nil, 0, nil)
}

// checkAccount: the ServiceAccount, Role and RoleBinding of kfm-compile's CronJob creator,
// strictly decoded into the k8s.io/api types with their object metadata validated (the API
// server's RBAC validation itself is exercised by the apply check against a real
// kube-apiserver, test/conformance/apply.conformance.test.ts).
func checkAccount(d *document, tm metav1.TypeMeta, raw []byte) *document {
	var obj metav1.Object
	switch tm.Kind {
	case "ServiceAccount":
		obj = &corev1.ServiceAccount{}
	case "Role":
		obj = &rbacv1.Role{}
	default:
		obj = &rbacv1.RoleBinding{}
	}
	if err := yaml.UnmarshalStrict(raw, obj); err != nil {
		d.Errors = append(d.Errors, "strict decoding: "+err.Error())
		return d
	}
	d.Name = obj.GetName()
	if obj.GetNamespace() == "" {
		obj.SetNamespace("default")
	}
	for _, e := range apivalidation.ValidateObjectMetaAccessor(obj, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata")) {
		d.Errors = append(d.Errors, e.Error())
	}
	if rb, ok := obj.(*rbacv1.RoleBinding); ok {
		// An event listener's account is bound to Tekton Triggers' own ClusterRole, which its
		// installation creates (config/200-clusterrole.yaml of tektoncd/triggers); every other
		// binding names a Role of the file.
		triggers := rb.RoleRef.Kind == "ClusterRole" && rb.RoleRef.Name == "tekton-triggers-eventlistener-roles"
		if (rb.RoleRef.Kind != "Role" && !triggers) || rb.RoleRef.APIGroup != rbacv1.GroupName || rb.RoleRef.Name == "" {
			d.Errors = append(d.Errors, fmt.Sprintf("roleRef: not a Role of this namespace: %+v", rb.RoleRef))
		}
	}
	d.Object = report.ToJSONValue(obj)
	return d
}
