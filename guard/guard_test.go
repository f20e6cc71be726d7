package guard

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// teapot marks answers that came from the wrapped handler.
var teapot = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })

func TestCORS(t *testing.T) {
	listed, err := NewCORS([]string{"https://app.example", "HTTP://Localhost:3000", "https://std.example:443"})
	if err != nil {
		t.Fatal(err)
	}
	star, _ := NewCORS([]string{"*"})
	none, _ := NewCORS(nil)
	preflight := map[string]string{"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}
	with := func(h map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range h {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		cors   *CORS
		method string
		header map[string]string
		status int
		want   map[string]string // "" means absent
		vary   []string
	}{
		{"same origin, no list", none, "GET", nil, 418,
			map[string]string{"Access-Control-Allow-Origin": ""}, nil},
		{"cross origin, no list", none, "GET", with(nil, "Origin", "https://app.example"), 418,
			map[string]string{"Access-Control-Allow-Origin": ""}, nil},
		{"preflight, no list", none, "OPTIONS", with(preflight, "Origin", "https://app.example"), 418,
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""}, nil},
		{"no Origin", listed, "GET", nil, 418,
			map[string]string{"Access-Control-Allow-Origin": ""}, []string{"Origin"}},
		{"listed origin", listed, "GET", with(nil, "Origin", "https://app.example"), 418,
			map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Credentials": "true",
				"Access-Control-Expose-Headers": "Retry-After, WWW-Authenticate", "Access-Control-Allow-Methods": ""}, []string{"Origin"}},
		{"listed with its port", listed, "GET", with(nil, "Origin", "http://localhost:3000"), 418,
			map[string]string{"Access-Control-Allow-Origin": "http://localhost:3000"}, []string{"Origin"}},
		{"listed with the default port", listed, "GET", with(nil, "Origin", "https://std.example"), 418,
			map[string]string{"Access-Control-Allow-Origin": "https://std.example"}, []string{"Origin"}},
		{"other port", listed, "GET", with(nil, "Origin", "http://localhost:3001"), 418,
			map[string]string{"Access-Control-Allow-Origin": ""}, []string{"Origin"}},
		{"other scheme", listed, "GET", with(nil, "Origin", "http://app.example"), 418,
			map[string]string{"Access-Control-Allow-Origin": ""}, []string{"Origin"}},
		{"suffix is not a match", listed, "GET", with(nil, "Origin", "https://app.example.evil.example"), 418,
			map[string]string{"Access-Control-Allow-Origin": ""}, []string{"Origin"}},
		{"null origin", listed, "GET", with(nil, "Origin", "null"), 418,
			map[string]string{"Access-Control-Allow-Origin": ""}, []string{"Origin"}},
		{"preflight from a listed origin", listed, "OPTIONS", with(preflight, "Origin", "https://app.example"), 204,
			map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods": "GET, HEAD", "Access-Control-Allow-Headers": "Authorization, Last-Event-ID",
				"Access-Control-Max-Age": "600"},
			[]string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"}},
		{"preflight from another origin", listed, "OPTIONS", with(preflight, "Origin", "https://evil.example"), 418,
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Access-Control-Max-Age": ""},
			[]string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"}},
		{"OPTIONS that is not a preflight", listed, "OPTIONS", with(nil, "Origin", "https://app.example"), 418,
			map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Methods": ""}, []string{"Origin"}},
		{"any origin", star, "GET", with(nil, "Origin", "https://whoever.example"), 418,
			map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": ""}, []string{"Origin"}},
		{"any origin, preflight", star, "OPTIONS", with(preflight, "Origin", "https://whoever.example"), 204,
			map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "", "Access-Control-Allow-Methods": "GET, HEAD"},
			[]string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/events", nil)
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			tc.cors.Wrap(teapot).ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			for k, v := range tc.want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if got := w.Header().Values("Vary"); !slices.Equal(got, tc.vary) {
				t.Errorf("Vary %q, want %q", got, tc.vary)
			}
			if tc.status == 204 && w.Body.Len() != 0 {
				t.Errorf("preflight answer has a body: %q", w.Body)
			}
		})
	}
}

func TestNewCORSRefusesWhatIsNotAnOrigin(t *testing.T) {
	for _, o := range []string{"app.example", "ftp://app.example", "https://app.example/path", "https://app.example?x=1",
		"https://app.example#top", "https://user@app.example", "null", "https://", "https://app.example:99999", "https://app.example:http"} {
		if _, err := NewCORS([]string{o}); err == nil || !strings.Contains(err.Error(), "origin") {
			t.Errorf("NewCORS(%q) = %v, want an error", o, err)
		}
	}
	if _, err := NewCORS([]string{"*", "https://app.example"}); err == nil {
		t.Error("* listed with another origin was accepted")
	}
	if _, err := NewCORS([]string{"https://app.example/", "http://[::1]:8080"}); err != nil {
		t.Errorf("a trailing slash or an IPv6 host: %v", err)
	}
}

func TestHeadersReachEveryAnswer(t *testing.T) {
	h := Headers("default-src 'self'")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/framed" {
			w.Header().Set("X-Frame-Options", "SAMEORIGIN") // a handler may override
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	for path, frame := range map[string]string{"/": "DENY", "/framed": "SAMEORIGIN"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		for k, v := range map[string]string{
			"Content-Security-Policy": "default-src 'self'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         frame,
		} {
			if got := w.Header().Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
	}
}
