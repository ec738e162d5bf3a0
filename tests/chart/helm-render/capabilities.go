// .Capabilities as `helm template` (client-only) sees it: helm v3.21.4's
// chartutil.DefaultCapabilities. Helm's release build sets the Kubernetes version from its
// client-go module (v0.36 -> v1.36.0) and lists every group/version client-go's scheme
// registers, plus apiextensions; no resource kinds ("apps/v1/Deployment") unless given
// with --api-versions.
package main

import (
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
)

const (
	emulatedHelmVersion = "v3.21.4"
	defaultKubeVersion  = "v1.36.0"
)

// KubeVersion mirrors helm's chartutil.KubeVersion.
type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

// String returns the version, as helm's KubeVersion does.
func (kv *KubeVersion) String() string { return kv.Version }

// GitVersion returns the version, kept for charts written for Helm 2.
func (kv *KubeVersion) GitVersion() string { return kv.Version }

// VersionSet mirrors helm's chartutil.VersionSet.
type VersionSet []string

// Has reports whether an API version (or version/kind given with --api-versions) exists.
func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

// BuildInfo mirrors helm's version.BuildInfo.
type BuildInfo struct {
	Version      string `json:"version,omitempty"`
	GitCommit    string `json:"git_commit,omitempty"`
	GitTreeState string `json:"git_tree_state,omitempty"`
	GoVersion    string `json:"go_version,omitempty"`
}

// Capabilities mirrors helm's chartutil.Capabilities.
type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
	HelmVersion BuildInfo
}

// defaultAPIVersions is client-go v0.36.2 kubernetes/scheme (register.go) plus
// apiextensions.k8s.io v1 and v1beta1, which helm adds.
var defaultAPIVersions = VersionSet{
	"admissionregistration.k8s.io/v1", "admissionregistration.k8s.io/v1alpha1", "admissionregistration.k8s.io/v1beta1",
	"internal.apiserver.k8s.io/v1alpha1",
	"apps/v1", "apps/v1beta1", "apps/v1beta2",
	"authentication.k8s.io/v1", "authentication.k8s.io/v1alpha1", "authentication.k8s.io/v1beta1",
	"authorization.k8s.io/v1", "authorization.k8s.io/v1beta1",
	"autoscaling/v1", "autoscaling/v2",
	"batch/v1", "batch/v1beta1",
	"certificates.k8s.io/v1", "certificates.k8s.io/v1alpha1", "certificates.k8s.io/v1beta1",
	"coordination.k8s.io/v1", "coordination.k8s.io/v1alpha2", "coordination.k8s.io/v1beta1",
	"v1",
	"discovery.k8s.io/v1", "discovery.k8s.io/v1beta1",
	"events.k8s.io/v1", "events.k8s.io/v1beta1",
	"extensions/v1beta1",
	"flowcontrol.apiserver.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1beta1", "flowcontrol.apiserver.k8s.io/v1beta2", "flowcontrol.apiserver.k8s.io/v1beta3",
	"networking.k8s.io/v1", "networking.k8s.io/v1beta1",
	"node.k8s.io/v1", "node.k8s.io/v1alpha1", "node.k8s.io/v1beta1",
	"policy/v1", "policy/v1beta1",
	"rbac.authorization.k8s.io/v1", "rbac.authorization.k8s.io/v1alpha1", "rbac.authorization.k8s.io/v1beta1",
	"resource.k8s.io/v1", "resource.k8s.io/v1alpha3", "resource.k8s.io/v1beta1", "resource.k8s.io/v1beta2",
	"scheduling.k8s.io/v1", "scheduling.k8s.io/v1alpha2", "scheduling.k8s.io/v1beta1",
	"storage.k8s.io/v1", "storage.k8s.io/v1alpha1", "storage.k8s.io/v1beta1",
	"storagemigration.k8s.io/v1beta1",
	"apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1",
}

func newCapabilities(kubeVersion *KubeVersion, extraAPIs []string) *Capabilities {
	caps := &Capabilities{
		KubeVersion: KubeVersion{Version: defaultKubeVersion, Major: "1", Minor: "36"},
		HelmVersion: BuildInfo{Version: emulatedHelmVersion, GitTreeState: "clean", GoVersion: runtime.Version()},
	}
	if kubeVersion != nil {
		caps.KubeVersion = *kubeVersion
	}
	caps.APIVersions = append(append(VersionSet{}, defaultAPIVersions...), extraAPIs...)
	return caps
}

// genericVersion splits a version into numbers and the rest, as k8s.io/apimachinery's
// version.ParseGeneric does.
var genericVersion = regexp.MustCompile(`^\s*v?([0-9]+(?:\.[0-9]+)*)(.*)*$`)

// parseKubeVersion is chartutil.ParseKubeVersion over version.ParseGeneric: "1.30" gives
// "v1.30" and "v1.30.2-rc.1" gives "v1.30.2" (a generic version drops the suffix).
func parseKubeVersion(version string) (*KubeVersion, error) {
	m := genericVersion.FindStringSubmatch(version)
	if m == nil {
		return nil, fmt.Errorf("could not parse %q as version", version)
	}
	parts := strings.Split(m[1], ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("illegal version string %q", version)
	}
	nums := make([]string, len(parts))
	for i, p := range parts {
		if i == 0 && strings.HasPrefix(p, "0") && p != "0" {
			return nil, fmt.Errorf("illegal zero-prefixed version component %q in %q", p, version)
		}
		n, err := strconv.ParseUint(p, 10, 0)
		if err != nil {
			return nil, fmt.Errorf("illegal non-numeric version component %q in %q: %v", p, version, err)
		}
		nums[i] = strconv.FormatUint(n, 10)
	}
	return &KubeVersion{Version: "v" + strings.Join(nums, "."), Major: nums[0], Minor: nums[1]}, nil
}
