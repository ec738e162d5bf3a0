// .helmignore rules, ported from helm.sh/helm/v3 v3.21.4 pkg/ignore/rules.go
// (Apache License 2.0, The Helm Authors) so a chart directory loads the same files
// `helm template` loads.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
)

const helmIgnoreFile = ".helmignore"

type ignoreRules struct {
	patterns []*ignorePattern
}

type ignorePattern struct {
	raw     string
	match   func(name string) bool
	negate  bool
	mustDir bool
}

func emptyIgnoreRules() *ignoreRules { return &ignoreRules{} }

// addDefaults ignores dotfiles in templates/, as Helm always does.
func (r *ignoreRules) addDefaults() {
	// The default rule is known to be valid.
	_ = r.parseRule(`templates/.?*`)
}

func parseIgnoreFile(file string) (*ignoreRules, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseIgnore(f)
}

func parseIgnore(file io.Reader) (*ignoreRules, error) {
	r := emptyIgnoreRules()
	s := bufio.NewScanner(file)
	first := true
	for s.Scan() {
		line := s.Bytes()
		if first {
			line = bytes.TrimPrefix(line, utf8bom)
			first = false
		}
		if err := r.parseRule(string(line)); err != nil {
			return r, err
		}
	}
	return r, s.Err()
}

// ignore evaluates rules in order: the first positive match ignores the path; a
// negated rule that does not match ignores it too (Helm's semantics, not git's).
func (r *ignoreRules) ignore(path string, fi os.FileInfo) bool {
	if path == "" || path == "." || path == "./" {
		return false
	}
	for _, p := range r.patterns {
		if p.negate {
			if p.mustDir && !fi.IsDir() {
				return true
			}
			if !p.match(path) {
				return true
			}
			continue
		}
		if p.mustDir && !fi.IsDir() {
			continue
		}
		if p.match(path) {
			return true
		}
	}
	return false
}

func (r *ignoreRules) parseRule(rule string) error {
	rule = strings.TrimSpace(rule)
	if rule == "" || strings.HasPrefix(rule, "#") {
		return nil
	}
	if strings.Contains(rule, "**") {
		return errors.New("double-star (**) syntax is not supported")
	}
	if _, err := filepath.Match(rule, "abc"); err != nil {
		return err
	}
	p := &ignorePattern{raw: rule}
	if strings.HasPrefix(rule, "!") {
		p.negate = true
		rule = rule[1:]
	}
	if strings.HasSuffix(rule, "/") {
		p.mustDir = true
		rule = strings.TrimSuffix(rule, "/")
	}
	switch {
	case strings.HasPrefix(rule, "/"):
		anchored := strings.TrimPrefix(rule, "/")
		p.match = func(n string) bool {
			ok, err := filepath.Match(anchored, n)
			return err == nil && ok
		}
	case strings.Contains(rule, "/"):
		p.match = func(n string) bool {
			ok, err := filepath.Match(rule, n)
			return err == nil && ok
		}
	default:
		// Without a slash the rule matches the base name only.
		p.match = func(n string) bool {
			ok, err := filepath.Match(rule, filepath.Base(n))
			return err == nil && ok
		}
	}
	r.patterns = append(r.patterns, p)
	return nil
}
