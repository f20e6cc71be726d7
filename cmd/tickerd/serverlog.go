package main

import (
	"bytes"
	"log"
	"log/slog"
	"time"

	"golang.org/x/time/rate"
)

// acceptWarnInterval is how often at most a failing accept is logged.
const acceptWarnInterval = 10 * time.Second

// serverErrorLog is the HTTP server's error log: its messages at DEBUG
// (a client's bad TLS or early hang-up is no news), except a failing
// accept, which the server retries silently and which means clients are
// waiting in the listen queue unanswered: that one at WARN, at most every
// acceptWarnInterval.
func serverErrorLog(l *slog.Logger) *log.Logger {
	w := &serverLogWriter{log: l, every: rate.Sometimes{First: 1, Interval: acceptWarnInterval}}
	return log.New(w, "", 0)
}

type serverLogWriter struct {
	log   *slog.Logger
	every rate.Sometimes
}

func (w *serverLogWriter) Write(p []byte) (int, error) {
	msg := string(bytes.TrimSpace(p))
	if bytes.Contains(p, []byte("Accept error")) {
		w.every.Do(func() {
			w.log.Warn("accepting connections fails; the server retries (out of open files? see -fd-reserve)", "err", msg)
		})
		return len(p), nil
	}
	w.log.Debug(msg)
	return len(p), nil
}
