package benchkit

import (
	"os"
	"path/filepath"
	"testing"

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
