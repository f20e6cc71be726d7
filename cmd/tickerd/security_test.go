package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// matrixRow is one row of the bad-input matrix in SECURITY.md.
type matrixRow struct {
	num, method, target string
	headers             []string
	status              int
	checks              []string // "Name: value" or "!Name"
	body                string
	netHTTP             bool // the answer is net/http's, before tickerd sees the request
}

// readMatrix parses the table under "## Bad-input matrix" in path.
func readMatrix(t *testing.T, path string) []matrixRow {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "## Bad-input matrix")
	if !ok {
		t.Fatalf("%s has no bad-input matrix", path)
	}
	code := regexp.MustCompile("`([^`]*)`")
	cellCodes := func(cell string) []string {
		var out []string
		for _, m := range code.FindAllStringSubmatch(cell, -1) {
			out = append(out, m[1])
		}
		return out
	}
	first := func(cell string) string {
		if c := cellCodes(cell); len(c) > 0 {
			return c[0]
		}
		return ""
	}
	var rows []matrixRow
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|") // no cell holds a |
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if _, err := strconv.Atoi(cells[0]); err != nil {
			continue // the header row
		}
		if len(cells) != 7 {
			t.Fatalf("row %q has %d cells, want 7", line, len(cells))
		}
		status, err := strconv.Atoi(cells[4])
		if err != nil {
			t.Fatalf("row %s: status %q", cells[0], cells[4])
		}
		rows = append(rows, matrixRow{
			num: cells[0], method: first(cells[1]), target: first(cells[2]), headers: cellCodes(cells[3]),
			status: status, checks: cellCodes(cells[5]), body: first(cells[6]), netHTTP: strings.Contains(cells[6], "(net/http"),
		})
	}
	return rows
}

// matrixTokens signs the tokens the matrix names with secret.
type matrixTokens struct {
	t      *testing.T
	secret []byte
}

func (m matrixTokens) sign(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		m.t.Fatal(err)
	}
	return s
}

var placeholder = regexp.MustCompile(`\{(token(?::[^}]*)?|expired|badsig|none|noexp|repeat:[^}]*)\}`)

// expand replaces the placeholders of a matrix cell.
func (m matrixTokens) expand(s string) string {
	hour := time.Now().Add(time.Hour).Unix()
	return placeholder.ReplaceAllStringFunc(s, func(p string) string {
		name := p[1 : len(p)-1]
		switch {
		case name == "token":
			return m.sign(jwt.SigningMethodHS256, m.secret, jwt.MapClaims{"exp": hour, "symbols": []string{"*"}})
		case strings.HasPrefix(name, "token:"):
			patterns := strings.Split(strings.TrimPrefix(name, "token:"), ",")
			return m.sign(jwt.SigningMethodHS256, m.secret, jwt.MapClaims{"exp": hour, "symbols": patterns})
		case name == "expired":
			return m.sign(jwt.SigningMethodHS256, m.secret, jwt.MapClaims{"exp": hour - 2*3600, "symbols": []string{"*"}})
		case name == "badsig":
			return m.sign(jwt.SigningMethodHS256, []byte("not the secret, but just as long!"), jwt.MapClaims{"exp": hour, "symbols": []string{"*"}})
		case name == "none":
			return m.sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"exp": hour, "symbols": []string{"*"}})
		case name == "noexp":
			return m.sign(jwt.SigningMethodHS256, m.secret, jwt.MapClaims{"symbols": []string{"*"}})
		default: // repeat:S:N
			spec := strings.TrimPrefix(name, "repeat:")
			i := strings.LastIndexByte(spec, ':')
			n, err := strconv.Atoi(spec[i+1:])
			if i < 0 || err != nil {
				m.t.Fatalf("bad placeholder %s", p)
			}
			return strings.Repeat(spec[:i], n)
		}
	})
}

