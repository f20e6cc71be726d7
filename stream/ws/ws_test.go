package ws

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/stream"
	"github.com/tickerd/tickerd/stream/sse"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testServer is a running hub served over WebSocket by a real HTTP server.
type testServer struct {
	hub     *stream.Hub
	handler *Handler
	srv     *httptest.Server
	reg     *prometheus.Registry
	streams *guard.Streams
	seq     uint64
	stop    func()
}

type testOptions struct {
	edit   func(*Config)
	engine func(*stream.Config)
	auth   guard.Authenticator
}

func startServer(t testing.TB, opts testOptions) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg := stream.DefaultConfig([]string{"AAPL", "MSFT", "NVDA", "TSLA"}, Framing{}, sse.Framing{})
	cfg.Registerer = reg
	cfg.FlushInterval = time.Millisecond
	if opts.engine != nil {
		opts.engine(&cfg)
	}
	hub, err := stream.NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	streams, err := guard.NewStreams(guard.StreamsConfig{MaxStreams: 100, MaxStreamsPerAddr: 50, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	cors, err := guard.NewCORS([]string{"https://app.example"})
	if err != nil {
		t.Fatal(err)
	}
	wcfg := Config{
		MaxSymbols: 3, MaxQueryBytes: 4096, MaxMessageBytes: DefaultMaxMessageBytes,
		MessageRate: DefaultMessageRate, MessageBurst: DefaultMessageBurst,
		PingInterval: DefaultPingInterval, PongTimeout: DefaultPongTimeout,
		Origins: cors, Auth: opts.auth, Streams: streams, Registerer: reg,
	}
	if opts.edit != nil {
		opts.edit(&wcfg)
	}
	h, err := NewHandler(hub, wcfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = hub.Run(ctx); done <- struct{}{} }()
	go func() { _ = h.Run(ctx); done <- struct{}{} }()
	<-hub.Started()
	ts := &testServer{hub: hub, handler: h, srv: srv, reg: reg, streams: streams}
	var once sync.Once
	ts.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			<-done
			srv.Close()
		})
	}
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) url(query string) string {
	return "ws" + strings.TrimPrefix(ts.srv.URL, "http") + "/" + query
}

// publish sends ticks of the symbols given, in turn, with increasing seq.
func (ts *testServer) publish(t *testing.T, symbols ...string) {
	t.Helper()
	for _, sym := range symbols {
		ts.seq++
		px := 100 + float64(ts.seq%100)/100
		if err := ts.hub.Publish(feed.Tick{Seq: ts.seq, Symbol: sym, Price: px, Bid: px - 0.01, Ask: px + 0.01, Size: 100, Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

// client is a WebSocket client of another library than the server's.
type client struct {
	t *testing.T
	c *websocket.Conn
}

func dial(t *testing.T, url string, header http.Header) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return &client{t: t, c: c}
}

// message is any server message.
type message struct {
	Type    string       `json:"type"`
	Seq     uint64       `json:"seq"`
	Sym     string       `json:"sym"`
	Resync  bool         `json:"resync"`
	Quotes  []feed.Quote `json:"quotes"`
	Symbols []string     `json:"symbols"`
	MaxFreq float64      `json:"maxfreq"`
	Error   string       `json:"error"`
	Op      string       `json:"op"`
	Dropped int          `json:"dropped"`
}

func (c *client) next() message {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, data, err := c.c.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		c.t.Fatalf("a %v message", typ)
	}
	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		c.t.Fatalf("message %q: %v", data, err)
	}
	return m
}

// expect reads the next message and checks its type.
func (c *client) expect(typ string) message {
	c.t.Helper()
	m := c.next()
	if m.Type != typ {
		c.t.Fatalf("got %+v, want a %s message", m, typ)
	}
	return m
}

func (c *client) send(msg string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		c.t.Fatal(err)
	}
}

