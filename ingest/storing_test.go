package ingest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

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
	called chan struct{} // one value a call of Stored, when not nil
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
	if e.called != nil {
		e.called <- struct{}{}
	}
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

// TestAPublisherThatLeavesWhileItsTicksAreStoredIsCountedAsGone cancels a
// request while its ticks are being stored: it is counted as gone, not as
// the server being unavailable, and what it is answered says so.
func TestAPublisherThatLeavesWhileItsTicksAreStoredIsCountedAsGone(t *testing.T) {
	eng := &storingEngine{stored: make(chan error), called: make(chan struct{}, 1)}
	f := newFixture(t, func(c *ingest.Config) { c.Engine = eng })
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, "POST", "/api/publish", strings.NewReader(line("AAPL", 100, 99.99, 100.01, 1)))
	req.Header.Set("Content-Type", ingest.ContentType)
	req.Header.Set("Authorization", "Bearer "+string(testKey))
	w := httptest.NewRecorder()
	var served sync.WaitGroup
	served.Go(func() { f.h.ServeHTTP(w, req) })
	<-eng.called
	cancel()
	served.Wait()
	if w.Code != 503 || !strings.Contains(w.Body.String(), "context canceled; the 1 accepted lines may not be stored") {
		t.Errorf("a publisher that had gone was answered %d %s", w.Code, w.Body)
	}
	for result, want := range map[string]float64{"gone": 1, "unavailable": 0, "ok": 0} {
		if got := testutil.ToFloat64(gathered{f.reg, "tickerd_publish_requests_total", "result", result}); got != want {
			t.Errorf("requests{%s} = %v, want %v", result, got, want)
		}
	}
}

// TestARequestWaitsForTheStorePastTheIdleTimeout holds the store longer
// than the body's idle timeout, over a real connection: the request still
// gets its 200 (the idle deadline is the body's, not the wait's).
func TestARequestWaitsForTheStorePastTheIdleTimeout(t *testing.T) {
	const idle = time.Second
	eng := &storingEngine{stored: make(chan error), called: make(chan struct{}, 1)}
	f := newFixture(t, func(c *ingest.Config) { c.Engine = eng; c.IdleTimeout = idle })
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	answered := make(chan *http.Response, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(line("AAPL", 100, 99.99, 100.01, 1)))
		req.Header.Set("Content-Type", ingest.ContentType)
		req.Header.Set("Authorization", "Bearer "+string(testKey))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			close(answered)
			return
		}
		resp.Body.Close()
		answered <- resp
	})
	<-eng.called
	// The bus is out for twice the idle timeout.
	outage := time.NewTimer(2 * idle)
	defer outage.Stop()
	select {
	case <-outage.C:
		eng.stored <- nil
	case resp := <-answered:
		t.Fatalf("answered before its ticks were stored: %v", resp)
	}
	if resp := <-answered; resp == nil || resp.StatusCode != 200 {
		t.Fatalf("after an outage of %v: %v; want 200", 2*idle, resp)
	}
}