// TestBadInputMatrix sends every row of the matrix in SECURITY.md to a
// running tickerd and checks the answer against the row.
func TestBadInputMatrix(t *testing.T) {
	rows := readMatrix(t, filepath.Join("..", "..", "SECURITY.md"))
	if len(rows) < 30 {
		t.Fatalf("the matrix has %d rows, want at least 30", len(rows))
	}
	secret := []byte("a test secret of at least 32 bytes, for tickerd")
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, append(secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	td := startTickerd(t, "-auth-secret-file", secretFile, "-cors-origins", "https://app.example",
		"-max-symbols", "5", "-max-query-bytes", "256")
	host := strings.TrimPrefix(td.URL, "http://")
	tokens := matrixTokens{t: t, secret: secret}
	seen := map[string]bool{}
	for _, row := range rows {
		if seen[row.num] {
			t.Fatalf("row %s appears twice", row.num)
		}
		seen[row.num] = true
		t.Run(row.num+" "+row.method+" "+row.target, func(t *testing.T) {
			target, proto, ok := strings.Cut(row.target, " ")
			if !ok {
				proto = "HTTP/1.1"
			}
			req := row.method + " " + tokens.expand(target) + " " + proto + "\r\nHost: tickerd\r\n"
			sent := &http.Request{Method: row.method, Header: http.Header{}}
			for _, h := range row.headers {
				req += tokens.expand(h) + "\r\n"
				if name, value, ok := strings.Cut(tokens.expand(h), ": "); ok {
					sent.Header.Add(name, value)
				}
			}
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: row.method})
			if err != nil {
				t.Fatal(err)
			}
			body := readAnswer(t, resp, row.body)
			if resp.StatusCode != row.status {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, row.status, body)
			}
			if resp.StatusCode == http.StatusInternalServerError {
				t.Fatal("a 500 for bad input")
			}
			for _, c := range row.checks {
				if name, absent := strings.CutPrefix(c, "!"); absent {
					if v := resp.Header.Values(name); v != nil {
						t.Errorf("%s: %q, want none", name, v)
					}
					continue
				}
				name, want, _ := strings.Cut(c, ": ")
				if got := resp.Header.Get(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			if !strings.Contains(body, row.body) {
				t.Errorf("body %q does not contain %q", body, row.body)
			}
			if !row.netHTTP {
				u, err := url.ParseRequestURI(tokens.expand(target))
				if err != nil {
					t.Fatalf("target %s: %v", target, err)
				}
				sent.URL = u
				checkAnswer(t, sent, resp, []byte(body))
			}
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && !json.Valid([]byte(body)) {
				t.Errorf("body %q is not JSON", body)
			}
			if resp.StatusCode >= 400 && strings.HasPrefix(row.body, `{"error"`) &&
				resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q for a JSON error", resp.Header.Get("Content-Type"))
			}
		})
	}
}

// readAnswer reads a response body; of an endless event stream, only
// until it holds want (or 64 KiB).
func readAnswer(t *testing.T, resp *http.Response, want string) string {
	t.Helper()
	defer resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			t.Fatalf("reading the body: %v", err)
		}
		return string(b)
	}
	var got []byte
	buf := make([]byte, 4096)
	for !strings.Contains(string(got), want) && len(got) < 64<<10 {
		n, err := resp.Body.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	return string(got)
}

// TestEndToEndStreamLimits checks that the limit flags reach the streams:
// a second stream from one address is 429, a stream over the total 503.
func TestEndToEndStreamLimits(t *testing.T) {
	td := startTickerd(t, "-max-streams", "2", "-max-streams-per-addr", "1", "-trust-proxies", "127.0.0.1")
	host := strings.TrimPrefix(td.URL, "http://")
	open := func(from string) *http.Response {
		t.Helper()
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write([]byte("GET /events HTTP/1.1\r\nHost: tickerd\r\nX-Forwarded-For: " + from + "\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for i, step := range []struct {
		from   string
		status int
		body   string
	}{
		{"192.0.2.1", 200, ""},
		{"192.0.2.1", 429, `{"error":"too many streams from your address (at most 1); close one and retry"}`},
		{"192.0.2.2", 200, ""},
		{"192.0.2.3", 503, `{"error":"the service has all the streams it can take; retry later"}`},
	} {
		resp := open(step.from)
		if resp.StatusCode != step.status {
			t.Fatalf("stream %d from %s: status %d, want %d", i, step.from, resp.StatusCode, step.status)
		}
		if step.status == 200 {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("Retry-After") != "10" || strings.TrimSpace(string(body)) != step.body {
			t.Fatalf("stream %d: Retry-After %q, body %s", i, resp.Header.Get("Retry-After"), body)
		}
	}
	metrics := get(t, td.URL+"/metrics")
	for _, want := range []string{`tickerd_streams_rejected_total{reason="over_client_limit",transport="sse"} 1`, `tickerd_streams_rejected_total{reason="over_limit",transport="sse"} 1`, `tickerd_clients{transport="sse"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, grep(metrics, "tickerd_streams_rejected|tickerd_clients"))
		}
	}
}

// TestEndToEndSlowHeadersAreCutOff checks -read-header-timeout: a client
// that never finishes its headers loses its connection.
func TestEndToEndSlowHeadersAreCutOff(t *testing.T) {
	td := startTickerd(t, "-read-header-timeout", "300ms")
	conn, err := net.Dial("tcp", strings.TrimPrefix(td.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte("GET /events HTTP/1.1\r\nHost: tickerd\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("connection not closed: %v", err)
	}
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("closed after %v, want about 300ms", elapsed)
	}
	if len(b) > 0 && !strings.HasPrefix(string(b), "HTTP/1.1 408") {
		t.Errorf("answered %q", b)
	}
}
