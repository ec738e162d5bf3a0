// Values as `helm template -f a.yaml -f b.yaml` computes them: ported from helm.sh/helm/v3
// v3.21.4 pkg/cli/values/options.go (mergeMaps) and pkg/chartutil/coalesce.go (Apache
// License 2.0, The Helm Authors), without the subchart and globals parts.
//
// Numbers in values are float64, as in Helm: sigs.k8s.io/yaml goes through JSON.
package main

import (
	"fmt"
	"os"

	"github.com/mitchellh/copystructure"
	"sigs.k8s.io/yaml"
)

// Values is the type of .Values (helm's chartutil.Values), with the methods templates
// can call on it.
type Values map[string]interface{}

// YAML encodes the values, as chartutil.Values.YAML.
func (v Values) YAML() (string, error) {
	b, err := yaml.Marshal(v)
	return string(b), err
}

// AsMap is a utility function for converting Values to a map[string]interface{}.
func (v Values) AsMap() map[string]interface{} {
	if len(v) == 0 {
		return map[string]interface{}{}
	}
	return v
}

// mergeValueFiles merges -f files in order: later files win, maps merge deeply, and a
// null is kept so that coalescing can delete the chart default under it.
func mergeValueFiles(paths []string) (map[string]interface{}, error) {
	base := map[string]interface{}{}
	for _, p := range paths {
		current := map[string]interface{}{}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if err := yaml.Unmarshal(data, &current); err != nil {
			return nil, fmt.Errorf("failed to parse %s: %w", p, err)
		}
		base = mergeMaps(base, current)
	}
	return base, nil
}

func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if v, ok := v.(map[string]interface{}); ok {
			if bv, ok := out[k]; ok {
				if bv, ok := bv.(map[string]interface{}); ok {
					out[k] = mergeMaps(bv, v)
					continue
				}
			}
		}
		out[k] = v
	}
	return out
}

// coalesceValues lays user values over the chart's values.yaml: user values win, a
// user null deletes the chart's key, and a table never replaces a scalar or the reverse
// (Helm warns and keeps the destination).
func coalesceValues(chartName string, chartValues, user map[string]interface{}) (Values, error) {
	v, err := copystructure.Copy(user)
	if err != nil {
		return nil, err
	}
	dest, _ := v.(map[string]interface{})
	if dest == nil {
		dest = map[string]interface{}{}
	}
	cv, err := copystructure.Copy(chartValues)
	if err != nil {
		return nil, err
	}
	vc, _ := cv.(map[string]interface{})
	for key, val := range vc {
		if value, ok := dest[key]; ok {
			if value == nil {
				delete(dest, key)
			} else if dst, ok := value.(map[string]interface{}); ok {
				if src, ok := val.(map[string]interface{}); ok {
					coalesceTables(dst, src, chartName+"."+key)
				} else if val != nil {
					warn("warning: skipped value for %s.%s: Not a table.", chartName, key)
				}
			}
		} else {
			dest[key] = val
		}
	}
	return dest, nil
}

func coalesceTables(dst, src map[string]interface{}, prefix string) map[string]interface{} {
	if src == nil {
		return dst
	}
	if dst == nil {
		return src
	}
	srcOriginalNonNil := make(map[string]bool)
	for key, val := range src {
		if val != nil {
			srcOriginalNonNil[key] = true
		}
	}
	// A null in dst must reach src so that deeper defaults are deleted too.
	for key, val := range dst {
		if val == nil {
			src[key] = nil
		}
	}
	for key, val := range src {
		fullkey := prefix + "." + key
		if dv, ok := dst[key]; ok && dv == nil && srcOriginalNonNil[key] {
			delete(dst, key)
		} else if !ok {
			dst[key] = val
		} else if isTable(val) {
			if isTable(dv) {
				coalesceTables(dv.(map[string]interface{}), val.(map[string]interface{}), fullkey)
			} else {
				warn("warning: cannot overwrite table with non table for %s (%v)", fullkey, val)
			}
		} else if isTable(dv) && val != nil {
			warn("warning: destination for %s is a table. Ignoring non-table value (%v)", fullkey, val)
		}
	}
	return dst
}

func isTable(v interface{}) bool {
	_, ok := v.(map[string]interface{})
	return ok
}
