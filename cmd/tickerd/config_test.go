package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net"
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
		{nil, map[string]string{"TICKERD_HEARTBEAT": "soon"}, `TICKERD_HEARTBEAT=soon (-heartbeat): parse error`},
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
		{nil, map[string]string{"TICKERD_MAX_STREAMS": "0"}, "TICKERD_MAX_STREAMS=0 (-max-streams): want at least 1 stream"},
		{[]string{"-max-header-bytes", "100"}, nil, "-max-header-bytes"},
		{[]string{"-auth-secret-file", "/nonexistent/secret"}, nil, "-auth-secret-file"},
		{[]string{"-auth-secret-file", shortSecret}, nil, "-auth-secret-file " + shortSecret + ": the secret of 9 bytes: want an HS256 secret of at least 32 bytes"},
		{[]string{"-auth-jwks-file", shortSecret}, nil, "JWKS"},
		{[]string{"-auth-secret-file", goodSecret, "-auth-cookie", "a;b"}, nil, `-auth-cookie "a;b": want a cookie name`},
		{[]string{"-cors-origins", "https://app.example,app.example"}, nil, "-cors-origins"},
		{[]string{"-max-price-jump", "NaN"}, nil, "-max-price-jump"},
		{[]string{"-addr", "nope:nope:nope"}, nil, "listen"},
		{[]string{"stray"}, nil, `unexpected argument "stray"`},
		{[]string{"-feed", "kafka"}, nil, "-feed"},
		{[]string{"-feed", "nats", "-nats-url", ""}, nil, "-nats-url"},
		{[]string{"-resume-wait", "2h"}, nil, "resume wait"},
		{[]string{"-rate", "0"}, nil, "-rate 0: want ticks per second above 0 and at most 1e+06"},
		{[]string{"-feed", "nats", "-replay", "-1"}, nil, "-replay -1: want 0 (replay off) or more ticks"},
		{[]string{"publish", "-nats-url", ""}, nil, "-nats-url"},
		{[]string{"publish", "-nats-max-per-symbol", "0"}, nil, "-nats-max-per-symbol 0: want at least 1 tick kept per symbol"},
		{[]string{"publish", "-nats-publish-window", "0"}, nil, "-nats-publish-window 0: want 1 to 65536 publications in flight"},
		{[]string{"publish"}, map[string]string{"TICKERD_NATS_PUBLISH_WINDOW": "70000"}, "TICKERD_NATS_PUBLISH_WINDOW=70000 (-nats-publish-window): want 1 to 65536"},
		{[]string{"publish", "-symbols", "AAPL,BRK..B=10/0.2"}, nil, "not between two letters or digits"},
		{[]string{"-feed", "nats", "-symbols", "AAPL,X.=10/0.2"}, nil, "not between two letters or digits"},
		{[]string{"-replay", "-1"}, nil, "-replay -1: want 0 (replay off) or more ticks"},
		{[]string{"-flush-interval", "0"}, nil, "-flush-interval 0s: want a duration above 0"},
		{[]string{"-max-streams", "0"}, nil, "-max-streams 0: want at least 1 stream"},
		{[]string{"-max-symbols", "0"}, nil, "-max-symbols 0: want at least 1 symbol"},
		{[]string{"-retry", "-1s"}, nil, "-retry -1s: want 0 (reconnect at once) or more"},
		{[]string{"-feed", "http"}, nil, "-feed http: needs -publish-key-file"},
		{[]string{"-feed", "replay"}, nil, "-feed replay: needs -replay-file"},
		{[]string{"publish", "-feed", "nats"}, nil, "tickerd publish wants memory, http or replay"},
		{[]string{"-publish-key-file", shortSecret}, nil, "-publish-key-file " + shortSecret + ": a key of 9 bytes; want at least 32"},
		{[]string{"-publish-key-file", "/nonexistent/key"}, nil, "-publish-key-file"},
		{[]string{"-publish-key-file", goodSecret, "-publish-rate", "0"}, nil, "-publish-rate 0: want requests per second above 0"},
		{[]string{"-publish-key-file", goodSecret, "-publish-max-lines", "0"}, nil, "-publish-max-lines 0: want at least 1 line"},
		{[]string{"-publish-key-file", goodSecret, "-publish-max-bytes", "0"}, nil, "-publish-max-bytes 0: want at least 1024 bytes"},
		{[]string{"-feed", "replay", "-replay-file", "/nonexistent/day.ndjson"}, nil, "-replay-file: replay file: open /nonexistent/day.ndjson"},
		{[]string{"-feed", "replay", "-replay-file", goodSecret, "-replay-speed", "0"}, nil, "-replay-speed 0: want 0.001 to 1000000"},
		{[]string{"-feed", "replay", "-replay-file", goodSecret}, nil, "line 1: not in a tick format"},
		{[]string{"record"}, nil, "-o: want the file to write"},
		{[]string{"record", "-o", filepath.Join(dir, "x.ndjson"), "-count", "-1"}, nil, "-count -1"},
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

