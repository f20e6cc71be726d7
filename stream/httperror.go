package stream

import (
	"encoding/json"
	"net/http"
)

// apiError is the JSON body of every error answer:
//
//	{"error":"unknown symbols","symbols":["FOO","BAR"]}
type apiError struct {
	Message string   `json:"error"`
	Symbols []string `json:"symbols,omitempty"`
}

// writeError answers with status and a JSON error body.
func writeError(w http.ResponseWriter, status int, message string, symbols ...string) {
	writeJSON(w, status, apiError{Message: message, Symbols: symbols})
}

// writeJSON answers with status and v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// allowGet wraps h so that methods other than GET and HEAD are answered
// with 405 and an Allow header.
func allowGet(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		h.ServeHTTP(w, r)
	})
}
