package kubernetes

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/relaybench/relaybench/runner/segment"
)

// The values envsubst puts in; a user's RUN_ID of digits only must stay a
// string (labels are strings).
const (
	testStartAt = "2026-05-01T12:00:00Z"
	testRunID   = "20260501"
)

// load reads a manifest, fills in the envsubst variables and decodes it
// strictly into v: an unknown or duplicated field is an error, as in
// `kubectl apply --validate=strict`.
func load(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer("${START_AT}", testStartAt, "${RUN_ID}", testRunID).Replace(string(b))
	if strings.Contains(s, "${") {
		t.Fatalf("%s: a variable other than START_AT and RUN_ID is left for envsubst", name)
	}
	if err := yaml.UnmarshalStrict([]byte(s), v); err != nil {
		t.Fatalf("%s does not decode strictly: %v", name, err)
	}
}

// The decoding is strict: a misspelt field fails it (so the test can fail).
func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	var job batchv1.Job
	bad := "apiVersion: batch/v1\nkind: Job\nspec:\n  completionsMode: Indexed\n"
	if err := yaml.UnmarshalStrict([]byte(bad), &job); err == nil || !strings.Contains(err.Error(), "completionsMode") {
		t.Errorf("a misspelt field decoded: %v", err)
	}
}

func TestWorkersJob(t *testing.T) {
	var job batchv1.Job
	load(t, "workers-job.yaml", &job)
	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		t.Fatalf("%s %s, want batch/v1 Job", job.APIVersion, job.Kind)
	}
	spec := job.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode %q, want Indexed", ptr.Deref(spec.CompletionMode, ""))
	}
	if spec.Completions == nil || spec.Parallelism == nil || *spec.Completions != *spec.Parallelism || *spec.Completions < 2 {
		t.Fatalf("completions %v, parallelism %v: want equal, at least 2 (every worker runs at once)", spec.Completions, spec.Parallelism)
	}
	n := int(*spec.Completions)
	if spec.BackoffLimitPerIndex == nil || *spec.BackoffLimitPerIndex != 0 || spec.MaxFailedIndexes == nil || *spec.MaxFailedIndexes != 0 {
		t.Errorf("backoffLimitPerIndex %v, maxFailedIndexes %v: want 0 and 0 (a retried worker would start off the schedule)", spec.BackoffLimitPerIndex, spec.MaxFailedIndexes)
	}
	if spec.BackoffLimit != nil {
		t.Errorf("backoffLimit %d is set: with backoffLimitPerIndex it must be left to its default", *spec.BackoffLimit)
	}
	if spec.ActiveDeadlineSeconds == nil || *spec.ActiveDeadlineSeconds < 600 {
		t.Errorf("activeDeadlineSeconds %v: want a deadline above the wait and a run", spec.ActiveDeadlineSeconds)
	}
	if spec.TTLSecondsAfterFinished == nil || *spec.TTLSecondsAfterFinished <= 0 {
		t.Errorf("ttlSecondsAfterFinished %v: want the finished Job cleaned up", spec.TTLSecondsAfterFinished)
	}
	pod := spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q, want Never (backoffLimitPerIndex needs it)", pod.RestartPolicy)
	}

	// Spread: at most one worker per node, selecting this run's workers.
	labels := spec.Template.Labels
	spread := false
	if pod.Affinity != nil && pod.Affinity.PodAntiAffinity != nil {
		for _, term := range pod.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			sel := term.LabelSelector
			if term.TopologyKey != "kubernetes.io/hostname" || sel == nil || len(sel.MatchLabels) == 0 {
				continue
			}
			matches := true
			for k, v := range sel.MatchLabels {
				matches = matches && labels[k] == v
			}
			spread = spread || matches
		}
	}
	if !spread || labels["relaybench-run-id"] != testRunID {
		t.Errorf("no required pod anti-affinity on kubernetes.io/hostname selecting the workers' labels %v", labels)
	}

	// The command: the segment from JOB_COMPLETION_INDEX over N =
	// completions, the start time and the output from the manifest's env.
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if !slices.Equal(c.Command, []string{"relaybench"}) || len(c.Args) == 0 || c.Args[0] != "run" {
		t.Fatalf("command %q args %q, want relaybench run ...", c.Command, c.Args)
	}
	flag := func(name string) string {
		i := slices.Index(c.Args, name)
		if i < 0 || i+1 >= len(c.Args) {
			t.Fatalf("args %q have no %s VALUE", c.Args, name)
		}
		return c.Args[i+1]
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if got, want := flag("--segment"), "$(JOB_COMPLETION_INDEX)/"+strconv.Itoa(n); got != want {
		t.Errorf("--segment %q, want %q (N must equal completions)", got, want)
	}
	// What the kubelet makes of the arguments in pod 0 and N-1 parses.
	for _, i := range []int{0, n - 1} {
		expand := strings.NewReplacer("$(JOB_COMPLETION_INDEX)", strconv.Itoa(i), "$(START_AT)", env["START_AT"], "$(RUN_ID)", env["RUN_ID"])
		if s, err := segment.Parse(expand.Replace(flag("--segment"))); err != nil || s.Index != i || s.Count != n {
			t.Errorf("pod %d: --segment %v, %v", i, s, err)
		}
		if at, err := time.Parse(time.RFC3339, expand.Replace(flag("--start-at"))); err != nil || at.Format(time.RFC3339) != testStartAt {
			t.Errorf("pod %d: --start-at %v, %v; want START_AT from the manifest", i, at, err)
		}
		if out := expand.Replace(flag("--out")); out != "/results/"+testRunID+"/worker-"+strconv.Itoa(i) {
			t.Errorf("pod %d: --out %q, want a directory of its own on the results volume", i, out)
		}
	}
	if flag("--start-at") != "$(START_AT)" || env["START_AT"] != testStartAt {
		t.Errorf("--start-at %q with START_AT %q: want the time from the manifest's env", flag("--start-at"), env["START_AT"])
	}

	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if !strings.HasPrefix(flag("--out"), mounts["results"]+"/") || !strings.HasPrefix(c.Args[len(c.Args)-1], mounts["scenario"]+"/") {
		t.Errorf("--out %q and scenario %q are not on the results (%q) and scenario (%q) mounts", flag("--out"), c.Args[len(c.Args)-1], mounts["results"], mounts["scenario"])
	}
	checkResultsVolume(t, pod)
}

