package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestConfigFromFlagsAndEnvironment(t *testing.T) {
	env := map[string]string{"TICKERD_RATE": "250", "TICKERD_HEARTBEAT": "3s", "TICKERD_ADDR": ":9999",
		"TICKERD_TRUST_PROXIES": "10.0.0.0/8, 192.0.2.7,fd00::/8"}
	cfg, err := parseConfig(roleServe, []string{"-addr", "127.0.0.1:7000"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.trustProxies.String(); got != "10.0.0.0/8,192.0.2.7/32,fd00::/8" {
		t.Errorf("trusted proxies %q", got)
	}
	if cfg.rate != 250 || cfg.heartbeat != 3*time.Second || cfg.addr != "127.0.0.1:7000" {
		t.Fatalf("got rate %v heartbeat %v addr %q; want 250, 3s and the flag's address", cfg.rate, cfg.heartbeat, cfg.addr)
	}
}

func TestBadConfigurationIsAUsageError(t *testing.T) {
	dir := t.TempDir()
	shortSecret, goodSecret := filepath.Join(dir, "short"), filepath.Join(dir, "good")
	if err := os.WriteFile(shortSecret, []byte("too short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goodSecret, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-rate", "fast"}, nil, `invalid value "fast" for flag -rate`},
		{nil, map[string]string{"TICKERD_HEARTBEAT": "soon"}, `TICKERD_HEARTBEAT="soon"`},
		{[]string{"-rate", "-5"}, nil, "rate"},
		{[]string{"-rate", "NaN"}, nil, "rate"},
		{[]string{"-symbols", "AAPL,,MSFT"}, nil, "-symbols"},
		{[]string{"-symbols", "@/nonexistent/file.json"}, nil, "-symbols"},
		{[]string{"-log-format", "xml"}, nil, "-log-format"},
		{[]string{"-log-level", "loud"}, nil, "log-level"},
		{[]string{"-heartbeat", "1ms"}, nil, "heartbeat"},
		{[]string{"-queue-bytes", "10"}, nil, "queue"},
		{[]string{"-grace", "0s"}, nil, "-grace"},
		{[]string{"-max-price-jump", "0"}, nil, "-max-price-jump"},
		{[]string{"-trust-proxies", "10.0.0.0/8,proxy.local"}, nil, `"proxy.local" is neither an address nor a CIDR prefix`},
		{nil, map[string]string{"TICKERD_MAX_STREAMS": "0"}, "-max-streams"},
		{[]string{"-max-header-bytes", "100"}, nil, "-max-header-bytes"},
		{[]string{"-auth-secret-file", "/nonexistent/secret"}, nil, "-auth-secret-file"},
		{[]string{"-auth-secret-file", shortSecret}, nil, "shorter than 32"},
		{[]string{"-auth-jwks-file", shortSecret}, nil, "JWKS"},
		{[]string{"-auth-secret-file", goodSecret, "-auth-cookie", "a;b"}, nil, "not a cookie name"},
		{[]string{"-cors-origins", "https://app.example,app.example"}, nil, "-cors-origins"},
		{[]string{"-max-price-jump", "NaN"}, nil, "-max-price-jump"},
		{[]string{"-addr", "nope:nope:nope"}, nil, "listen"},
		{[]string{"stray"}, nil, `unexpected argument "stray"`},
		{[]string{"-feed", "kafka"}, nil, "-feed"},
		{[]string{"-feed", "nats", "-nats-url", ""}, nil, "-nats-url"},
		{[]string{"-resume-wait", "2h"}, nil, "resume wait"},
		{[]string{"publish", "-nats-url", ""}, nil, "-nats-url"},
		{[]string{"publish", "-nats-max-per-symbol", "0"}, nil, "per symbol"},
		{[]string{"publish", "-symbols", "AAPL,BRK..B=10/0.2"}, nil, "not between two letters or digits"},
		{[]string{"-feed", "nats", "-symbols", "AAPL,X.=10/0.2"}, nil, "not between two letters or digits"},
		{[]string{"-replay", "-1"}, nil, "-replay -1: want 0 (replay off) or more ticks"},
		{[]string{"-flush-interval", "0"}, nil, "-flush-interval 0s: want a duration above 0"},
		{[]string{"-max-streams", "0"}, nil, "-max-streams 0: want at least 1 stream"},
		{[]string{"-max-symbols", "0"}, nil, "-max-symbols 0: want at least 1 symbol"},
		{[]string{"-retry", "-1s"}, nil, "-retry -1s: want 0 (reconnect at once) or more"},
		{[]string{"-bar-bytes", "0"}, nil, "-bar-bytes 0: want at least 9984 bytes: one bar of each interval for each of the 52 symbols"},
		{[]string{"-symbols", "synthetic:10", "-bar-bytes", "1919"}, nil, "-bar-bytes 1919: want at least 1920 bytes"},
		{[]string{"-symbol-series", "-1"}, nil, "-symbol-series -1: want 0 (one series for all symbols) or more symbols"},
		{[]string{"publish", "-nats-max-bytes", "0"}, nil, "-nats-max-bytes 0: want at least 1048576 bytes"},
		{[]string{"-firehose", "-1"}, nil, "-firehose -1: want 0 (no stream of every symbol) or more symbols"},
		{[]string{"-symbols", "synthetic:0"}, nil, "-symbols: synthetic:0: synthetic universe of 0 symbols: want 1 to 100000"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, &stderr, &stderr, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run(%v) = %v, want an error containing %q", tc.args, err, tc.want)
			}
			if tc.want != "listen" && exitCode(err) != 2 {
				t.Errorf("exit code %d, want 2", exitCode(err))
			}
		})
	}
}

