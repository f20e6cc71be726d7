// Package deploy_test checks the deployment files beside it: without a
// container engine or a cluster here, it checks what can be checked. Every
// Kubernetes manifest decodes strictly into its k8s.io/api type, the
// compose file loads with the compose-spec loader, and both say what
// tickerd understands (its roles, its variables, its probes). nginx -t on
// the nginx config runs in cmd/tickerd, beside the failover test that uses
// it.
package deploy_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.uber.org/goleak"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newObject returns an empty object of the k8s.io/api type for a manifest's
// apiVersion and kind; nil for one this project does not use.
func newObject(tm metav1.TypeMeta) any {
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}
	case "apps/v1 StatefulSet":
		return &appsv1.StatefulSet{}
	case "v1 Service":
		return &corev1.Service{}
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	}
	return nil
}

// decodeStrict decodes one manifest into its type, refusing unknown and
// duplicate fields.
func decodeStrict(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	obj := newObject(tm)
	if obj == nil {
		return nil, &unknownKindError{tm}
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

type unknownKindError struct{ tm metav1.TypeMeta }

func (e *unknownKindError) Error() string { return "no type for " + e.tm.APIVersion + " " + e.tm.Kind }

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// manifests decodes every document of every deploy/k8s/*.yaml.
func manifests(t *testing.T) map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("k8s", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/k8s: %v", err)
	}
	objs := make(map[string]any)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docSeparator.Split(string(b), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			obj, err := decodeStrict([]byte(doc))
			if err != nil {
				t.Fatalf("%s, document %d: %v", f, i+1, err)
			}
			key := kindName(obj)
			if _, dup := objs[key]; dup {
				t.Fatalf("%s: %s defined twice", f, key)
			}
			objs[key] = obj
		}
	}
	return objs
}

func stripComments(doc string) string {
	var out []string
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func kindName(obj any) string {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return "Deployment/" + o.Name
	case *appsv1.StatefulSet:
		return "StatefulSet/" + o.Name
	case *corev1.Service:
		return "Service/" + o.Name
	case *corev1.ConfigMap:
		return "ConfigMap/" + o.Name
	case *policyv1.PodDisruptionBudget:
		return "PodDisruptionBudget/" + o.Name
	}
	return "?"
}

func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	_, err := decodeStrict([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replica: 2\n"))
	if err == nil || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("a misspelt field decoded: %v", err)
	}
}