func TestSubscribeUnsubscribeAndMaxFreqOnAnOpenConnection(t *testing.T) {
	ts := startServer(t, testOptions{})
	ts.publish(t, "AAPL", "MSFT")
	waitFlushed(t, ts, 2)
	c := dial(t, ts.url("ws"), nil)
	if m := c.expect("snapshot"); m.Seq != 2 || len(m.Quotes) != 0 {
		t.Fatalf("first snapshot %+v, want seq 2 and no quotes: no symbols yet", m)
	}
	if m := c.expect("subscription"); len(m.Symbols) != 0 || m.MaxFreq != 0 {
		t.Fatalf("first subscription %+v, want none", m)
	}

	c.send(`{"op":"subscribe","symbols":["aapl","NVDA"]}`)
	if m := c.expect("subscription"); !slices.Equal(m.Symbols, []string{"AAPL", "NVDA"}) {
		t.Fatalf("subscription %+v, want AAPL and NVDA", m)
	}
	// The added symbols' latest quotes come first, then their ticks only.
	if m := c.expect("snapshot"); m.Seq != 2 || len(m.Quotes) != 2 || m.Quotes[0].Last.Symbol != "AAPL" || m.Quotes[0].Last.Seq != 1 {
		t.Fatalf("snapshot of the added symbols %+v", m)
	}
	ts.publish(t, "MSFT", "AAPL", "TSLA", "NVDA")
	for _, want := range []uint64{4, 6} {
		if m := c.expect("tick"); m.Seq != want {
			t.Fatalf("tick %+v, want seq %d", m, want)
		}
	}

	c.send(`{"op":"unsubscribe","symbols":["AAPL"]}`)
	if m := c.expect("subscription"); !slices.Equal(m.Symbols, []string{"NVDA"}) {
		t.Fatalf("after unsubscribe %+v, want NVDA", m)
	}
	ts.publish(t, "AAPL", "NVDA")
	if m := c.expect("tick"); m.Seq != 8 || m.Sym != "NVDA" {
		t.Fatalf("tick %+v, want NVDA at 8", m)
	}

	c.send(`{"op":"maxfreq","n":4}`)
	if m := c.expect("subscription"); m.MaxFreq != 4 || !slices.Equal(m.Symbols, []string{"NVDA"}) {
		t.Fatalf("after maxfreq %+v", m)
	}
	c.send(`{"op":"subscribe","symbols":["*"]}`)
	if m := c.expect("subscription"); len(m.Symbols) != 4 {
		t.Fatalf("after subscribing to every symbol %+v", m)
	}
	if m := c.expect("snapshot"); len(m.Quotes) != 3 {
		t.Fatalf("snapshot of the 3 added symbols %+v", m)
	}
}

