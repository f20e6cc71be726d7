package sse

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/stream"
)

func TestStreamStartsWithRetryAndSnapshotThenTicks(t *testing.T) {
	th := startHub(t, testConfig{Retry: 1500 * time.Millisecond})
	th.publish(t, 8)
	waitFor(t, "first flush", func() bool { _, seq := th.Quotes(); return seq == 8 })

	c := th.dial(t, "?symbols=msft,AAPL", nil)
	if c.status != 200 {
		t.Fatalf("status %d", c.status)
	}
	for k, want := range map[string]string{
		"Content-Type":      "text/event-stream; charset=utf-8",
		"Cache-Control":     "no-cache",
		"X-Accel-Buffering": "no",
	} {
		if got := c.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if ev := c.mustNext(); !retryWithin(ev.name, 1500*time.Millisecond) {
		t.Fatalf("first event %+v, want a retry within half of 1500 ms", ev)
	}
	snap := c.mustNext()
	if snap.name != "snapshot" || snap.id != "8" {
		t.Fatalf("second event %+v, want snapshot with id 8", snap)
	}
	var body struct {
		Seq    uint64       `json:"seq"`
		Resync bool         `json:"resync"`
		Quotes []feed.Quote `json:"quotes"`
	}
	if err := json.Unmarshal([]byte(snap.data), &body); err != nil {
		t.Fatal(err)
	}
	if body.Seq != 8 || body.Resync || len(body.Quotes) != 2 ||
		body.Quotes[0].Last.Symbol != "AAPL" || body.Quotes[1].Last.Symbol != "MSFT" {
		t.Fatalf("snapshot %+v, want AAPL and MSFT at seq 8", body)
	}
	// Symbols cycle AAPL(0) MSFT(1) NVDA(2) TSLA(3) by seq%4: seq 8 is AAPL, 5 is MSFT.
	if body.Quotes[0].Last.Seq != 8 || body.Quotes[1].Last.Seq != 5 || body.Quotes[0].Volume != 200 {
		t.Fatalf("snapshot quotes %+v", body.Quotes)
	}

	th.publish(t, 40)
	seqs, syms := c.ticks(20)
	for i, s := range seqs {
		if i > 0 && s <= seqs[i-1] {
			t.Fatalf("ids not increasing: %v", seqs)
		}
		if syms[i] != "AAPL" && syms[i] != "MSFT" {
			t.Fatalf("got %s, subscribed to AAPL,MSFT", syms[i])
		}
		if s <= 8 {
			t.Fatalf("tick %d is older than the snapshot", s)
		}
	}
	if seqs[0] != 9 {
		t.Fatalf("first live tick %d, want 9 (MSFT)", seqs[0])
	}
}

// firehose reads every tick of a stream started before any was published.
func TestResumeReplaysExactlyTheMissedTicks(t *testing.T) {
	th := startHub(t, testConfig{ReplaySize: 1000})
	ref := th.dial(t, "", nil)
	ref.mustNext() // retry
	if ev := ref.mustNext(); ev.name != "snapshot" || ev.id != "" {
		t.Fatalf("snapshot before any tick: %+v", ev)
	}
	sub := th.dial(t, "?symbols=NVDA,TSLA", nil)
	sub.mustNext()
	sub.mustNext()

	th.publish(t, 100)
	refSeqs, refSyms := ref.ticks(100)
	got, _ := sub.ticks(20) // NVDA, TSLA: ticks 2,3,6,7,...
	last := got[len(got)-1]
	sub.conn.Close()

	th.publish(t, 100)
	more, _ := ref.ticks(100)
	refSeqs = append(refSeqs, more...)
	_, moreSyms := ref.ticks(0)
	refSyms = append(refSyms, moreSyms...)

	for _, tc := range []struct {
		name   string
		query  string
		header map[string]string
	}{
		{"header", "?symbols=NVDA,TSLA", map[string]string{"Last-Event-ID": strconv.FormatUint(last, 10)}},
		{"query parameter", "?symbols=NVDA,TSLA&lastEventId=" + strconv.FormatUint(last, 10), nil},
		{"header wins over query", "?symbols=NVDA,TSLA&lastEventId=3", map[string]string{"Last-Event-ID": strconv.FormatUint(last, 10)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := th.dial(t, tc.query, tc.header)
			c.mustNext() // retry
			var want []uint64
			for _, s := range refSeqs {
				sym := th.Symbols()[s%4]
				if s > last && (sym == "NVDA" || sym == "TSLA") {
					want = append(want, s)
				}
			}
			got, _ := c.ticks(len(want))
			if !slices.Equal(got, want) {
				t.Fatalf("replay %v\nwant   %v", got, want)
			}
			c.conn.Close()
		})
	}
	if got := th.metric(t, "tickerd_replays_total"); got != 3 {
		t.Errorf("replays metric %v, want 3", got)
	}
}

func TestResumeOlderThanRingGetsResyncSnapshot(t *testing.T) {
	th := startHub(t, testConfig{ReplaySize: 16})
	th.publish(t, 100)
	waitFor(t, "flush", func() bool { _, seq := th.Quotes(); return seq == 100 })
	c := th.dial(t, "", map[string]string{"Last-Event-ID": "50"})
	c.mustNext()
	ev := c.mustNext()
	if ev.name != "snapshot" || ev.id != "100" || !strings.Contains(ev.data, `"resync":true`) {
		t.Fatalf("got %+v, want a resync snapshot at 100", ev)
	}
	th.publish(t, 1)
	if seqs, _ := c.ticks(1); seqs[0] != 101 {
		t.Fatalf("after resync got %v, want 101", seqs)
	}
	// Exactly at the edge of the ring: ticks 86..101 are held, 85 was evicted.
	edge := th.dial(t, "", map[string]string{"Last-Event-ID": "85"})
	edge.mustNext()
	if seqs, _ := edge.ticks(16); seqs[0] != 86 || seqs[15] != 101 {
		t.Fatalf("replay from the ring's edge: %v", seqs)
	}
	if got := th.metric(t, "tickerd_resyncs_total"); got != 1 {
		t.Errorf("resyncs metric %v, want 1", got)
	}
}

func TestUnusableLastEventIDIsTreatedAsAbsent(t *testing.T) {
	th := startHub(t, testConfig{})
	th.publish(t, 10)
	waitFor(t, "flush", func() bool { _, seq := th.Quotes(); return seq == 10 })
	for _, id := range []string{"abc", "-1", "1e3", "99999999999999999999999", " ", "0x10"} {
		c := th.dial(t, "", map[string]string{"Last-Event-ID": id})
		if c.status != 200 {
			t.Fatalf("Last-Event-ID %q: status %d, want 200", id, c.status)
		}
		c.mustNext()
		if ev := c.mustNext(); ev.name != "snapshot" || !strings.Contains(ev.data, `"resync":false`) {
			t.Fatalf("Last-Event-ID %q: got %+v, want a fresh snapshot", id, ev)
		}
		c.conn.Close()
	}
	// An id ahead of the hub is a usable id the hub cannot serve: a resync.
	c := th.dial(t, "", map[string]string{"Last-Event-ID": "11"})
	c.mustNext()
	if ev := c.mustNext(); ev.name != "snapshot" || !strings.Contains(ev.data, `"resync":true`) {
		t.Fatalf("Last-Event-ID 11 on a hub at 10: got %+v, want a resync snapshot", ev)
	}
}

func TestBadRequestsGetJSONErrors(t *testing.T) {
	th := startHub(t, testConfig{MaxSymbols: 3, MaxQueryBytes: 200})
	for _, tc := range []struct {
		method, target string
		status         int
		body           string
	}{
		{"GET", "/events?symbols=FOO,AAPL,BAR", 404, `{"error":"unknown symbols","symbols":["FOO","BAR"]}`},
		{"GET", "/events?symbols=", 400, "symbols is empty"},
		{"GET", "/events?symbols=AAPL,,MSFT", 400, `symbol \"\": empty`},
		{"GET", "/events?symbols=AAPL,", 400, `symbol \"\": empty`},
		{"GET", "/events?symbols=AA%20PL", 400, "is not one of A-Z 0-9 . - :"},
		{"GET", "/events?symbols=%3Cscript%3E", 400, "is not one of A-Z 0-9 . - :"},
		{"GET", "/events?symbols=AAPL,MSFT,NVDA,TSLA", 400, "more than 3 symbols"},
		{"GET", "/events?symbols=ABCDEFGHIJKLMNOPQRSTUVWXYZ", 400, "longer than 24"},
		{"GET", "/events?symbols=NASDAQ:AAPL", 404, `{"error":"unknown symbols","symbols":["NASDAQ:AAPL"]}`},
		{"GET", "/events?symbols=" + strings.Repeat("A", 300), 400, "query longer than 200 bytes"},
		{"GET", "/events?symbols=%zz", 400, "malformed query"},
		{"POST", "/events", 405, "method not allowed"},
		{"DELETE", "/api/symbols", 405, "method not allowed"},
		{"GET", "/api/quotes/NOPE", 404, `"symbols":["NOPE"]`},
		{"GET", "/api/quotes/a$b", 400, "is not one of A-Z 0-9 . - :"},
	} {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, th.srv.URL+tc.target, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if !json.Valid(body) || !strings.Contains(string(body), tc.body) {
				t.Fatalf("body %s, want it to contain %s", body, tc.body)
			}
		})
	}
}

