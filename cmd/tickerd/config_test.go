package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
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
		{[]string{"publish", "-symbols", "AAPL,BRK..B=10/0.2"}, nil, "NATS subject"},
		{[]string{"-feed", "nats", "-symbols", "AAPL,X.=10/0.2"}, nil, "NATS subject"},
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

func TestHelpListsEveryEnvironmentVariable(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &out, &out, nil); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"TICKERD_ADDR", "TICKERD_SYMBOLS", "TICKERD_RATE", "TICKERD_SEED", "TICKERD_REPLAY",
		"TICKERD_HEARTBEAT", "TICKERD_WRITE_TIMEOUT", "TICKERD_MAX_SYMBOLS", "TICKERD_LOG_LEVEL", "TICKERD_LOG_FORMAT",
		"TICKERD_FEED", "TICKERD_NATS_URL", "TICKERD_RESUME_WAIT", "TICKERD_NATS_MAX_PER_SYMBOL", "TICKERD_NATS_MAX_AGE"} {
		if !strings.Contains(out.String(), v) {
			t.Errorf("-h does not mention %s", v)
		}
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
