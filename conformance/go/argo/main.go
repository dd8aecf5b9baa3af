// Command argo-check hands files to Argo Workflows' own lint code, offline and
// strict (what `argo lint --offline --strict` runs), and prints what Argo parsed.
//
//	argo-check [--namespace NS] [--from RFC3339 --n N] [--scheduled-time RFC3339]
//	           [--param name=value]... [--when-at RFC3339]... FILE...
//	argo-check --cron-next CRON --tz ZONE --from RFC3339 --n N
//
// File mode prints {"files":[{"file","ok","errors","parsed"}]}; "parsed" lists
// every Kubernetes object of the file as Argo's Go types re-marshalled to JSON
// (a field Argo does not know is absent there and an error in "errors"). For a
// CronWorkflow it adds the schedule strings Argo hands to its cron library and,
// with --from, the next N fire times of each.
//
// --cron-next computes fire times the way the CronWorkflow controller does:
// Argo's CronWorkflowSpec builds "CRON_TZ=<zone> <cron>", robfig/cron/v3
// ParseStandard parses it, Schedule.Next steps it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argoproj/argo-workflows/v4/cmd/argo/lint"
	"github.com/argoproj/argo-workflows/v4/pkg/apiclient"
	wfv1 "github.com/argoproj/argo-workflows/v4/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v4/util/logging"
	"github.com/argoproj/argo-workflows/v4/workflow/common"

	"kfm-compile/conformance/report"
)

const argoModule = "github.com/argoproj/argo-workflows/v4"

func main() {
	cronExpr := flag.String("cron-next", "", "print the next fire times of this 5-field cron expression and exit")
	tz := flag.String("tz", "", "IANA time zone of --cron-next (empty: Argo's default, the controller's local zone)")
	from := flag.String("from", "", "RFC 3339 instant to compute fire times after")
	n := flag.Int("n", 10, "number of fire times")
	namespace := flag.String("namespace", "argo", "namespace for objects that set none (argo lint's default namespace)")
	scheduled := flag.String("scheduled-time", "", "RFC 3339: render every container as a run with this workflow.scheduledTime")
	params := kvFlags{}
	flag.Var(params, "param", "workflow parameter name=value for rendering (repeatable; default: the spec's values)")
	var whenAtFlags instants
	flag.Var(&whenAtFlags, "when-at", "RFC 3339: evaluate every CronWorkflow's when guard as if the cron fired then (repeatable)")
	flag.Parse()

	logger := logging.NewSlogLogger(logging.Warn, logging.Text) // writes to stderr
	ctx := logging.WithLogger(context.Background(), logger)

	if *cronExpr != "" {
		os.Exit(cronNext(*cronExpr, *tz, *from, *n))
	}
	if flag.NArg() == 0 {
		report.Fatal("usage: argo-check [--namespace NS] [--from RFC3339 --n N] FILE... | argo-check --cron-next CRON --tz ZONE --from RFC3339 --n N")
	}
	var fromT *time.Time
	if *from != "" {
		t, err := time.Parse(time.RFC3339, *from)
		if err != nil {
			report.Fatal("--from: %v", err)
		}
		fromT = &t
	}
	var render *renderOpts
	if *scheduled != "" || len(params) > 0 {
		render = &renderOpts{scheduledTime: *scheduled, params: params}
		if *scheduled != "" {
			if _, err := time.Parse(time.RFC3339, *scheduled); err != nil {
				report.Fatal("--scheduled-time: %v", err)
			}
		}
	}
	os.Exit(checkFiles(ctx, flag.Args(), *namespace, fromT, *n, render, whenAtFlags))
}

// instants is a repeatable RFC 3339 flag; the text is kept as the report key.
type instants []string

func (i *instants) String() string { return strings.Join(*i, ",") }
func (i *instants) Set(s string) error {
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		return err
	}
	*i = append(*i, s)
	return nil
}

type kvFlags map[string]string

func (k kvFlags) String() string { return fmt.Sprint(map[string]string(k)) }
func (k kvFlags) Set(s string) error {
	key, value, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want name=value, got %q", s)
	}
	k[key] = value
	return nil
}

func versions() map[string]string {
	return report.ModuleVersions(argoModule, "github.com/robfig/cron/v3", "k8s.io/apimachinery")
}

