package poll

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/stream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type testServer struct {
	hub *stream.Hub
	srv *httptest.Server
	seq uint64
}

func startServer(t *testing.T, replay, perAddr int) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg := stream.DefaultConfig([]string{"AAPL", "MSFT", "NVDA"}, Framing{})
	cfg.Registerer = reg
	cfg.FlushInterval = time.Millisecond
	cfg.ReplaySize = replay
	hub, err := stream.NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	streams, err := guard.NewStreams(guard.StreamsConfig{MaxStreams: 100, MaxStreamsPerAddr: perAddr, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(hub, Config{MaxSymbols: 2, MaxQueryBytes: 4096, MaxWait: 30 * time.Second, MaxTicks: 3, Streams: streams})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = hub.Run(ctx) }()
	<-hub.Started()
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	return &testServer{hub: hub, srv: srv}
}

func (ts *testServer) publish(t *testing.T, symbols ...string) {
	t.Helper()
	for _, sym := range symbols {
		ts.seq++
		if err := ts.hub.Publish(feed.Tick{Seq: ts.seq, Symbol: sym, Price: 100, Bid: 99.99, Ask: 100.01, Size: 1, Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, seq := ts.hub.Quotes(); seq != ts.seq; _, seq = ts.hub.Quotes() {
		if time.Now().After(deadline) {
			t.Fatal("not flushed")
		}
		time.Sleep(time.Millisecond)
	}
}

type answer struct {
	Seq    uint64 `json:"seq"`
	Events []struct {
		Type   string       `json:"type"`
		Seq    uint64       `json:"seq"`
		Sym    string       `json:"sym"`
		Resync bool         `json:"resync"`
		Quotes []feed.Quote `json:"quotes"`
		stream.Bar
		Interval string `json:"interval"`
		Updated  bool   `json:"updated"`
	} `json:"events"`
	Error string `json:"error"`
}

func (ts *testServer) get(t *testing.T, query string) (int, answer, http.Header) {
	t.Helper()
	resp, err := http.Get(ts.srv.URL + "/api/ticks" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("%s: body %q: %v", query, body, err)
	}
	return resp.StatusCode, a, resp.Header
}

func (a answer) seqs() []uint64 {
	var s []uint64
	for _, e := range a.Events {
		s = append(s, e.Seq)
	}
	return s
}

func TestPollsGetASnapshotThenTheTicksAfterSince(t *testing.T) {
	ts := startServer(t, 100, 10)
	ts.publish(t, "AAPL", "MSFT", "NVDA")
	code, a, h := ts.get(t, "?symbols=AAPL,MSFT")
	if code != 200 || a.Seq != 3 || len(a.Events) != 1 || a.Events[0].Type != "snapshot" || a.Events[0].Resync || len(a.Events[0].Quotes) != 2 {
		t.Fatalf("first poll %d %+v, want a snapshot of AAPL and MSFT at 3", code, a)
	}
	if cc := h.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	ts.publish(t, "AAPL", "NVDA", "MSFT", "AAPL", "AAPL", "MSFT")
	// At most MaxTicks (3) an answer: the rest come with the next poll.
	_, a, _ = ts.get(t, "?symbols=AAPL,MSFT&since=3")
	if got := a.seqs(); len(got) != 3 || got[0] != 4 || got[1] != 6 || got[2] != 7 || a.Seq != 7 {
		t.Fatalf("second poll %v seq %d, want 4 6 7 and seq 7", got, a.Seq)
	}
	_, a, _ = ts.get(t, "?symbols=AAPL,MSFT&since=7")
	if got := a.seqs(); len(got) != 2 || got[0] != 8 || got[1] != 9 || a.Seq != 9 {
		t.Fatalf("third poll %v seq %d, want 8 9 and seq 9", got, a.Seq)
	}
	// Plain polling with nothing new: an empty list at once, the same seq.
	_, a, _ = ts.get(t, "?symbols=AAPL,MSFT&since=9")
	if len(a.Events) != 0 || a.Seq != 9 {
		t.Fatalf("poll with nothing new %+v", a)
	}
}

func TestALongPollAnswersWhenATickArrives(t *testing.T) {
	ts := startServer(t, 100, 10)
	ts.publish(t, "AAPL")
	var wg sync.WaitGroup
	var a answer
	wg.Go(func() { _, a, _ = ts.get(t, "?symbols=MSFT&since=1&wait=20s") })
	deadline := time.Now().Add(10 * time.Second)
	for ts.hub.Status().Clients != 1 { // the poll is held
		if time.Now().After(deadline) {
			t.Fatal("the poll was not held")
		}
		time.Sleep(time.Millisecond)
	}
	ts.publish(t, "AAPL") // not its symbol: it stays held
	ts.publish(t, "MSFT")
	wg.Wait()
	if got := a.seqs(); len(got) != 1 || got[0] != 3 || a.Seq != 3 {
		t.Fatalf("held poll got %v seq %d, want 3", got, a.Seq)
	}
	// A wait that runs out answers an empty list.
	start := time.Now()
	_, a, _ = ts.get(t, "?symbols=NVDA&since=3&wait=150ms")
	if len(a.Events) != 0 || a.Seq != 3 || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("expired wait %+v after %v", a, time.Since(start))
	}
}

func TestAResumePointTheRingCannotServeGetsAResync(t *testing.T) {
	ts := startServer(t, 2, 10)
	ts.publish(t, "AAPL", "AAPL", "AAPL", "AAPL")
	for _, since := range []string{"1", "99"} {
		_, a, _ := ts.get(t, "?symbols=AAPL&since="+since)
		if len(a.Events) != 1 || a.Events[0].Type != "snapshot" || !a.Events[0].Resync || a.Seq != 4 {
			t.Fatalf("since=%s: %+v, want a resync snapshot at 4", since, a)
		}
	}
}

func TestBadPollsAndHeldPollsOverTheLimit(t *testing.T) {
	ts := startServer(t, 100, 1)
	for _, tc := range []struct {
		query  string
		status int
		want   string
	}{
		{"?since=abc", 400, "since"},
		{"?since=1&since=2", 400, "since"},
		{"?wait=-1s", 400, "wait"},
		{"?wait=1h", 400, "wait"},
		{"?wait=soon", 400, "wait"},
		{"?maxfreq=1", 400, "maxfreq"},
		{"?symbols=FOO", 404, "unknown symbols"},
		{"?symbols=AAPL,MSFT,NVDA", 400, "more than 2 symbols"},
	} {
		code, a, _ := ts.get(t, tc.query)
		if code != tc.status || !strings.Contains(a.Error, tc.want) {
			t.Errorf("%s: %d %q, want %d with %q", tc.query, code, a.Error, tc.status, tc.want)
		}
	}
	ts.publish(t, "AAPL")
	var wg sync.WaitGroup
	wg.Go(func() { ts.get(t, "?since=1&wait=20s") })
	deadline := time.Now().Add(10 * time.Second)
	for ts.hub.Status().Clients != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the poll was not held")
		}
		time.Sleep(time.Millisecond)
	}
	if code, a, _ := ts.get(t, "?since=1"); code != 429 || !strings.Contains(a.Error, "too many streams from your address") {
		t.Errorf("a second poll while one is held: %d %q, want 429", code, a.Error)
	}
	ts.publish(t, "MSFT")
	wg.Wait()
}

