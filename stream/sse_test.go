package stream

import (
	"github.com/tickerd/tickerd/internal/ssetest"

	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/feed"
)

// testHub is a running hub behind a real HTTP server.
type testHub struct {
	*Hub
	srv  *httptest.Server
	reg  *prometheus.Registry
	seq  uint64
	stop func()
}

func startHub(t *testing.T, cfg Config) *testHub {
	t.Helper()
	if cfg.Symbols == nil {
		cfg.Symbols = []string{"AAPL", "MSFT", "NVDA", "TSLA"}
	}
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = time.Millisecond
	}
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/events", NewEventsHandler(h))
	mux.Handle("/api/symbols", NewSymbolsHandler(h))
	mux.Handle("/api/quotes/{symbol}", NewQuoteHandler(h))
	mux.Handle("/api/history", NewHistoryHandler(NewBarStore(cfg.Symbols, 10), cfg.Auth))
	mux.Handle("/readyz", NewReadyHandler(h, time.Minute))
	srv := httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	waitFor(t, "hub running", func() bool { return h.Status().Running })
	th := &testHub{Hub: h, srv: srv, reg: reg}
	stopped := false
	th.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		srv.Close()
	}
	t.Cleanup(th.stop)
	return th
}

// publish sends n ticks cycling over the hub's symbols, with sequence
// numbers continuing from the previous call.
func (th *testHub) publish(t *testing.T, n int) {
	t.Helper()
	syms := th.Symbols()
	for range n {
		th.seq++
		sym := syms[int(th.seq)%len(syms)]
		px := 100 + float64(th.seq%100)/100
		tick := feed.Tick{Seq: th.seq, Symbol: sym, Price: px, Bid: px - 0.01, Ask: px + 0.01, Size: 100, Time: time.Now()}
		if err := th.Publish(tick); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// sseEvent is one parsed event of a stream.
type sseEvent struct {
	id, name, data string
	comment        bool
}

// sseConn reads events from a raw stream connection.
type sseConn struct {
	t      *testing.T
	conn   net.Conn
	r      *bufio.Reader
	status int
	header http.Header
}

// dial opens a stream with a raw HTTP/1.1 request and reads its head.
func (th *testHub) dial(t *testing.T, query string, header map[string]string) *sseConn {
	t.Helper()
	return th.send(t, query, header).readHead()
}

// sentRequest is a stream request whose answer has not been read yet.
type sentRequest struct {
	t    *testing.T
	conn net.Conn
}

// send writes a raw HTTP/1.1 stream request without waiting for the answer.
func (th *testHub) send(t *testing.T, query string, header map[string]string) sentRequest {
	t.Helper()
	conn, err := net.Dial("tcp", th.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := "GET /events" + query + " HTTP/1.1\r\nHost: test\r\n"
	for k, v := range header {
		req += k + ": " + v + "\r\n"
	}
	if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	return sentRequest{t: t, conn: conn}
}

// readHead reads the answer's head.
func (s sentRequest) readHead() *sseConn {
	s.t.Helper()
	_ = s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(s.conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return &sseConn{t: s.t, conn: s.conn, r: r, status: resp.StatusCode, header: resp.Header}
}

// next reads the next event or comment; a retry hint comes back as an
// event named "retry:" and its value.
func (c *sseConn) next() (sseEvent, error) {
	ev, err := ssetest.NewReader(c.r).Next()
	if err != nil {
		return sseEvent{}, err
	}
	name := ev.Name
	if ev.Retry != "" && name == "" {
		name = "retry:" + ev.Retry
	}
	return sseEvent{id: ev.ID, name: name, data: ev.Data, comment: ev.Comment}, nil
}

// mustNext reads the next event, skipping comments, and fails on error.
func (c *sseConn) mustNext() sseEvent {
	c.t.Helper()
	for {
		ev, err := c.next()
		if err != nil {
			c.t.Fatalf("reading stream: %v", err)
		}
		if !ev.comment {
			return ev
		}
	}
}

// ticks reads n tick events and returns their sequence numbers and symbols.
func (c *sseConn) ticks(n int) ([]uint64, []string) {
	c.t.Helper()
	var seqs []uint64
	var syms []string
	for len(seqs) < n {
		ev := c.mustNext()
		if ev.name != "tick" {
			c.t.Fatalf("got %q event %q, want tick", ev.name, ev.data)
		}
		var tick feed.Tick
		if err := tick.UnmarshalJSON([]byte(ev.data)); err != nil {
			c.t.Fatal(err)
		}
		if ev.id != strconv.FormatUint(tick.Seq, 10) {
			c.t.Fatalf("id %s for tick %d", ev.id, tick.Seq)
		}
		seqs = append(seqs, tick.Seq)
		syms = append(syms, tick.Symbol)
	}
	return seqs, syms
}

func (c *sseConn) String() string { return fmt.Sprint(c.conn.LocalAddr()) }
