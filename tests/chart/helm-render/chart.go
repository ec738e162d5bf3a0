// Loading a chart directory the way `helm template` does: ported from helm.sh/helm/v3
// v3.21.4 pkg/chart (metadata.go, dependency.go) and pkg/chart/loader (directory.go,
// load.go), Apache License 2.0, The Helm Authors. Subcharts are not loaded: in a real
// install `helm dependency build` fetches them into charts/, which this project never
// commits.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/yaml"
)

var utf8bom = []byte{0xEF, 0xBB, 0xBF}

// Maintainer mirrors helm's chart.Maintainer (templates may read .Chart.Maintainers).
type Maintainer struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	URL   string `json:"url,omitempty"`
}

// Dependency mirrors helm's chart.Dependency.
type Dependency struct {
	Name         string        `json:"name" yaml:"name"`
	Version      string        `json:"version,omitempty" yaml:"version,omitempty"`
	Repository   string        `json:"repository" yaml:"repository"`
	Condition    string        `json:"condition,omitempty" yaml:"condition,omitempty"`
	Tags         []string      `json:"tags,omitempty" yaml:"tags,omitempty"`
	Enabled      bool          `json:"enabled,omitempty" yaml:"enabled,omitempty"`
	ImportValues []interface{} `json:"import-values,omitempty" yaml:"import-values,omitempty"`
	Alias        string        `json:"alias,omitempty" yaml:"alias,omitempty"`
}

