package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// logLine returns the first complete line of a JSON log whose msg starts
// with prefix, decoded; nil if there is none yet.
func (l *logBuffer) logLine(prefix string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for line := range bytes.Lines(l.buf.Bytes()) {
		var entry map[string]any
		if json.Unmarshal(line, &entry) == nil {
			if msg, _ := entry["msg"].(string); strings.HasPrefix(msg, prefix) {
				return entry
			}
		}
	}
	return nil
}

// TestOutOfDescriptorsEveryConnectionGetsAnAnswer runs the real binary
// under an open-file limit of 256 and opens 400 streams at once: it
// warns at start that it takes fewer streams than -max-streams, serves
// as many as its descriptors hold with -fd-reserve to spare, and answers
// every other one 503 with Retry-After at once (none is left in the
// listen queue); /healthz, /readyz and /metrics answer meanwhile, which
// count the refusals as fd_limit, and a WARN line says so.
func TestOutOfDescriptorsEveryConnectionGetsAnAnswer(t *testing.T) {
	const (
		limit = 256
		conns = 400
	)
	prlimit := requireTool(t, "prlimit")
	cmd := exec.Command(prlimit, fmt.Sprintf("--nofile=%d:%d", limit, limit), "--", buildTickerd(t),
		"-addr", "127.0.0.1:0", "-log-format", "json", "-rate", "50", "-drain-window", "0", "-grace", "2s",
		"-max-streams-per-addr", "10000")
	td := startBinary(t, cmd, 20*time.Second)
	base, logs := td.base, td.logs

	warned := logs.logLine("the open-file limit cannot hold -max-streams")
	if warned == nil || warned["level"] != "WARN" || warned["limit"] != float64(limit) {
		t.Fatalf("no WARN line at start saying the limit of %d cannot hold -max-streams:\n%s", limit, logs)
	}
	streamsLimit := int(metric(t, base, "tickerd_streams_limit"))
	if want := int(warned["streams"].(float64)); streamsLimit != want || streamsLimit < 50 || streamsLimit > limit-128 {
		t.Fatalf("tickerd_streams_limit %d, the log said %d; want it within the limit less -fd-reserve 128", streamsLimit, want)
	}
	if got := metric(t, base, "process_max_fds"); got != limit {
		t.Errorf("process_max_fds %v, want %d", got, limit)
	}

	host := strings.TrimPrefix(base, "http://")
	type answer struct {
		status     int
		retryAfter string
		conn       net.Conn
		err        error
	}
	answers := make([]answer, conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			conn, err := net.Dial("tcp", host)
			if err != nil {
				answers[i].err = err
				return
			}
			answers[i].conn = conn
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
			if _, err := conn.Write([]byte("GET /events HTTP/1.1\r\nHost: tickerd\r\n\r\n")); err != nil {
				answers[i].err = err
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				answers[i].err = err
				return
			}
			answers[i].status, answers[i].retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
			if resp.StatusCode != http.StatusOK {
				conn.Close()
			}
		})
	}
	wg.Wait()
	defer func() {
		for _, a := range answers {
			if a.conn != nil {
				a.conn.Close()
			}
		}
	}()
	served, refused := 0, 0
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Fatalf("connection %d got no answer: %v", i, a.err)
		case a.status == http.StatusOK:
			served++
		case a.status == http.StatusServiceUnavailable && a.retryAfter == "10":
			refused++
		default:
			t.Fatalf("connection %d: %d Retry-After %q, want 200 or 503 with Retry-After", i, a.status, a.retryAfter)
		}
	}
	t.Logf("open-file limit %d: %d streams served, %d answered 503", limit, served, refused)
	if served != streamsLimit || refused != conns-streamsLimit {
		t.Fatalf("%d streams served, %d refused; want %d and %d", served, refused, streamsLimit, conns-streamsLimit)
	}

	// With every stream it can hold open, the probes and metrics answer.
	if body := get(t, base+"/healthz"); !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz: %s", body)
	}
	if status := readyStatus(base); status != http.StatusOK {
		t.Errorf("/readyz: %d", status)
	}
	metrics := get(t, base+"/metrics")
	if want := fmt.Sprintf(`tickerd_streams_rejected_total{reason="fd_limit",transport="sse"} %d`, refused); !strings.Contains(metrics, want) {
		t.Errorf("metrics lack %s:\n%s", want, grep(metrics, "tickerd_streams_rejected"))
	}
	if open := metric(t, base, "process_open_fds"); open < float64(served) || open > limit {
		t.Errorf("process_open_fds %v with %d streams open and a limit of %d", open, served, limit)
	}
	// The line is logged before the first refusal, but comes through a pipe.
	var warn map[string]any
	if !pollUntil(20*time.Second, 10*time.Millisecond, func() bool {
		warn = logs.logLine("streams refused: the open-file limit")
		return warn != nil
	}) || warn["level"] != "WARN" {
		t.Errorf("no WARN line for the refused streams:\n%s", logs)
	}
	if n := strings.Count(logs.String(), "streams refused: the open-file limit"); n > 2 {
		t.Errorf("%d WARN lines for refused streams within seconds; want them rate-limited", n)
	}

	td.terminate(t, 15*time.Second)
}
