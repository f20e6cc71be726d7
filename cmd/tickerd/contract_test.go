package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/yaml"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/internal/contracttest"
	"github.com/tickerd/tickerd/internal/ssetest"
	"github.com/tickerd/tickerd/stream"
	"github.com/tickerd/tickerd/stream/poll"
	"github.com/tickerd/tickerd/stream/sse"
	"github.com/tickerd/tickerd/stream/ws"
)

// liveContract is the contract every end-to-end test of this package
// holds the server to: what they receive is validated against it, and
// what it promises and no test saw fails the run (contractCovered).
var liveContract = sync.OnceValues(contracttest.Load)

func theContract(t testing.TB) *contracttest.Contract {
	t.Helper()
	c, err := liveContract()
	if err != nil {
		t.Fatalf("the contract: %v", err)
	}
	return c
}

// checkAnswer validates an answer to req against the OpenAPI document;
// body is what was read of it (for a stream, its first events, which are
// validated against the AsyncAPI document too).
func checkAnswer(t testing.TB, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	if err := theContract(t).CheckResponse(req, resp.StatusCode, resp.Header, body); err != nil {
		t.Errorf("contract: %v", err)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		for _, ev := range contracttest.SplitEvents(string(body)) {
			checkEvent(t, ev.Name, ev.ID, ev.Data)
		}
	}
}

// checkEvent validates one SSE event against the AsyncAPI document.
func checkEvent(t testing.TB, name, id, data string) {
	t.Helper()
	if err := theContract(t).CheckSSE(name, id, data); err != nil {
		t.Errorf("contract: %v", err)
	}
}

// checkMessage validates a WebSocket message tickerd sent.
func checkMessage(t testing.TB, data []byte) {
	t.Helper()
	if err := theContract(t).CheckServerMessage(data); err != nil {
		t.Errorf("contract: %v", err)
	}
}

// contractCovered runs the tests, then fails the run if the contract
// promises a message or a property that none of them received. Only a
// whole run can tell: with -run it checks nothing.
type contractCovered struct{ m *testing.M }

// neverSent are the properties of the contract that the tests cannot
// make the server send, each with the reason. None, so far.
var neverSent = map[string]string{}

func (c contractCovered) Run() int {
	_, _ = liveContract() // loaded before any test, so that none pays for it while it times something
	code := c.m.Run()
	if code != 0 || flag.Lookup("test.run").Value.String() != "" {
		return code
	}
	contract, err := liveContract()
	if err != nil {
		return code
	}
	if unseen := contract.Unseen(neverSent); len(unseen) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the contract promises what no end-to-end test received; send it in a test, or take it out of api/openapi.yaml or api/asyncapi.yaml:\n\t%s\n",
			strings.Join(unseen, "\n\t"))
		return 1
	}
	return code
}

// contractServer is the binary's routes over an engine the test feeds
// itself, so that it can reach what a simulated market rarely shows: a
// quote before its first trade, a stopped engine, a resync, a stream over
// the limits, a conflated client.
type contractServer struct {
	*stream.Hub
	URL     string
	reg     *prometheus.Registry
	streams *guard.Streams
	seq     uint64
	run     func()
}