// checkResultsVolume: the pod mounts the results claim of results-pvc.yaml,
// which every node can write at once.
func checkResultsVolume(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	var pvc corev1.PersistentVolumeClaim
	load(t, "results-pvc.yaml", &pvc)
	if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
		t.Errorf("results volume access modes %v, want ReadWriteMany (workers on several nodes write at once)", pvc.Spec.AccessModes)
	}
	for _, v := range pod.Volumes {
		if v.Name == "results" {
			if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != pvc.Name {
				t.Errorf("results volume %+v, want the claim %s", v.VolumeSource, pvc.Name)
			}
			return
		}
	}
	t.Errorf("no results volume in %+v", pod.Volumes)
}

func TestMergeJob(t *testing.T) {
	var job batchv1.Job
	load(t, "merge-job.yaml", &job)
	pod := job.Spec.Template.Spec
	if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 0 || pod.RestartPolicy != corev1.RestartPolicyNever ||
		job.Spec.ActiveDeadlineSeconds == nil || job.Spec.TTLSecondsAfterFinished == nil {
		t.Errorf("merge job spec %+v", job.Spec)
	}
	c := pod.Containers[0]
	script := strings.Join(c.Args, " ")
	if !strings.Contains(script, "relaybench merge /results/") || !strings.Contains(script, "-segment-") || !strings.Contains(script, " -o /results/") {
		t.Errorf("merge job runs %q, want relaybench merge of the workers' directories -o a directory on the volume", script)
	}
	checkResultsVolume(t, pod)
}

func TestFetchPod(t *testing.T) {
	var pod corev1.Pod
	load(t, "fetch-pod.yaml", &pod)
	checkResultsVolume(t, pod.Spec)
}