func waitFlushed(t *testing.T, ts *testServer, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, got := ts.hub.Quotes(); got != seq; _, got = ts.hub.Quotes() {
		if time.Now().After(deadline) {
			t.Fatalf("hub at %d, want %d", got, seq)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBadMessagesGetErrorsAndKeepTheConnection(t *testing.T) {
	ts := startServer(t, testOptions{})
	c := dial(t, ts.url("ws?symbols=AAPL"), nil)
	c.expect("snapshot")
	c.expect("subscription")
	for _, tc := range []struct{ msg, want string }{
		{`{"op":"subscribe","symbols":["FOO","AAPL"]}`, "unknown symbols"},
		{`{"op":"subscribe"`, "malformed JSON"},
		{`[1,2]`, "malformed JSON"},
		{`{"op":"dance"}`, `unknown op "dance"`},
		{`{"symbols":["AAPL"]}`, "no op"},
		{`{"op":"subscribe","symbols":[]}`, "needs a list of symbols"},
		{`{"op":"subscribe","symbols":["A B"]}`, "is not one of"},
		{`{"op":"subscribe","symbols":["MSFT","NVDA","TSLA"]}`, "too many symbols"},
		{`{"op":"maxfreq","n":-1}`, "maxfreq needs n"},
		{`{"op":"maxfreq"}`, "maxfreq needs n"},
		{`{"op":"subscribe","symbols":["AAPL"],"extra":1}`, "unknown field"},
		{`{"op":"subscribe","symbols":["AAPL"]} {}`, "more than one JSON value"},
	} {
		c.send(tc.msg)
		m := c.expect("error")
		if !strings.Contains(m.Error, tc.want) {
			t.Errorf("%s: error %q, want it to contain %q", tc.msg, m.Error, tc.want)
		}
	}
	// Still open, with the subscription it had.
	c.send(`{"op":"subscribe","symbols":["MSFT"]}`)
	if m := c.expect("subscription"); !slices.Equal(m.Symbols, []string{"AAPL", "MSFT"}) {
		t.Fatalf("subscription %+v after the errors", m)
	}
	// A message is counted once it is carried out, which may be after its
	// acknowledgement has gone out; the connection reads the next only
	// then, and counts a malformed one before it answers.
	c.expect("snapshot")
	c.send(`[]`)
	c.expect("error")
	for _, tc := range []struct {
		op, result string
		want       float64
	}{{"invalid", "error", 11}, {"subscribe", "error", 2}, {"subscribe", "ok", 1}, {"maxfreq", "error", 0}} {
		if got := metricValue(t, ts.reg, "tickerd_ws_messages_total", tc.op, tc.result); got != tc.want {
			t.Errorf("messages{op=%s,result=%s} = %v, want %v", tc.op, tc.result, got, tc.want)
		}
	}
}

func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i, l := range m.GetLabel() {
				if i >= len(labels) || l.GetValue() != labels[i] {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func TestResumeReplaysTheMissedTicks(t *testing.T) {
	ts := startServer(t, testOptions{})
	ts.publish(t, "AAPL", "MSFT", "AAPL", "NVDA", "AAPL")
	waitFlushed(t, ts, 5)
	c := dial(t, ts.url("ws?symbols=AAPL&lastEventId=1"), nil)
	for _, want := range []uint64{3, 5} {
		if m := c.expect("tick"); m.Seq != want {
			t.Fatalf("replayed %+v, want seq %d", m, want)
		}
	}
	c.expect("subscription")
	ts.publish(t, "AAPL")
	if m := c.expect("tick"); m.Seq != 6 {
		t.Fatalf("live tick %+v, want 6", m)
	}
}

// rawConn is a WebSocket connection made by hand, to send what a library
// would never send.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, ts *testServer, header string) (*rawConn, *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", ts.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := "GET /ws HTTP/1.1\r\nHost: test\r\n" + header + "\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rawConn{t: t, conn: conn, r: r}, resp
}

const goodHandshake = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

// frame returns a client frame: masked unless told otherwise.
func frame(fin bool, op byte, payload []byte, masked bool) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0}
	m := byte(0)
	if masked {
		m = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		f = append(f, m|byte(n))
	case n <= 0xFFFF:
		f = binary.BigEndian.AppendUint16(append(f, m|126), uint16(n))
	default:
		f = binary.BigEndian.AppendUint64(append(f, m|127), uint64(n))
	}
	if !masked {
		return append(f, payload...)
	}
	var key [4]byte
	_, _ = rand.Read(key[:])
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// readFrame reads one server frame: its opcode and payload.
func (c *rawConn) readFrame() (byte, []byte) {
	c.t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(c.r, h[:]); err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(c.r, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(c.r, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.r, p); err != nil {
		c.t.Fatalf("reading a payload: %v", err)
	}
	return h[0] & 0x0F, p
}

// closeCode reads frames until a close frame and returns its code.
func (c *rawConn) closeCode() int {
	c.t.Helper()
	for {
		op, p := c.readFrame()
		if op == opClose {
			if len(p) < 2 {
				return 1005
			}
			return int(binary.BigEndian.Uint16(p))
		}
	}
}

func TestBadFramesCloseWithTheirCode(t *testing.T) {
	ts := startServer(t, testOptions{})
	big := make([]byte, DefaultMaxMessageBytes+1)
	for i := range big {
		big[i] = 'a'
	}
	for _, tc := range []struct {
		name   string
		frames [][]byte
		code   int
	}{
		{"unmasked frame", [][]byte{frame(true, opText, []byte(`{"op":"maxfreq","n":1}`), false)}, CodeProtocolError},
		{"binary frame", [][]byte{frame(true, opBinary, []byte{1, 2, 3}, true)}, CodeUnsupported},
		{"reserved bits", [][]byte{append([]byte{0xC1}, frame(true, opText, []byte("{}"), true)[1:]...)}, CodeProtocolError},
		{"unknown opcode", [][]byte{frame(true, 0x3, nil, true)}, CodeProtocolError},
		{"fragmented ping", [][]byte{frame(false, opPing, nil, true)}, CodeProtocolError},
		{"oversized message", [][]byte{frame(true, opText, big, true)}, CodeTooBig},
		{"oversized in fragments", [][]byte{frame(false, opText, big[:3000], true), frame(true, opContinuation, big[3000:], true)}, CodeTooBig},
		{"invalid UTF-8", [][]byte{frame(true, opText, []byte{'"', 0xff, 0xfe, '"'}, true)}, CodeInvalidPayload},
		{"continuation with no message", [][]byte{frame(true, opContinuation, []byte("x"), true)}, CodeProtocolError},
		{"close from the client", [][]byte{frame(true, opClose, binary.BigEndian.AppendUint16(nil, 1000), true)}, CodeNormal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, resp := dialRaw(t, ts, goodHandshake)
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("handshake %d", resp.StatusCode)
			}
			for _, f := range tc.frames {
				if _, err := c.conn.Write(f); err != nil {
					t.Fatal(err)
				}
			}
			if code := c.closeCode(); code != tc.code {
				t.Fatalf("close code %d, want %d", code, tc.code)
			}
		})
	}
}

func TestFragmentedMessagesAndPingsAreAnswered(t *testing.T) {
	ts := startServer(t, testOptions{})
	c, resp := dialRaw(t, ts, goodHandshake)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake %d", resp.StatusCode)
	}
	msg := []byte(`{"op":"subscribe","symbols":["MSFT"]}`)
	for _, f := range [][]byte{frame(false, opText, msg[:10], true), frame(true, opPing, []byte("hi"), true), frame(true, opContinuation, msg[10:], true)} {
		if _, err := c.conn.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	var sawPong, sawAck bool
	for !sawPong || !sawAck {
		op, p := c.readFrame()
		switch {
		case op == opPong:
			if string(p) != "hi" {
				t.Fatalf("pong %q, want hi", p)
			}
			sawPong = true
		case op == opText && strings.Contains(string(p), `"type":"subscription","symbols":["MSFT"]`):
			sawAck = true
		}
	}
}

func TestHandshakesThatCannotBeStreams(t *testing.T) {
	ts := startServer(t, testOptions{})
	for _, tc := range []struct {
		name, header string
		status       int
	}{
		{"no upgrade", "", http.StatusUpgradeRequired},
		{"wrong version", strings.Replace(goodHandshake, "Version: 13", "Version: 8", 1), http.StatusUpgradeRequired},
		{"no key", strings.Replace(goodHandshake, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1), http.StatusBadRequest},
		{"short key", strings.Replace(goodHandshake, "dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=", 1), http.StatusBadRequest},
		{"foreign origin", goodHandshake + "Origin: https://evil.example\r\n", http.StatusForbidden},
		{"listed origin", goodHandshake + "Origin: https://app.example\r\n", http.StatusSwitchingProtocols},
		{"same origin", goodHandshake + "Origin: http://test\r\n", http.StatusSwitchingProtocols},
		{"no origin", goodHandshake, http.StatusSwitchingProtocols},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, resp := dialRaw(t, ts, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != http.StatusSwitchingProtocols && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q, want a JSON error", resp.Header.Get("Content-Type"))
			}
		})
	}
	for _, q := range []string{"ws?symbols=FOO", "ws?maxfreq=0", "ws?symbols=A%20B"} {
		_, resp, err := websocket.Dial(context.Background(), ts.url(q), nil)
		if err == nil || resp == nil || resp.StatusCode/100 != 4 {
			t.Errorf("%s: %v, %v; want a 4xx answer", q, resp, err)
		}
	}
}