func TestKubernetesManifests(t *testing.T) {
	objs := manifests(t)
	want := []string{
		"Deployment/tickerd", "Deployment/tickerd-publisher", "PodDisruptionBudget/tickerd",
		"Service/nats", "Service/nats-headless", "Service/tickerd", "StatefulSet/nats",
	}
	got := make([]string, 0, len(objs))
	for k := range objs {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("manifests define %v, want %v", got, want)
	}
	flags := tickerdVariables(t)

	replica := objs["Deployment/tickerd"].(*appsv1.Deployment)
	publisher := objs["Deployment/tickerd-publisher"].(*appsv1.Deployment)
	for _, d := range []*appsv1.Deployment{replica, publisher} {
		t.Run(d.Name, func(t *testing.T) {
			pod := d.Spec.Template
			sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
			if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
				t.Fatalf("selector %v does not match the pod labels %v", d.Spec.Selector, pod.Labels)
			}
			a := pod.Annotations
			if a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" || a["prometheus.io/port"] != "8080" {
				t.Errorf("scrape annotations %v", a)
			}
			if len(pod.Spec.Containers) != 1 {
				t.Fatalf("%d containers", len(pod.Spec.Containers))
			}
			c := pod.Spec.Containers[0]
			if c.Ports[0].ContainerPort != 8080 || c.Ports[0].Name != "http" {
				t.Errorf("port %+v, want http 8080 (TICKERD_ADDR's default)", c.Ports[0])
			}
			for _, e := range c.Env {
				if !flags[e.Name] {
					t.Errorf("env %s is not a tickerd variable", e.Name)
				}
			}
			probe := func(p *corev1.Probe, path string) {
				t.Helper()
				if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
					t.Errorf("probe %+v, want GET %s on http", p, path)
				}
			}
			probe(c.ReadinessProbe, "/readyz")
			probe(c.LivenessProbe, "/healthz")
			sc := pod.Spec.SecurityContext
			if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || c.SecurityContext == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
				t.Errorf("pod must run as non-root on a read-only root filesystem")
			}
		})
	}

	if args := publisher.Spec.Template.Spec.Containers[0].Args; !slices.Equal(args, []string{"publish"}) {
		t.Errorf("publisher args %v, want [publish]", args)
	}
	if *publisher.Spec.Replicas != 1 || publisher.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("publisher: %d replicas, strategy %s; want exactly one, Recreate", *publisher.Spec.Replicas, publisher.Spec.Strategy.Type)
	}
	c := replica.Spec.Template.Spec.Containers[0]
	if len(c.Args) != 0 || env(c.Env, "TICKERD_FEED") != "nats" || env(c.Env, "TICKERD_NATS_URL") != "nats://nats:4222" {
		t.Errorf("replica args %v env %v, want the serving role with -feed nats on nats:4222", c.Args, c.Env)
	}
	if *replica.Spec.Replicas < 2 {
		t.Errorf("%d replicas: a client needs another to fail over to", *replica.Spec.Replicas)
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds < 1 {
		t.Fatalf("replica has no preStop drain: %+v", c.Lifecycle)
	}
	// preStop, then SIGTERM, the drain window and up to -grace: all within
	// the termination grace period.
	duration := func(name string) time.Duration {
		t.Helper()
		d, err := time.ParseDuration(env(c.Env, name))
		if err != nil || d <= 0 {
			t.Fatalf("%s %q: want a positive duration: %v", name, env(c.Env, name), err)
		}
		return d
	}
	drain, grace := duration("TICKERD_DRAIN_WINDOW"), duration("TICKERD_GRACE")
	stopping := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second + drain + grace
	if period := time.Duration(*replica.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second; period <= stopping {
		t.Errorf("terminationGracePeriodSeconds %v leaves no room for preStop, -drain-window and -grace (%v)", period, stopping)
	}

	// The Service and the PDB cover the replicas and not the publisher.
	replicaLabels := labels.Set(replica.Spec.Template.Labels)
	publisherLabels := labels.Set(publisher.Spec.Template.Labels)
	svc := objs["Service/tickerd"].(*corev1.Service)
	if sel := labels.SelectorFromSet(svc.Spec.Selector); !sel.Matches(replicaLabels) || sel.Matches(publisherLabels) {
		t.Errorf("Service selector %v must select the replicas only", svc.Spec.Selector)
	}
	if svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service targets %s", svc.Spec.Ports[0].TargetPort.String())
	}
	pdb := objs["PodDisruptionBudget/tickerd"].(*policyv1.PodDisruptionBudget)
	if sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err != nil || !sel.Matches(replicaLabels) || sel.Matches(publisherLabels) {
		t.Errorf("PodDisruptionBudget selector %v must select the replicas only", pdb.Spec.Selector)
	}
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget maxUnavailable %v, want 1", pdb.Spec.MaxUnavailable)
	}

	nats := objs["StatefulSet/nats"].(*appsv1.StatefulSet)
	natsSvc := objs["Service/nats"].(*corev1.Service)
	if !slices.Contains(nats.Spec.Template.Spec.Containers[0].Args, "--jetstream") || len(nats.Spec.VolumeClaimTemplates) != 1 {
		t.Errorf("NATS must run JetStream on a persistent volume")
	}
	if natsSvc.Spec.Ports[0].Port != 4222 || !labels.SelectorFromSet(natsSvc.Spec.Selector).Matches(labels.Set(nats.Spec.Template.Labels)) {
		t.Errorf("Service nats must reach the NATS pods on 4222")
	}
}

