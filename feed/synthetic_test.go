package feed_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tickerd/tickerd/feed"
)

func TestSyntheticUniverse(t *testing.T) {
	const n = 50_000
	u, err := feed.SyntheticUniverse(n, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(u) != n {
		t.Fatalf("len = %d, want %d", len(u), n)
	}
	def := feed.DefaultUniverse()
	if !slices.Equal(u[:len(def)], def) {
		t.Errorf("does not start with the default universe")
	}
	seen := make(map[string]bool, n)
	suffixed := 0
	var logSum float64
	for _, s := range u {
		if err := feed.CheckSymbol(s.Name); err != nil {
			t.Fatalf("name: %v", err)
		}
		if seen[s.Name] {
			t.Fatalf("%s listed twice", s.Name)
		}
		seen[s.Name] = true
		if len(s.Name) > 2 && s.Name[len(s.Name)-2] == '.' {
			suffixed++
		}
		if !(s.Price >= 1 && s.Price <= 2000) || math.Round(s.Price*100)/100 != s.Price {
			t.Fatalf("%s: price %v not on the cent grid in [1, 2000]", s.Name, s.Price)
		}
		if !(s.Volatility >= 0.15 && s.Volatility <= 0.90) || s.Drift != 0 {
			t.Fatalf("%s: volatility %v or drift %v out of range", s.Name, s.Volatility, s.Drift)
		}
		logSum += math.Log(s.Price)
	}
	if median := math.Exp(logSum / n); median < 30 || median > 55 {
		t.Errorf("geometric mean price %.2f, want about 40", median)
	}
	if suffixed < n/100 || suffixed > n/25 {
		t.Errorf("%d names with a class suffix, want about %d", suffixed, n/50)
	}
	// The whole universe passes the checks a simulator makes.
	if _, err := feed.NewSimulator(feed.SimulatorConfig{Symbols: u, Rate: 1}); err != nil {
		t.Errorf("NewSimulator: %v", err)
	}
}

func TestSyntheticUniverseIsDeterministicPerSeed(t *testing.T) {
	a, _ := feed.SyntheticUniverse(5000, 1)
	b, _ := feed.ParseSymbols("synthetic:5000")
	c, _ := feed.ParseSymbols("synthetic:5000/2")
	if !slices.Equal(a, b) {
		t.Error("synthetic:5000 is not SyntheticUniverse(5000, 1)")
	}
	differ := 0
	for i := len(feed.DefaultUniverse()); i < len(a); i++ {
		if a[i] != c[i] {
			differ++
		}
	}
	if want := (len(a) - len(feed.DefaultUniverse())) * 99 / 100; differ < want {
		t.Errorf("seeds 1 and 2 differ in %d symbols, want at least %d", differ, want)
	}
	// A larger universe of the same seed extends a smaller one.
	big, _ := feed.SyntheticUniverse(6000, 1)
	if !slices.Equal(big[:5000], a) {
		t.Error("synthetic:6000 does not start with synthetic:5000")
	}
}

func TestParseSymbolsFileOfTenThousand(t *testing.T) {
	u, _ := feed.SyntheticUniverse(10_000, 3)
	path := writeUniverse(t, u)
	got, err := feed.ParseSymbols("@" + path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, u) {
		t.Error("the file read back is not the universe written")
	}
}

// writeUniverse writes u as a symbols file and returns its path.
func writeUniverse(t *testing.T, u []feed.Symbol) string {
	t.Helper()
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "universe.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
