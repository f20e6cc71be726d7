package benchkit

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWriteSectionReplacesOnlyItsSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "B.md")
	if err := WriteSection(path, "x", "Title", "one\n"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "# Title\n\n<!-- x:begin -->\none\n<!-- x:end -->\n" {
		t.Fatalf("new file:\n%s", b)
	}
	if err := os.WriteFile(path, []byte("head\n<!-- x:begin -->\nold\n<!-- x:end -->\ntail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteSection(path, "x", "Title", "new\n"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "head\n<!-- x:begin -->\nnew\n<!-- x:end -->\ntail\n" {
		t.Fatalf("rewritten file:\n%s", b)
	}
	if err := WriteSection(path, "y", "Title", "other\n"); err == nil {
		t.Error("a file without the section's markers: no error")
	}
	if b, _ := os.ReadFile(path); string(b) != "head\n<!-- x:begin -->\nnew\n<!-- x:end -->\ntail\n" {
		t.Fatalf("a file without the section's markers was changed:\n%s", b)
	}
}

func TestFigures(t *testing.T) {
	for _, tt := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(tt.xs); got != tt.want {
			t.Errorf("Median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -20000: "-20,000"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestReadProcReadsThisProcess(t *testing.T) {
	_, rss, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 {
		t.Errorf("RSS %d bytes, want at least 1 MiB for a running test", rss)
	}
	if _, _, err := ReadProc(-1); err == nil {
		t.Error("ReadProc(-1): no error")
	}
}

func TestFetchProfileWritesWhatTheEndpointAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("seconds") != "3" {
			http.Error(w, "want seconds=3", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, "profile bytes")
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	if err := FetchProfile(srv.URL, 3, path); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "profile bytes" {
		t.Errorf("wrote %q", b)
	}
	if err := FetchProfile(srv.URL, 2, path); err == nil {
		t.Error("a refused profile: no error")
	}
}

func TestStopEndsAProcessThatIgnoresSIGTERM(t *testing.T) {
	cmd := exec.Command("sh", "-c", "trap '' TERM; while :; do sleep 0.1; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	Stop(cmd, 200*time.Millisecond)
	if cmd.ProcessState == nil || cmd.ProcessState.Success() {
		t.Errorf("after Stop the process state is %v, want killed", cmd.ProcessState)
	}
}
