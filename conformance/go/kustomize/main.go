// Command kustomize-check builds each given kustomization folder with Kustomize's own
// library, as `kustomize build DIR` and `kubectl kustomize DIR` do (and Argo CD, which runs
// `kustomize build` on the folder an Application points at): krusty.MakeKustomizer over the
// files on disk (sigs.k8s.io/kustomize/api/krusty) with the options `kustomize build` uses
// when given no flag: krusty.MakeDefaultOptions() with the output order left unspecified,
// so a kustomization's `sortOptions` or else the legacy order (Namespaces first, ...) applies
// (kustomize/commands/build/build.go, reorderoutput.go; api/krusty/kustomizer.go).
// The version is the one kubectl embeds (k8s.io/kubectl's go.mod at the Kubernetes version
// of conformance/versions.env), so `kubectl apply -k` reads a folder the same way.
//
//	kustomize-check DIR...
//
// It prints {"tool","versions","files":[{"file","ok","errors","parsed"}]}: per folder,
// "parsed" holds "yaml", the built resources as one multi-document YAML stream (what
// `kustomize build` prints, ready for `kubectl apply -f -`), and "objects", each resource
// as JSON. A folder Kustomize refuses is an error, with Kustomize's message.
package main

import (
	"encoding/json"
	"os"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"kfm-compile/conformance/report"
)

type built struct {
	YAML    string            `json:"yaml"`
	Objects []json.RawMessage `json:"objects"`
}

func main() {
	dirs := os.Args[1:]
	if len(dirs) == 0 {
		report.Fatal("usage: kustomize-check DIR...")
	}
	rep := &report.Report{
		Tool:    "kustomize-check",
		Version: report.ModuleVersions("sigs.k8s.io/kustomize/api", "sigs.k8s.io/kustomize/kyaml"),
	}
	fs := filesys.MakeFsOnDisk()
	for _, dir := range dirs {
		rep.Add(build(fs, dir))
	}
	os.Exit(rep.Print())
}

func build(fs filesys.FileSystem, dir string) *report.File {
	f := &report.File{File: dir}
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionUnspecified
	k := krusty.MakeKustomizer(opts)
	m, err := k.Run(fs, dir)
	if err != nil {
		f.Errors = []string{err.Error()}
		return f
	}
	text, err := m.AsYaml()
	if err != nil {
		f.Errors = []string{"encoding the result as YAML: " + err.Error()}
		return f
	}
	out := built{YAML: string(text), Objects: []json.RawMessage{}}
	for _, r := range m.Resources() {
		b, err := r.MarshalJSON()
		if err != nil {
			f.Errors = append(f.Errors, "encoding "+r.CurId().String()+" as JSON: "+err.Error())
			continue
		}
		out.Objects = append(out.Objects, b)
	}
	f.Parsed = out
	return f
}
