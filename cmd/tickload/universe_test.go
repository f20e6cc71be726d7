package main

import (
	"io"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/feed"
)

func TestSymbolsFromAUniverseSpec(t *testing.T) {
	u := "-url=http://127.0.0.1:8080/events"
	c, err := parseConfig([]string{u, "-mode=random", "-k=10", "-symbols=synthetic:10000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := feed.SyntheticUniverse(10_000, 1)
	if len(c.symbols) != len(want) || c.symbols[0] != want[0].Name || c.symbols[9999] != want[9999].Name {
		t.Fatalf("%d symbols %v...%v, want tickerd's synthetic:10000", len(c.symbols), c.symbols[0], c.symbols[len(c.symbols)-1])
	}
	for _, bad := range []struct{ spec, want string }{
		{"synthetic:0", "-symbols: synthetic:0: synthetic universe of 0 symbols"},
		{"@/nonexistent.json", "-symbols: symbols file: open /nonexistent.json"},
	} {
		if _, err := parseConfig([]string{u, "-mode=random", "-symbols=" + bad.spec}, io.Discard); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("-symbols=%s: %v, want %q", bad.spec, err, bad.want)
		}
	}
}
