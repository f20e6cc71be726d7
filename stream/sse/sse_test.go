package sse

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/internal/ssetest"
	"github.com/tickerd/tickerd/stream"
)

// testConfig is what a test sets of the engine, the SSE edge and the
// stream limits; a zero field keeps the default (the flush interval's is
// 1 ms, so that tests wait less).
type testConfig struct {
	Symbols       []string
	ReplaySize    int
	FlushInterval time.Duration
	Heartbeat     time.Duration
	WriteTimeout  time.Duration
	QueueBytes    int
	SendBuffer    int
	ResumeWait    time.Duration
	MaxPriceJump  float64
	DrainWindow   time.Duration
	Clock         feed.Clock

	Retry         time.Duration
	MaxSymbols    int
	MaxQueryBytes int
	Auth          guard.Authenticator

	MaxStreams        int
	MaxStreamsPerAddr int
	TrustedProxies    []netip.Prefix
}

// testHub is a running hub behind a real HTTP server that serves it over
// SSE, with the REST edge beside it.
type testHub struct {
	*stream.Hub
	srv     *httptest.Server
	reg     *prometheus.Registry
	streams *guard.Streams
	seq     uint64
	stop    func()
}

func startHub(t *testing.T, tc testConfig) *testHub {
	t.Helper()
	if tc.Symbols == nil {
		tc.Symbols = []string{"AAPL", "MSFT", "NVDA", "TSLA"}
	}
	reg := prometheus.NewRegistry()
	cfg := stream.DefaultConfig(tc.Symbols, Framing{})
	cfg.Registerer = reg
	cfg.FlushInterval = time.Millisecond
	setIf(&cfg.ReplaySize, tc.ReplaySize)
	setIf(&cfg.FlushInterval, tc.FlushInterval)
	setIf(&cfg.Heartbeat, tc.Heartbeat)
	setIf(&cfg.WriteTimeout, tc.WriteTimeout)
	setIf(&cfg.QueueBytes, tc.QueueBytes)
	setIf(&cfg.SendBuffer, tc.SendBuffer)
	setIf(&cfg.ResumeWait, tc.ResumeWait)
	setIf(&cfg.MaxPriceJump, tc.MaxPriceJump)
	setIf(&cfg.DrainWindow, tc.DrainWindow)
	if tc.Clock != nil {
		cfg.Clock = tc.Clock
	}
	h, err := stream.NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	limits := guard.StreamsConfig{
		MaxStreams: guard.DefaultMaxStreams, MaxStreamsPerAddr: guard.DefaultMaxStreamsPerAddr,
		TrustedProxies: tc.TrustedProxies, Registerer: reg,
	}
	setIf(&limits.MaxStreams, tc.MaxStreams)
	setIf(&limits.MaxStreamsPerAddr, tc.MaxStreamsPerAddr)
	streams, err := guard.NewStreams(limits)
	if err != nil {
		t.Fatal(err)
	}
	edge := Config{MaxSymbols: DefaultMaxSymbols, MaxQueryBytes: DefaultMaxQueryBytes, Retry: DefaultRetry, Auth: tc.Auth, Streams: streams}
	setIf(&edge.Retry, tc.Retry)
	setIf(&edge.MaxSymbols, tc.MaxSymbols)
	setIf(&edge.MaxQueryBytes, tc.MaxQueryBytes)
	events, err := NewHandler(h, edge)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/events", events)
	mux.Handle("/api/symbols", api.NewSymbolsHandler(h, tc.Auth))
	mux.Handle("/api/quotes/{symbol}", api.NewQuoteHandler(h, tc.Auth))
	mux.Handle("/api/history", api.NewHistoryHandler(h, tc.Auth))
	mux.Handle("/readyz", api.NewReadyHandler(h, time.Minute))
	srv := httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	waitFor(t, "hub running", func() bool { return h.Status().Running })
	th := &testHub{Hub: h, srv: srv, reg: reg, streams: streams}
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

func setIf[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}

// metric returns the value of the series of family name whose labels
// other than transport (every stream here is SSE) have the values given
// (in label order), or with no other labels: a counter's or a gauge's
// value, a histogram's sample count. It fails the test if there is no
// such series.
func (th *testHub) metric(t *testing.T, name string, labelValues ...string) float64 {
	t.Helper()
	families, err := th.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			var values []string
			for _, l := range m.GetLabel() {
				if l.GetName() == "transport" {
					if l.GetValue() != "sse" {
						continue series
					}
					continue
				}
				values = append(values, l.GetValue())
			}
			if !slices.Equal(values, labelValues) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	t.Fatalf("no series %s%v", name, labelValues)
	return 0
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
	if !eventually(cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// eventually polls cond until it holds, for at most 10 seconds, and
// reports whether it did.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
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
	held   *sseEvent // the event of a block whose retry field next returned first
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

// next reads the next event or comment; a retry hint comes back first as
// an event named "retry:" and its value, then the event of its block.
func (c *sseConn) next() (sseEvent, error) {
	if c.held != nil {
		ev := *c.held
		c.held = nil
		return ev, nil
	}
	ev, err := ssetest.NewReader(c.r).Next()
	if err != nil {
		return sseEvent{}, err
	}
	got := sseEvent{id: ev.ID, name: ev.Name, data: ev.Data, comment: ev.Comment}
	if ev.Retry != "" {
		if ev.Name != "" || ev.Data != "" {
			c.held = &got
		}
		return sseEvent{name: "retry:" + ev.Retry}, nil
	}
	return got, nil
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