func TestAFloodOfMessagesCloses(t *testing.T) {
	ts := startServer(t, testOptions{edit: func(c *Config) { c.MessageRate, c.MessageBurst = 1, 5 }})
	c, _ := dialRaw(t, ts, goodHandshake)
	for range 20 {
		if _, err := c.conn.Write(frame(true, opText, []byte(`{"op":"maxfreq","n":1}`), true)); err != nil {
			break
		}
	}
	if code := c.closeCode(); code != CodePolicy {
		t.Fatalf("close code %d, want %d", code, CodePolicy)
	}
}

func TestASilentClientIsPingedThenClosed(t *testing.T) {
	ts := startServer(t, testOptions{edit: func(c *Config) { c.PingInterval, c.PongTimeout = 200*time.Millisecond, 200*time.Millisecond }})
	c, _ := dialRaw(t, ts, goodHandshake)
	sawPing := false
	for {
		op, p := c.readFrame()
		if op == opPing {
			sawPing = true
		}
		if op == opClose {
			if code := int(binary.BigEndian.Uint16(p)); code != CodeNoPong || !sawPing {
				t.Fatalf("closed with %d (pinged %v), want %d after a ping", code, sawPing, CodeNoPong)
			}
			return
		}
	}
}

func TestShutdownClosesWithGoingAway(t *testing.T) {
	ts := startServer(t, testOptions{})
	c, _ := dialRaw(t, ts, goodHandshake)
	c.readFrame() // the snapshot
	stopped := make(chan struct{})
	go func() { ts.stop(); close(stopped) }()
	defer func() { <-stopped }()
	if code := c.closeCode(); code != CodeGoingAway {
		t.Fatalf("close code %d, want %d", code, CodeGoingAway)
	}
}

