package static

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerServesThePageAndItsAssets(t *testing.T) {
	t.Parallel()
	h := Handler()
	tests := []struct {
		target      string
		contentType string
		bodyHas     string
		csp         bool
	}{
		{"/", "text/html; charset=utf-8", `<div id="chart"`, true},
		{"/?symbol=AAPL&interval=1s", "text/html; charset=utf-8", `<tbody id="rows">`, true},
		{"/app.js", "text/javascript; charset=utf-8", "from './connection.js'", false},
		{"/connection.js", "text/javascript; charset=utf-8", "export function start(", false},
		{"/transport-sse.js", "text/javascript; charset=utf-8", "new EventSource(", false},
		{"/sse-worker.js", "text/javascript; charset=utf-8", "new EventSource(", false},
		{"/transport-ws.js", "text/javascript; charset=utf-8", "new WebSocket(", false},
		{"/transport-poll.js", "text/javascript; charset=utf-8", "fetch('/api/ticks?'", false},
		{"/board.js", "text/javascript; charset=utf-8", "export function applySnapshot(", false},
		{"/sparkline.js", "text/javascript; charset=utf-8", "export class Sparkline", false},
		{"/sparkline-backfill.js", "text/javascript; charset=utf-8", "'&limit=' + SPARK_POINTS", false},
		{"/chart.js", "text/javascript; charset=utf-8", "LWC.createChart(", false},
		{"/selection.js", "text/javascript; charset=utf-8", "history.replaceState(", false},
		{"/frame.js", "text/javascript; charset=utf-8", "requestAnimationFrame(", false},
		{"/format.js", "text/javascript; charset=utf-8", "Intl.NumberFormat(", false},
		{"/recent-ticks.js", "text/javascript; charset=utf-8", "export function ticksAfter(", false},
		{"/style.css", "text/css; charset=utf-8", "prefers-reduced-motion", false},
		{"/favicon.svg", "image/svg+xml", "<svg", false},
		{"/vendor/lightweight-charts.standalone.production.js", "text/javascript; charset=utf-8", "Lightweight Charts", false},
		{"/vendor/lightweight-charts.LICENSE", "text/plain; charset=utf-8", "Apache License", false},
		{"/vendor/lightweight-charts.NOTICE", "text/plain; charset=utf-8", "TradingView", false},
		{"/vendor/fancy-canvas.LICENSE", "text/plain; charset=utf-8", "Permission is hereby granted", false},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			t.Parallel()
			rec := get(t, h, http.MethodGet, tt.target, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			hdr := rec.Result().Header
			if got := hdr.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if got := hdr.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control = %q, want no-cache", got)
			}
			if got := hdr.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(hdr.Get("ETag")) {
				t.Errorf("ETag = %q, want a quoted hex digest", hdr.Get("ETag"))
			}
			if got := hdr.Get("Content-Security-Policy"); (got == ContentSecurityPolicy) != tt.csp {
				t.Errorf("Content-Security-Policy = %q, want it set: %v", got, tt.csp)
			}
			if !strings.Contains(rec.Body.String(), tt.bodyHas) {
				t.Errorf("body lacks %q", tt.bodyHas)
			}
		})
	}
}

func TestHandlerRevalidatesWithETag(t *testing.T) {
	t.Parallel()
	h := Handler()
	first := get(t, h, http.MethodGet, "/app.js", nil)
	etag := first.Result().Header.Get("ETag")
	again := get(t, h, http.MethodGet, "/app.js", http.Header{"If-None-Match": {etag}})
	if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Errorf("If-None-Match %s: status %d with %d bytes, want 304 and no body", etag, again.Code, again.Body.Len())
	}
	other := get(t, h, http.MethodGet, "/style.css", nil).Result().Header.Get("ETag")
	if other == etag {
		t.Errorf("app.js and style.css share the ETag %s", etag)
	}
}

