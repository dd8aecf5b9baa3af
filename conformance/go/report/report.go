// Package report is the one output shape of every runner tool in conformance/:
// {"files":[{"file","ok","errors","parsed"}]} as a single JSON document on stdout.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
)

// File is the verdict of one runner on one input file.
type File struct {
	File   string   `json:"file"`
	OK     bool     `json:"ok"`
	Errors []string `json:"errors"`
	// Parsed is what the runner's own code read from the file.
	Parsed any `json:"parsed"`
}

// Report is the whole document a tool prints.
type Report struct {
	Tool    string            `json:"tool"`
	Version map[string]string `json:"versions"`
	Files   []*File           `json:"files"`
}

// Add records one file; ok is derived from the errors.
func (r *Report) Add(f *File) {
	if f.Errors == nil {
		f.Errors = []string{}
	}
	f.OK = len(f.Errors) == 0
	r.Files = append(r.Files, f)
}

// Print writes the report and returns the process exit code: 0 when every file
// was accepted, 1 otherwise.
func (r *Report) Print() int {
	if r.Files == nil {
		r.Files = []*File{}
	}
	if err := WriteJSON(r); err != nil {
		Fatal("cannot encode report: %v", err)
	}
	for _, f := range r.Files {
		if !f.OK {
			return 1
		}
	}
	return 0
}

// Fatal reports a usage or environment error (not a verdict on a file) and exits 2.
func Fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(2)
}

// ToJSONValue re-marshals a Go value into a plain JSON value, so that what is
// printed is exactly what the runner's own types kept of the input.
func ToJSONValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]string{"marshalError": err.Error()}
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return map[string]string{"marshalError": err.Error()}
	}
	return out
}

// ModuleVersions returns the versions of the named modules this binary was built
// with, read from its own build information.
func ModuleVersions(paths ...string) map[string]string {
	out := map[string]string{}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	out["go"] = info.GoVersion
	for _, d := range info.Deps {
		for _, p := range paths {
			if d.Path == p {
				v := d.Version
				if d.Replace != nil {
					v = d.Replace.Path + "@" + d.Replace.Version
				}
				out[p] = v
			}
		}
	}
	return out
}

// WriteJSON prints one indented JSON document on stdout, HTML characters unescaped.
func WriteJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
