// The template engine: ported from helm.sh/helm/v3 v3.21.4 pkg/engine/engine.go (Apache
// License 2.0, The Helm Authors), for a root chart without subcharts, not in lint mode,
// not strict, without a cluster (lookup finds nothing) and without DNS (getHostByName
// returns "").
package main

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"text/template"
)

const (
	warnStartDelim   = "HELM_ERR_START"
	warnEndDelim     = "HELM_ERR_END"
	recursionMaxNums = 1000
)

var warnRegex = regexp.MustCompile(warnStartDelim + `((?s).*)` + warnEndDelim)

func warnWrap(warn string) string { return warnStartDelim + warn + warnEndDelim }

// chartView is what templates see as .Chart: the metadata plus IsRoot.
type chartView struct {
	Metadata
	IsRoot bool
}

// renderValues builds the top-level template data, as chartutil.ToRenderValues and
// engine.recAllTpls do.
func renderValues(c *chart, vals Values, release map[string]interface{}, caps *Capabilities) Values {
	return Values{
		"Chart":        chartView{Metadata: *c.Metadata, IsRoot: true},
		"Files":        newFiles(c.Files),
		"Release":      release,
		"Capabilities": caps,
		"Values":       vals,
		"Subcharts":    map[string]interface{}{},
	}
}

func includeFun(t *template.Template, includedNames map[string]int) func(string, interface{}) (string, error) {
	return func(name string, data interface{}) (string, error) {
		var buf strings.Builder
		if v, ok := includedNames[name]; ok {
			if v > recursionMaxNums {
				return "", fmt.Errorf("rendering template has a nested reference name: %s: %w", name, errors.New("unable to execute template"))
			}
			includedNames[name]++
		} else {
			includedNames[name] = 1
		}
		err := t.ExecuteTemplate(&buf, name, data)
		includedNames[name]--
		return buf.String(), err
	}
}

func tplFun(parent *template.Template, includedNames map[string]int) func(string, interface{}) (string, error) {
	return func(tpl string, vals interface{}) (string, error) {
		t, err := parent.Clone()
		if err != nil {
			return "", fmt.Errorf("cannot clone template: %w", err)
		}
		// Clone loses missingkey (golang/go#43022): set it again.
		t.Option("missingkey=zero")
		t.Funcs(template.FuncMap{
			"include": includeFun(t, includedNames),
			"tpl":     tplFun(t, includedNames),
		})
		t, err = t.New(parent.Name()).Parse(tpl)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", tpl, err)
		}
		var buf strings.Builder
		if err := t.Execute(&buf, vals); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", tpl, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
}

func initFunMap(t *template.Template) {
	funcMap := funcMap()
	includedNames := make(map[string]int)
	funcMap["include"] = includeFun(t, includedNames)
	funcMap["tpl"] = tplFun(t, includedNames)
	funcMap["required"] = func(warn string, val interface{}) (interface{}, error) {
		if val == nil {
			return val, errors.New(warnWrap(warn))
		} else if s, ok := val.(string); ok && s == "" {
			return val, errors.New(warnWrap(warn))
		}
		return val, nil
	}
	funcMap["fail"] = func(msg string) (string, error) {
		return "", errors.New(warnWrap(msg))
	}
	funcMap["getHostByName"] = func(_ string) string { return "" }
	t.Funcs(funcMap)
}

// render parses every template of the chart into one template set (so a define in
// _helpers.tpl is visible everywhere), then executes each non-partial file. Keys are
// "<chart>/templates/<file>".
func render(c *chart, top Values) (rendered map[string]string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rendering template failed: %v", r)
		}
	}()
	t := template.New("gotpl")
	// missingkey=zero still prints "<no value>" for interface values; removed below.
	t.Option("missingkey=zero")
	initFunMap(t)

	sources := map[string]string{}
	for _, f := range c.Templates {
		sources[path.Join(c.name(), f.Name)] = string(f.Data)
	}
	keys := sortTemplates(sources)
	for _, filename := range keys {
		if _, err := t.New(filename).Parse(sources[filename]); err != nil {
			return nil, cleanupParseError(filename, err)
		}
	}

	basePath := path.Join(c.name(), "templates")
	rendered = make(map[string]string, len(keys))
	for _, filename := range keys {
		if strings.HasPrefix(path.Base(filename), "_") {
			continue
		}
		top["Template"] = Values{"Name": filename, "BasePath": basePath}
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, filename, top); err != nil {
			return nil, cleanupExecError(filename, err)
		}
		rendered[filename] = strings.ReplaceAll(buf.String(), "<no value>", "")
	}
	return rendered, nil
}

func cleanupParseError(filename string, err error) error {
	tokens := strings.Split(err.Error(), ": ")
	if len(tokens) == 1 {
		return fmt.Errorf("parse error in (%s): %s", filename, err)
	}
	location := tokens[1]
	errMsg := tokens[len(tokens)-1]
	return fmt.Errorf("parse error at (%s): %s", location, errMsg)
}

func cleanupExecError(filename string, err error) error {
	if _, isExecError := err.(template.ExecError); !isExecError {
		return err
	}
	tokens := strings.SplitN(err.Error(), ": ", 3)
	if len(tokens) != 3 {
		return fmt.Errorf("execution error in (%s): %s", filename, err)
	}
	location := tokens[1]
	parts := warnRegex.FindStringSubmatch(tokens[2])
	if len(parts) >= 2 {
		return fmt.Errorf("execution error at (%s): %s", location, parts[1])
	}
	return err
}

// sortTemplates orders by depth (deepest first), then by name descending: the parse
// order decides which of two same-named defines wins, so it must match Helm's.
func sortTemplates(tpls map[string]string) []string {
	keys := make([]string, 0, len(tpls))
	for key := range tpls {
		keys = append(keys, key)
	}
	sort.Sort(sort.Reverse(byPathLen(keys)))
	return keys
}

type byPathLen []string

func (p byPathLen) Len() int      { return len(p) }
func (p byPathLen) Swap(i, j int) { p[j], p[i] = p[i], p[j] }
func (p byPathLen) Less(i, j int) bool {
	a, b := p[i], p[j]
	ca, cb := strings.Count(a, "/"), strings.Count(b, "/")
	if ca == cb {
		return strings.Compare(a, b) == -1
	}
	return ca < cb
}
