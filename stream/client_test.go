package stream

import (
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestBacklogKeepsSharedBytesAndDrainsAcrossSegments checks that the
// backlog holds the very bytes it was given (a batch's shared buffer, not
// a copy) and that partial writes across its segments leave exactly the
// unwritten tail, in order.
func TestBacklogKeepsSharedBytesAndDrainsAcrossSegments(t *testing.T) {
	batch := []byte("aaaa" + "bbbbbb" + "cc")
	segs := [][]byte{batch[:4], batch[4:10], batch[10:]}
	var c client
	for _, s := range segs {
		c.queue(s, 1, 100)
	}
	c.queue(nil, 0, 100) // nothing queued, nothing held
	if c.pending() != len(batch) || c.queuedEvents != 3 || c.limit != 4+100 || len(c.backlog) != 3 {
		t.Fatalf("pending %d, events %d, limit %d, %d segments; want %d, 3, 104, 3", c.pending(), c.queuedEvents, c.limit, len(c.backlog), len(batch))
	}
	for i, s := range c.backlog {
		if &s[0] != &segs[i][0] {
			t.Fatalf("segment %d is a copy, want the batch's own bytes", i)
		}
	}
	now := time.Unix(1, 0)
	for _, step := range []struct {
		n    int
		rest string
	}{
		{0, "aaaabbbbbbcc"}, {3, "abbbbbbcc"}, {1, "bbbbbbcc"}, {5, "bcc"}, {2, "c"},
	} {
		if c.written(step.n, now) {
			t.Fatalf("after %d more bytes: drained, want %q left", step.n, step.rest)
		}
		if got := bytes.Join(c.unwritten(nil), nil); string(got) != step.rest || c.pending() != len(step.rest) {
			t.Fatalf("after %d more bytes: unwritten %q (pending %d), want %q", step.n, got, c.pending(), step.rest)
		}
	}
	if !c.written(1, now) || c.pending() != 0 || c.backlog != nil || c.limit != 0 || len(c.unwritten(nil)) != 0 {
		t.Fatalf("after the last byte: pending %d, backlog %q, limit %d; want all empty", c.pending(), c.backlog, c.limit)
	}
	// The next queue sets a new limit from what it queues.
	c.queue([]byte("xyz"), 0, 10)
	if c.limit != 13 || c.pending() != 3 {
		t.Fatalf("limit %d, pending %d after queueing again; want 13, 3", c.limit, c.pending())
	}
}

// TestABehindStreamHoldsASlicePerBufferNotPerBatch runs cycles to a
// firehose stream and a stream of two symbols whose clients read nothing,
// so every batch goes to their backlogs: the firehose backlog joins the
// batches encoded back to back in one buffer into one slice, and once the
// clients read, each gets exactly its events, in order.
func TestABehindStreamHoldsASlicePerBufferNotPerBatch(t *testing.T) {
	symbols := []string{"S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9"}
	cfg := DefaultConfig(symbols, testFraming{})
	cfg.Registerer = prometheus.NewRegistry()
	h := startCycledHub(t, cfg)
	two := h.newSymbolSet()
	two.add(3)
	two.add(7)
	var peers [2]net.Conn
	for i, sub := range []*SymbolSet{nil, two} {
		conn, peer := tinySocketPair(t)
		peers[i] = peer
		if _, err := h.Attach(Subscription{Symbols: sub}, Sink{Conn: conn, Framing: testFraming{}, Head: []byte("head\n")}); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Unix(1_764_000_000, 0)
	h.joinAll(at)
	var want [2]bytes.Buffer
	for i := range want {
		want[i].WriteString("head\n")
		want[i].WriteString(`snapshot 0 {"seq":0,"resync":false,"quotes":[`)
	}
	seq := uint64(0)
	const cycles, perCycle = 100, 5
	for range cycles {
		at = at.Add(time.Millisecond) // 0.1 s in all: no stream is conflated
		for range perCycle {
			seq++
			tick := testTick(seq, symbols[seq%10])
			tick.Time = at
			if err := h.Publish(tick); err != nil {
				t.Fatal(err)
			}
		}
		batch, _, _ := h.takeBatch(at)
		for _, e := range batch.frames[0].events {
			want[0].Write(e.data)
			if e.sym == 3 || e.sym == 7 {
				want[1].Write(e.data)
			}
		}
		h.dispatch(cycle{batch: batch, now: at})
	}
	var firehose *client
	for _, w := range h.writers {
		for _, c := range w.clients {
			if c.sub == nil {
				firehose = c
			}
		}
	}
	// What the socket took of the first batches, then at most a slice per
	// 32 KiB buffer (the batches take about 30 KB).
	if n := len(firehose.backlog); n > 3 || firehose.queuedEvents < (cycles-10)*perCycle || firehose.conflating {
		t.Fatalf("firehose backlog: %d slices, %d events, conflating %v; want at most 3 slices, the events of at least %d batches, not conflated",
			n, firehose.queuedEvents, firehose.conflating, cycles-10)
	}
	var got [2][]byte
	var readers sync.WaitGroup
	for i, p := range peers {
		readers.Go(func() { got[i], _ = io.ReadAll(p) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.metrics.clients() > 0 && time.Now().Before(deadline) {
		at = at.Add(time.Millisecond)
		done := true
		for _, w := range h.writers {
			for _, c := range w.clients {
				done = done && c.pending() == 0
			}
		}
		h.dispatch(cycle{now: at, shutdown: done})
	}
	readers.Wait()
	for i := range got {
		// The snapshot's quotes differ per stream; compare from its end.
		w := want[i].String()
		snap := strings.Index(string(got[i]), "]}\n")
		if !strings.HasPrefix(string(got[i]), w[:strings.Index(w, "[")]) || snap < 0 {
			t.Fatalf("stream %d began %.80q, want a head and a snapshot", i, got[i])
		}
		// The goodbye gets one write at shutdown, which a socket this small
		// may refuse.
		rest := strings.TrimSuffix(string(got[i][snap+3:]), "closing shutdown\n")
		ticks := w[strings.Index(w, "[")+1:]
		if rest != ticks {
			t.Fatalf("stream %d after its snapshot: %d bytes, want %d bytes of ticks\ngot  %.300q\nwant %.300q", i, len(rest), len(ticks), rest, ticks)
		}
	}
}

// tinySocketPair returns both ends of a Unix socket pair with the smallest
// buffers the kernel allows.
func tinySocketPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	server, client = socketConns(t)
	setSockopt(t, server, syscall.SO_SNDBUF, 1)
	setSockopt(t, client, syscall.SO_RCVBUF, 1)
	return server, client
}

// setSockopt sets a socket option of c's socket at SOL_SOCKET.
func setSockopt(t *testing.T, c net.Conn, opt, value int) {
	t.Helper()
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, value) }); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// startCycledHub returns a hub of cfg whose writers run but whose cycles
// the test dispatches itself, at times of its choosing; the writers end
// with the test.
func startCycledHub(t *testing.T, cfg Config) *Hub {
	t.Helper()
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.state = hubRunning
	var writers sync.WaitGroup
	for _, w := range h.writers {
		writers.Go(w.run)
	}
	t.Cleanup(func() {
		for _, w := range h.writers {
			close(w.cycles)
		}
		writers.Wait()
	})
	return h
}

// joinAll hands the streams attached so far to the writers, as Run does,
// and runs a cycle at at, which writes their starts.
func (h *Hub) joinAll(at time.Time) {
	_, joins, _ := h.takeBatch(at)
	for i, c := range joins {
		h.writers[i%len(h.writers)].joins = append(h.writers[i%len(h.writers)].joins, c)
	}
	h.dispatch(cycle{now: at})
}
