// Package httpjson writes tickerd's JSON answers: every error any handler
// gives has one shape, written here and nowhere else,
//
//	{"error":"unknown symbols","symbols":["FOO","BAR"]}
//
// and every JSON answer the same headers. It must never decide a status or
// a message: its callers do.
package httpjson

import (
	"encoding/json"
	"net/http"
)

// Error is the JSON body of every error answer.
type Error struct {
	Message string   `json:"error"`
	Symbols []string `json:"symbols,omitempty"` // the symbols the error is about, if any
}

// WriteError answers with status and an Error body.
func WriteError(w http.ResponseWriter, status int, message string, symbols ...string) {
	Write(w, status, Error{Message: message, Symbols: symbols})
}

// Write answers with status and v encoded as JSON, never cached.
func Write(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// AllowGet wraps h so that methods other than GET and HEAD are answered
// 405 with an Allow header.
func AllowGet(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			WriteError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		h.ServeHTTP(w, r)
	})
}
