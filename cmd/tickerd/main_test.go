package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(contractCovered{m}) }

// logBuffer collects a program's log output; it is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// jsonField returns field of the first complete line of a JSON log whose
// msg is msg, or "" if no such line has been written yet.
func (l *logBuffer) jsonField(msg, field string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.buf.Bytes()
	for len(lines) > 0 {
		line, rest, complete := bytes.Cut(lines, []byte("\n"))
		if !complete {
			break
		}
		lines = rest
		var entry map[string]any
		if json.Unmarshal(line, &entry) == nil && entry["msg"] == msg {
			if v, ok := entry[field].(string); ok {
				return v
			}
		}
	}
	return ""
}

// boundAddrs collects the addresses run reports for its listeners, by the
// flag that named each.
type boundAddrs struct {
	mu      sync.Mutex
	addrs   map[string]string
	changed chan struct{} // closed at each report, then replaced
}

func newBoundAddrs() *boundAddrs {
	return &boundAddrs{addrs: map[string]string{}, changed: make(chan struct{})}
}

// report is the bound hook of run.
func (b *boundAddrs) report(flag string, addr net.Addr) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.addrs[flag] = addr.String()
	close(b.changed)
	b.changed = make(chan struct{})
}

// lookup returns the address reported for flag, or "" and a channel closed
// at the next report.
func (b *boundAddrs) lookup(flag string) (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addrs[flag], b.changed
}

// tickerd is one in-process run of the program.
type tickerd struct {
	URL   string // base URL, e.g. http://127.0.0.1:41234
	Log   *logBuffer
	bound *boundAddrs

	cancel  context.CancelFunc // cancels run's context
	exited  chan struct{}      // closed when run has returned
	runErr  error              // what it returned
	stopped sync.Once
	stopErr error
}

// Stop cancels run's context and returns what run returned.
func (td *tickerd) Stop() error {
	td.stopped.Do(func() {
		td.cancel()
		select {
		case <-td.exited:
			td.stopErr = td.runErr
		case <-time.After(15 * time.Second):
			td.stopErr = fmt.Errorf("tickerd did not stop within 15s; log:\n%s", td.Log)
		}
	})
	return td.stopErr
}

// Addr waits until run reports that the listener of flag (addr,
// debug-addr) takes requests, and returns its host:port.
func (td *tickerd) Addr(t testing.TB, flag string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		addr, changed := td.bound.lookup(flag)
		if addr != "" {
			return addr
		}
		select {
		case <-changed:
		case <-td.exited:
			t.Fatalf("run returned %v before reporting -%s\n%s", td.runErr, flag, td.Log)
		case <-deadline:
			t.Fatalf("run did not report -%s within 10s; log:\n%s", flag, td.Log)
		}
	}
}

// startTickerd runs the program in-process on port 0 of loopback with args
// added to a fast, deterministic configuration, waits until it serves, and
// stops it at cleanup. args may start with a role:
// startTickerd(t, "publish", "-nats-url", url).
func startTickerd(t testing.TB, args ...string) *tickerd {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var all []string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		all, args = append(all, args[0]), args[1:]
	}
	// -drain-window 0: Stop closes every stream at once, unless args say otherwise.
	all = append(all, "-addr", "127.0.0.1:0", "-seed", "42", "-first-seq", "1", "-grace", "2s", "-drain-window", "0")
	all = append(all, args...)
	td := &tickerd{Log: &logBuffer{}, bound: newBoundAddrs(), cancel: cancel, exited: make(chan struct{})}
	go func() {
		defer close(td.exited)
		td.runErr = run(ctx, all, func(string) string { return "" }, td.Log, td.Log, td.bound.report)
	}()
	t.Cleanup(func() {
		if err := td.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	td.URL = "http://" + td.Addr(t, "addr")
	return td
}

// pollUntil calls cond every interval until it reports true or timeout
// passes, and reports whether it did. It is the one loop of the package's
// tests that waits for something.
func pollUntil(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// waitFor polls cond every 10ms until it holds, or fails the test after
// 20 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !pollUntil(20*time.Second, 10*time.Millisecond, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// eventually waits until cond reports true, polling every 100ms, and fails
// the test with cond's last description after timeout.
func eventually(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	var state string
	if !pollUntil(timeout, 100*time.Millisecond, func() bool {
		var ok bool
		ok, state = cond()
		return ok
	}) {
		t.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, state)
	}
}
