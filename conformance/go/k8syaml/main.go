// Command k8syaml reads YAML files the way Kubernetes tools do, so the property
// tests can compare its reading with PyYAML's and the `yaml` package's.
//
// Input on stdin: one JSON string per line, the text of one YAML file. Output on
// stdout: one JSON object per input line, in order:
//
//	{"docs":[{"json":…, "error":"…", "containers":[…], "applied":…, "applyError":"…"}], "error":"…"}
//
// For each file, as kubectl reads a manifest (and the argo CLI a workflow):
//   - the documents are split with apimachinery's YAMLReader (k8s.io/apimachinery/pkg/util/yaml);
//   - each is converted with sigs.k8s.io/yaml's YAMLToJSONStrict (go-yaml v2 underneath:
//     go.yaml.in/yaml/v2), which refuses duplicate keys; "json" is the result;
//   - in a Kubernetes object (one with apiVersion and kind), every container
//     (`containers`, `initContainers`, `sidecars`, `steps` items; `container`, `script`)
//     is decoded into corev1.Container with encoding/json, as the typed clients and
//     controllers do; "containers" holds each one re-encoded, or its error;
//   - server-side apply: kubectl encodes the object with encoding/json and sends it as
//     application/apply-patch+yaml; the API server reads that body with
//     sigs.k8s.io/yaml.Unmarshal (apiserver handlers/patch.go, applyPatcher). "applied"
//     is what the server reads back, or "applyError" its refusal.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"

	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

type container struct {
	Path  string          `json:"path"`
	JSON  json.RawMessage `json:"json,omitempty"`
	Error string          `json:"error,omitempty"`
}

type doc struct {
	JSON       json.RawMessage `json:"json,omitempty"`
	Error      string          `json:"error,omitempty"`
	Containers []container     `json:"containers,omitempty"`
	Applied    json.RawMessage `json:"applied,omitempty"`
	ApplyError string          `json:"applyError,omitempty"`
}

type file struct {
	Docs  []doc  `json:"docs"`
	Error string `json:"error,omitempty"`
}

func main() {
	in := bufio.NewReader(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var text string
			if jerr := json.Unmarshal(line, &text); jerr != nil {
				_ = enc.Encode(file{Docs: []doc{}, Error: "input line is not a JSON string: " + jerr.Error()})
			} else {
				_ = enc.Encode(readFile([]byte(text)))
			}
			// One answer per line, at once: the caller may be waiting on it.
			out.Flush()
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			os.Exit(1)
		}
	}
}

func readFile(text []byte) file {
	f := file{Docs: []doc{}}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(text)))
	for {
		chunk, err := r.Read()
		if errors.Is(err, io.EOF) {
			return f
		}
		if err != nil {
			f.Error = err.Error()
			return f
		}
		d := readDoc(chunk)
		// A chunk of only comments (the header above the first `---`) is no object;
		// kubectl skips it too.
		if d.Error == "" && string(d.JSON) == "null" {
			continue
		}
		f.Docs = append(f.Docs, d)
	}
}

func readDoc(chunk []byte) doc {
	var d doc
	j, err := yaml.YAMLToJSONStrict(chunk)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	d.JSON = j
	var obj interface{}
	if err := json.Unmarshal(j, &obj); err != nil {
		d.Error = err.Error()
		return d
	}
	m, ok := obj.(map[string]interface{})
	if !ok || m["apiVersion"] == nil || m["kind"] == nil {
		return d
	}
	walk(obj, "", &d.Containers)
	// Server-side apply: what kubectl sends, read as the API server reads it.
	body, err := json.Marshal(obj)
	if err != nil {
		d.ApplyError = err.Error()
		return d
	}
	var applied map[string]interface{}
	if err := yaml.Unmarshal(body, &applied); err != nil {
		d.ApplyError = err.Error()
		return d
	}
	d.Applied, _ = json.Marshal(applied)
	return d
}

var containerLists = map[string]bool{"containers": true, "initContainers": true, "sidecars": true, "steps": true}
var containerFields = map[string]bool{"container": true, "script": true}

func walk(v interface{}, path string, found *[]container) {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, x := range t {
			p := path + "." + k
			if containerFields[k] {
				if _, ok := x.(map[string]interface{}); ok {
					*found = append(*found, decodeContainer(x, p))
				}
			}
			if containerLists[k] {
				if items, ok := x.([]interface{}); ok {
					for i, item := range items {
						if _, ok := item.(map[string]interface{}); ok {
							*found = append(*found, decodeContainer(item, p+"["+itoa(i)+"]"))
						}
					}
				}
			}
			walk(x, p, found)
		}
	case []interface{}:
		for i, x := range t {
			walk(x, path+"["+itoa(i)+"]", found)
		}
	}
}

func decodeContainer(v interface{}, path string) container {
	raw, _ := json.Marshal(v)
	var c corev1.Container
	if err := json.Unmarshal(raw, &c); err != nil {
		return container{Path: path, Error: err.Error()}
	}
	back, _ := json.Marshal(c)
	return container{Path: path, JSON: back}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
