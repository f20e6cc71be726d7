package stream

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/fakeclock"
)

// TestDrainSpreadsClosesOverTheWindow stops a hub of ten streams with a
// drain window of ten flush intervals, on the fake clock: the hub says it
// is draining and takes no new stream before any stream closes; then one
// stream closes at each flush interval, ticks still
// reaching those open, and the last at the window's end, when Run returns.
// That is Config.DrainWindow's promise: closes spread evenly, all done by
// the window's end, readiness gone first.
func TestDrainSpreadsClosesOverTheWindow(t *testing.T) {
	const (
		streams = 10
		step    = 100 * time.Millisecond
		window  = streams * step
	)
	t0 := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	clock := fakeclock.New(t0)
	cfg := DefaultConfig([]string{"AAPL"}, testFraming{})
	cfg.Clock = clock
	cfg.FlushInterval = step
	cfg.Heartbeat = time.Hour
	cfg.WriteTimeout = time.Hour
	cfg.Writers = 2
	cfg.DrainWindow = window
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan struct{})
	go func() { defer close(ran); _ = h.Run(ctx) }()
	<-h.Started()
	await := func(n int) {
		t.Helper()
		actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer acancel()
		if err := clock.AwaitTimers(actx, n); err != nil {
			t.Fatalf("waiting for %d timers: %v", n, err)
		}
	}

	var mu sync.Mutex
	closedAt := map[int]time.Time{}
	readers := make([]*bufio.Reader, streams)
	for i := range streams {
		server, client := socketConns(t)
		_ = client.SetReadDeadline(time.Now().Add(20 * time.Second))
		readers[i] = bufio.NewReader(client)
		sink := Sink{Conn: server, Framing: testFraming{}, OnClose: func() {
			mu.Lock()
			defer mu.Unlock()
			closedAt[i] = clock.Now()
		}}
		if _, err := h.Attach(Subscription{}, sink); err != nil {
			t.Fatal(err)
		}
	}
	await(1)
	clock.Advance(step) // the streams join and get their snapshots
	for i, r := range readers {
		if line := readLine(t, r); !strings.HasPrefix(line, "snapshot ") {
			t.Fatalf("stream %d began with %q", i, line)
		}
	}
	closes := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(closedAt)
	}

	drainStart := clock.Now()
	cancel()
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for !h.Status().Draining {
		if time.Now().After(deadline) {
			t.Fatal("the hub did not say it drains within 10s")
		}
		<-poll.C
	}
	if st := h.Status(); st.Running || closes() != 0 {
		t.Fatalf("at the drain's start: running %v, %d streams closed; want not running and none closed", st.Running, closes())
	}
	if _, err := h.Attach(Subscription{}, Sink{Conn: &net.TCPConn{}, Framing: testFraming{}}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("attach while draining: %v, want ErrUnavailable", err)
	}
	await(2) // Run's flush timer, never to fire again, and the drain's
	if err := h.Publish(testTick(7, "AAPL")); err != nil {
		t.Fatal(err)
	}
	for k := 1; k <= streams; k++ {
		clock.Advance(step)
		if k < streams {
			await(1)
		} else {
			select {
			case <-ran:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return at the window's end")
			}
		}
		if n := closes(); n != k {
			t.Fatalf("%v into the drain: %d streams closed, want %d", time.Duration(k)*step, n, k)
		}
	}
	atStep := map[time.Duration]int{}
	for i, at := range closedAt {
		into := at.Sub(drainStart)
		atStep[into]++
		if into <= 0 || into > window {
			t.Errorf("stream %d closed %v into the drain, outside its window", i, into)
		}
		// Every stream got the tick of the drain's first cycle, then its
		// goodbye, then the end of the connection; the one closed at that
		// cycle gets its goodbye instead (it resumes from the replay).
		want := []string{"tick 7 ", "closing shutdown"}
		if into == step {
			want = want[1:]
		}
		for _, want := range want {
			if line := readLine(t, readers[i]); !strings.HasPrefix(line, want) {
				t.Errorf("stream %d (closed %v in): %q, want %q", i, into, line, want)
			}
		}
		if _, err := readers[i].ReadString('\n'); err == nil {
			t.Errorf("stream %d still open after its goodbye", i)
		}
	}
	for k := 1; k <= streams; k++ {
		if n := atStep[time.Duration(k)*step]; n != 1 {
			t.Errorf("%d streams closed %v into the drain, want 1", n, time.Duration(k)*step)
		}
	}
}

// TestDrainEndsAtOnceWithoutStreams stops a hub with a long drain window
// and no stream: Run returns without waiting for the window.
func TestDrainEndsAtOnceWithoutStreams(t *testing.T) {
	clock := fakeclock.New(time.Unix(1e9, 0))
	cfg := DefaultConfig([]string{"AAPL"}, testFraming{})
	cfg.Clock = clock
	cfg.DrainWindow = MaxDrainWindow
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); _ = h.Run(ctx) }()
	<-h.Started()
	cancel()
	actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer acancel()
	if err := clock.AwaitTimers(actx, 2); err != nil {
		t.Fatal(err)
	}
	clock.Advance(cfg.FlushInterval)
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("Run waited for the drain window with no stream to close")
	}
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (after %q)", err, line)
	}
	return strings.TrimSuffix(line, "\n")
}