func TestHandlerErrors(t *testing.T) {
	t.Parallel()
	h := Handler()
	tests := []struct {
		method, target string
		status         int
		message        string
	}{
		{http.MethodGet, "/nope.js", http.StatusNotFound, "not found"},
		{http.MethodGet, "/index.html", http.StatusNotFound, "not found"},
		{http.MethodGet, "/vendor/", http.StatusNotFound, "not found"},
		{http.MethodGet, "/vendor/lightweight-charts.sha256", http.StatusNotFound, "not found"},
		{http.MethodGet, "/static.go", http.StatusNotFound, "not found"},
		{http.MethodPost, "/", http.StatusMethodNotAllowed, "method not allowed"},
		{http.MethodDelete, "/app.js", http.StatusMethodNotAllowed, "method not allowed"},
	}
	for _, tt := range tests {
		rec := get(t, h, tt.method, tt.target, nil)
		var body struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Errorf("%s %s: body %q: %v", tt.method, tt.target, rec.Body, err)
		}
		if rec.Code != tt.status || body.Error != tt.message {
			t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.target, rec.Code, body.Error, tt.status, tt.message)
		}
		if ct := rec.Result().Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s %s: Content-Type %q", tt.method, tt.target, ct)
		}
		if tt.status == http.StatusMethodNotAllowed && rec.Result().Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow = %q", tt.method, tt.target, rec.Result().Header.Get("Allow"))
		}
	}
}

func TestHeadHasNoBody(t *testing.T) {
	t.Parallel()
	rec := get(t, Handler(), http.MethodHead, "/", nil)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD / = %d with %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestContentSecurityPolicyAllowsOnlyTheOrigin(t *testing.T) {
	t.Parallel()
	directives := map[string]string{}
	for _, d := range strings.Split(ContentSecurityPolicy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	want := map[string]string{
		"default-src":     "'self'",
		"script-src":      "'self'",
		"style-src":       "'self'",
		"img-src":         "'self'",
		"connect-src":     "'self'",
		"object-src":      "'none'",
		"base-uri":        "'none'",
		"frame-ancestors": "'none'",
	}
	for name, value := range want {
		if directives[name] != value {
			t.Errorf("%s = %q, want %q", name, directives[name], value)
		}
	}
	if strings.Contains(ContentSecurityPolicy, "unsafe") || strings.Contains(ContentSecurityPolicy, "http") {
		t.Errorf("policy allows inline code or another host: %s", ContentSecurityPolicy)
	}
}

// TestPageLoadsOnlyItsOwnAssets reads the page's markup and code: every
// resource it loads must be one the handler serves, no other host may
// appear outside a link a person follows, and nothing may be inline,
// which the policy would block.
func TestPageLoadsOnlyItsOwnAssets(t *testing.T) {
	t.Parallel()
	h := Handler()
	page, err := os.ReadFile("index.html")
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)

	loads := regexp.MustCompile(`<(script|link|img|source|iframe|video|audio|embed|object)\b[^>]*\b(src|href|data)="([^"]*)"`)
	found := 0
	for _, m := range loads.FindAllStringSubmatch(html, -1) {
		found++
		url := m[3]
		if !strings.HasPrefix(url, "/") || strings.HasPrefix(url, "//") {
			t.Errorf("<%s %s=%q> loads from somewhere other than this origin", m[1], m[2], url)
			continue
		}
		if rec := get(t, h, http.MethodGet, url, nil); rec.Code != http.StatusOK {
			t.Errorf("<%s %s=%q> is answered with %d", m[1], m[2], url, rec.Code)
		}
	}
	if found < 4 {
		t.Errorf("found %d loaded resources in index.html, want the style sheet, icon and two scripts", found)
	}
	for _, m := range regexp.MustCompile(`<a\b[^>]*href="([^"]*)"`).FindAllStringSubmatch(html, -1) {
		if strings.HasPrefix(m[1], "/") {
			if rec := get(t, h, http.MethodGet, m[1], nil); rec.Code != http.StatusOK {
				t.Errorf("link %q is answered with %d", m[1], rec.Code)
			}
		}
	}

	inline := []struct {
		name string
		re   *regexp.Regexp
	}{
		{"style element", regexp.MustCompile(`<style\b`)},
		{"style attribute", regexp.MustCompile(`\sstyle=`)},
		{"event handler attribute", regexp.MustCompile(`\son[a-z]+=`)},
		{"javascript: URL", regexp.MustCompile(`javascript:`)},
	}
	for _, c := range inline {
		if loc := c.re.FindString(html); loc != "" {
			t.Errorf("index.html has an %s: %q", c.name, loc)
		}
	}

	for _, m := range regexp.MustCompile(`<script\b([^>]*)>([^<]*)</script>`).FindAllStringSubmatch(html, -1) {
		if !strings.Contains(m[1], ` src="`) || strings.TrimSpace(m[2]) != "" {
			t.Errorf("index.html has an inline script: %q", m[0])
		}
	}

	modules, err := filepath.Glob("*.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append(modules, "style.css") {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"http://", "https://", "@import", "//cdn", "fonts.g"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s contains %q: every resource must come from this origin", name, bad)
			}
		}
	}
}