func checkFiles(ctx context.Context, files []string, namespace string, from *time.Time, n int, render *renderOpts, whenAt instants) int {
	rep := &report.Report{Tool: "argo-check", Version: versions()}
	results := map[string]*report.File{}
	for _, f := range files {
		results[f] = &report.File{File: f}
	}

	// The offline client keeps every WorkflowTemplate of the given files in memory
	// to resolve references, like `argo lint --offline`. It refuses the whole set
	// when one file does not parse: find that file and lint the others.
	var usable []string
	for _, f := range files {
		if _, _, err := apiclient.NewClientFromOptsWithContext(ctx, apiclient.Opts{Offline: true, OfflineFiles: []string{f}}); err != nil {
			results[f].Errors = append(results[f].Errors, err.Error())
			continue
		}
		usable = append(usable, f)
	}
	if len(usable) > 0 {
		ctx2, client, err := apiclient.NewClientFromOptsWithContext(ctx, apiclient.Opts{Offline: true, OfflineFiles: usable})
		if err != nil {
			for _, f := range usable {
				results[f].Errors = append(results[f].Errors, err.Error())
			}
		} else {
			lintFiles(ctx2, client, usable, namespace, results)
		}
	}

	for _, f := range files {
		res := results[f]
		parsed := parseFile(ctx, f, from, n, render, whenAt)
		for _, p := range parsed {
			for _, r := range p.Rendered {
				if r.Error != "" {
					res.Errors = append(res.Errors, fmt.Sprintf("rendering %s %q template %q: %s", p.Kind, p.Name, r.Template, r.Error))
				}
				for _, a := range r.Attempts {
					if a.Error != "" {
						res.Errors = append(res.Errors, fmt.Sprintf("rendering %s %q template %q with retries %s: %s", p.Kind, p.Name, r.Template, a.Retries, a.Error))
					}
				}
			}
		}
		res.Parsed = parsed
		rep.Add(res)
	}
	return rep.Print()
}

func lintFiles(ctx context.Context, client apiclient.Client, files []string, namespace string, results map[string]*report.File) {
	clients := lint.ServiceClients{WorkflowsClient: client.NewWorkflowServiceClient(ctx)}
	var err error
	if clients.WorkflowTemplatesClient, err = client.NewWorkflowTemplateServiceClient(); err != nil {
		report.Fatal("argo offline client: %v", err)
	}
	if clients.CronWorkflowsClient, err = client.NewCronWorkflowServiceClient(); err != nil {
		report.Fatal("argo offline client: %v", err)
	}
	if clients.ClusterWorkflowTemplateClient, err = client.NewClusterWorkflowTemplateServiceClient(); err != nil {
		report.Fatal("argo offline client: %v", err)
	}
	for _, f := range files {
		res, err := lint.Lint(ctx, &lint.LintOptions{
			Files:            []string{f},
			Strict:           true,
			DefaultNamespace: namespace,
			ServiceClients:   clients,
		})
		if err != nil {
			results[f].Errors = append(results[f].Errors, err.Error())
			continue
		}
		linted := false
		for _, r := range res.Results {
			linted = linted || r.Linted
			for _, e := range r.Errs {
				results[f].Errors = append(results[f].Errors, e.Error())
			}
		}
		if !linted {
			results[f].Errors = append(results[f].Errors, "no Argo Workflows object (Workflow, WorkflowTemplate, CronWorkflow, ClusterWorkflowTemplate) found")
		}
	}
}

type parsedObject struct {
	Kind                  string         `json:"kind"`
	Name                  string         `json:"name"`
	StrictError           string         `json:"strictError,omitempty"`
	Object                any            `json:"object"`
	SchedulesWithTimezone []string       `json:"schedulesWithTimezone,omitempty"`
	FireTimes             map[string]any `json:"fireTimes,omitempty"`
	// Rendered: each container template after the controller's substitution of
	// the global variables (with --scheduled-time / --param).
	Rendered []renderedContainer `json:"rendered,omitempty"`
	// Waits: each resource template as the controller renders it and the executor
	// and the retry logic read it (waits.go).
	Waits []waitInfo `json:"waits,omitempty"`
	// What the controller computes from the spec (analyze.go): retry waits per
	// template, the depends logic per DAG task, the run's synchronization, and for a
	// CronWorkflow its when guard at each --when-at instant.
	RetryStrategies []retryInfo    `json:"retryStrategies,omitempty"`
	Depends         []dependsInfo  `json:"depends,omitempty"`
	Synchronization *syncInfo      `json:"synchronization,omitempty"`
	WhenAt          map[string]any `json:"whenAt,omitempty"`
	// Exit: the exit handler's tasks and whether each runs per final phase (analyze.go).
	Exit []exitInfo `json:"exit,omitempty"`
}

// analyze adds what the controller computes from a workflow spec.
func (p *parsedObject) analyze(ctx context.Context, spec *wfv1.WorkflowSpec, cms map[string]*corev1.ConfigMap) {
	p.RetryStrategies = retryInfos(spec)
	p.Depends = dependsInfos(ctx, spec)
	p.Synchronization = synchronizationInfo(spec.Synchronization, cms)
	p.Exit = exitInfos(ctx, spec)
}

