package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// startTickerd builds cmd/tickerd, runs it on a port it picks with args
// and returns its base URL and process id. The process ends with the
// test.
func startTickerd(t *testing.T, args ...string) (base string, pid int) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tickerd")
	if out, err := exec.Command("go", "build", "-o", bin, "../tickerd").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-log-format", "json"}, args...)...)
	logs := newLogWatch(`"msg":"tickerd serving"`)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("tickerd: %v\n%s", err, logs)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("tickerd still running 15s after SIGTERM\n%s", logs)
		}
	})
	select {
	case <-logs.seen:
	case err := <-exited:
		exited <- err
		t.Fatalf("tickerd exited: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("tickerd did not log that it serves within 30s:\n%s", logs)
	}
	sc := bufio.NewScanner(bytes.NewBufferString(logs.String()))
	for sc.Scan() {
		var line struct{ Msg, Page string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "tickerd serving" {
			return line.Page[:len(line.Page)-1], cmd.Process.Pid
		}
	}
	t.Fatalf("no serving line in the log:\n%s", logs)
	return "", 0
}

// TestTransportsAgainstTickerd runs tickload over each transport against
// the real tickerd: every client must get every tick of the firehose, and
// WebSocket clients must answer pings (tickerd closes a client that does
// not within the pong timeout).
func TestTransportsAgainstTickerd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs tickerd")
	}
	const clients = 8
	base, pid := startTickerd(t, "-rate", "200", "-seed", "42", "-heartbeat", "300ms", "-ws-pong-timeout", "500ms")
	tests := []struct {
		name     string
		args     []string
		requests func(r report) bool // requests in the window
	}{
		{"sse", []string{"-url", base + "/events"},
			func(r report) bool { return r.Requests == 0 }},
		{"ws", []string{"-transport", "ws", "-url", base + "/ws"},
			func(r report) bool { return r.Requests == 0 }},
		{"long polling", []string{"-transport", "poll", "-poll-wait", "5s", "-url", base + "/api/ticks"},
			func(r report) bool { return r.Requests > 4*clients }},
		{"polling every 200ms", []string{"-transport", "poll", "-poll-interval", "200ms", "-url", base + "/api/ticks"},
			func(r report) bool {
				return float64(r.Requests) <= clients*(r.WindowSeconds/0.2+1) && float64(r.Requests) >= clients*r.WindowSeconds/0.2/2
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := runLoad(t, newLogWatch("-"), append(tt.args, "-clients", strconv.Itoa(clients), "-sample", "100%",
				"-ramp", "0s", "-warmup", "700ms", "-duration", "2s", "-pid", strconv.Itoa(pid), "-json")...)
			if r.ConnectFailures != 0 || r.Disconnects != 0 || r.ConnectedAtEnd != clients {
				t.Errorf("failures %d, disconnects %d, connected %d; want 0, 0, %d (last error %q)",
					r.ConnectFailures, r.Disconnects, r.ConnectedAtEnd, clients, r.LastError)
			}
			if r.SampledComplete != 1 || r.OfferedPerSecond < 100 || r.OfferedPerSecond > 300 {
				t.Errorf("clients got %.5f of %.1f ticks/s; want all of about 200", r.SampledComplete, r.OfferedPerSecond)
			}
			// A sample of each tick, give or take a few reads: a read's
			// latencies and its count fall on either side of the window's
			// edge when it is taken in between.
			if r.Ticks == 0 || math.Abs(float64(r.Latency.Count)-float64(r.Ticks)) > 0.05*float64(r.Ticks) || r.Latency.P99 > 1000 || r.Latency.Negative != 0 {
				t.Errorf("%d ticks, latency %+v; want a sample of each, p99 under 1s", r.Ticks, r.Latency)
			}
			if !tt.requests(r) {
				t.Errorf("%d requests in %.2fs", r.Requests, r.WindowSeconds)
			}
			if r.BytesPerTick < 100 || r.BytesPerTick > 2000 {
				t.Errorf("%.1f bytes per tick, want 100 to 2000", r.BytesPerTick)
			}
			if tt.name == "ws" && (r.PongsSent < clients || r.BytesOut == 0) {
				t.Errorf("%d pongs, %d bytes sent; want a pong from every client", r.PongsSent, r.BytesOut)
			}
			if r.Server == nil || r.Server.RSSBytes == 0 {
				t.Errorf("no figures of tickerd: %+v", r.Server)
			}
		})
	}
}