func env(vars []corev1.EnvVar, name string) string {
	for _, e := range vars {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func TestComposeFileLoads(t *testing.T) {
	wd, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  wd,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(wd, "compose.yaml"), Content: b}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("tickerd", true) })
	if err != nil {
		t.Fatalf("compose loader: %v", err)
	}
	names := project.ServiceNames()
	slices.Sort(names)
	if want := []string{"grafana", "nats", "nginx", "prometheus", "publisher", "replica-1", "replica-2"}; !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	flags := tickerdVariables(t)
	for _, name := range []string{"publisher", "replica-1", "replica-2"} {
		s := project.Services[name]
		if s.Build == nil || s.Build.Dockerfile != "Dockerfile" || filepath.Clean(s.Build.Context) != filepath.Dir(wd) {
			t.Errorf("%s builds %+v, want the repository's Dockerfile", name, s.Build)
		}
		for k := range s.Environment {
			if !flags[k] {
				t.Errorf("%s: %s is not a tickerd variable", name, k)
			}
		}
	}
	if cmd := project.Services["publisher"].Command; !slices.Equal([]string(cmd), []string{"publish"}) {
		t.Errorf("publisher command %v, want [publish]", cmd)
	}
	for _, name := range []string{"replica-1", "replica-2"} {
		s := project.Services[name]
		if v := s.Environment["TICKERD_FEED"]; v == nil || *v != "nats" {
			t.Errorf("%s is not a replica (TICKERD_FEED=nats)", name)
		}
		// SIGTERM, the drain window and up to -grace: all before Docker
		// kills the container (10 s unless stop_grace_period says more).
		duration := func(name string) time.Duration {
			t.Helper()
			v := s.Environment[name]
			if v == nil {
				t.Fatalf("%s: no %s", s.Name, name)
			}
			d, err := time.ParseDuration(*v)
			if err != nil || d <= 0 {
				t.Fatalf("%s: %s %q: want a positive duration: %v", s.Name, name, *v, err)
			}
			return d
		}
		stopping := duration("TICKERD_DRAIN_WINDOW") + duration("TICKERD_GRACE")
		period := 10 * time.Second
		if s.StopGracePeriod != nil {
			period = time.Duration(*s.StopGracePeriod)
		}
		if period <= stopping {
			t.Errorf("%s: stop_grace_period %v leaves no room for -drain-window and -grace (%v)", name, period, stopping)
		}
	}
	// Every file bound into a container exists (deploy/prometheus and
	// deploy/grafana included).
	for _, s := range project.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s mounts %s: %v", s.Name, v.Source, err)
			}
		}
	}
	// nginx's upstream names exactly the replicas, on their port.
	up, err := os.ReadFile(filepath.Join("nginx", "upstream.conf"))
	if err != nil {
		t.Fatal(err)
	}
	servers := regexp.MustCompile(`(?m)^server\s+(\S+)`).FindAllStringSubmatch(string(up), -1)
	var upstream []string
	for _, m := range servers {
		upstream = append(upstream, m[1])
	}
	if !slices.Equal(upstream, []string{"replica-1:8080", "replica-2:8080"}) {
		t.Errorf("upstream.conf lists %v, want the two replicas on 8080", upstream)
	}
	if _, ok := project.Configs["prometheus"]; !ok || !strings.Contains(project.Configs["prometheus"].Content, "job_name: tickerd") {
		t.Errorf("Prometheus must scrape as job tickerd, which the alert rules select")
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []string{
		"CGO_ENABLED=0",
		"-X main.linkVersion=${VERSION}",
		"-X main.linkRevision=${REVISION}",
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"USER 65532:65532",
		`CMD ["/tickerd", "healthcheck"]`,
		`ENTRYPOINT ["/tickerd"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^FROM `).FindAllString(df, -1)); n != 2 {
		t.Errorf("%d stages, want a build stage and a runtime stage", n)
	}
	// The linker silently ignores -X for a variable that does not exist.
	src, err := os.ReadFile(filepath.Join("..", "cmd", "tickerd", "metrics.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "var linkVersion, linkRevision string") {
		t.Error("cmd/tickerd no longer declares linkVersion and linkRevision, which the Dockerfile sets")
	}
}

var (
	variablesOnce sync.Once
	variables     map[string]bool
	variablesErr  error
)

// tickerdVariables returns the environment variables tickerd reads, from
// its own -h.
func tickerdVariables(t *testing.T) map[string]bool {
	t.Helper()
	variablesOnce.Do(func() {
		var out bytes.Buffer
		cmd := exec.Command("go", "run", "../cmd/tickerd", "-h")
		cmd.Stdout, cmd.Stderr = &out, &out
		if variablesErr = cmd.Run(); variablesErr != nil {
			variablesErr = &runError{variablesErr, out.String()}
			return
		}
		variables = make(map[string]bool)
		for _, m := range regexp.MustCompile(`\((TICKERD_[A-Z_]+),`).FindAllStringSubmatch(out.String(), -1) {
			variables[m[1]] = true
		}
	})
	if variablesErr != nil {
		t.Fatal(variablesErr)
	}
	if len(variables) < 10 {
		t.Fatalf("tickerd -h names only %v", variables)
	}
	return variables
}

type runError struct {
	err error
	out string
}

func (e *runError) Error() string { return "go run ../cmd/tickerd -h: " + e.err.Error() + "\n" + e.out }
