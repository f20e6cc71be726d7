package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawGet sends GET path on a connection of its own, as from (an
// X-Forwarded-For the server trusts), and returns the answer's head; the
// connection stays open (a stream goes on) until the test ends.
func rawGet(t *testing.T, host, path, from string) (*http.Response, net.Conn) {
	t.Helper()
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: tickerd\r\nX-Forwarded-For: %s\r\n\r\n", path, from); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp, conn
}

// TestEndToEndConnectionRatePerAddress opens streams in a tight loop from
// one address behind a trusted proxy: the burst gets in, the rest are
// answered 429 with Retry-After, another address is let in, polls are
// not limited, and /metrics counts the refusals.
func TestEndToEndConnectionRatePerAddress(t *testing.T) {
	td := startTickerd(t, "-stream-rate-per-addr", "0.1", "-stream-burst-per-addr", "2", "-trust-proxies", "127.0.0.1")
	host := strings.TrimPrefix(td.URL, "http://")
	var statuses []int
	for range 6 {
		resp, _ := rawGet(t, host, "/events", "192.0.2.1")
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests {
			body, _ := io.ReadAll(resp.Body)
			if ra := resp.Header.Get("Retry-After"); ra != "10" || !strings.Contains(string(body), "too many new streams from your address") {
				t.Fatalf("429: Retry-After %q, body %s; want 10 (one token every 10s) and the reason", ra, body)
			}
		}
	}
	if fmt.Sprint(statuses) != "[200 200 429 429 429 429]" {
		t.Fatalf("tight loop from one address: %v, want the burst of 2 in and the rest 429", statuses)
	}
	if resp, _ := rawGet(t, host, "/events", "192.0.2.2"); resp.StatusCode != http.StatusOK {
		t.Fatalf("another address: %d", resp.StatusCode)
	}
	for range 3 {
		if resp, _ := rawGet(t, host, "/api/ticks", "192.0.2.1"); resp.StatusCode != http.StatusOK {
			t.Fatalf("a poll from the limited address: %d; polls pass no bucket", resp.StatusCode)
		}
	}
	metrics := get(t, td.URL+"/metrics")
	if want := `tickerd_streams_rejected_total{reason="over_client_rate",transport="sse"} 4`; !strings.Contains(metrics, want) {
		t.Errorf("metrics lack %s:\n%s", want, grep(metrics, "tickerd_streams_rejected"))
	}
}

// TestEndToEndDrainFailsReadinessFirstThenClosesStreamsOverTheWindow
// stops tickerd with three streams open and -drain-window 3s: /readyz says
// draining before any stream ends, /healthz and /metrics still answer and
// a new stream is refused with 503 meanwhile, the streams end one by one,
// getting ticks until then, and run returns once the last has.
func TestEndToEndDrainFailsReadinessFirstThenClosesStreamsOverTheWindow(t *testing.T) {
	const window = 3 * time.Second
	td := startTickerd(t, "-drain-window", window.String(), "-rate", "200")
	host := strings.TrimPrefix(td.URL, "http://")
	const n = 3
	var streams []*rawStream
	for range n {
		s := openRaw(t, td.URL+"/events", "")
		s.ticks(t, 2)
		streams = append(streams, s)
	}
	var (
		mu             sync.Mutex
		ended          []time.Time
		ticksAfterStop []int
		stopping       atomic.Bool
		wg             sync.WaitGroup
	)
	for _, s := range streams {
		wg.Go(func() {
			count := 0
			for {
				ev, err := s.next()
				if err != nil {
					break
				}
				if stopping.Load() && ev.name == "tick" {
					count++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			ended = append(ended, time.Now())
			ticksAfterStop = append(ticksAfterStop, count)
		})
	}
	stopped := make(chan error, 1)
	start := time.Now()
	stopping.Store(true)
	go func() { stopped <- td.Stop() }()

	eventually(t, "/readyz to say draining", 2*time.Second, func() (bool, string) {
		status, body := readiness(t, td.URL)
		return status == http.StatusServiceUnavailable && body.Status == "draining", fmt.Sprint(status, body)
	})
	mu.Lock()
	early := len(ended)
	mu.Unlock()
	if early != 0 {
		t.Fatalf("%d streams ended before /readyz said draining", early)
	}
	if body := get(t, td.URL+"/healthz"); !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz while draining: %s", body)
	}
	if !strings.Contains(get(t, td.URL+"/metrics"), "tickerd_streams_limit") {
		t.Fatal("/metrics while draining lacks tickerd_streams_limit")
	}
	if resp, _ := rawGet(t, host, "/events", "127.0.0.1"); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a new stream while draining: %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(ended) != n {
		t.Fatalf("%d of %d streams ended", len(ended), n)
	}
	slices.SortFunc(ended, time.Time.Compare)
	first, last := ended[0], ended[n-1]
	if first.Sub(start) < 500*time.Millisecond || last.Sub(first) < time.Second {
		t.Errorf("streams ended %v to %v after the stop; want them spread over the %v window, not at once", first.Sub(start), last.Sub(start), window)
	}
	// The last stream is closed at the end of the window; the tolerance
	// is for its last bytes and its client's read on a busy machine.
	if tolerance := time.Second; last.Sub(start) > window+tolerance {
		t.Errorf("the last stream ended %v after the stop; want every stream closed by the end of the %v window (within %v)", last.Sub(start), window, tolerance)
	}
	for i, c := range ticksAfterStop {
		if c == 0 {
			t.Errorf("stream %d got no tick during the drain", i)
		}
	}
	if !strings.Contains(td.Log.String(), "draining") {
		t.Errorf("the log does not say it drains:\n%s", td.Log)
	}
}