func newContractServer(t *testing.T, limits guard.StreamsConfig) *contractServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg := stream.DefaultConfig([]string{"AAPL", "MSFT", "NVDA", "BRK.B"}, sse.Framing{}, ws.Framing{}, poll.Framing{})
	cfg.Registerer = reg
	cfg.ReplaySize = 64
	cfg.QueueBytes = 4096
	cfg.FlushInterval = time.Millisecond
	cfg.WriteTimeout = time.Minute
	hub, err := stream.NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.SetPrevClose("MSFT", 417.46); err != nil { // AAPL's stays unknown
		t.Fatal(err)
	}
	limits.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	limits.Registerer = reg
	streams, err := guard.NewStreams(limits)
	if err != nil {
		t.Fatal(err)
	}
	cors, err := guard.NewCORS(nil)
	if err != nil {
		t.Fatal(err)
	}
	events, err := sse.NewHandler(hub, sse.Config{MaxSymbols: 100, MaxQueryBytes: 4096, Retry: sse.DefaultRetry, Streams: streams})
	if err != nil {
		t.Fatal(err)
	}
	sockets, err := ws.NewHandler(hub, ws.Config{
		MaxSymbols: 100, MaxQueryBytes: 4096, MaxMessageBytes: ws.DefaultMaxMessageBytes,
		MessageRate: ws.DefaultMessageRate, MessageBurst: ws.DefaultMessageBurst,
		PingInterval: ws.DefaultPingInterval, PongTimeout: ws.DefaultPongTimeout,
		Origins: cors, Streams: streams, Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	polls, err := poll.NewHandler(hub, poll.Config{MaxSymbols: 100, MaxQueryBytes: 4096, MaxWait: 2 * time.Second, MaxTicks: poll.DefaultMaxTicks, Streams: streams})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(routes(hub, transports{events: events, sockets: sockets, polls: polls}, reg, nil, cors, time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	cs := &contractServer{Hub: hub, URL: srv.URL, reg: reg, streams: streams}
	cs.run = func() {
		wg.Go(func() { _ = hub.Run(ctx) })
		wg.Go(func() { _ = sockets.Run(ctx) })
		waitFor(t, "the engine to stream", func() bool { return hub.Status().Running })
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		srv.Close()
	})
	return cs
}

// publish feeds n ticks over the symbols, around 100, and waits until
// the engine has flushed them.
func (cs *contractServer) publish(t *testing.T, n int) {
	t.Helper()
	syms := cs.Symbols()
	for range n {
		cs.seq++
		px := 100 + float64(cs.seq%50)/100
		if err := cs.Publish(feed.Tick{Seq: cs.seq, Symbol: syms[cs.seq%uint64(len(syms))], Price: px, Bid: px - 0.01, Ask: px + 0.01, Size: 100, Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the flush", func() bool { _, seq := cs.Quotes(); return seq == cs.seq })
}

// request sends a raw HTTP/1.1 request from the client address from
// (X-Forwarded-For; "" for the peer's) and reads the answer's head, and
// its body unless it is a stream; the answer is held to the contract.
func (cs *contractServer) request(t *testing.T, method, target, from string, header ...string) (*http.Response, []byte, net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(cs.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	req, err := http.NewRequest(method, cs.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if from != "" {
		req.Header.Set("X-Forwarded-For", from)
	}
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, req)
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	if resp.StatusCode != http.StatusSwitchingProtocols && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		if body, err = io.ReadAll(resp.Body); err != nil {
			t.Fatal(err)
		}
	}
	checkAnswer(t, req, resp, body)
	return resp, body, conn, r
}

// wsHeaders are the headers of a WebSocket handshake.
var wsHeaders = []string{"Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}

// TestContractEdgeCasesOnALiveServer drives the binary's routes through
// what the contract describes at its edges and holds every answer, event
// and message to it.
func TestContractEdgeCasesOnALiveServer(t *testing.T) {
	cs := newContractServer(t, guard.StreamsConfig{MaxStreams: guard.DefaultMaxStreams, MaxStreamsPerAddr: guard.DefaultMaxStreamsPerAddr})
	status := func(want int, method, target string, header ...string) []byte {
		t.Helper()
		resp, body, _, _ := cs.request(t, method, target, "", header...)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, target, resp.StatusCode, body, want)
		}
		return body
	}

	// Before the engine streams: not ready, and no stream on any transport.
	if body := status(503, "GET", "/readyz"); !strings.Contains(string(body), `"status":"stopped"`) {
		t.Errorf("/readyz before the engine runs: %s", body)
	}
	status(503, "GET", "/events")
	status(503, "GET", "/api/ticks")
	status(503, "GET", "/ws", wsHeaders...)

	// Running, before the first tick: quotes of symbols that never traded,
	// a snapshot of nothing (with no id), no bars.
	cs.run()
	if body := status(503, "GET", "/readyz"); !strings.Contains(string(body), `"last_tick_age_seconds":null`) {
		t.Errorf("/readyz before the first tick: %s", body)
	}
	if body := status(200, "GET", "/api/quotes/msft"); strings.TrimSpace(string(body)) != `{"seq":0,"sym":"MSFT","chg":0,"chg_pct":0,"vol":0,"prevClose":417.46}` {
		t.Errorf("a quote before the first trade: %s", body)
	}
	status(200, "GET", "/api/symbols")
	status(200, "GET", "/api/history?symbol=BRK.B")
	status(200, "GET", "/api/ticks?symbols=AAPL")
	resp, _, _, r := cs.request(t, "GET", "/events?symbols=AAPL,MSFT", "")
	first := nextEvents(t, resp, r, 1)
	if first[0].Name != "snapshot" || first[0].ID != "" || !strings.Contains(first[0].Data, `"seq":0,`) {
		t.Errorf("the first snapshot: %+v, want one of seq 0 and no id", first[0])
	}

	// Ticks: the live stream, bars, polls after since, a poll that waits in
	// vain, and the resumes: a replay, and a resync from before the ring.
	cs.publish(t, 200)
	for _, ev := range nextEvents(t, resp, r, 10) {
		if ev.Name != "tick" {
			t.Fatalf("a live %s event", ev.Name)
		}
	}
	status(200, "GET", "/readyz")
	status(200, "GET", "/api/history?symbol=aapl&interval=1s&limit=3")
	status(200, "GET", "/api/symbols")
	if body := status(200, "GET", "/api/symbols?offset=1&limit=2"); !strings.Contains(string(body), `"total":4,"next":3,"quotes":[{"seq":`) {
		t.Errorf("a page of the symbols: %s", body)
	}
	if body := status(200, "GET", "/api/symbols?form=compact&offset=3"); !strings.Contains(string(body), `"total":4,"sym":["BRK.B"],"px":[`) {
		t.Errorf("the last page, compact: %s", body)
	}
	status(400, "GET", "/api/symbols?form=rows")
	if body := status(200, "GET", "/api/ticks?symbols=AAPL,MSFT&since=190"); !strings.Contains(string(body), `"type":"tick"`) {
		t.Errorf("a poll after since: %s", body)
	}
	if body := status(200, "GET", "/api/ticks?since=1"); !strings.Contains(string(body), `"resync":true`) {
		t.Errorf("a poll from before the ring: %s", body)
	}
	if body := status(200, "GET", "/api/ticks?since=200&wait=20ms"); !strings.HasPrefix(string(body), `{"events":[],`) {
		t.Errorf("a poll whose wait ran out: %s", body)
	}
	resync, _, _, rr := cs.request(t, "GET", "/events?symbols=NVDA", "", "Last-Event-ID", "1")
	if ev := nextEvents(t, resync, rr, 1)[0]; ev.Name != "snapshot" || !strings.Contains(ev.Data, `"resync":true`) {
		t.Errorf("resuming from before the ring: %+v", ev)
	}
	replay, _, _, rp := cs.request(t, "GET", "/events?symbols=NVDA&lastEventId=190", "")
	if ev := nextEvents(t, replay, rp, 1)[0]; ev.Name != "tick" {
		t.Errorf("resuming from the ring: %+v", ev)
	}
	status(200, "GET", "/healthz")
	status(200, "GET", "/api/openapi.yaml")
	status(200, "GET", "/api/asyncapi.yaml")
	status(200, "HEAD", "/api/symbols")
	status(405, "PATCH", "/api/history")
	status(404, "GET", "/api/quotes/NOPE")
	status(400, "GET", "/api/history?symbol=AAPL&limit=0")

	// A WebSocket's messages both ways, the edge cases of each op included.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(cs.URL, "http")+"/ws?lastEventId=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	read := func(want string) map[string]any {
		t.Helper()
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("waiting for a %s message: %v", want, err)
			}
			checkMessage(t, data)
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			if m["type"] == want {
				return m
			}
		}
	}
	send := func(msg string, valid bool) {
		t.Helper()
		if err := theContract(t).CheckClientMessage([]byte(msg)); (err == nil) != valid {
			t.Errorf("the contract takes %s: %v; the server should %v", msg, err == nil, valid)
		}
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	if m := read("snapshot"); m["resync"] != true || len(m["quotes"].([]any)) != 0 {
		t.Errorf("a WebSocket without symbols resuming from before the ring: %v", m)
	}
	read("subscription")
	send(`{"op":"subscribe","symbols":["aapl","BRK.B"]}`, true)
	read("subscription")
	read("snapshot")
	cs.publish(t, 8)
	read("tick")
	send(`{"op":"unsubscribe","symbols":["AAPL"]}`, true)
	read("subscription")
	send(`{"op":"maxfreq","n":4}`, true)
	if m := read("subscription"); m["maxfreq"] != 4.0 {
		t.Errorf("after maxfreq 4: %v", m)
	}
	send(`{"op":"subscribe","symbols":["*"]}`, true)
	read("subscription")
	send(`{"op":"subscribe","symbols":["FOO"]}`, true)
	if m := read("error"); m["op"] != "subscribe" || fmt.Sprint(m["symbols"]) != "[FOO]" {
		t.Errorf("subscribing to an unknown symbol: %v", m)
	}
	send(`{"op":"jump"}`, false)
	if m := read("error"); m["op"] != nil {
		t.Errorf("an unknown op: %v", m)
	}
	send(`{"op":"maxfreq","n":4,"symbols":["AAPL"]}`, false)
	read("error")
	_ = c.Close(websocket.StatusNormalClosure, "")
}

// nextEvents reads n events (not the retry hint, not comments) of an SSE
// answer and holds each to the contract.
func nextEvents(t *testing.T, resp *http.Response, r *bufio.Reader, n int) []contracttest.Event {
	t.Helper()
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	events := ssetest.NewReader(r)
	var out []contracttest.Event
	for len(out) < n {
		ev, err := events.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Comment || ev.Name == "" && ev.Data == "" {
			continue
		}
		checkEvent(t, ev.Name, ev.ID, ev.Data)
		out = append(out, contracttest.Event{Name: ev.Name, ID: ev.ID, Data: ev.Data})
	}
	return out
}

// TestContractOverTheStreamLimits holds to the contract what every
// transport answers a client over the limits: 429 from an address that
// has its share, 503 when every stream is taken, both with Retry-After,
// and a WebSocket closed at once with 1013.
func TestContractOverTheStreamLimits(t *testing.T) {
	cs := newContractServer(t, guard.StreamsConfig{MaxStreams: 2, MaxStreamsPerAddr: 1})
	cs.run()
	cs.publish(t, 4)
	for i, step := range []struct {
		method, target, from string
		status               int
		header               []string
	}{
		{"GET", "/events", "192.0.2.1", 200, nil},
		{"GET", "/events", "192.0.2.1", 429, nil},
		{"GET", "/api/ticks", "192.0.2.1", 429, nil},
		{"GET", "/events", "192.0.2.2", 200, nil},
		{"GET", "/events", "192.0.2.3", 503, nil},
		{"GET", "/api/ticks?since=1", "192.0.2.3", 503, nil},
		{"GET", "/ws", "192.0.2.3", 101, wsHeaders},
	} {
		resp, body, conn, r := cs.request(t, step.method, step.target, step.from, step.header...)
		if resp.StatusCode != step.status {
			t.Fatalf("step %d, %s %s from %s: %d %s, want %d", i, step.method, step.target, step.from, resp.StatusCode, body, step.status)
		}
		if step.status == 101 {
			code, reason := readClose(t, conn, r)
			if code != ws.CodeTryAgainLater || !strings.Contains(reason, "retry later") {
				t.Errorf("a WebSocket over the limits closed with %d %q, want %d", code, reason, ws.CodeTryAgainLater)
			}
		}
	}
}

// readClose reads frames until a close frame and returns its code and
// reason.
func readClose(t *testing.T, conn net.Conn, r *bufio.Reader) (int, string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		head := make([]byte, 2)
		if _, err := io.ReadFull(r, head); err != nil {
			t.Fatalf("reading a frame: %v", err)
		}
		n := int(head[1] & 0x7F)
		switch n {
		case 126:
			var ext [2]byte
			_, _ = io.ReadFull(r, ext[:])
			n = int(ext[0])<<8 | int(ext[1])
		case 127:
			t.Fatal("a frame too large for this test")
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			t.Fatal(err)
		}
		if head[0]&0x0F == 0x8 && n >= 2 {
			return int(payload[0])<<8 | int(payload[1]), string(payload[2:])
		}
	}
}

// TestContractConflatedOnBothStreams makes an SSE client and a WebSocket
// client fall behind until the engine conflates them, then reads both:
// each gets a conflated message, held to the contract with the rest.
func TestContractConflatedOnBothStreams(t *testing.T) {
	cs := newContractServer(t, guard.StreamsConfig{MaxStreams: guard.DefaultMaxStreams, MaxStreamsPerAddr: guard.DefaultMaxStreamsPerAddr})
	cs.run()
	host := strings.TrimPrefix(cs.URL, "http://")
	dial := func(request string) net.Conn {
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		}}
		conn, err := d.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		if _, err := conn.Write([]byte(request)); err != nil {
			t.Fatal(err)
		}
		return conn
	}
	sseConn := dial("GET /events HTTP/1.1\r\nHost: tickerd\r\n\r\n")
	wsConn := dial("GET /ws?symbols=AAPL,MSFT,NVDA,BRK.B HTTP/1.1\r\nHost: tickerd\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	waitFor(t, "both streams attached", func() bool { return cs.Status().Clients == 2 })
	conflated := func() float64 {
		families, err := cs.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "tickerd_clients_conflated" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		return 0
	}
	for conflated() < 2 {
		if cs.seq > 400_000 {
			t.Fatalf("the clients were never both conflated (%v)", conflated())
		}
		cs.publish(t, 1000)
	}
	cs.publish(t, 1000) // some replaced while conflated

	var wg sync.WaitGroup
	wg.Go(func() {
		r := bufio.NewReader(sseConn)
		_ = sseConn.SetReadDeadline(time.Now().Add(60 * time.Second))
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		events := ssetest.NewReader(r)
		for {
			ev, err := events.Next()
			if err != nil {
				t.Errorf("SSE: no conflated event: %v", err)
				return
			}
			if ev.Name == "" {
				continue
			}
			checkEvent(t, ev.Name, ev.ID, ev.Data)
			if ev.Name == "conflated" {
				_ = resp
				return
			}
		}
	})
	wg.Go(func() {
		r := bufio.NewReader(wsConn)
		_ = wsConn.SetReadDeadline(time.Now().Add(60 * time.Second))
		if _, err := http.ReadResponse(r, nil); err != nil {
			t.Error(err)
			return
		}
		for {
			payload, err := readFrame(r)
			if err != nil {
				t.Errorf("WebSocket: no conflated message: %v", err)
				return
			}
			checkMessage(t, payload)
			if bytes.HasPrefix(payload, []byte(`{"type":"conflated"`)) {
				return
			}
		}
	})
	wg.Wait()
}

