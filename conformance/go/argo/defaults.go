package main

import (
	"encoding/json"
	"reflect"

	"k8s.io/apimachinery/pkg/util/strategicpatch"

	wfv1 "github.com/argoproj/argo-workflows/v4/pkg/apis/workflow/v1alpha1"
)

// withTemplateDefaults lays every template of spec over spec.templateDefaults, as the
// controller does to each template before it runs it (workflow/controller/operator.go,
// mergedTemplateDefaultsInto, called from executeTemplate and the DAG executor): the
// defaults' fields of another template type (container, script, dag, suspend, ...) are
// dropped, then the template is applied to the defaults as a Kubernetes strategic merge
// patch over wfv1.Template, so lists with a merge key (a container's env, by name)
// merge and the template's own values win. The templates read, rendered and reported
// are then the ones the controller runs.
func withTemplateDefaults(spec *wfv1.WorkflowSpec) error {
	if spec.TemplateDefaults == nil {
		return nil
	}
	for i := range spec.Templates {
		tmpl := &spec.Templates[i]
		kind := tmpl.GetType()
		defaults := spec.TemplateDefaults.DeepCopy()
		fields := reflect.ValueOf(defaults).Elem()
		for j := 0; j < fields.NumField(); j++ {
			f := fields.Type().Field(j)
			if f.Type.Kind() != reflect.Ptr || f.Type.Elem().Kind() != reflect.Struct {
				continue
			}
			if t := wfv1.TemplateType(f.Name); t.IsValid() && t != kind {
				fields.Field(j).Set(reflect.Zero(f.Type))
			}
		}
		base, err := json.Marshal(defaults)
		if err != nil {
			return err
		}
		patch, err := json.Marshal(tmpl)
		if err != nil {
			return err
		}
		merged, err := strategicpatch.StrategicMergePatch(base, patch, wfv1.Template{})
		if err != nil {
			return err
		}
		var out wfv1.Template
		if err := json.Unmarshal(merged, &out); err != nil {
			return err
		}
		out.SetType(kind)
		*tmpl = out
	}
	return nil
}
