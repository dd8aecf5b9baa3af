// Command tekton-triggers-check hands the EventListeners, TriggerBindings and
// TriggerTemplates of files to Tekton Triggers' own code, offline: SetDefaults and
// Validate of each (pkg/apis/triggers/v1beta1, what its admission webhook runs) and,
// with --event, the EventListener's triggers as its sink runs them: each CEL
// interceptor (pkg/interceptors/cel Process: filter, then overlays into extensions),
// then the bindings and the template (pkg/template ResolveTrigger, ResolveParams,
// ResolveResources), printing the resources the trigger would create.
//
//	tekton-triggers-check [--event FILE] FILE...
//
// --event holds the HTTP body of one event (JSON), posted with Content-Type
// application/json. Prints {"files":[{"file","ok","errors","parsed"}]}; "parsed" lists
// each object's kind and name and, for an EventListener with --event, per trigger
// whether its interceptors passed ("matched") and the resources it creates ("created").
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"

	triggersv1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1beta1"
	"github.com/tektoncd/triggers/pkg/interceptors/cel"
	"github.com/tektoncd/triggers/pkg/template"

	"kfm-compile/conformance/report"
)

const triggersModule = "github.com/tektoncd/triggers"

var separator = regexp.MustCompile(`(?m)^---\s*$`)

type fired struct {
	Trigger string `json:"trigger"`
	Matched bool   `json:"matched"`
	Reason  string `json:"reason,omitempty"`
	Created []any  `json:"created,omitempty"`
}

type object struct {
	Kind  string  `json:"kind"`
	Name  string  `json:"name"`
	Fired []fired `json:"fired,omitempty"`
}

func main() {
	eventFile := flag.String("event", "", "JSON file: the HTTP body of one event")
	flag.Parse()
	if flag.NArg() == 0 {
		report.Fatal("usage: tekton-triggers-check [--event FILE] FILE...")
	}
	var body []byte
	if *eventFile != "" {
		b, err := os.ReadFile(*eventFile)
		if err != nil {
			report.Fatal("--event: %v", err)
		}
		body = b
	}
	r := &report.Report{Tool: "tekton-triggers-check", Version: report.ModuleVersions(triggersModule)}
	for _, file := range flag.Args() {
		r.Add(checkFile(file, body))
	}
	os.Exit(r.Print())
}

