// .Files: ported from helm.sh/helm/v3 v3.21.4 pkg/engine/files.go (Apache License 2.0,
// The Helm Authors).
package main

import (
	"encoding/base64"
	"path"
	"strings"

	"github.com/gobwas/glob"
)

// files holds the chart's non-template files by their path in the chart.
type files map[string][]byte

func newFiles(from []*chartFile) files {
	f := make(files)
	for _, cf := range from {
		f[cf.Name] = cf.Data
	}
	return f
}

// GetBytes returns a file's bytes, or none when it does not exist.
func (f files) GetBytes(name string) []byte {
	if v, ok := f[name]; ok {
		return v
	}
	return []byte{}
}

// Get returns a file's content, or "" when it does not exist.
func (f files) Get(name string) string {
	return string(f.GetBytes(name))
}

// Glob returns the files whose paths match a gobwas glob ('/' separates).
func (f files) Glob(pattern string) files {
	g, err := glob.Compile(pattern, '/')
	if err != nil {
		g, _ = glob.Compile("**")
	}
	nf := newFiles(nil)
	for name, contents := range f {
		if g.Match(name) {
			nf[name] = contents
		}
	}
	return nf
}

// AsConfig renders the files as ConfigMap data keyed by base name.
func (f files) AsConfig() string {
	if f == nil {
		return ""
	}
	m := make(map[string]string)
	for k, v := range f {
		m[path.Base(k)] = string(v)
	}
	return toYAML(m)
}

// AsSecrets renders the files as base64 Secret data keyed by base name.
func (f files) AsSecrets() string {
	if f == nil {
		return ""
	}
	m := make(map[string]string)
	for k, v := range f {
		m[path.Base(k)] = base64.StdEncoding.EncodeToString(v)
	}
	return toYAML(m)
}

// Lines splits a file into lines, without a trailing empty one.
func (f files) Lines(p string) []string {
	if f == nil || len(f[p]) == 0 {
		return []string{}
	}
	s := string(f[p])
	if s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return strings.Split(s, "\n")
}