func TestSymbolAndQuoteEndpoints(t *testing.T) {
	th := startHub(t, testConfig{})
	th.publish(t, 6)
	waitFor(t, "flush", func() bool { _, seq := th.Quotes(); return seq == 6 })
	var list api.QuoteList
	getJSON(t, th.srv.URL+"/api/symbols", &list)
	if list.Seq != 6 || len(list.Quotes) != 4 || list.Quotes[2].Last.Symbol != "NVDA" || list.Quotes[2].Last.Seq != 6 {
		t.Fatalf("/api/symbols = %+v", list)
	}
	var q feed.Quote
	getJSON(t, th.srv.URL+"/api/quotes/tsla", &q)
	if q.Last.Symbol != "TSLA" || q.Last.Seq != 3 || q.Volume != 100 {
		t.Fatalf("/api/quotes/tsla = %+v", q)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestPublishRejectsBadTicks(t *testing.T) {
	th := startHub(t, testConfig{})
	th.publish(t, 5)
	now := time.Now()
	for _, tc := range []struct {
		tick feed.Tick
		err  error
	}{
		{feed.Tick{Seq: 6, Symbol: "ZZZZ", Price: 1, Bid: 0.99, Ask: 1.01, Size: 1, Time: now}, stream.ErrUnknownSymbol},
		{feed.Tick{Seq: 5, Symbol: "AAPL", Price: 1, Bid: 0.99, Ask: 1.01, Size: 1, Time: now}, stream.ErrSequence},
		{feed.Tick{Seq: 6, Symbol: "AAPL", Price: math.NaN(), Bid: 0.99, Ask: 1.01, Size: 1, Time: now}, stream.ErrBadPrice},
		{feed.Tick{Seq: 6, Symbol: "AAPL", Price: math.Inf(1), Bid: 0.99, Ask: 1.01, Size: 1, Time: now}, stream.ErrBadPrice},
		{feed.Tick{Seq: 6, Symbol: "AAPL", Price: -1, Bid: 0.99, Ask: 1.01, Size: 1, Time: now}, stream.ErrBadPrice},
		{feed.Tick{Seq: 6, Symbol: "AAPL", Price: 1, Bid: 1.01, Ask: 0.99, Size: 1, Time: now}, stream.ErrBidNotBelowAsk},
		{feed.Tick{Seq: 6, Symbol: "AAPL", Price: 1, Bid: 1, Ask: 1, Size: 1, Time: now}, stream.ErrBidNotBelowAsk},
		{feed.Tick{Seq: 6, Symbol: "AAPL", Price: 1, Bid: 0.99, Ask: 1.01, Size: 0, Time: now}, stream.ErrBadPrice},
	} {
		err := th.Publish(tc.tick)
		if !errors.Is(err, tc.err) {
			t.Errorf("Publish(%+v) = %v, want %v", tc.tick, err, tc.err)
		}
		if tc.err == stream.ErrBidNotBelowAsk && (errors.Is(err, stream.ErrBadPrice) || !strings.Contains(err.Error(), "bid=1") || !strings.Contains(err.Error(), "ask=")) {
			t.Errorf("Publish(%+v) = %q, want its own reason naming the bid and the ask", tc.tick, err)
		}
	}
	if err := th.Publish(feed.Tick{Seq: 6, Symbol: "AAPL", Price: 100, Bid: 99.99, Ask: 100.01, Size: 1, Time: now}); err != nil {
		t.Fatalf("a good tick after bad ones: %v", err)
	}
	if got := th.metric(t, "tickerd_feed_ticks_rejected_total", "bad_price"); got != 4 {
		t.Errorf("bad_price rejections %v, want 4", got)
	}
	if got := th.metric(t, "tickerd_feed_ticks_rejected_total", "bid_not_below_ask"); got != 2 {
		t.Errorf("bid_not_below_ask rejections %v, want 2", got)
	}
}

func TestPublishRejectsImplausiblePriceJumps(t *testing.T) {
	th := startHub(t, testConfig{MaxPriceJump: 0.2})
	c := th.dial(t, "?symbols=AAPL", nil)
	c.mustNext() // retry
	c.mustNext() // snapshot
	seq := uint64(0)
	pub := func(px float64) error {
		seq++
		return th.Publish(feed.Tick{Seq: seq, Symbol: "AAPL", Price: px, Bid: px - 0.01, Ask: px + 0.01, Size: 1, Time: time.Now()})
	}
	for _, step := range []struct {
		px     float64
		accept bool
	}{
		{100, true},    // the first price sets the level
		{119.99, true}, // within 20%
		{143.98, true}, // just under 20% above 119.99
		{200, false},   // a lone bad print
		{0.5, false},   // and one the other way
		{140, true},    // back near the level: accepted, bad prints forgotten
		{60, false},    // a real fall to a new level: rejected twice...
		{59, false},
		{58, true}, // ...then accepted on the third agreeing tick
		{57, true},
	} {
		err := pub(step.px)
		if step.accept && err != nil {
			t.Fatalf("px %v rejected: %v", step.px, err)
		}
		if !step.accept && !errors.Is(err, stream.ErrPriceJump) {
			t.Fatalf("px %v: got %v, want stream.ErrPriceJump", step.px, err)
		}
	}
	if got := th.metric(t, "tickerd_feed_ticks_rejected_total", "price_jump"); got != 4 {
		t.Errorf("price_jump rejections %v, want 4", got)
	}
	// The stream saw exactly the accepted ticks, in order.
	var got []string
	for range 6 {
		ev := c.mustNext()
		var tk feed.Tick
		if err := tk.UnmarshalJSON([]byte(ev.data)); err != nil {
			t.Fatal(err)
		}
		got = append(got, strconv.FormatFloat(tk.Price, 'f', -1, 64))
	}
	if want := []string{"100", "119.99", "143.98", "140", "58", "57"}; !slices.Equal(got, want) {
		t.Fatalf("stream got prices %v, want %v", got, want)
	}
	if q, _ := th.Quote("AAPL"); q.Last.Price != 57 || q.High != 143.98 {
		t.Fatalf("quote %+v: a rejected price reached it", q)
	}
}

func TestHeartbeatsOnIdleStreams(t *testing.T) {
	th := startHub(t, testConfig{Heartbeat: 100 * time.Millisecond})
	c := th.dial(t, "?symbols=AAPL", nil)
	c.mustNext()
	c.mustNext()
	for range 2 {
		ev, err := c.next()
		if err != nil || !ev.comment {
			t.Fatalf("got %+v, %v; want a heartbeat comment", ev, err)
		}
	}
	waitFor(t, "heartbeats counted", func() bool { return th.metric(t, "tickerd_heartbeats_total") >= 2 })
}

func TestEventsWrittenAreExact(t *testing.T) {
	th := startHub(t, testConfig{})
	const clients, ticks = 5, 2000
	var conns []*sseConn
	for range clients {
		c := th.dial(t, "", nil)
		c.mustNext()
		c.mustNext()
		conns = append(conns, c)
	}
	waitFor(t, "streams attached", func() bool { return th.Status().Clients == clients })
	th.publish(t, ticks)
	for _, c := range conns {
		seqs, _ := c.ticks(ticks)
		for i, s := range seqs {
			if s != uint64(i+1) {
				t.Fatalf("tick %d has seq %d", i, s)
			}
		}
	}
	// A writer merges its latency observations after it counts what it
	// wrote, so each is waited for.
	waitFor(t, "counters", func() bool { return th.metric(t, "tickerd_events_written_total") == clients*ticks })
	waitFor(t, "a latency observation of every event written", func() bool {
		return th.metric(t, "tickerd_tick_to_wire_seconds") >= clients*ticks
	})
	if got := th.metric(t, "tickerd_events_dropped_total", "conflated"); got != 0 {
		t.Errorf("conflated %v, want 0", got)
	}
}

func TestShutdownEndsEveryStream(t *testing.T) {
	th := startHub(t, testConfig{})
	c := th.dial(t, "", nil)
	c.mustNext()
	c.mustNext()
	waitFor(t, "attached", func() bool { return th.Status().Clients == 1 })
	th.stop()
	for {
		if _, err := c.next(); err != nil {
			if !errors.Is(err, io.EOF) {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatal("stream not closed at shutdown")
				}
			}
			break
		}
	}
	if got := th.metric(t, "tickerd_streams_closed_total", "shutdown"); got != 1 {
		t.Errorf("closed{shutdown} = %v, want 1", got)
	}
	if th.Status().Clients != 0 {
		t.Errorf("clients %d after shutdown", th.Status().Clients)
	}
}

// A hub that starts mid-stream (a replica joining a bus, a restarted
// process) cannot replay what came before its first tick.
func TestResumeFromBeforeTheFirstTickIsAResync(t *testing.T) {
	th := startHub(t, testConfig{ReplaySize: 100})
	th.seq = 1000
	th.publish(t, 10)
	waitFor(t, "flush", func() bool { _, seq := th.Quotes(); return seq == 1010 })

	old := th.dial(t, "", map[string]string{"Last-Event-ID": "999"})
	old.mustNext()
	if ev := old.mustNext(); ev.name != "snapshot" || ev.id != "1010" || !strings.Contains(ev.data, `"resync":true`) {
		t.Fatalf("resume from 999 got %+v, want a resync snapshot at 1010", ev)
	}
	edge := th.dial(t, "", map[string]string{"Last-Event-ID": "1000"})
	edge.mustNext()
	if seqs, _ := edge.ticks(10); seqs[0] != 1001 || seqs[9] != 1010 {
		t.Fatalf("resume from 1000 replayed %v, want 1001..1010", seqs)
	}
}

func TestResumeAheadOfTheHubWaitsForTheFeed(t *testing.T) {
	th := startHub(t, testConfig{ReplaySize: 100, ResumeWait: 10 * time.Second})
	th.publish(t, 10)
	waitFor(t, "flush", func() bool { _, seq := th.Quotes(); return seq == 10 })

	// The client saw tick 15 on another replica; this hub is at 10.
	req := th.send(t, "?symbols=AAPL,MSFT", map[string]string{"Last-Event-ID": "15"})
	waitFor(t, "the stream held", func() bool { return th.metric(t, "tickerd_resumes_held_total") == 1 })
	th.publish(t, 10)
	c := req.readHead()
	if c.status != 200 {
		t.Fatalf("status %d", c.status)
	}
	c.mustNext() // retry
	// AAPL is seq%4 == 0, MSFT seq%4 == 1: after 15 come 16, 17, 20.
	if seqs, _ := c.ticks(3); !slices.Equal(seqs, []uint64{16, 17, 20}) {
		t.Fatalf("held stream started with %v, want 16 17 20", seqs)
	}
	th.publish(t, 1)
	if seqs, _ := c.ticks(1); seqs[0] != 21 {
		t.Fatalf("then %v, want 21", seqs)
	}
	if got := th.metric(t, "tickerd_replays_total"); got != 1 {
		t.Errorf("replays %v, want 1", got)
	}
}

// A process that has not sent its first tick cannot serve the id of a
// client of the one before it: the client must be told to replace its
// state, not handed a snapshot it would merge.
func TestResumeBeforeTheHubsFirstTickIsAResync(t *testing.T) {
	th := startHub(t, testConfig{ReplaySize: 100})
	c := th.dial(t, "", map[string]string{"Last-Event-ID": "1764012345678901"})
	c.mustNext()
	if ev := c.mustNext(); ev.name != "snapshot" || ev.id != "" || !strings.Contains(ev.data, `"resync":true`) {
		t.Fatalf("resume before the first tick got %+v, want a resync snapshot", ev)
	}
	th.publish(t, 1)
	if seqs, _ := c.ticks(1); seqs[0] != 1 {
		t.Fatalf("then tick %v, want 1", seqs)
	}
}

func TestResumeAheadGetsAResyncWhenTheFeedNeverArrives(t *testing.T) {
	th := startHub(t, testConfig{ResumeWait: 200 * time.Millisecond})
	th.publish(t, 10)
	waitFor(t, "flush", func() bool { _, seq := th.Quotes(); return seq == 10 })
	start := time.Now()
	c := th.dial(t, "", map[string]string{"Last-Event-ID": "1000000"})
	c.mustNext()
	if ev := c.mustNext(); ev.name != "snapshot" || ev.id != "10" || !strings.Contains(ev.data, `"resync":true`) {
		t.Fatalf("got %+v, want a resync snapshot at 10", ev)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("snapshot after %v, want the stream held for the resume wait first", waited)
	}
}

func TestShutdownEndsHeldStreams(t *testing.T) {
	th := startHub(t, testConfig{ResumeWait: time.Minute})
	th.publish(t, 1)
	req := th.send(t, "", map[string]string{"Last-Event-ID": "5"})
	waitFor(t, "the stream held", func() bool { return th.metric(t, "tickerd_resumes_held_total") == 1 })
	th.stop()
	c := req.readHead()
	for {
		if _, err := c.next(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("held stream not closed at shutdown")
			}
			break
		}
	}
	if th.Status().Clients != 0 {
		t.Errorf("clients %d after shutdown", th.Status().Clients)
	}
}

func TestReadinessChecksDecideOnceTheFeedIsFlowing(t *testing.T) {
	th := startHub(t, testConfig{})
	busDown := errors.New("not connected to the NATS bus")
	var busErr error
	h := api.NewReadyHandler(th.Hub, time.Minute, func() error { return nil }, func() error { return busErr })
	get := func() (int, api.Readiness) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		var body api.Readiness
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		return rec.Code, body
	}
	if code, body := get(); code != 503 || body.Reason != "no tick from the feed yet" {
		t.Fatalf("before any tick: %d %+v", code, body)
	}
	th.publish(t, 1)
	if code, body := get(); code != 200 || body.Status != "ready" {
		t.Fatalf("checks passing: %d %+v", code, body)
	}
	busErr = busDown
	if code, body := get(); code != 503 || body.Status != "degraded" || body.Reason != busDown.Error() {
		t.Fatalf("a check failing: %d %+v", code, body)
	}
}
