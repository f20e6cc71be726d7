package static

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "copy lightweight-charts from ../node_modules into vendor/ and rewrite "+vendorRecord)

const (
	vendorRecord = "vendor/lightweight-charts.sha256"
	vendorBundle = "lightweight-charts.standalone.production.js"
	vendorLock   = "../package-lock.json"
	vendorPkg    = "../package.json"
)

// vendorRecordFile is the recorded origin of the committed bundle.
type vendorRecordFile struct {
	Version   string // npm version, e.g. 5.2.1
	Integrity string // the lock file's integrity of that release
	SHA256    string // hex digest of vendor/<vendorBundle>
}

func readVendorRecord(t *testing.T) vendorRecordFile {
	t.Helper()
	b, err := os.ReadFile(vendorRecord)
	if err != nil {
		t.Fatal(err)
	}
	var r vendorRecordFile
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch {
		case fields[0] == "version" && len(fields) == 2:
			r.Version = fields[1]
		case fields[0] == "integrity" && len(fields) == 2:
			r.Integrity = fields[1]
		case len(fields) == 2 && fields[1] == vendorBundle:
			r.SHA256 = fields[0]
		default:
			t.Fatalf("%s: unexpected line %q", vendorRecord, sc.Text())
		}
	}
	if r.Version == "" || r.Integrity == "" || r.SHA256 == "" {
		t.Fatalf("%s lacks a version, integrity or sha256 line: %+v", vendorRecord, r)
	}
	return r
}

// lockedChartLibrary returns the version and integrity that package-lock.json
// pins for lightweight-charts, and the version package.json asks for.
func lockedChartLibrary(t *testing.T) (version, integrity, wanted string) {
	t.Helper()
	var lock struct {
		Packages map[string]struct {
			Version   string `json:"version"`
			Integrity string `json:"integrity"`
		} `json:"packages"`
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	for path, v := range map[string]any{vendorLock: &lock, vendorPkg: &pkg} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	p, ok := lock.Packages["node_modules/lightweight-charts"]
	if !ok {
		t.Fatalf("%s does not lock lightweight-charts", vendorLock)
	}
	return p.Version, p.Integrity, pkg.Dependencies["lightweight-charts"]
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestVendoredChartLibraryMatchesLock fails when the committed bundle, the
// record of where it came from, and the npm lock disagree, so none of them
// can change without the others.
func TestVendoredChartLibraryMatchesLock(t *testing.T) {
	version, integrity, wanted := lockedChartLibrary(t)
	if *update {
		updateVendor(t, version, integrity)
	}
	rec := readVendorRecord(t)

	if wanted != version {
		t.Errorf("package.json asks for lightweight-charts %q; the lock has %s (pin it exactly: npm install --save-exact)", wanted, version)
	}
	if rec.Version != version || rec.Integrity != integrity {
		t.Errorf("%s records lightweight-charts %s %s; package-lock.json locks %s %s\n(run: npm ci --ignore-scripts && go test ./static -run Vendored -update)",
			vendorRecord, rec.Version, rec.Integrity, version, integrity)
	}
	if got := sha256File(t, filepath.Join("vendor", vendorBundle)); got != rec.SHA256 {
		t.Errorf("vendor/%s has sha256 %s; %s records %s", vendorBundle, got, vendorRecord, rec.SHA256)
	}

	bundle, err := os.ReadFile(filepath.Join("vendor", vendorBundle))
	if err != nil {
		t.Fatal(err)
	}
	head := bundle[:min(len(bundle), 400)]
	for _, want := range []string{"@license", "Lightweight Charts™ v" + version, "TradingView, Inc.", "Apache License 2.0"} {
		if !bytes.Contains(head, []byte(want)) {
			t.Errorf("the bundle's licence header lacks %q", want)
		}
	}
	if !bytes.Contains(bundle, []byte(`version:function(){return"`+version+`"}`)) {
		t.Errorf("the bundle does not report version %s", version)
	}

	for name, want := range map[string]string{
		"vendor/lightweight-charts.LICENSE": "Apache License",
		"vendor/lightweight-charts.NOTICE":  "TradingView",
		"vendor/fancy-canvas.LICENSE":       "TradingView",
	} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Error(err)
			continue
		}
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s does not mention %q", name, want)
		}
	}
}

// updateVendor copies the locked release's bundle and licence from
// ../node_modules and records them.
func updateVendor(t *testing.T, version, integrity string) {
	t.Helper()
	mod := filepath.Join("..", "node_modules", "lightweight-charts")
	var installed struct {
		Version string `json:"version"`
	}
	b, err := os.ReadFile(filepath.Join(mod, "package.json"))
	if err != nil {
		t.Fatalf("%v (run npm ci --ignore-scripts first)", err)
	}
	if err := json.Unmarshal(b, &installed); err != nil {
		t.Fatal(err)
	}
	if installed.Version != version {
		t.Fatalf("node_modules has lightweight-charts %s, the lock %s: run npm ci --ignore-scripts", installed.Version, version)
	}
	for src, dst := range map[string]string{
		filepath.Join(mod, "dist", vendorBundle): filepath.Join("vendor", vendorBundle),
		filepath.Join(mod, "LICENSE"):            "vendor/lightweight-charts.LICENSE",
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	record := fmt.Sprintf(`# The vendored chart library: the npm release it was copied from and the
# sha256 of the copy. TestVendoredChartLibraryMatchesLock checks both against
# package-lock.json; after an upgrade, run
#   npm ci --ignore-scripts && go test ./static -run Vendored -update
version %s
integrity %s
%s  %s
`, version, integrity, sha256File(t, filepath.Join("vendor", vendorBundle)), vendorBundle)
	if err := os.WriteFile(vendorRecord, []byte(record), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("vendored lightweight-charts %s", version)
}
