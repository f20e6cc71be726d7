package main

import (
	"github.com/tickerd/tickerd/bench/internal/benchkit"
	"github.com/tickerd/tickerd/internal/ssetest"

	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tickerd/tickerd/feed"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// readEvent returns the next event of the stream, skipping comments and
// retry hints.
func readEvent(t *testing.T, r *ssetest.Reader) ssetest.Event {
	t.Helper()
	for {
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		if !ev.Comment && (ev.Name != "" || ev.Data != "") {
			return ev
		}
	}
}

func TestBaselineStreamsSimulatorTicks(t *testing.T) {
	const seed, rate, events = 7, 1000, 50
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stderr := benchkit.NewListenLog()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-rate", strconv.Itoa(rate), "-seed", strconv.Itoa(seed)}, nil, stderr)
	}()
	var url string
	select {
	case url = <-stderr.URL:
	case err := <-done:
		t.Fatalf("run returned before listening: %v", err)
	}
	if !strings.HasSuffix(url, "/events?stream=ticks") {
		t.Fatalf("logged URL %q, want .../events?stream=ticks", url)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
	}

	// The ticks must be the simulator's, in order: the same seed replays
	// the same symbols and sizes.
	sim, err := feed.NewSimulator(feed.SimulatorConfig{Symbols: feed.DefaultUniverse(), Rate: rate, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	sc := ssetest.NewReader(resp.Body)
	var want feed.Tick
	for i := range events {
		ev := readEvent(t, sc)
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
		if i == 0 {
			for want = sim.Next(); want.Seq < got.Seq; want = sim.Next() {
			}
		} else {
			want = sim.Next()
		}
		if got.Seq != want.Seq || got.Symbol != want.Symbol || got.Size != want.Size {
			t.Fatalf("event %d: tick %d %s x%d, want %d %s x%d", i, got.Seq, got.Symbol, got.Size, want.Seq, want.Symbol, want.Size)
		}
		if !(got.Bid > 0 && got.Bid < got.Ask) || time.Since(got.Time) > time.Minute || time.Until(got.Time) > time.Second {
			t.Fatalf("event %d: implausible tick %+v", i, got)
		}
	}

	// Shutdown must not wait for the connected client to leave.
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestBaselineRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-rate", "0"},
		{"-rate", "-5"},
		{"extra"},
		{"-addr", "127.0.0.1:-1"},
	} {
		if err := run(context.Background(), args, nil, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}