// TestPageCreditsTheChartLibrary checks the attribution that the chart
// library's licence asks for: its notice and a link to TradingView, visible
// on the page, since the chart's own logo is turned off.
func TestPageCreditsTheChartLibrary(t *testing.T) {
	t.Parallel()
	page, err := os.ReadFile("index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<a href="https://www.tradingview.com/"`,
		"TradingView Lightweight Charts",
		"Copyright © 2023 TradingView, Inc.",
		`href="/vendor/lightweight-charts.NOTICE"`,
		`href="/vendor/lightweight-charts.LICENSE"`,
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	chart, err := os.ReadFile("chart.js")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(chart), "attributionLogo: false") {
		t.Error("chart.js no longer turns the chart's logo off; its inline style would break the policy")
	}
}

// TestPageModulesAreServed follows the page's ES modules from its module
// script through every import, and the scripts of the workers they start
// (new Worker(new URL('./x.js', import.meta.url))): each must be served from this origin as
// JavaScript, which a browser requires of a module, with the same caching
// as every asset; and every module in the folder must be one the page
// imports, so none is left behind unserved or unused.
func TestPageModulesAreServed(t *testing.T) {
	t.Parallel()
	h := Handler()
	page, err := os.ReadFile("index.html")
	if err != nil {
		t.Fatal(err)
	}
	entries := regexp.MustCompile(`<script\b[^>]*\bsrc="([^"]*)"[^>]*\btype="module"`).FindAllStringSubmatch(string(page), -1)
	if len(entries) != 1 {
		t.Fatalf("index.html has %d module scripts, want 1", len(entries))
	}
	imports := regexp.MustCompile(`(?m)^(?:import|export)\b[^'";]*?\bfrom\s*'([^']+)';|^import\s*'([^']+)';`)
	dynamic := regexp.MustCompile(`\bimport\s*\(`)
	workers := regexp.MustCompile(`\bnew Worker\(new URL\('([^']+)', import\.meta\.url\)\)`)

	origin, _ := url.Parse("http://tickerd.test/")
	reached := map[string]bool{}
	queue := []string{entries[0][1]}
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		u, err := origin.Parse(ref)
		if err != nil || u.Host != origin.Host || u.RawQuery != "" {
			t.Errorf("module %q is not a plain path on this origin", ref)
			continue
		}
		if reached[u.Path] {
			continue
		}
		reached[u.Path] = true
		rec := get(t, h, http.MethodGet, u.Path, nil)
		if rec.Code != http.StatusOK {
			t.Errorf("module %s is answered with %d", u.Path, rec.Code)
			continue
		}
		hdr := rec.Result().Header
		if got := hdr.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
			t.Errorf("module %s: Content-Type = %q, want text/javascript", u.Path, got)
		}
		if got := hdr.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("module %s: Cache-Control = %q, want no-cache", u.Path, got)
		}
		if hdr.Get("ETag") == "" {
			t.Errorf("module %s has no ETag", u.Path)
		}
		body := rec.Body.String()
		if dynamic.MatchString(body) {
			t.Errorf("module %s imports dynamically; this test follows static imports only", u.Path)
		}
		refs := imports.FindAllStringSubmatch(body, -1)
		for _, m := range workers.FindAllStringSubmatch(body, -1) {
			refs = append(refs, []string{m[0], m[1], ""})
		}
		for _, m := range refs {
			next := m[1] + m[2]
			if !strings.HasPrefix(next, "./") {
				t.Errorf("module %s imports %q, want a path relative to it", u.Path, next)
				continue
			}
			imported, _ := u.Parse(next)
			queue = append(queue, imported.String())
		}
	}

	onDisk, err := filepath.Glob("*.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range onDisk {
		if !reached["/"+name] {
			t.Errorf("%s is not imported by the page", name)
		}
	}
	if len(reached) != len(onDisk) {
		t.Errorf("the page imports %d modules, the folder has %d: %v", len(reached), len(onDisk), reached)
	}
}
