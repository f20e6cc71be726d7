package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logBuffer collects run's log output and announces the serving address.
type logBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
}

var servingLine = regexp.MustCompile(`msg="tickerd (?:serving|publishing)" (?:page|metrics)=(http://[^ /]+)/`)

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if m := servingLine.FindSubmatch(p); m != nil {
		select {
		case l.addr <- string(m[1]):
		default:
		}
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// tickerd is one in-process run of the program.
type tickerd struct {
	URL  string // base URL, e.g. http://127.0.0.1:41234
	Log  *logBuffer
	stop func() error
}

// Stop cancels run's context and returns what run returned.
func (td *tickerd) Stop() error { return td.stop() }

// startTickerd runs the program in-process on a free loopback port with args
// added to a fast, deterministic configuration, and stops it at cleanup.
// args may start with a role: startTickerd(t, "publish", "-nats-url", url).
func startTickerd(t testing.TB, args ...string) *tickerd {
	t.Helper()
	logs := &logBuffer{addr: make(chan string, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var all []string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		all, args = append(all, args[0]), args[1:]
	}
	all = append(all, "-addr", "127.0.0.1:0", "-seed", "42", "-first-seq", "1", "-grace", "2s")
	all = append(all, args...)
	go func() {
		done <- run(ctx, all, func(string) string { return "" }, logs, logs)
	}()
	td := &tickerd{Log: logs}
	var once sync.Once
	var stopErr error
	td.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(15 * time.Second):
				t.Errorf("tickerd did not stop within 15s; log:\n%s", logs)
			}
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := td.stop(); err != nil {
			t.Errorf("run returned %v", err)
		}
	})
	select {
	case td.URL = <-logs.addr:
	case err := <-done:
		t.Fatalf("run ended early: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("tickerd did not start; log:\n%s", logs)
	}
	return td
}