// TestEveryFlagNamesItselfWhenRefused gives every flag of tickerd, tickerd
// publish, tickerd watch and tickerd healthcheck a value it refuses (or
// says why it refuses none) and checks that the refusal names the flag, or
// the environment variable the value came from. A flag added without a
// row here fails the test.
func TestEveryFlagNamesItselfWhenRefused(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "short"), []byte("too short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	type refusal struct {
		args []string // after the role; the last flag given is the one refused
		env  map[string]string
		want string // in the error; empty: the flag's own name
	}
	serve := map[string][]refusal{
		"addr":       {{args: []string{"-addr", "nope:nope:nope"}}},
		"debug-addr": {{args: []string{"-debug-addr", "nope:nope:nope"}}},
		"symbols": {{args: []string{"-symbols", "AAPL,,MSFT"}}, {args: []string{"-symbols", "ACME=0/0.2"}},
			{env: map[string]string{"TICKERD_SYMBOLS": "AAPL,,MSFT"}, want: "TICKERD_SYMBOLS=AAPL,,MSFT (-symbols): symbol 2: empty item"}},
		"rate": {{args: []string{"-rate", "0"}}, {args: []string{"-rate", "-5"}}, {args: []string{"-rate", "NaN"}}, {args: []string{"-rate", "fast"}},
			{env: map[string]string{"TICKERD_RATE": "0"}, want: "TICKERD_RATE=0 (-rate): want ticks per second above 0"}},
		"seed":      {{args: []string{"-seed", "-1"}}},
		"first-seq": {{args: []string{"-first-seq", "one"}}},
		"replay": {{args: []string{"-replay", "-1"}}, {args: []string{"-feed", "nats", "-replay", "-1"}},
			{env: map[string]string{"TICKERD_REPLAY": "-1"}, want: "TICKERD_REPLAY=-1 (-replay): want 0 (replay off) or more ticks"},
			// The command line wins over the variable, and the refusal says so.
			{args: []string{"-replay", "-1"}, env: map[string]string{"TICKERD_REPLAY": "5"}, want: "-replay -1: want 0 (replay off) or more ticks"}},
		"heartbeat":             {{args: []string{"-heartbeat", "1ms"}}, {env: map[string]string{"TICKERD_HEARTBEAT": "soon"}, want: "TICKERD_HEARTBEAT"}},
		"write-timeout":         {{args: []string{"-write-timeout", "0"}}},
		"flush-interval":        {{args: []string{"-flush-interval", "0"}}, {args: []string{"-flush-interval", "2s"}}},
		"queue-bytes":           {{args: []string{"-queue-bytes", "10"}}},
		"send-buffer":           {{args: []string{"-send-buffer", "100"}}, {args: []string{"-send-buffer", "-1"}}},
		"retry":                 {{args: []string{"-retry", "-1s"}}},
		"max-symbols":           {{args: []string{"-max-symbols", "0"}}},
		"max-query-bytes":       {{args: []string{"-max-query-bytes", "10"}}},
		"max-streams":           {{args: []string{"-max-streams", "0"}}},
		"max-streams-per-addr":  {{args: []string{"-max-streams-per-addr", "0"}}},
		"fd-reserve":            {{args: []string{"-fd-reserve", "-1"}}},
		"gc-percent":            {{args: []string{"-gc-percent", "0"}}, {args: []string{"-gc-percent", "5000"}}},
		"stream-rate":           {{args: []string{"-stream-rate", "-1"}}, {args: []string{"-stream-rate", "NaN"}}},
		"stream-burst":          {{args: []string{"-stream-rate", "10", "-stream-burst", "0"}}},
		"stream-rate-per-addr":  {{args: []string{"-stream-rate-per-addr", "-1"}}},
		"stream-burst-per-addr": {{args: []string{"-stream-rate-per-addr", "10", "-stream-burst-per-addr", "0"}}},
		"drain-window":          {{args: []string{"-drain-window", "-1s"}}, {args: []string{"-drain-window", "1h"}}},
		"bar-bytes":             {{args: []string{"-bar-bytes", "0"}}},
		"symbol-series":         {{args: []string{"-symbol-series", "-1"}}},
		"firehose":              {{args: []string{"-firehose", "-1"}}},
		"trust-proxies":         {{args: []string{"-trust-proxies", "proxy.local"}}},
		"read-header-timeout":   {{args: []string{"-read-header-timeout", "0s"}}},
		"max-header-bytes":      {{args: []string{"-max-header-bytes", "100"}}},
		"cors-origins":          {{args: []string{"-cors-origins", "app.example"}}},
		"auth-secret-file":      {{args: []string{"-auth-secret-file", "/nonexistent/secret"}}},
		"auth-jwks-file":        {{args: []string{"-auth-jwks-file", secret}}},
		"auth-cookie":           {{args: []string{"-auth-secret-file", secret, "-auth-cookie", "a;b"}}},
		"auth-claim":            {{args: []string{"-auth-secret-file", secret, "-auth-claim", ""}}},
		"max-price-jump": {{args: []string{"-max-price-jump", "0"}}, {args: []string{"-max-price-jump", "NaN"}},
			{env: map[string]string{"TICKERD_MAX_PRICE_JUMP": "0"}, want: "TICKERD_MAX_PRICE_JUMP=0 (-max-price-jump): want a percentage"}},
		"ws-pong-timeout":   {{args: []string{"-ws-pong-timeout", "0s"}}},
		"ws-message-rate":   {{args: []string{"-ws-message-rate", "0"}}},
		"poll-max-wait":     {{args: []string{"-poll-max-wait", "-1s"}}},
		"stall-after":       {{args: []string{"-stall-after", "0s"}}},
		"feed":              {{args: []string{"-feed", "kafka"}}, {env: map[string]string{"TICKERD_FEED": "kafka"}, want: "TICKERD_FEED=kafka (-feed): want memory, nats, http or replay"}},
		"resume-wait":       {{args: []string{"-resume-wait", "2h"}}},
		"nats-url":          {{args: []string{"-feed", "nats", "-nats-url", ""}}},
		"grace":             {{args: []string{"-grace", "0s"}}, {env: map[string]string{"TICKERD_GRACE": "0"}, want: "TICKERD_GRACE=0 (-grace): want a positive duration"}},
		"log-level":         {{args: []string{"-log-level", "loud"}}},
		"log-format":        {{args: []string{"-log-format", "xml"}}},
		"publish-key-file":  {{args: []string{"-publish-key-file", "/nonexistent/key"}}, {args: []string{"-publish-key-file", filepath.Join(dir, "short")}}},
		"publish-max-bytes": {{args: []string{"-publish-key-file", secret, "-publish-max-bytes", "0"}}},
		"publish-max-lines": {{args: []string{"-publish-key-file", secret, "-publish-max-lines", "0"}}},
		"publish-rate":      {{args: []string{"-publish-key-file", secret, "-publish-rate", "0"}}, {args: []string{"-publish-key-file", secret, "-publish-rate", "NaN"}}},
		"replay-file":       {{args: []string{"-feed", "replay", "-replay-file", "/nonexistent/day.ndjson"}}, {args: []string{"-feed", "replay", "-replay-file", secret}}},
		"replay-speed":      {{args: []string{"-replay-speed", "0"}}, {args: []string{"-replay-speed", "2e6"}}},
		"learn-symbols": {
			{args: []string{"-learn-symbols", "3"}, want: "-learn-symbols 3: with -feed memory the universe is the simulated one"},
			{args: []string{"-feed", "http", "-publish-key-file", secret, "-learn-symbols", "-1"}},
			{args: []string{"-feed", "http", "-publish-key-file", secret, "-learn-symbols", "100001"}},
		},
	}
	// Flags whose every value of their type means something.
	anyValue := map[string]string{
		"auth-issuer":   "any issuer may be required (empty: not checked)",
		"auth-audience": "any audience may be required (empty: not checked)",
		"replay-loop":   "true and false both mean what they say",
	}
	// Flags only tickerd publish reads: a server ignores them.
	publishOnly := map[string][]refusal{
		"nats-max-per-symbol": {{args: []string{"-nats-max-per-symbol", "0"}}},
		"nats-max-age":        {{args: []string{"-nats-max-age", "0s"}}, {args: []string{"-nats-max-age", "500ms"}}},
		"nats-max-bytes":      {{args: []string{"-nats-max-bytes", "0"}}, {args: []string{"-nats-max-bytes", "1048575"}}},
		"nats-publish-window": {{args: []string{"-nats-publish-window", "0"}}, {args: []string{"-nats-publish-window", "70000"}},
			{env: map[string]string{"TICKERD_NATS_PUBLISH_WINDOW": "0"}, want: "TICKERD_NATS_PUBLISH_WINDOW=0 (-nats-publish-window): want 1 to 65536"}},
		"session":     {{args: []string{"-session", "weekdays"}}, {env: map[string]string{"TICKERD_SESSION": "week days"}, want: `TICKERD_SESSION="week days" (-session): want always or exchange`}},
		"clock-start": {{args: []string{"-clock-start", "2026-12-24 12:55"}}, {args: []string{"-clock-start", "tomorrow"}}},
		"clock-speed": {{args: []string{"-clock-speed", "0"}}, {args: []string{"-clock-speed", "-1"}}, {args: []string{"-clock-speed", "NaN"}}},
		"halt-rate":   {{args: []string{"-halt-rate", "-2"}}, {args: []string{"-halt-rate", "4000"}}},
	}
	// The flags tickerd publish reads: those it shares with the server, and its own.
	publish := map[string][]refusal{}
	for _, name := range []string{"addr", "symbols", "rate", "seed", "first-seq", "nats-url", "read-header-timeout",
		"max-header-bytes", "stall-after", "grace", "log-level", "log-format"} {
		publish[name] = serve[name]
	}
	publish["nats-url"] = []refusal{{args: []string{"-nats-url", ""}}}
	publish["replay-speed"] = serve["replay-speed"]
	publish["feed"] = []refusal{{args: []string{"-feed", "nats"}}}
	// The publish API is served with -feed http only.
	publish["publish-key-file"] = []refusal{{args: []string{"-feed", "http", "-publish-key-file", "/nonexistent/key"}}, {args: []string{"-feed", "http"}, want: "needs -publish-key-file"}}
	publish["replay-file"] = []refusal{{args: []string{"-feed", "replay", "-replay-file", "/nonexistent/day.ndjson"}}}
	publish["learn-symbols"] = []refusal{
		{args: []string{"-learn-symbols", "3"}, want: "-learn-symbols 3: with -feed memory"},
		{args: []string{"-feed", "replay", "-replay-file", secret, "-learn-symbols", "3"}, want: "-learn-symbols 3: tickerd publish checks the symbols of -feed http only"},
		{args: []string{"-feed", "http", "-publish-key-file", secret, "-learn-symbols", "-1"}},
	}
	for name, r := range publishOnly {
		publish[name] = r
	}

	check := func(t *testing.T, role []string, name string, r refusal, code int) {
		t.Helper()
		args := append(append([]string{}, role...), r.args...)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// A value taken by mistake starts the service: stop it at once.
		err := run(ctx, args, func(k string) string { return r.env[k] }, io.Discard, io.Discard, func(string, net.Addr) { cancel() })
		want := r.want
		if want == "" {
			want = "-" + name
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("tickerd %s: %v; want an error naming %s", strings.Join(args, " "), err, want)
			return
		}
		if got := exitCode(err); got != code {
			t.Errorf("tickerd %s: exit status %d, want %d (%v)", strings.Join(args, " "), got, code, err)
		}
	}
	exit := func(name string) int {
		if name == "addr" || name == "debug-addr" {
			return 1 // not a mistake of the command line: the address may be taken
		}
		return 2
	}

	t.Run("serve", func(t *testing.T) {
		newFlagSet(roleServe, &config{}, io.Discard).VisitAll(func(f *flag.Flag) {
			if _, ok := anyValue[f.Name]; ok {
				return
			}
			if _, ok := publishOnly[f.Name]; ok {
				return
			}
			refusals, ok := serve[f.Name]
			if !ok {
				t.Errorf("-%s has no refused value in this test", f.Name)
			}
			for _, r := range refusals {
				check(t, nil, f.Name, r, exit(f.Name))
			}
		})
	})
	t.Run("publish", func(t *testing.T) {
		for name, refusals := range publish {
			for _, r := range refusals {
				check(t, []string{"publish"}, name, r, exit(name))
			}
		}
	})

	// watch and healthcheck have flag sets of their own: their -h lists them.
	for _, tc := range []struct {
		role     string
		code     int
		refusals map[string][]refusal
	}{
		{"watch", 2, map[string][]refusal{
			"url":        {{args: []string{"-url", "ftp://example"}}, {args: []string{"-url", ""}}},
			"symbols":    {{args: []string{"-symbols", "AAPL,,MSFT"}}, {args: []string{"-symbols", "AAPL,$"}}},
			"transport":  {{args: []string{"-transport", "carrier-pigeon"}}},
			"poll-wait":  {{args: []string{"-poll-wait", "-1s"}}},
			"json":       {{args: []string{"-json=maybe"}}},
			"token-file": {{args: []string{"-token-file", "/nonexistent/token"}}},
		}},
		{"record", 2, map[string][]refusal{
			"url":        {{args: []string{"-url", "ftp://example"}}},
			"symbols":    {{args: []string{"-o", filepath.Join(dir, "rec.ndjson"), "-symbols", "AAPL,,MSFT"}}},
			"o":          {{args: []string{"-o", ""}}, {args: []string{"-o", filepath.Join(dir, "no", "such", "dir.ndjson")}}},
			"count":      {{args: []string{"-o", filepath.Join(dir, "rec.ndjson"), "-count", "-1"}}},
			"token-file": {{args: []string{"-o", filepath.Join(dir, "rec.ndjson"), "-token-file", "/nonexistent/token"}}},
		}},
		{"healthcheck", 1, map[string][]refusal{
			"addr":    {{args: []string{"-addr", "nope:nope:nope"}}},
			"path":    {{args: []string{"-path", "/metrics"}}},
			"timeout": {{args: []string{"-timeout", "0s"}}, {args: []string{"-timeout", "-1s"}}},
		}},
	} {
		t.Run(tc.role, func(t *testing.T) {
			var help bytes.Buffer
			if err := run(context.Background(), []string{tc.role, "-h"}, func(string) string { return "" }, &help, &help, nil); err != nil {
				t.Fatal(err)
			}
			flags := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(help.String(), -1)
			if len(flags) < 3 {
				t.Fatalf("tickerd %s -h lists %d flags: %s", tc.role, len(flags), help.String())
			}
			for _, m := range flags {
				refusals, ok := tc.refusals[m[1]]
				if !ok {
					t.Errorf("%s -%s has no refused value in this test", tc.role, m[1])
				}
				for _, r := range refusals {
					check(t, []string{tc.role}, m[1], r, tc.code)
				}
			}
		})
	}
}
