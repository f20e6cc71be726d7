package ingest_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/ingest"
)

// storingEngine hands ticks on to a store it is told about: each call of
// Stored takes what the test sends on stored, and records how many ticks
// Publish had taken when it was called.
type storingEngine struct {
	mu     sync.Mutex
	taken  int
	asked  []int // ticks taken at each call of Stored
	stored chan error
}

func (e *storingEngine) Publish(t feed.Tick) error {
	if t.Symbol != "AAPL" {
		return feed.ErrMalformed
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.taken++
	return nil
}

func (e *storingEngine) Stored(ctx context.Context) error {
	e.mu.Lock()
	e.asked = append(e.asked, e.taken)
	e.mu.Unlock()
	select {
	case err := <-e.stored:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestARequestIsAnsweredOnceItsTicksAreStored publishes through an engine
// that stores its ticks elsewhere: the answer waits for the store, after
// the whole body; a body with no accepted line does not; and an engine
// that stops first gets 503, with what was accepted.
func TestARequestIsAnsweredOnceItsTicksAreStored(t *testing.T) {
	eng := &storingEngine{stored: make(chan error)}
	f := newFixture(t, func(c *ingest.Config) { c.Engine = eng })
	body := strings.Join([]string{line("AAPL", 100, 99.99, 100.01, 1), line("MSFT", 1, 0.99, 1.01, 1), line("AAPL", 100.01, 100, 100.02, 2)}, "\n")

	answered := make(chan []byte)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		resp, raw := f.post(t, body)
		if resp.StatusCode != 200 {
			t.Errorf("status %d: %s", resp.StatusCode, raw)
		}
		answered <- raw
	})
	// The answer waits for the store: nothing is answered until the test
	// lets Stored return.
	var raw []byte
	select {
	case eng.stored <- nil:
		raw = <-answered
	case raw = <-answered:
		t.Fatalf("answered before its ticks were stored: %s", raw)
	}
	var res ingest.Result
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 2 || len(res.Rejected) != 1 {
		t.Errorf("answer %+v; want 2 accepted, 1 rejected", res)
	}
	if len(eng.asked) != 1 || eng.asked[0] != 2 {
		t.Errorf("Stored was called with %v ticks taken; want once, after both", eng.asked)
	}

	// Nothing accepted: nothing to wait for.
	if resp, raw := f.post(t, line("MSFT", 1, 0.99, 1.01, 1)); resp.StatusCode != 200 || len(eng.asked) != 1 {
		t.Errorf("a body of rejected lines: %d %s, Stored called %d times", resp.StatusCode, raw, len(eng.asked))
	}

	// The engine stops before the ticks are stored.
	wg.Go(func() {
		resp, raw := f.post(t, line("AAPL", 100.02, 100.01, 100.03, 1))
		if resp.StatusCode != 503 || !strings.Contains(string(raw), `"accepted":1`) ||
			!strings.Contains(string(raw), "the server is stopping; the 1 accepted lines may not be stored") {
			t.Errorf("a request whose engine stopped before storing: %d %s", resp.StatusCode, raw)
		}
		answered <- raw
	})
	select {
	case eng.stored <- ingest.ErrStopped:
		<-answered
	case raw := <-answered:
		t.Fatalf("answered before its ticks were stored: %s", raw)
	}
	if got := testutil.ToFloat64(gathered{f.reg, "tickerd_publish_requests_total", "result", "unavailable"}); got != 1 {
		t.Errorf("requests{unavailable} = %v, want 1", got)
	}
}
