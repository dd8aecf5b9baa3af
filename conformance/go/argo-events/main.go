// Command argo-events-check hands the EventSources and Sensors of files to Argo
// Events' own code, offline: the validation its controller runs before it deploys
// them (pkg/reconciler/eventsource/validate.go ValidateEventSource,
// pkg/reconciler/sensor/validate.go ValidateSensor, the same functions its
// admission webhook calls), and, with --event, the Sensor's Kubernetes triggers as
// the sensor runs them (pkg/sensors/triggers/standard-k8s: FetchResource,
// ApplyResourceParameters, Execute) against a fake API server, printing the objects
// they would create.
//
//	argo-events-check [--event FILE] FILE...
//
// --event holds the data of one event, as the event source dispatches it (for a
// webhook source: {"header":{...},"body":<the request body>}); every dependency of
// every Sensor receives it as a JSON CloudEvent, filtered by the dependency's own
// filters (pkg/sensors/dependencies Filter); the triggers fire only when every
// dependency's filters pass ("matched").
//
// Prints {"files":[{"file","ok","errors","parsed"}]}; "parsed" lists every
// EventSource and Sensor as Argo Events' Go types re-marshalled to JSON and, with
// --event, "created": the objects each Sensor's triggers created.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	aev1 "github.com/argoproj/argo-events/pkg/apis/events/v1alpha1"
	esvalidate "github.com/argoproj/argo-events/pkg/reconciler/eventsource"
	sensorvalidate "github.com/argoproj/argo-events/pkg/reconciler/sensor"
	"github.com/argoproj/argo-events/pkg/sensors/dependencies"
	standardk8s "github.com/argoproj/argo-events/pkg/sensors/triggers/standard-k8s"

	"kfm-compile/conformance/report"
)

const eventsModule = "github.com/argoproj/argo-events"

var separator = regexp.MustCompile(`(?m)^---\s*$`)

type object struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Spec    any    `json:"spec"`
	Matched *bool  `json:"matched,omitempty"`
	Created []any  `json:"created,omitempty"`
}

func main() {
	eventFile := flag.String("event", "", "JSON file: the data of one event every Sensor dependency receives")
	flag.Parse()
	if flag.NArg() == 0 {
		report.Fatal("usage: argo-events-check [--event FILE] FILE...")
	}
	var eventData []byte
	if *eventFile != "" {
		b, err := os.ReadFile(*eventFile)
		if err != nil {
			report.Fatal("--event: %v", err)
		}
		eventData = b
	}
	r := &report.Report{Tool: "argo-events-check", Version: report.ModuleVersions(eventsModule)}
	for _, file := range flag.Args() {
		r.Add(checkFile(file, eventData))
	}
	os.Exit(r.Print())
}

func checkFile(file string, eventData []byte) *report.File {
	res := &report.File{File: file}
	body, err := os.ReadFile(file)
	if err != nil {
		res.Errors = append(res.Errors, err.Error())
		return res
	}
	var parsed []object
	for _, text := range separator.Split(string(body), -1) {
		if strings.TrimSpace(text) == "" {
			continue
		}
		var meta struct {
			Kind       string `json:"kind"`
			APIVersion string `json:"apiVersion"`
		}
		if err := yaml.Unmarshal([]byte(text), &meta); err != nil {
			res.Errors = append(res.Errors, err.Error())
			continue
		}
		if meta.APIVersion != "argoproj.io/v1alpha1" {
			continue
		}
		switch meta.Kind {
		case "EventSource":
			var es aev1.EventSource
			if err := yaml.UnmarshalStrict([]byte(text), &es); err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("EventSource: %v", err))
				continue
			}
			if err := esvalidate.ValidateEventSource(&es); err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("EventSource %q: %v", es.Name, err))
			}
			parsed = append(parsed, object{Kind: meta.Kind, Name: es.Name, Spec: report.ToJSONValue(es.Spec)})
		case "Sensor":
			var s aev1.Sensor
			if err := yaml.UnmarshalStrict([]byte(text), &s); err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("Sensor: %v", err))
				continue
			}
			// The controller validates a Sensor against the EventBus it names; the
			// README's precondition is a JetStream bus (the one Argo Events' docs install).
			bus := &aev1.EventBus{Spec: aev1.EventBusSpec{JetStream: &aev1.JetStreamBus{Version: "latest"}}}
			if err := sensorvalidate.ValidateSensor(&s, bus); err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("Sensor %q: %v", s.Name, err))
			}
			o := object{Kind: meta.Kind, Name: s.Name, Spec: report.ToJSONValue(s.Spec)}
			if eventData != nil {
				matched, created, errs := fire(&s, eventData)
				o.Matched = &matched
				o.Created = created
				res.Errors = append(res.Errors, errs...)
			}
			parsed = append(parsed, o)
		}
	}
	res.Parsed = parsed
	return res
}

// fire runs every Kubernetes trigger of the Sensor as the sensor does when all its
// dependencies received eventData, against a fake API server, and returns what was created.
func fire(s *aev1.Sensor, eventData []byte) (bool, []any, []string) {
	var errs []string
	events := map[string]*aev1.Event{}
	for _, dep := range s.Spec.Dependencies {
		events[dep.Name] = &aev1.Event{
			Context: &aev1.EventContext{ID: "1", Source: dep.EventSourceName, Subject: dep.EventName, Type: "minio", SpecVersion: "1.0", DataContentType: aev1.MediaTypeJSON},
			Data:    eventData,
		}
		if dep.Filters != nil {
			ok, err := dependencies.Filter(events[dep.Name], dep.Filters, dep.FiltersLogicalOperator)
			if err != nil {
				errs = append(errs, fmt.Sprintf("Sensor %q dependency %q: %v", s.Name, dep.Name, err))
			}
			if !ok {
				return false, nil, errs
			}
		}
	}
	var created []any
	ctx := context.Background()
	logger := zap.NewNop().Sugar()
	for i := range s.Spec.Triggers {
		trigger := &s.Spec.Triggers[i]
		if trigger.Template == nil || trigger.Template.K8s == nil {
			errs = append(errs, fmt.Sprintf("Sensor %q trigger %d: only k8s triggers are fired here", s.Name, i))
			continue
		}
		dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
			map[schema.GroupVersionResource]string{{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}: "WorkflowList"})
		t := standardk8s.NewStandardK8sTrigger(k8sfake.NewSimpleClientset(), dyn, s, trigger, logger)
		obj, err := t.FetchResource(ctx)
		if err == nil {
			obj, err = t.ApplyResourceParameters(events, obj)
		}
		if err == nil {
			obj, err = t.Execute(ctx, events, obj)
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("Sensor %q trigger %q: %v", s.Name, trigger.Template.Name, err))
			continue
		}
		if u, ok := obj.(*unstructured.Unstructured); ok {
			created = append(created, u.Object)
		}
	}
	return true, created, errs
}