// TestHelpListsEveryEnvironmentVariable checks, for serve and publish,
// that -h gives every flag of the role's flag set a line naming the flag's
// variable, that it names no variable without a flag, and that the role
// reads every one of them.
func TestHelpListsEveryEnvironmentVariable(t *testing.T) {
	for _, tc := range []struct {
		name string
		role role
		args []string
	}{
		{"serve", roleServe, nil},
		{"publish", rolePublish, []string{"publish"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), append(tc.args, "-h"), func(string) string { return "" }, &out, &out, nil); err != nil {
				t.Fatal(err)
			}
			// The line of each flag: "  -name (TICKERD_NAME, default ...)".
			lines := map[string]string{}
			for line := range strings.Lines(out.String()) {
				if f, ok := strings.CutPrefix(strings.TrimSpace(line), "-"); ok {
					flagName, _, _ := strings.Cut(f, " ")
					lines[flagName] = line
				}
			}
			fs := newFlagSet(tc.role, &config{}, io.Discard)
			vars := map[string]bool{}
			fs.VisitAll(func(f *flag.Flag) {
				v := envName(f.Name)
				vars[v] = true
				if line, ok := lines[f.Name]; !ok {
					t.Errorf("-h has no line for -%s", f.Name)
				} else if !strings.Contains(line, "("+v+",") {
					t.Errorf("-h does not name %s on the line of -%s: %q", v, f.Name, line)
				}
			})
			if len(vars) < 2 {
				t.Fatalf("the flag set of %s has %d flags", tc.name, len(vars))
			}
			for _, v := range regexp.MustCompile(`TICKERD_[A-Z0-9_]+`).FindAllString(out.String(), -1) {
				if !vars[v] {
					t.Errorf("-h names %s, the variable of no flag", v)
				}
			}

			// And the role reads each of them.
			read := map[string]bool{}
			if _, err := parseConfig(tc.role, nil, func(k string) string { read[k] = true; return "" }, io.Discard); err != nil {
				t.Fatal(err)
			}
			for v := range vars {
				if !read[v] {
					t.Errorf("%s does not read %s", tc.name, v)
				}
			}
		})
	}
}

func TestDebugAddrServesProfilesOnlyThere(t *testing.T) {
	td := startTickerd(t, "-debug-addr", "127.0.0.1:0")
	debug := td.Addr(t, "debug-addr")
	if debug == strings.TrimPrefix(td.URL, "http://") {
		t.Fatalf("-debug-addr reported the address of -addr, %s", debug)
	}
	resp, err := http.Get("http://" + debug + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("pprof on -debug-addr: %d %.100s", resp.StatusCode, body)
	}
	resp, err = http.Get(td.URL + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("pprof on the public address: status %d, want 404", resp.StatusCode)
	}
}

// TestREADMEConfigurationTableMatchesTheFlags reads the README's
// configuration table: every flag has a row with its variable, every row
// is a flag, and a default written as a value is the flag's default, so
// the defaults have one truth (the packages' Default constants the flags
// take).
func TestREADMEConfigurationTableMatchesTheFlags(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `-([a-z0-9-]+)` \\| `([A-Z0-9_]+)` \\| ([^|]+) \\|")
	rows := map[string][2]string{}
	for line := range strings.Lines(string(readme)) {
		if m := row.FindStringSubmatch(line); m != nil {
			rows[m[1]] = [2]string{m[2], strings.TrimSpace(m[3])}
		}
	}
	fs := newFlagSet(roleServe, &config{}, io.Discard)
	checked := 0
	fs.VisitAll(func(f *flag.Flag) {
		r, ok := rows[f.Name]
		if !ok {
			t.Errorf("README's configuration table has no row for -%s", f.Name)
			return
		}
		delete(rows, f.Name)
		if r[0] != envName(f.Name) {
			t.Errorf("README names %s for -%s, want %s", r[0], f.Name, envName(f.Name))
		}
		if def, ok := strings.CutPrefix(r[1], "`"); ok {
			checked++
			if def = strings.TrimSuffix(def, "`"); !sameDefault(def, f.DefValue) {
				t.Errorf("README gives -%s the default %q; the flag's is %q", f.Name, def, f.DefValue)
			}
		}
	})
	for name := range rows {
		t.Errorf("README's configuration table has a row for -%s, which is no flag", name)
	}
	if checked < 20 {
		t.Errorf("only %d defaults checked; is the table's format still `| `-flag` | `VAR` | `default` | … |`?", checked)
	}
}

// sameDefault reports whether the README's default readme is the flag's
// def, written as a person would: 1h for 1h0m0s, info for INFO.
func sameDefault(readme, def string) bool {
	if a, err := time.ParseDuration(readme); err == nil {
		b, err := time.ParseDuration(def)
		return err == nil && a == b
	}
	return strings.EqualFold(readme, def)
}