// Metadata mirrors helm's chart.Metadata field for field: templates see it as .Chart.
type Metadata struct {
	Name         string            `json:"name,omitempty"`
	Home         string            `json:"home,omitempty"`
	Sources      []string          `json:"sources,omitempty"`
	Version      string            `json:"version,omitempty"`
	Description  string            `json:"description,omitempty"`
	Keywords     []string          `json:"keywords,omitempty"`
	Maintainers  []*Maintainer     `json:"maintainers,omitempty"`
	Icon         string            `json:"icon,omitempty"`
	APIVersion   string            `json:"apiVersion,omitempty"`
	Condition    string            `json:"condition,omitempty"`
	Tags         string            `json:"tags,omitempty"`
	AppVersion   string            `json:"appVersion,omitempty"`
	Deprecated   bool              `json:"deprecated,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	KubeVersion  string            `json:"kubeVersion,omitempty"`
	Dependencies []*Dependency     `json:"dependencies,omitempty"`
	Type         string            `json:"type,omitempty"`
}

type chartFile struct {
	Name string
	Data []byte
}

type chart struct {
	Metadata  *Metadata
	Templates []*chartFile
	// Files are every other file of the chart, reachable from templates as .Files.
	Files  []*chartFile
	Values map[string]interface{}
	// HasSubcharts records that charts/ held something this renderer does not load.
	HasSubcharts bool
}

func (c *chart) name() string { return c.Metadata.Name }

type validationError string

func (v validationError) Error() string { return "validation: " + string(v) }

func validationErrorf(format string, args ...interface{}) validationError {
	return validationError(fmt.Sprintf(format, args...))
}

// loadChartDir reads a chart directory honouring .helmignore, as helm's loader.LoadDir.
func loadChartDir(dir string) (*chart, error) {
	topdir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(topdir); err != nil {
		return nil, fmt.Errorf("path %q not found", dir)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a chart directory", dir)
	}
	rules := emptyIgnoreRules()
	ifile := filepath.Join(topdir, helmIgnoreFile)
	if _, err := os.Stat(ifile); err == nil {
		r, err := parseIgnoreFile(ifile)
		if err != nil {
			return nil, err
		}
		rules = r
	}
	rules.addDefaults()

	var files []*chartFile
	prefix := topdir + string(filepath.Separator)
	walk := func(name string, fi os.FileInfo, err error) error {
		n := strings.TrimPrefix(name, prefix)
		if n == "" || name == topdir {
			return nil
		}
		n = filepath.ToSlash(n)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			if rules.ignore(n, fi) {
				return filepath.SkipDir
			}
			return nil
		}
		if rules.ignore(n, fi) {
			return nil
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("cannot load irregular file %s as it has file mode type bits set", name)
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("error reading %s: %w", n, err)
		}
		files = append(files, &chartFile{Name: n, Data: bytes.TrimPrefix(data, utf8bom)})
		return nil
	}
	if err := filepath.Walk(topdir, walk); err != nil {
		return nil, err
	}
	return loadChartFiles(files)
}

func loadChartFiles(files []*chartFile) (*chart, error) {
	c := &chart{}
	for _, f := range files {
		if f.Name != "Chart.yaml" {
			continue
		}
		c.Metadata = new(Metadata)
		if err := yaml.Unmarshal(f.Data, c.Metadata); err != nil {
			return nil, fmt.Errorf("cannot load Chart.yaml: %w", err)
		}
		// Helm 2 charts had no apiVersion; helm 3 reads them as v1.
		if c.Metadata.APIVersion == "" {
			c.Metadata.APIVersion = "v1"
		}
	}
	for _, f := range files {
		switch {
		case f.Name == "Chart.yaml", f.Name == "Chart.lock", f.Name == "requirements.lock", f.Name == "values.schema.json":
			continue
		case f.Name == "values.yaml":
			c.Values = map[string]interface{}{}
			if err := yaml.Unmarshal(f.Data, &c.Values); err != nil {
				return nil, fmt.Errorf("cannot load values.yaml: %w", err)
			}
		case f.Name == "requirements.yaml":
			// Dependencies are ignored (see the file comment); v1 charts keep the file.
			if c.Metadata != nil && c.Metadata.APIVersion == "v1" {
				c.Files = append(c.Files, f)
			}
		case strings.HasPrefix(f.Name, "templates/"):
			c.Templates = append(c.Templates, f)
		case strings.HasPrefix(f.Name, "charts/"):
			if filepath.Ext(f.Name) == ".prov" {
				c.Files = append(c.Files, f)
				continue
			}
			c.HasSubcharts = true
		default:
			c.Files = append(c.Files, f)
		}
	}
	if c.Metadata == nil {
		return nil, errors.New("Chart.yaml file is missing")
	}
	if err := c.Metadata.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

var aliasNameFormat = regexp.MustCompile("^[a-zA-Z0-9_-]+$")

func (md *Metadata) validate() error {
	md.Name = sanitizeString(md.Name)
	md.Description = sanitizeString(md.Description)
	md.Home = sanitizeString(md.Home)
	md.Icon = sanitizeString(md.Icon)
	md.Condition = sanitizeString(md.Condition)
	md.Tags = sanitizeString(md.Tags)
	md.AppVersion = sanitizeString(md.AppVersion)
	md.KubeVersion = sanitizeString(md.KubeVersion)
	for i := range md.Sources {
		md.Sources[i] = sanitizeString(md.Sources[i])
	}
	for i := range md.Keywords {
		md.Keywords[i] = sanitizeString(md.Keywords[i])
	}
	if md.APIVersion == "" {
		return validationError("chart.metadata.apiVersion is required")
	}
	if md.Name == "" {
		return validationError("chart.metadata.name is required")
	}
	if md.Name == "." || md.Name == ".." {
		return validationErrorf("chart.metadata.name %q is not allowed", md.Name)
	}
	if md.Name != filepath.Base(md.Name) {
		return validationErrorf("chart.metadata.name %q is invalid", md.Name)
	}
	if md.Version == "" {
		return validationError("chart.metadata.version is required")
	}
	if _, err := semver.NewVersion(md.Version); err != nil {
		return validationErrorf("chart.metadata.version %q is invalid", md.Version)
	}
	switch md.Type {
	case "", "application", "library":
	default:
		return validationError("chart.metadata.type must be application or library")
	}
	for _, m := range md.Maintainers {
		if m == nil {
			return validationError("maintainers must not contain empty or null nodes")
		}
		m.Name = sanitizeString(m.Name)
		m.Email = sanitizeString(m.Email)
		m.URL = sanitizeString(m.URL)
	}
	seen := map[string]bool{}
	for _, d := range md.Dependencies {
		if d == nil {
			return validationError("dependencies must not contain empty or null nodes")
		}
		d.Name = sanitizeString(d.Name)
		d.Version = sanitizeString(d.Version)
		d.Repository = sanitizeString(d.Repository)
		d.Condition = sanitizeString(d.Condition)
		for i := range d.Tags {
			d.Tags[i] = sanitizeString(d.Tags[i])
		}
		if d.Alias != "" && !aliasNameFormat.MatchString(d.Alias) {
			return validationErrorf("dependency %q has disallowed characters in the alias", d.Name)
		}
		key := d.Name
		if d.Alias != "" {
			key = d.Alias
		}
		if seen[key] {
			return validationErrorf("more than one dependency with name or alias %q", key)
		}
		seen[key] = true
	}
	return nil
}

func sanitizeString(str string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, str)
}

// crdFiles are the crds/ manifests `helm template --include-crds` prints first.
func (c *chart) crdFiles() []*chartFile {
	var crds []*chartFile
	for _, f := range c.Files {
		ext := strings.ToLower(filepath.Ext(f.Name))
		if strings.HasPrefix(f.Name, "crds/") && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
			crds = append(crds, f)
		}
	}
	return crds
}

// isCompatibleRange is helm's chartutil.IsCompatibleRange (Chart.yaml kubeVersion).
func isCompatibleRange(constraint, ver string) bool {
	sv, err := semver.NewVersion(ver)
	if err != nil {
		return false
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return false
	}
	return c.Check(sv)
}