// readFrame reads one unmasked server frame and returns its payload.
func readFrame(r *bufio.Reader) ([]byte, error) {
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := uint64(head[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return nil, err
		}
		n = uint64(ext[0])<<8 | uint64(ext[1])
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return nil, err
		}
		n = 0
		for _, b := range ext {
			n = n<<8 | uint64(b)
		}
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, err
	}
	if head[0]&0x0F == 0x8 {
		return nil, errors.New("closed")
	}
	return payload, nil
}

// TestRoutesAreTheContractsPaths reads routes.go: every route but the
// page, /metrics and the /api/ fallback is a path of the OpenAPI
// document, and every path of the document is a route.
func TestRoutesAreTheContractsPaths(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	body, _, _ := strings.Cut(string(src), "// publisherRoutes")
	var routed []string
	for _, m := range regexp.MustCompile(`mux\.Handle\("([^"]+)"`).FindAllStringSubmatch(body, -1) {
		if p := m[1]; p != "/" && p != "/metrics" && p != "/api/" {
			routed = append(routed, p)
		}
	}
	var documented []string
	for p := range theContract(t).OpenAPI.Paths.Map() {
		documented = append(documented, p)
	}
	slices.Sort(routed)
	slices.Sort(documented)
	if !slices.Equal(routed, documented) {
		t.Errorf("routes.go serves %v,\nopenapi.yaml documents %v", routed, documented)
	}
}

