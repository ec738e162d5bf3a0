// Splitting rendered files into documents, telling hooks from resources and ordering them
// as `helm template` prints them: ported from helm.sh/helm/v3 v3.21.4 pkg/releaseutil
// (manifest.go, manifest_sorter.go, kind_sorter.go), Apache License 2.0, The Helm Authors.
package main

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// simpleHead is the part of a document Helm reads to sort it.
type simpleHead struct {
	Version  string `json:"apiVersion"`
	Kind     string `json:"kind,omitempty"`
	Metadata *struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata,omitempty"`
}

type manifest struct {
	// Name is the template path, "<chart>/templates/<file>".
	Name    string
	Content string
	Head    *simpleHead
}

type hook struct {
	manifest
	Events []string
}

const hookAnnotation = "helm.sh/hook"

var hookEvents = map[string]bool{
	"pre-install": true, "post-install": true, "pre-delete": true, "post-delete": true,
	"pre-upgrade": true, "post-upgrade": true, "pre-rollback": true, "post-rollback": true,
	"test": true, "test-success": true,
}

var docSeparator = regexp.MustCompile("(?:^|\\s*\n)---\\s*")

func splitManifests(bigFile string) []string {
	var res []string
	for _, d := range docSeparator.Split(strings.TrimSpace(bigFile), -1) {
		if d == "" {
			continue
		}
		res = append(res, strings.TrimSpace(d))
	}
	return res
}

// sortManifests walks files in path order and documents in file order, drops partials
// and whitespace-only files, sets hooks apart, then orders both by kind (stable).
func sortManifests(files map[string]string) ([]*hook, []manifest, error) {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var hooks []*hook
	var generic []manifest
	for _, filePath := range paths {
		content := files[filePath]
		if strings.HasPrefix(path.Base(filePath), "_") || strings.TrimSpace(content) == "" {
			continue
		}
		for _, m := range splitManifests(content) {
			var head simpleHead
			if err := yaml.Unmarshal([]byte(m), &head); err != nil {
				return hooks, generic, fmt.Errorf("YAML parse error on %s: %w", filePath, err)
			}
			entry := manifest{Name: filePath, Content: m, Head: &head}
			if head.Metadata == nil || len(head.Metadata.Annotations) == 0 {
				generic = append(generic, entry)
				continue
			}
			hookTypes, ok := head.Metadata.Annotations[hookAnnotation]
			if !ok {
				generic = append(generic, entry)
				continue
			}
			h := &hook{manifest: entry}
			unknown := false
			for _, hookType := range strings.Split(hookTypes, ",") {
				hookType = strings.ToLower(strings.TrimSpace(hookType))
				if !hookEvents[hookType] {
					unknown = true
					break
				}
				if hookType == "test-success" {
					hookType = "test"
				}
				h.Events = append(h.Events, hookType)
			}
			if unknown {
				warn("info: skipping unknown hook: %q", hookTypes)
				continue
			}
			hooks = append(hooks, h)
		}
	}
	sort.SliceStable(hooks, func(i, j int) bool { return lessByKind(hooks[i].Head.Kind, hooks[j].Head.Kind) })
	sort.SliceStable(generic, func(i, j int) bool { return lessByKind(generic[i].Head.Kind, generic[j].Head.Kind) })
	return hooks, generic, nil
}

func (h *hook) isTest() bool {
	for _, e := range h.Events {
		if e == "test" {
			return true
		}
	}
	return false
}

// installOrder is releaseutil.InstallOrder: kinds not listed go last, by name.
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
	"PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
	"ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
	"CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
	"ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
	"DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
	"APIService",
}

var installRank = func() map[string]int {
	m := make(map[string]int, len(installOrder))
	for i, k := range installOrder {
		m[k] = i
	}
	return m
}()

func lessByKind(kindA, kindB string) bool {
	first, aok := installRank[kindA]
	second, bok := installRank[kindB]
	if !aok && !bok {
		return kindA < kindB
	}
	if !aok {
		return false
	}
	if !bok {
		return true
	}
	return first < second
}