func checkFile(file string, body []byte) *report.File {
	res := &report.File{File: file}
	text, err := os.ReadFile(file)
	if err != nil {
		res.Errors = append(res.Errors, err.Error())
		return res
	}
	ctx := context.Background()
	bindings := map[string]*triggersv1.TriggerBinding{}
	templates := map[string]*triggersv1.TriggerTemplate{}
	var listeners []*triggersv1.EventListener
	var parsed []object
	for _, doc := range separator.Split(string(text), -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var meta struct {
			Kind       string `json:"kind"`
			APIVersion string `json:"apiVersion"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			res.Errors = append(res.Errors, err.Error())
			continue
		}
		if meta.APIVersion != "triggers.tekton.dev/v1beta1" {
			continue
		}
		var name string
		var verr error
		switch meta.Kind {
		case "EventListener":
			var el triggersv1.EventListener
			if err := yaml.UnmarshalStrict([]byte(doc), &el); err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("EventListener: %v", err))
				continue
			}
			el.SetDefaults(ctx)
			if fe := el.Validate(ctx); fe != nil {
				verr = fe
			}
			name = el.Name
			listeners = append(listeners, &el)
		case "TriggerBinding":
			var tb triggersv1.TriggerBinding
			if err := yaml.UnmarshalStrict([]byte(doc), &tb); err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("TriggerBinding: %v", err))
				continue
			}
			tb.SetDefaults(ctx)
			if fe := tb.Validate(ctx); fe != nil {
				verr = fe
			}
			name = tb.Name
			bindings[name] = &tb
		case "TriggerTemplate":
			var tt triggersv1.TriggerTemplate
			if err := yaml.UnmarshalStrict([]byte(doc), &tt); err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("TriggerTemplate: %v", err))
				continue
			}
			tt.SetDefaults(ctx)
			if fe := tt.Validate(ctx); fe != nil {
				verr = fe
			}
			name = tt.Name
			templates[name] = &tt
		default:
			res.Errors = append(res.Errors, fmt.Sprintf("unexpected kind %s", meta.Kind))
			continue
		}
		if verr != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("%s %q: %v", meta.Kind, name, verr))
		}
		parsed = append(parsed, object{Kind: meta.Kind, Name: name})
	}
	if body != nil {
		for _, el := range listeners {
			for i := range parsed {
				if parsed[i].Kind == "EventListener" && parsed[i].Name == el.Name {
					fires, errs := fire(ctx, el, body, bindings, templates)
					parsed[i].Fired = fires
					res.Errors = append(res.Errors, errs...)
				}
			}
		}
	}
	res.Parsed = parsed
	return res
}

// fire runs each trigger of the EventListener on the event as the sink does
// (pkg/sink/sink.go: interceptors in order, then ResolveTrigger, ResolveParams,
// ResolveResources), supporting the CEL interceptor.
func fire(ctx context.Context, el *triggersv1.EventListener, body []byte, bindings map[string]*triggersv1.TriggerBinding, templates map[string]*triggersv1.TriggerTemplate) ([]fired, []string) {
	var out []fired
	var errs []string
	header := http.Header{"Content-Type": []string{"application/json"}}
	for _, t := range el.Spec.Triggers {
		f := fired{Trigger: t.Name, Matched: true}
		extensions := map[string]interface{}{}
		for _, ic := range t.Interceptors {
			if ic.Ref.Name != "cel" {
				errs = append(errs, fmt.Sprintf("trigger %q: only cel interceptors are run here, not %q", t.Name, ic.Ref.Name))
				f.Matched = false
				break
			}
			params := map[string]interface{}{}
			for _, p := range ic.Params {
				var v interface{}
				if err := json.Unmarshal(p.Value.Raw, &v); err != nil {
					errs = append(errs, fmt.Sprintf("trigger %q: param %s: %v", t.Name, p.Name, err))
				}
				params[p.Name] = v
			}
			resp := cel.NewInterceptor(nil).Process(ctx, &triggersv1.InterceptorRequest{
				Body:              string(body),
				Header:            header,
				Extensions:        extensions,
				InterceptorParams: params,
				Context:           &triggersv1.TriggerContext{EventURL: "http://el/", EventID: "1", TriggerID: fmt.Sprintf("namespaces/%s/triggers/%s", el.Namespace, t.Name)},
			})
			if !resp.Continue {
				f.Matched = false
				if resp.Status.Message != "" {
					f.Reason = resp.Status.Message
				}
				break
			}
			for k, v := range resp.Extensions {
				extensions[k] = v
			}
		}
		if !f.Matched {
			out = append(out, f)
			continue
		}
		trigger := triggersv1.Trigger{Spec: triggersv1.TriggerSpec{Bindings: t.Bindings, Template: *t.Template, Interceptors: t.Interceptors}}
		rt, err := template.ResolveTrigger(trigger,
			func(name string) (*triggersv1.TriggerBinding, error) {
				if b, ok := bindings[name]; ok {
					return b, nil
				}
				return nil, fmt.Errorf("no TriggerBinding %q in the file", name)
			},
			func(name string) (*triggersv1.ClusterTriggerBinding, error) {
				return nil, fmt.Errorf("no ClusterTriggerBinding %q", name)
			},
			func(name string) (*triggersv1.TriggerTemplate, error) {
				if tt, ok := templates[name]; ok {
					return tt, nil
				}
				return nil, fmt.Errorf("no TriggerTemplate %q in the file", name)
			})
		if err != nil {
			errs = append(errs, fmt.Sprintf("trigger %q: %v", t.Name, err))
			continue
		}
		params, err := template.ResolveParams(rt, body, header, extensions, template.NewTriggerContext("1"))
		if err != nil {
			errs = append(errs, fmt.Sprintf("trigger %q: %v", t.Name, err))
			continue
		}
		for _, raw := range template.ResolveResources(rt.TriggerTemplate, params) {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				errs = append(errs, fmt.Sprintf("trigger %q: a created resource is not JSON: %v", t.Name, err))
				continue
			}
			f.Created = append(f.Created, v)
		}
		out = append(out, f)
	}
	return out, errs
}