// readmeTable returns the rows of the first table after the line that
// starts with heading in README.md, as cells.
func readmeTable(t *testing.T, readme, heading string) [][]string {
	t.Helper()
	i := strings.Index(readme, "\n"+heading)
	if i < 0 {
		t.Fatalf("README.md has no line starting %q", heading)
	}
	var rows [][]string
	inTable := false
	for _, line := range strings.Split(readme[i+1:], "\n")[1:] {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for k := range cells {
			cells[k] = strings.TrimSpace(cells[k])
		}
		if strings.HasPrefix(cells[0], "---") || len(rows) == 0 && !strings.HasPrefix(cells[0], "`") && cells[0] != "code" {
			continue
		}
		rows = append(rows, cells)
	}
	return rows
}

var backticked = regexp.MustCompile("`([^`]*)`")

// names returns the backticked words of a table cell.
func names(cell string) []string {
	var out []string
	for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// schemaFields returns the properties of a schema of the AsyncAPI (or,
// with openapi, the OpenAPI) document with the type of each as the README
// writes it.
func schemaFields(t *testing.T, doc map[string]any, name string) map[string]string {
	t.Helper()
	s, ok := doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("no schema %s", name)
	}
	out := map[string]string{}
	for p, ps := range s["properties"].(map[string]any) {
		ps := ps.(map[string]any)
		typ, _ := ps["type"].(string)
		if ref, ok := ps["$ref"].(string); ok {
			typ = strings.ToLower(strings.TrimPrefix(ref, "#/components/schemas/"))
			if typ == "symbol" {
				typ = "string"
			}
		}
		if typ == "array" {
			item := ps["items"].(map[string]any)
			ref, _ := item["$ref"].(string)
			typ = "array of " + strings.ToLower(strings.TrimPrefix(ref, "#/components/schemas/"))
		}
		out[p] = typ
	}
	return out
}

