package main

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"time"

	apiv1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	wfv1 "github.com/argoproj/argo-workflows/v4/pkg/apis/workflow/v1alpha1"
	argointstr "github.com/argoproj/argo-workflows/v4/util/intstr"
	"github.com/argoproj/argo-workflows/v4/util/template"
	"github.com/argoproj/argo-workflows/v4/workflow/common"
)

type renderOpts struct {
	scheduledTime string
	params        map[string]string
}

type renderedContainer struct {
	Template string            `json:"template"`
	Image    string            `json:"image"`
	Command  []string          `json:"command"`
	Args     []string          `json:"args"`
	Env      map[string]string `json:"env"`
	Error    string            `json:"error,omitempty"`
	// Attempts: for a template with a retryStrategy, the container as rendered for
	// attempts 2, 3, ... (the local variable retries = 1, 2, ...), up to the limit
	// (at most maxRenderedAttempts in all).
	Attempts []renderedAttempt `json:"attempts,omitempty"`
}

type renderedAttempt struct {
	Retries string            `json:"retries"`
	Command []string          `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env"`
	Error   string            `json:"error,omitempty"`
}

const maxRenderedAttempts = 100

// globals builds the controller's global variables for a run (setGlobalParameters
// in workflow/controller/operator.go): workflow.name/namespace/uid/creationTimestamp,
// workflow.scheduledTime from the scheduled-time annotation a CronWorkflow run
// carries, workflow.parameters.<name> from spec.arguments (overridden by --param),
// and workflow.annotations.<k>/labels.<k> from workflowMetadata. Values a real run
// would have but these tools cannot know (uid, creation time) get fixed stand-ins.
func globals(spec *wfv1.WorkflowSpec, meta metav1.ObjectMeta, cronMeta *metav1.ObjectMeta, opts *renderOpts) map[string]any {
	g := map[string]any{}
	name := meta.Name
	if name == "" {
		name = meta.GenerateName + "bcdfg"
	}
	created := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if opts.scheduledTime != "" {
		created, _ = time.Parse(time.RFC3339, opts.scheduledTime)
		g[common.GlobalVarWorkflowCronScheduleTime] = opts.scheduledTime
	}
	g[common.GlobalVarWorkflowName] = name
	g[common.GlobalVarWorkflowNamespace] = meta.Namespace
	g[common.GlobalVarWorkflowMainEntrypoint] = spec.Entrypoint
	g[common.GlobalVarWorkflowServiceAccountName] = spec.ServiceAccountName
	g[common.GlobalVarWorkflowUID] = "00000000-0000-0000-0000-000000000000"
	g[common.GlobalVarWorkflowCreationTimestamp] = created.Format(time.RFC3339)
	for _, p := range spec.Arguments.Parameters {
		if p.Value != nil {
			g["workflow.parameters."+p.Name] = p.Value.String()
		}
	}
	for k, v := range opts.params {
		g["workflow.parameters."+k] = v
	}
	// A CronWorkflow's workflowMetadata lands on the Workflow's metadata; the
	// spec's own workflowMetadata is applied by the controller on top.
	if cronMeta != nil {
		for k, v := range cronMeta.Annotations {
			g["workflow.annotations."+k] = v
		}
		for k, v := range cronMeta.Labels {
			g["workflow.labels."+k] = v
		}
	}
	if md := spec.WorkflowMetadata; md != nil {
		for k, v := range md.Annotations {
			g["workflow.annotations."+k] = v
		}
		for k, v := range md.Labels {
			g["workflow.labels."+k] = v
		}
	}
	return g
}

// renderSpec substitutes the global variables into every container template the
// way the controller does: once over the whole workflow spec when the run starts
// (substituteGlobals), once more over each template when it executes (ProcessArgs →
// substituteParams), both with util/template.Replace on the JSON text,
// unresolved tags allowed (local variables such as inputs.* stay for later).
func renderSpec(ctx context.Context, spec *wfv1.WorkflowSpec, meta metav1.ObjectMeta, cronMeta *metav1.ObjectMeta, opts *renderOpts) []renderedContainer {
	g := globals(spec, meta, cronMeta, opts)
	out := []renderedContainer{}
	for _, tmpl := range spec.Templates {
		if tmpl.Container == nil {
			continue
		}
		r := renderedContainer{Template: tmpl.Name}
		// A template with a retryStrategy also sees the local variable retries, the
		// number of earlier attempts (executeTemplate in workflow/controller/operator.go).
		if tmpl.RetryStrategy == nil {
			c, err := renderContainer(ctx, tmpl.Container, g, nil)
			r.Image, r.Command, r.Args, r.Env = c.Image, c.Command, c.Args, envMap(c)
			if err != nil {
				r.Error = err.Error()
			}
			out = append(out, r)
			continue
		}
		attempts := maxRenderedAttempts
		if limit, err := argointstr.Int32(tmpl.RetryStrategy.Limit); err == nil && limit != nil && int(*limit)+1 < attempts {
			attempts = int(*limit) + 1
		}
		for k := 0; k < attempts; k++ {
			retries := strconv.Itoa(k)
			c, err := renderContainer(ctx, tmpl.Container, g, &retries)
			if k == 0 {
				r.Image, r.Command, r.Args, r.Env = c.Image, c.Command, c.Args, envMap(c)
				if err != nil {
					r.Error = err.Error()
				}
				continue
			}
			a := renderedAttempt{Retries: retries, Command: c.Command, Args: c.Args, Env: envMap(c)}
			if err != nil {
				a.Error = err.Error()
			}
			r.Attempts = append(r.Attempts, a)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Template < out[j].Template })
	return out
}

// renderContainer substitutes a container template as the controller does: the
// global variables, then the template's local scope (globals plus retries, when set).
func renderContainer(ctx context.Context, container *apiv1.Container, g map[string]any, retries *string) (apiv1.Container, error) {
	local := make(map[string]any, len(g)+1)
	for k, v := range g {
		local[k] = v
	}
	if retries != nil {
		local["retries"] = *retries
	}
	var c apiv1.Container
	text, err := json.Marshal(container)
	if err != nil {
		return c, err
	}
	s, err := template.Replace(ctx, string(text), g, true)
	if err == nil {
		s, err = template.Replace(ctx, s, local, true)
	}
	if err != nil {
		return c, err
	}
	err = json.Unmarshal([]byte(s), &c)
	return c, err
}

func envMap(c apiv1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		out[e.Name] = e.Value
	}
	return out
}