// TestSubscribingWhileTicksFlowHasNoGapAndNoDuplicate adds and removes a
// symbol again and again while ticks flow: each time, the added symbol's
// snapshot is followed by its ticks after the snapshot, none before.
func TestSubscribingWhileTicksFlowHasNoGapAndNoDuplicate(t *testing.T) {
	ts := startServer(t, testOptions{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var seq uint64
	var publishErr error
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			seq++
			sym := []string{"AAPL", "MSFT"}[i%2]
			if err := ts.hub.Publish(feed.Tick{Seq: seq, Symbol: sym, Price: 100, Bid: 99.99, Ask: 100.01, Size: 1, Time: time.Now()}); err != nil {
				publishErr = err
				return
			}
			if i%10 == 9 { // one batch at a time: the feed does not outrun the writers
				for _, flushed := ts.hub.Quotes(); flushed != seq; _, flushed = ts.hub.Quotes() {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
				}
			}
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
		if publishErr != nil {
			t.Fatal(publishErr)
		}
	}()
	c := dial(t, ts.url("ws?symbols=AAPL"), nil)
	c.expect("snapshot")
	c.expect("subscription")
	for round := range 20 {
		c.send(`{"op":"subscribe","symbols":["MSFT"]}`)
		var snapshotSeq uint64
		lastMSFT := uint64(0)
		for seen := 0; seen < 5; {
			m := c.next()
			switch {
			case m.Type == "snapshot":
				snapshotSeq = m.Seq
				if len(m.Quotes) != 1 || m.Quotes[0].Last.Symbol != "MSFT" {
					t.Fatalf("round %d: snapshot %+v, want MSFT alone", round, m)
				}
				lastMSFT = m.Quotes[0].Last.Seq
			case m.Type == "tick" && m.Sym == "MSFT":
				if snapshotSeq == 0 {
					t.Fatalf("round %d: an MSFT tick (%d) before its snapshot", round, m.Seq)
				}
				if m.Seq <= snapshotSeq || m.Seq <= lastMSFT {
					t.Fatalf("round %d: MSFT tick %d after the snapshot at %d (its last %d): a duplicate", round, m.Seq, snapshotSeq, lastMSFT)
				}
				lastMSFT = m.Seq
				seen++
			}
		}
		c.send(`{"op":"unsubscribe","symbols":["MSFT"]}`)
		for m := c.next(); m.Type != "subscription" || len(m.Symbols) != 1; m = c.next() {
		}
	}
}

func TestEverySymbolOnTheUpgradeURL(t *testing.T) {
	ts := startServer(t, testOptions{})
	c := dial(t, ts.url("ws?symbols=*"), nil)
	c.expect("snapshot")
	if m := c.expect("subscription"); len(m.Symbols) != 4 {
		t.Fatalf("symbols=* gave %+v", m)
	}
	c.send(`{"op":"unsubscribe","symbols":["AAPL"]}`)
	if m := c.expect("subscription"); strings.Join(m.Symbols, ",") != "MSFT,NVDA,TSLA" {
		t.Fatalf("after unsubscribing AAPL: %+v", m)
	}
}
