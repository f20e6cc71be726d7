package main

import (
	"log/slog"
	"strings"
	"testing"
)

// TestServerErrorLogWarnsOfFailingAcceptOnce checks the HTTP server's
// error log: a failing accept, which the server retries silently, is a
// WARN at most once per interval; other messages stay at DEBUG.
func TestServerErrorLogWarnsOfFailingAcceptOnce(t *testing.T) {
	logs := &logBuffer{}
	l := serverErrorLog(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	for range 50 {
		l.Printf("http: Accept error: accept tcp 127.0.0.1:8080: accept4: too many open files; retrying in 5ms")
	}
	l.Printf("http: TLS handshake error from 192.0.2.1:5000: EOF")
	out := logs.String()
	if n := strings.Count(out, "level=WARN"); n != 1 || !strings.Contains(out, "too many open files") {
		t.Errorf("want one WARN naming the accept error, got:\n%s", out)
	}
	if !strings.Contains(out, `level=DEBUG msg="http: TLS handshake error`) {
		t.Errorf("other server messages should stay at DEBUG:\n%s", out)
	}
}
