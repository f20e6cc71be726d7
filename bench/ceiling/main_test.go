//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/tickerd/tickerd/bench/internal/benchkit"

	"go.uber.org/goleak"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/ssetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func start(t *testing.T, ctx context.Context, args ...string) (url string, done chan error) {
	t.Helper()
	stderr := benchkit.NewListenLog()
	done = make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), stderr) }()
	select {
	case url = <-stderr.URL:
	case err := <-done:
		t.Fatalf("run returned before listening: %v", err)
	}
	return url, done
}

func TestCeilingStreamsEveryTickInTickerdsFormat(t *testing.T) {
	const seed, rate, events = 7, 2000, 300
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url, done := start(t, ctx, "-rate", strconv.Itoa(rate), "-seed", strconv.Itoa(seed), "-first-seq", "1")

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream; charset=utf-8" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
	}
	sim, err := feed.NewSimulator(feed.SimulatorConfig{Symbols: feed.DefaultUniverse(), Rate: rate, Seed: seed, FirstSeq: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := ssetest.NewReader(resp.Body)
	var want feed.Tick
	for i := 0; i < events; {
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("stream ended after %d events: %v", i, err)
		}
		if ev.Comment || (ev.Name == "" && ev.Data == "") {
			continue
		}
		if ev.Name != "tick" {
			t.Fatalf("event %d: type %q, want tick", i, ev.Name)
		}
		var got feed.Tick
		if err := json.Unmarshal([]byte(ev.Data), &got); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.ID != strconv.FormatUint(got.Seq, 10) {
			t.Fatalf("event %d: id %q, seq %d", i, ev.ID, got.Seq)
		}
		// Every tick, in order, from the first one after joining: the
		// same seed replays the same symbols and sizes.
		if i == 0 {
			for want = sim.Next(); want.Seq < got.Seq; want = sim.Next() {
			}
		} else {
			want = sim.Next()
		}
		if got.Seq != want.Seq || got.Symbol != want.Symbol || got.Size != want.Size {
			t.Fatalf("event %d: tick %d %s x%d, want %d %s x%d", i, got.Seq, got.Symbol, got.Size, want.Seq, want.Symbol, want.Size)
		}
		i++
	}
	// Shutdown closes the stream and does not wait for the client.
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	for {
		if _, err := r.Next(); err != nil {
			break
		}
	}
}

func TestCeilingRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-rate", "0"}, {"-flush-interval", "0"}, {"-backlog", "0"}, {"extra"}, {"-addr", "127.0.0.1:-1"},
	} {
		if err := run(context.Background(), args, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}
