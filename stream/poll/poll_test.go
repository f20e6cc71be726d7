package poll

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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
