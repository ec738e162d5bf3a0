// helm-render renders a chart directory as `helm template` (Helm v3.21.4, client-only)
// does, for machines without a helm binary. It is built from Helm's own template code
// paths (ported, see each file) over the libraries Helm uses, taken from Debian:
//
//	helm-render [-f values.yaml]... [--name NAME] [-n NAMESPACE] [--kube-version V]
//	            [--api-versions G/V]... [--is-upgrade] [--include-crds] [--no-hooks]
//	            [--skip-tests] [--notes] [--output text|json] CHART_DIR
//
// Text output is byte for byte what `helm template` prints. --notes prints the rendered
// NOTES.txt instead. --output json prints {"text", "documents": [{"source", "object"}],
// "notes"}, each object converted by sigs.k8s.io/yaml (YAML 1.1, as the Kubernetes client
// reads manifests). Errors go to stderr as "Error: ..." with exit status 1.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"strings"

	"sigs.k8s.io/yaml"
)

type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// commaList splits each value on commas, as helm's StringSlice flags do.
type commaList []string

func (s *commaList) String() string { return strings.Join(*s, ",") }

func (s *commaList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

type options struct {
	chartDir    string
	valueFiles  stringList
	releaseName string
	namespace   string
	kubeVersion string
	apiVersions commaList
	isUpgrade   bool
	includeCRDs bool
	noHooks     bool
	skipTests   bool
	notes       bool
	output      string
}

type document struct {
	Source string          `json:"source"`
	Object json.RawMessage `json:"object"`
}

type jsonResult struct {
	Text      string     `json:"text"`
	Documents []document `json:"documents"`
	Notes     *string    `json:"notes"`
}

type result struct {
	text      string
	documents []document
	notes     string
}

func warn(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func parseOptions(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("helm-render", flag.ContinueOnError)
	fs.Var(&o.valueFiles, "f", "values file (repeatable; later files win)")
	fs.Var(&o.valueFiles, "values", "values file (repeatable; later files win)")
	fs.StringVar(&o.releaseName, "name", "release-name", "release name")
	fs.StringVar(&o.namespace, "n", "default", "release namespace")
	fs.StringVar(&o.namespace, "namespace", "default", "release namespace")
	fs.StringVar(&o.kubeVersion, "kube-version", "", "Kubernetes version for .Capabilities.KubeVersion")
	fs.Var(&o.apiVersions, "a", "extra API versions for .Capabilities.APIVersions")
	fs.Var(&o.apiVersions, "api-versions", "extra API versions for .Capabilities.APIVersions")
	fs.BoolVar(&o.isUpgrade, "is-upgrade", false, "set .Release.IsUpgrade instead of .Release.IsInstall")
	fs.BoolVar(&o.includeCRDs, "include-crds", false, "print crds/ first")
	fs.BoolVar(&o.noHooks, "no-hooks", false, "leave hooks out")
	fs.BoolVar(&o.skipTests, "skip-tests", false, "leave test hooks out")
	fs.BoolVar(&o.notes, "notes", false, "print the rendered NOTES.txt (text output) or include it (json output)")
	fs.StringVar(&o.output, "output", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() != 1 {
		return nil, fmt.Errorf("expected exactly one chart directory, got %d arguments", fs.NArg())
	}
	if o.output != "text" && o.output != "json" {
		return nil, fmt.Errorf("--output must be text or json, not %q", o.output)
	}
	o.chartDir = fs.Arg(0)
	return o, nil
}

func run(o *options) (*result, error) {
	var kubeVersion *KubeVersion
	if o.kubeVersion != "" {
		kv, err := parseKubeVersion(o.kubeVersion)
		if err != nil {
			return nil, fmt.Errorf("invalid kube version '%s': %s", o.kubeVersion, err)
		}
		kubeVersion = kv
	}
	userValues, err := mergeValueFiles(o.valueFiles)
	if err != nil {
		return nil, err
	}
	c, err := loadChartDir(o.chartDir)
	if err != nil {
		return nil, err
	}
	if t := c.Metadata.Type; t != "" && t != "application" {
		return nil, fmt.Errorf("%s charts are not installable", t)
	}
	if c.Metadata.Deprecated {
		warn("WARNING: This chart is deprecated")
	}
	if len(c.Metadata.Dependencies) > 0 || c.HasSubcharts {
		warn("helm-render: chart dependencies are not rendered (real helm needs `helm dependency build` first)")
	}
	caps := newCapabilities(kubeVersion, o.apiVersions)
	if c.Metadata.KubeVersion != "" && !isCompatibleRange(c.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return nil, fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", c.Metadata.KubeVersion, caps.KubeVersion.String())
	}
	vals, err := coalesceValues(c.name(), c.Values, userValues)
	if err != nil {
		return nil, err
	}
	release := map[string]interface{}{
		"Name":      o.releaseName,
		"Namespace": o.namespace,
		"IsUpgrade": o.isUpgrade,
		"IsInstall": !o.isUpgrade,
		"Revision":  1,
		"Service":   "Helm",
	}
	rendered, err := render(c, renderValues(c, vals, release, caps))
	if err != nil {
		return nil, err
	}

	// NOTES.txt is rendered with everything else (an error in it fails the render) but
	// is not a manifest.
	res := &result{}
	for k, v := range rendered {
		if strings.HasSuffix(k, "NOTES.txt") {
			if k == path.Join(c.name(), "templates", "NOTES.txt") {
				res.notes = v
			}
			delete(rendered, k)
		}
	}
	hooks, manifests, err := sortManifests(rendered)
	if err != nil {
		return nil, err
	}

	var b bytes.Buffer
	if o.includeCRDs {
		for _, crd := range c.crdFiles() {
			source := path.Join(c.name(), crd.Name)
			fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", source, string(crd.Data))
			for _, doc := range splitManifests(string(crd.Data)) {
				if err := res.addDocument(source, doc); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
		if err := res.addDocument(m.Name, m.Content); err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	fmt.Fprintln(&out, strings.TrimSpace(b.String()))
	if !o.noHooks {
		for _, h := range hooks {
			if o.skipTests && h.isTest() {
				continue
			}
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", h.Name, h.Content)
			if err := res.addDocument(h.Name, h.Content); err != nil {
				return nil, err
			}
		}
	}
	res.text = out.String()
	return res, nil
}

// addDocument records a document as the Kubernetes client would decode it from the
// printed stream, where a newline follows each document (it ends a trailing block
// scalar); documents holding only comments are no object and are left out.
func (r *result) addDocument(source, content string) error {
	j, err := yaml.YAMLToJSON([]byte(content + "\n"))
	if err != nil {
		return fmt.Errorf("YAML parse error on %s: %w", source, err)
	}
	if string(j) == "null" {
		return nil
	}
	r.documents = append(r.documents, document{Source: source, Object: j})
	return nil
}

func main() {
	o, err := parseOptions(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %s\n", err)
		os.Exit(2)
	}
	res, err := run(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %s\n", err)
		os.Exit(1)
	}
	switch {
	case o.output == "json":
		out := jsonResult{Text: res.text, Documents: res.documents}
		if out.Documents == nil {
			out.Documents = []document{}
		}
		if o.notes {
			out.Notes = &res.notes
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(os.Stderr, "Error: %s\n", err)
			os.Exit(1)
		}
	case o.notes:
		fmt.Print(res.notes)
	default:
		fmt.Print(res.text)
	}
}
