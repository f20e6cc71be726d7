package stream

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/fakeclock"
)

// recordingConn is a connection without a descriptor, so the writer makes
// exactly one Write call per vectored write; it records each call. While
// hold is set, the next Write waits for release, which keeps the cycle that
// makes it in flight.
type recordingConn struct {
	writes chan string
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex
	hold     bool
	entered  chan struct{} // closed when a held Write has begun
	released chan struct{}
}

func newRecordingConn() *recordingConn {
	return &recordingConn{writes: make(chan string, 64), closed: make(chan struct{})}
}

// holdNextWrite makes the next Write wait until release is called.
func (c *recordingConn) holdNextWrite() (entered <-chan struct{}, release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hold, c.entered, c.released = true, make(chan struct{}), make(chan struct{})
	return c.entered, sync.OnceFunc(func() { close(c.released) })
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	hold, entered, released := c.hold, c.entered, c.released
	c.hold = false
	c.mu.Unlock()
	if hold {
		close(entered)
		select {
		case <-released:
		case <-c.closed:
		}
	}
	select {
	case c.writes <- string(p):
	case <-c.closed:
		return 0, net.ErrClosed
	}
	return len(p), nil
}

func (c *recordingConn) Read([]byte) (int, error) { <-c.closed; return 0, net.ErrClosed }
func (c *recordingConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}
func (c *recordingConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
}
func (c *recordingConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2}
}
func (c *recordingConn) SetDeadline(time.Time) error      { return nil }
func (c *recordingConn) SetReadDeadline(time.Time) error  { return nil }
func (c *recordingConn) SetWriteDeadline(time.Time) error { return nil }

// nextWrite returns the next write made to c.
func (c *recordingConn) nextWrite(t *testing.T) string {
	t.Helper()
	select {
	case w := <-c.writes:
		return w
	case <-time.After(10 * time.Second):
		t.Fatal("no write in 10s")
		return ""
	}
}

// awaitArmed waits until h's Run is idle and the next tick would wake it.
func awaitArmed(t *testing.T, h *Hub) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		armed := h.armed
		h.mu.Unlock()
		if armed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the hub did not go idle in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// fakeClockHub runs a hub with one writer on a fake clock and attaches a
// recorded stream of every symbol, which has joined when it returns.
func fakeClockHub(t *testing.T) (*Hub, *fakeclock.Clock, *recordingConn) {
	t.Helper()
	clock := fakeclock.New(time.Date(2026, 12, 1, 14, 30, 0, 0, time.UTC))
	cfg := DefaultConfig([]string{"AAPL", "MSFT"}, testFraming{})
	cfg.Clock, cfg.Writers = clock, 1
	h := runHub(t, cfg)
	conn := newRecordingConn()
	t.Cleanup(func() { conn.Close() })
	if _, err := h.Attach(Subscription{}, Sink{Conn: conn, Framing: testFraming{}, Head: []byte("HEAD\n")}); err != nil {
		t.Fatal(err)
	}
	// A stream joins at the next cycle of the timer.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clock.AwaitTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(cfg.FlushInterval)
	if w := conn.nextWrite(t); !strings.HasPrefix(w, "HEAD\nsnapshot 0 ") {
		t.Fatalf("first write %q, want the head and a snapshot", w)
	}
	return h, clock, conn
}

func TestALoneTickOnAnIdleHubIsWrittenWithoutWaitingForTheTimer(t *testing.T) {
	h, clock, conn := fakeClockHub(t)
	start := clock.Now()
	for seq := uint64(1); seq <= 3; seq++ {
		awaitArmed(t, h)
		if err := h.Publish(testTick(seq, "AAPL")); err != nil {
			t.Fatal(err)
		}
		// The clock has not moved, so no timer has fired: the tick went
		// out because the hub was idle.
		if w, want := conn.nextWrite(t), fmt.Sprintf("tick %d ", seq); !strings.HasPrefix(w, want) || strings.Count(w, "\n") != 1 {
			t.Fatalf("write %q, want tick %d alone", w, seq)
		}
	}
	if !clock.Now().Equal(start) {
		t.Fatalf("the clock moved from %v to %v", start, clock.Now())
	}
}

func TestTicksArrivingWhileACycleIsWrittenGoOutTogetherAtTheTimer(t *testing.T) {
	h, clock, conn := fakeClockHub(t)
	awaitArmed(t, h)
	entered, release := conn.holdNextWrite()
	defer release()
	if err := h.Publish(testTick(1, "AAPL")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered: // the cycle writing tick 1 is in flight
	case <-time.After(10 * time.Second):
		t.Fatal("a lone tick on an idle hub started no cycle")
	}
	const burst = 20
	for seq := uint64(2); seq <= burst+1; seq++ {
		sym := "AAPL"
		if seq%2 == 0 {
			sym = "MSFT"
		}
		if err := h.Publish(testTick(seq, sym)); err != nil {
			t.Fatal(err)
		}
	}
	release()
	if w := conn.nextWrite(t); !strings.HasPrefix(w, "tick 1 ") || strings.Count(w, "\n") != 1 {
		t.Fatalf("first write %q, want tick 1 alone", w)
	}
	// The burst waits for the timer, which the cycle of tick 1 set.
	select {
	case w := <-conn.writes:
		t.Fatalf("written before the timer fired: %q", w)
	default:
	}
	clock.Advance(h.cfg.FlushInterval)
	w := conn.nextWrite(t)
	lines := strings.Split(strings.TrimSuffix(w, "\n"), "\n")
	if len(lines) != burst {
		t.Fatalf("the write after the timer holds %d events, want the whole burst of %d in one write: %q", len(lines), burst, w)
	}
	for i, line := range lines {
		if want := fmt.Sprintf("tick %d ", i+2); !strings.HasPrefix(line, want) {
			t.Fatalf("event %d of the burst %q, want %q...", i, line, want)
		}
	}
	// Once a cycle has gone by with nothing new, the hub is idle again and
	// a tick goes out at once.
	awaitArmed(t, h)
	if err := h.Publish(testTick(burst+2, "AAPL")); err != nil {
		t.Fatal(err)
	}
	if w, want := conn.nextWrite(t), fmt.Sprintf("tick %d ", burst+2); !strings.HasPrefix(w, want) {
		t.Fatalf("write %q after the burst, want %q alone", w, want)
	}
}