func yamlDoc(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestREADMEMatchesTheContract holds the README's description of the
// streams to the contract: the field tables of the events (names and
// types), the fields of the WebSocket's answers, the client messages'
// examples, the bodies sketched for the REST endpoints, and the close
// codes, which must also be those of stream/ws.
func TestREADMEMatchesTheContract(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	async, open := yamlDoc(t, api.AsyncAPIDocument()), yamlDoc(t, api.OpenAPIDocument())
	table := func(heading string) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, row := range readmeTable(t, readme, heading) {
			for _, n := range names(row[0]) {
				out[n] = row[1]
			}
		}
		return out
	}
	tick, snapshot, session := table("`tick` —"), table("`snapshot` —"), table("A quote is")
	if want := schemaFields(t, async, "Tick"); !maps.Equal(tick, want) {
		t.Errorf("README's tick table %v, asyncapi.yaml's Tick %v", tick, want)
	}
	if want := schemaFields(t, async, "Snapshot"); !maps.Equal(snapshot, want) {
		t.Errorf("README's snapshot table %v, asyncapi.yaml's Snapshot %v", snapshot, want)
	}
	quote := maps.Clone(tick)
	maps.Copy(quote, session)
	if want := schemaFields(t, async, "Quote"); !maps.Equal(quote, want) {
		t.Errorf("README's tick and session tables %v, asyncapi.yaml's Quote %v", quote, want)
	}
	jsonKeys := regexp.MustCompile(`"(\w+)"`)
	keys := func(s string) []string {
		var out []string
		for _, m := range jsonKeys.FindAllStringSubmatch(s, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
		slices.Sort(out)
		return out
	}
	props := func(doc map[string]any, name string, but ...string) []string {
		var out []string
		for p := range schemaFields(t, doc, name) {
			if !slices.Contains(but, p) {
				out = append(out, p)
			}
		}
		slices.Sort(out)
		return out
	}
	conflated, _, _ := strings.Cut(readme[strings.Index(readme, "\n`conflated` —")+1:], "\n")
	if got, want := keys(names(conflated)[1]), props(async, "Conflated"); !slices.Equal(got, want) {
		t.Errorf("README's conflated event %v, asyncapi.yaml's %v", got, want)
	}

	answers := map[string]string{"subscription": "SubscriptionMessage", "error": "ErrorMessage"}
	for _, row := range readmeTable(t, readme, "| `type` | fields | sent |") {
		typ := names(row[0])[0]
		var fields []string
		for _, n := range names(row[1]) {
			if regexp.MustCompile(`^[a-z_]+$`).MatchString(n) {
				fields = append(fields, n)
			}
		}
		slices.Sort(fields)
		if want := props(async, answers[typ], "type"); !slices.Equal(fields, want) {
			t.Errorf("README's %s message has %v, asyncapi.yaml's %v", typ, fields, want)
		}
		delete(answers, typ)
	}
	if len(answers) > 0 {
		t.Errorf("README's table of WebSocket answers lacks %v", answers)
	}
	ops := map[string]bool{}
	for _, row := range readmeTable(t, readme, "| message | does |") {
		msg := names(row[0])[0]
		if err := theContract(t).CheckClientMessage([]byte(msg)); err != nil {
			t.Errorf("README's client message %s: %v", msg, err)
		}
		var m struct{ Op string }
		_ = json.Unmarshal([]byte(msg), &m)
		ops[m.Op] = true
	}
	if len(ops) != 3 {
		t.Errorf("README shows client messages of %v, want subscribe, unsubscribe and maxfreq", ops)
	}

	for endpoint, schemas := range map[string][]string{
		"`GET /api/symbols`":  {"QuoteList"},
		"`GET /api/history?":  {"History", "Bar"},
		"`GET /healthz`":      {"Health"},
		"`POST /api/publish`": {"PublishResult", "RejectedLine"},
	} {
		i := strings.Index(readme, "| "+endpoint)
		if i < 0 {
			t.Errorf("README's table of endpoints lacks %s", endpoint)
			continue
		}
		line, _, _ := strings.Cut(readme[i:], "\n")
		cell := strings.Split(line, "|")[2]
		sketch := backticked.FindString(cell)
		var want []string
		for _, s := range schemas {
			want = append(want, props(open, s)...)
		}
		slices.Sort(want)
		want = slices.Compact(want)
		got := keys(sketch)
		got = slices.DeleteFunc(got, func(k string) bool { return k == "ok" }) // {"status":"ok"}
		if !slices.Equal(got, want) {
			t.Errorf("README sketches %s as %s, with %v; openapi.yaml's %v have %v", endpoint, sketch, got, schemas, want)
		}
	}

	codes := func(rows [][]string) []int {
		var out []int
		for _, row := range rows {
			if n, err := strconv.Atoi(row[0]); err == nil {
				out = append(out, n)
			}
		}
		slices.Sort(out)
		return out
	}
	wsChannel := async["channels"].(map[string]any)["ws"].(map[string]any)["description"].(string)
	inREADME := codes(readmeTable(t, readme, "a silent connection after `-heartbeat`; close codes:"))
	inContract := codes(readmeTable(t, "\n"+wsChannel, "Close codes:"))
	inCode := []int{ws.CodeNormal, ws.CodeGoingAway, ws.CodeProtocolError, ws.CodeUnsupported, ws.CodeInvalidPayload,
		ws.CodePolicy, ws.CodeTooBig, ws.CodeTryAgainLater, ws.CodeSlowConsumer, ws.CodeNoPong}
	slices.Sort(inCode)
	if !slices.Equal(inREADME, inContract) || !slices.Equal(inContract, inCode) {
		t.Errorf("close codes: README %v, asyncapi.yaml %v, stream/ws %v", inREADME, inContract, inCode)
	}
}