// parseFile is Argo's own multi-document parser (common.ParseObjects, strict),
// the one lint uses, with each object re-marshalled from Argo's types.
func parseFile(ctx context.Context, path string, from *time.Time, n int, render *renderOpts, whenAtList instants) []parsedObject {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	cms := configMaps(path)
	out := []parsedObject{}
	for _, pr := range common.ParseObjects(ctx, data, true) {
		if pr.Object == nil {
			continue
		}
		p := parsedObject{Name: pr.Object.GetName()}
		if pr.Err != nil {
			p.StrictError = pr.Err.Error()
		}
		// Each template as the controller runs it: with spec.templateDefaults merged in.
		var merge error
		switch v := pr.Object.(type) {
		case *wfv1.Workflow:
			merge = withTemplateDefaults(&v.Spec)
		case *wfv1.WorkflowTemplate:
			merge = withTemplateDefaults(&v.Spec)
		case *wfv1.CronWorkflow:
			merge = withTemplateDefaults(&v.Spec.WorkflowSpec)
		}
		if merge != nil {
			p.StrictError = "merging templateDefaults: " + merge.Error()
		}
		p.Object = report.ToJSONValue(pr.Object)
		switch v := pr.Object.(type) {
		case *wfv1.Workflow:
			p.Kind = "Workflow"
			p.analyze(ctx, &v.Spec, cms)
			if render != nil {
				p.Rendered = renderSpec(ctx, &v.Spec, v.ObjectMeta, nil, render)
				p.Waits = waitInfos(ctx, &v.Spec, v.ObjectMeta, nil, render)
			}
		case *wfv1.WorkflowTemplate:
			p.Kind = "WorkflowTemplate"
			p.analyze(ctx, &v.Spec, cms)
			if render != nil {
				// A run of the template (argo submit --from workflowtemplate/NAME) is a
				// Workflow named from generateName NAME-, in the template's namespace.
				meta := metav1.ObjectMeta{GenerateName: v.Name + "-", Namespace: v.Namespace}
				p.Rendered = renderSpec(ctx, &v.Spec, meta, nil, render)
				p.Waits = waitInfos(ctx, &v.Spec, meta, nil, render)
			}
		case *wfv1.ClusterWorkflowTemplate:
			p.Kind = "ClusterWorkflowTemplate"
		case *wfv1.CronWorkflow:
			p.Kind = "CronWorkflow"
			p.SchedulesWithTimezone = v.Spec.GetSchedulesWithTimezone()
			p.analyze(ctx, &v.Spec.WorkflowSpec, cms)
			if len(whenAtList) > 0 {
				p.WhenAt = map[string]any{}
				for _, at := range whenAtList {
					t, _ := time.Parse(time.RFC3339, at)
					p.WhenAt[at] = whenAt(ctx, v, t)
				}
			}
			if render != nil {
				p.Rendered = renderSpec(ctx, &v.Spec.WorkflowSpec, v.ObjectMeta, v.Spec.WorkflowMetadata, render)
				p.Waits = waitInfos(ctx, &v.Spec.WorkflowSpec, v.ObjectMeta, v.Spec.WorkflowMetadata, render)
			}
			if from != nil {
				p.FireTimes = map[string]any{}
				for _, s := range p.SchedulesWithTimezone {
					times, err := nextTimes(s, v.Spec.Timezone, *from, n)
					if err != nil {
						p.FireTimes[s] = map[string]string{"error": err.Error()}
					} else {
						p.FireTimes[s] = times
					}
				}
			}
		default:
			p.Kind = fmt.Sprintf("%T", v)
		}
		out = append(out, p)
	}
	return out
}

type fireTimes struct {
	Local []string `json:"local"`
	UTC   []string `json:"utc"`
}

// nextTimes steps the schedule string the controller builds; "local" renders the
// times in the CronWorkflow's zone (the process's zone when it sets none, which
// for a real controller is the controller's zone).
func nextTimes(schedule, zone string, from time.Time, n int) (*fireTimes, error) {
	s, err := cron.ParseStandard(schedule)
	if err != nil {
		return nil, err
	}
	loc := time.Local
	if zone != "" {
		if loc, err = time.LoadLocation(zone); err != nil {
			return nil, err
		}
	}
	ft := &fireTimes{Local: []string{}, UTC: []string{}}
	t := from
	for i := 0; i < n; i++ {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		ft.Local = append(ft.Local, t.In(loc).Format(time.RFC3339))
		ft.UTC = append(ft.UTC, t.UTC().Format(time.RFC3339))
	}
	return ft, nil
}

func cronNext(expr, tz, from string, n int) int {
	if from == "" {
		report.Fatal("--cron-next needs --from RFC3339")
	}
	t, err := time.Parse(time.RFC3339, from)
	if err != nil {
		report.Fatal("--from: %v", err)
	}
	// Argo's own type builds the string the controller parses.
	spec := wfv1.CronWorkflowSpec{Schedules: []string{expr}, Timezone: tz}
	schedule := spec.GetSchedulesWithTimezone()[0]
	out := map[string]any{
		"tool":     "argo-check --cron-next",
		"versions": versions(),
		"cron":     expr,
		"timezone": tz,
		"schedule": schedule,
		"from":     from,
	}
	ft, err := nextTimes(schedule, tz, t, n)
	code := 0
	if err != nil {
		out["error"] = err.Error()
		code = 1
	} else {
		out["times"] = ft.Local
		out["utc"] = ft.UTC
	}
	printJSON(out)
	return code
}

func printJSON(v map[string]any) {
	if err := report.WriteJSON(v); err != nil {
		report.Fatal("%v", err)
	}
}
