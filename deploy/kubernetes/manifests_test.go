package kubernetes_test

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// documents splits a manifest file into its YAML documents.
func documents(t *testing.T, name string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(doc)) > 0 {
			out = append(out, doc)
		}
	}
	return out
}

// decodeStrict decodes one document into the API type of its kind,
// rejecting unknown and duplicate fields, as `kubectl apply
// --validate=strict` does.
func decodeStrict(t *testing.T, doc []byte) any {
	t.Helper()
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		t.Fatal(err)
	}
	var obj any
	switch tm.APIVersion + " " + tm.Kind {
	case "batch/v1 Job":
		obj = &batchv1.Job{}
	case "batch/v1 CronJob":
		obj = &batchv1.CronJob{}
	case "v1 PersistentVolumeClaim":
		obj = &corev1.PersistentVolumeClaim{}
	default:
		t.Fatalf("unexpected kind %q", tm.APIVersion+" "+tm.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		t.Fatalf("%s: %v", tm.Kind, err)
	}
	return obj
}

func decodeFile[T any](t *testing.T, name string) *T {
	t.Helper()
	docs := documents(t, name)
	if len(docs) != 1 {
		t.Fatalf("%s: %d documents, want 1", name, len(docs))
	}
	obj, ok := decodeStrict(t, docs[0]).(*T)
	if !ok {
		t.Fatalf("%s holds a %T", name, obj)
	}
	return obj
}

func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	doc := []byte("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: x\nspec:\n  completionz: 3\n")
	if err := yaml.UnmarshalStrict(doc, &batchv1.Job{}); err == nil || !strings.Contains(err.Error(), `unknown field "completionz"`) {
		t.Errorf("a misspelt field decoded: %v", err)
	}
}

func TestIndexedJob(t *testing.T) {
	job := decodeFile[batchv1.Job](t, "indexed-job.yaml")
	checkJobSpec(t, "indexed-job.yaml", job.Spec)
}

func TestCronJob(t *testing.T) {
	cron := decodeFile[batchv1.CronJob](t, "cronjob.yaml")
	if cron.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q: a run still going must not get a second one beside it", cron.Spec.ConcurrencyPolicy)
	}
	if f := strings.Fields(cron.Spec.Schedule); len(f) != 5 {
		t.Errorf("schedule %q is not a five-field cron line", cron.Spec.Schedule)
	}
	checkJobSpec(t, "cronjob.yaml", cron.Spec.JobTemplate.Spec)
}

// checkJobSpec checks that a Job runs mailferry as an Indexed Job the way
// mailferry reads it, with what the pod needs mounted.
func checkJobSpec(t *testing.T, name string, spec batchv1.JobSpec) {
	t.Helper()
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
		t.Fatalf("%s: not an Indexed Job, so no JOB_COMPLETION_INDEX", name)
	}
	pod := spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers", name, len(pod.Containers))
	}
	c := pod.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if spec.Completions == nil || env["MAILFERRY_SHARDS"] != strconv.Itoa(int(*spec.Completions)) {
		t.Errorf("%s: MAILFERRY_SHARDS %q is not the Job's completions %v: shards would overlap or leave jobs out", name, env["MAILFERRY_SHARDS"], spec.Completions)
	}
	if len(c.Args) < 2 || c.Args[0] != "run" {
		t.Fatalf("%s: args %q do not run a jobs file", name, c.Args)
	}
	// Every mount has its volume; the jobs file is in the ConfigMap,
	// the state directory on the claim, the secrets a Secret.
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	mountOf := map[string]corev1.Volume{}
	for _, m := range c.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			t.Errorf("%s: mount %s has no volume", name, m.Name)
		}
		mountOf[m.MountPath] = v
	}
	if v := mountOf[filepath.Dir(c.Args[1])]; v.ConfigMap == nil || v.ConfigMap.Name != "mailferry-jobs" {
		t.Errorf("%s: the jobs file %s is not in the ConfigMap mailferry-jobs", name, c.Args[1])
	}
	if v := mountOf[env["XDG_STATE_HOME"]]; v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != claimName(t) {
		t.Errorf("%s: XDG_STATE_HOME %q is not on the claim %s", name, env["XDG_STATE_HOME"], claimName(t))
	}
	if v := mountOf["/etc/mailferry/secrets"]; v.Secret == nil || v.Secret.DefaultMode == nil || *v.Secret.DefaultMode&0o007 != 0 {
		t.Errorf("%s: the secrets are not a Secret volume closed to others", name)
	}
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("%s: the root file system is writable", name)
	} else if v := mountOf[env["TMPDIR"]]; v.EmptyDir == nil {
		t.Errorf("%s: TMPDIR %q, where large messages are spooled, is not a writable emptyDir", name, env["TMPDIR"])
	}
	// Sized from the measured memory of one job: 38 MiB peak for an IMAP copy
	// of 2,000 messages with 4 connections (docs/kubernetes.md).
	if got := c.Resources.Requests[corev1.ResourceMemory]; got.Cmp(resource.MustParse("64Mi")) != 0 {
		t.Errorf("%s: memory request %s, want 64Mi", name, got.String())
	}
	if lim := c.Resources.Limits[corev1.ResourceMemory]; lim.Cmp(resource.MustParse("64Mi")) < 0 {
		t.Errorf("%s: memory limit %s below the request", name, lim.String())
	}
	// A configuration error (exit code 2) is not retried; a pod failure
	// policy needs restartPolicy Never and names the container.
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("%s: restartPolicy %q", name, pod.RestartPolicy)
	}
	found := false
	if spec.PodFailurePolicy != nil {
		for _, r := range spec.PodFailurePolicy.Rules {
			if r.OnExitCodes != nil && slices.Contains(r.OnExitCodes.Values, 2) && r.OnExitCodes.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn &&
				r.OnExitCodes.ContainerName != nil && *r.OnExitCodes.ContainerName == c.Name {
				found = true
				if r.Action == batchv1.PodFailurePolicyActionFailIndex && spec.BackoffLimitPerIndex == nil {
					t.Errorf("%s: FailIndex needs backoffLimitPerIndex", name)
				}
			}
		}
	}
	if !found {
		t.Errorf("%s: a jobs file error (exit code 2) would be retried", name)
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: may run as root", name)
	}
}

func claimName(t *testing.T) string {
	t.Helper()
	return decodeFile[corev1.PersistentVolumeClaim](t, "pvc.yaml").Name
}

// TestDockerfileBuildsAStaticBinary builds the binary with the Dockerfile's
// command and checks that it needs no dynamic loader or library, which the
// distroless static base does not have.
func TestDockerfileBuildsAStaticBinary(t *testing.T) {
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var build []string
	for _, l := range strings.Split(string(df), "\n") {
		if cmd, ok := strings.CutPrefix(l, "RUN CGO_ENABLED=0 go build "); ok {
			build = strings.Fields(cmd)
		}
	}
	if build == nil || !strings.Contains(string(df), "FROM gcr.io/distroless/static") {
		t.Fatalf("the Dockerfile does not build with CGO_ENABLED=0 onto distroless/static:\n%s", df)
	}
	bin := filepath.Join(t.TempDir(), "mailferry")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "../../cmd/mailferry")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs %v", libs)
	}
}