// TestAPollOnlyClientGetsEveryBar polls with bars=1s and no stream open:
// the bars that close while the poll is held, and between one poll and
// the next, are in the answers, the same bars, and as many, as the
// history holds for the seconds they cover.
func TestAPollOnlyClientGetsEveryBar(t *testing.T) {
	ts := startServer(t, 1000, 10)
	base := time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC)
	price := 100.0
	at := func(sym string, ms int) {
		t.Helper()
		ts.seq++
		price += 0.01
		if err := ts.hub.Publish(feed.Tick{Seq: ts.seq, Symbol: sym, Price: price, Bid: price - 0.01, Ask: price + 0.01,
			Size: int64(ts.seq), Time: base.Add(time.Duration(ms) * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
	}
	flushed := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for _, seq := ts.hub.Quotes(); seq != ts.seq; _, seq = ts.hub.Quotes() {
			if time.Now().After(deadline) {
				t.Fatal("not flushed")
			}
			time.Sleep(time.Millisecond)
		}
	}
	at("AAPL", 100)
	flushed()
	_, a, _ := ts.get(t, "?symbols=AAPL&bars=1s") // the snapshot, and the poll's ask for bars
	if len(a.Events) != 1 || a.Events[0].Type != "snapshot" {
		t.Fatalf("first poll %+v; want a snapshot", a)
	}
	since := a.Seq
	var got []stream.Bar
	take := func(a answer) {
		for _, e := range a.Events {
			if e.Type == "bar" {
				if e.Sym != "AAPL" || e.Interval != "1s" || e.Updated {
					t.Errorf("bar event %+v; want AAPL's 1s bars as they close", e)
				}
				got = append(got, e.Bar)
			}
		}
		since = a.Seq
	}
	// Between polls: bars close with nobody waiting.
	for ms := 300; ms <= 3300; ms += 400 {
		at("AAPL", ms)
		at("MSFT", ms)
	}
	flushed()
	for {
		_, a, _ = ts.get(t, "?symbols=AAPL&bars=1s&since="+strconv.FormatUint(since, 10))
		take(a)
		if len(a.Events) == 0 {
			break
		}
	}
	// While a long poll waits: the bar that closes is its answer.
	var wg sync.WaitGroup
	var held answer
	wg.Go(func() { _, held, _ = ts.get(t, "?symbols=AAPL&bars=1s&wait=20s&since="+strconv.FormatUint(since, 10)) })
	deadline := time.Now().Add(10 * time.Second)
	for ts.hub.Status().Clients != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the poll was not held")
		}
		time.Sleep(time.Millisecond)
	}
	at("MSFT", 4500) // not its symbol, but it closes AAPL's 14:00:03
	wg.Wait()
	take(held)

	history, _, err := ts.hub.Bars("AAPL", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// AAPL traded in 14:00:00 to 14:00:03, all closed by MSFT's 14:00:04.
	if len(history) != 4 || !equalBars(got, history) {
		t.Fatalf("polls got bars %+v; want the history's %+v", got, history)
	}
}

func equalBars(a, b []stream.Bar) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
