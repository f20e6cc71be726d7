package guard

import "net/http"

// APIContentSecurityPolicy is the policy of answers that are not pages: they
// may load nothing and be framed by nobody.
const APIContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"

// Headers returns middleware that sets the security headers on every
// response of next, with csp as its Content-Security-Policy:
// X-Content-Type-Options: nosniff (a browser takes each answer for its
// declared type), Referrer-Policy: no-referrer (a page's URL, which may
// carry a token, goes nowhere), and X-Frame-Options: DENY for browsers that
// predate frame-ancestors.
func Headers(csp string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", csp)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "DENY")
			next.ServeHTTP(w, r)
		})
	}
}
