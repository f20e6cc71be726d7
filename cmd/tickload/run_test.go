package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// logWatch is a stderr for run that closes seen once the log contains want.
type logWatch struct {
	want string
	seen chan struct{}

	mu   sync.Mutex
	buf  bytes.Buffer
	done bool
}

func newLogWatch(want string) *logWatch {
	return &logWatch{want: want, seen: make(chan struct{})}
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && strings.Contains(w.buf.String(), w.want) {
		w.done = true
		close(w.seen)
	}
	return len(p), nil
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// writeTicks writes tick events first..last, timestamped now, alternating
// tickerd's and r3labs/sse's field order, with a comment and a non-tick
// event now and then, flushing every few events so that reads hold several.
func writeTicks(w http.ResponseWriter, first, last int) {
	f := w.(http.Flusher)
	for id := first; id <= last; id++ {
		data := fmt.Sprintf(`{"seq":%d,"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":%d}`, id, time.Now().UnixNano())
		if id%2 == 0 {
			fmt.Fprintf(w, "id: %d\nevent: tick\ndata: %s\n\n", id, data)
		} else {
			fmt.Fprintf(w, "id: %d\ndata: %s\nevent: tick\n\n", id, data)
		}
		switch id % 50 {
		case 0:
			fmt.Fprint(w, ": heartbeat\n\n")
		case 25:
			fmt.Fprintf(w, "event: conflated\ndata: {\"seq\":%d,\"sym\":\"MSFT\"}\n\n", id)
		}
		if id%7 == 0 {
			f.Flush()
		}
	}
	f.Flush()
}

func startStream(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	w.(http.Flusher).Flush()
}

// runLoad runs tickload with args and returns its report, parsed from the
// JSON line that ends stdout, and the whole of stdout.
func runLoad(t *testing.T, stderr *logWatch, args ...string) (report, string) {
	t.Helper()
	var stdout bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, args, &stdout, stderr); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr)
	}
	out := stdout.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "{") {
		t.Fatalf("last line of stdout %q is not JSON", last)
	}
	var r report
	if err := json.Unmarshal([]byte(last), &r); err != nil {
		t.Fatalf("JSON line: %v\n%s", err, last)
	}
	return r, out
}

func TestRunCountsEveryTick(t *testing.T) {
	const clients, ticks, sampled = 20, 1000, 5
	stderr := newLogWatch("tickload: measuring for")
	var (
		mu          sync.Mutex
		lastEventID []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		lastEventID = append(lastEventID, r.Header.Get("Last-Event-ID"))
		mu.Unlock()
		startStream(w)
		select { // hold the ticks until the measured window has begun
		case <-stderr.seen:
		case <-r.Context().Done():
			return
		}
		writeTicks(w, 1, ticks)
		<-r.Context().Done()
	}))
	defer srv.Close()

	r, out := runLoad(t, stderr, "-url", srv.URL+"/events", "-clients", strconv.Itoa(clients),
		"-sample", strconv.Itoa(sampled), "-ramp", "100ms", "-warmup", "0s", "-duration", "3s", "-pid", strconv.Itoa(os.Getpid()))

	if r.Ticks != clients*ticks || r.TicksRun != clients*ticks {
		t.Errorf("delivered %d in the window and %d in the run, want %d", r.Ticks, r.TicksRun, clients*ticks)
	}
	if want := float64(ticks) / r.WindowSeconds; r.MinClientPerSecond < want*0.999 || r.MinClientPerSecond > want*1.001 {
		t.Errorf("slowest client %.2f ticks/s, want %.2f", r.MinClientPerSecond, want)
	}
	if r.Latency.Count != sampled*ticks || r.Latency.Negative != 0 {
		t.Errorf("latency samples %d (%d negative), want %d (0 negative)", r.Latency.Count, r.Latency.Negative, sampled*ticks)
	}
	if !(0 <= r.Latency.P50 && r.Latency.P50 <= r.Latency.P90 && r.Latency.P90 <= r.Latency.P99 &&
		r.Latency.P99 <= r.Latency.Max && r.Latency.Max < 3000) {
		t.Errorf("latency quantiles out of order or range: %+v", r.Latency)
	}
	if r.Clients != clients || r.Sampled != sampled || r.ConnectedAtStart != clients || r.ConnectedAtEnd != clients {
		t.Errorf("clients %d sampled %d connected %d..%d, want %d %d %d..%d",
			r.Clients, r.Sampled, r.ConnectedAtStart, r.ConnectedAtEnd, clients, sampled, clients, clients)
	}
	if r.ConnectFailures != 0 || r.Disconnects != 0 || r.Reconnects != 0 {
		t.Errorf("failures %d, disconnects %d, reconnects %d; want none (last error %q)",
			r.ConnectFailures, r.Disconnects, r.Reconnects, r.LastError)
	}
	// In the window the clients only read ticks: about 150 bytes each of
	// the test's events, with chunked framing.
	if r.Requests != 0 || r.BytesOut != 0 || r.BytesPerTick < 120 || r.BytesPerTick > 200 {
		t.Errorf("%d requests, %d bytes out, %.1f bytes per tick in the window; want 0, 0, 120 to 200", r.Requests, r.BytesOut, r.BytesPerTick)
	}
	if r.WindowSeconds < 3 || r.WindowSeconds > 3.5 {
		t.Errorf("window %.3fs, want 3s", r.WindowSeconds)
	}
	if r.Server == nil || r.Server.RSSBytes <= 0 || r.Server.CPUPercent < 0 {
		t.Errorf("server figures %+v, want RSS and CPU of the test process", r.Server)
	}
	for _, want := range []string{"delivered", fmt.Sprintf("%d tick events", clients*ticks), "slowest client", "latency", "p99"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lastEventID) != clients {
		t.Errorf("%d requests, want %d", len(lastEventID), clients)
	}
	for _, id := range lastEventID {
		if id != "" {
			t.Errorf("first connection sent Last-Event-ID %q", id)
		}
	}
}

func TestRunReconnectsWithLastEventID(t *testing.T) {
	const clients, ticks, cut = 2, 1000, 500
	stderr := newLogWatch("tickload: measuring for")
	var (
		mu      sync.Mutex
		resumed []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		if id := r.Header.Get("Last-Event-ID"); id != "" {
			mu.Lock()
			resumed = append(resumed, id)
			mu.Unlock()
			from, err := strconv.Atoi(id)
			if err != nil {
				http.Error(w, "bad Last-Event-ID", http.StatusBadRequest)
				return
			}
			writeTicks(w, from+1, ticks)
			<-r.Context().Done()
			return
		}
		select {
		case <-stderr.seen:
		case <-r.Context().Done():
			return
		}
		// Send events up to cut, then half of the next one, and drop the
		// connection without ending the chunked body.
		writeTicks(w, 1, cut)
		fmt.Fprintf(w, "id: %d\nevent: tick\ndata: {\"seq\":%d", cut+1, cut+1)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}))
	defer srv.Close()

	r, _ := runLoad(t, stderr, "-url", srv.URL+"/events", "-clients", strconv.Itoa(clients), "-sample", "1",
		"-ramp", "0s", "-warmup", "0s", "-duration", "3s", "-backoff", "10ms", "-json")

	if r.Ticks != clients*ticks || r.TicksRun != clients*ticks {
		t.Errorf("delivered %d in the window and %d in the run, want %d", r.Ticks, r.TicksRun, clients*ticks)
	}
	if r.Disconnects != clients || r.Reconnects != clients || r.ConnectFailures != 0 {
		t.Errorf("disconnects %d, reconnects %d, failures %d; want %d, %d, 0 (last error %q)",
			r.Disconnects, r.Reconnects, r.ConnectFailures, clients, clients, r.LastError)
	}
	if r.Latency.Count != ticks {
		t.Errorf("latency samples %d, want %d from the one sampled client", r.Latency.Count, ticks)
	}
	if r.Requests != clients || r.BytesOut == 0 {
		t.Errorf("%d requests, %d bytes out in the window; want the %d reconnecting ones", r.Requests, r.BytesOut, clients)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(resumed) != clients {
		t.Fatalf("%d resumed connections, want %d", len(resumed), clients)
	}
	for _, id := range resumed {
		if id != strconv.Itoa(cut) {
			t.Errorf("reconnected with Last-Event-ID %q, want %d", id, cut)
		}
	}
}

func TestRunCountsFailedConnections(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "0")
		http.Error(w, "over capacity", http.StatusServiceUnavailable)
	}))
	defer srv.Close()

	r, _ := runLoad(t, newLogWatch("-"), "-url", srv.URL+"/events", "-clients", "3",
		"-ramp", "0s", "-warmup", "0s", "-duration", "100ms", "-backoff", "10ms", "-json")
	if r.ConnectFailures < 3 || r.ConnectedAtStart != 0 || r.Ticks != 0 || r.Reconnects != 0 {
		t.Errorf("failures %d, connected %d, ticks %d, reconnects %d; want ≥3, 0, 0, 0",
			r.ConnectFailures, r.ConnectedAtStart, r.Ticks, r.Reconnects)
	}
	if !strings.Contains(r.LastError, "HTTP 503") {
		t.Errorf("last error %q, want HTTP 503", r.LastError)
	}
}

func TestRunStalledClientsDoNotRead(t *testing.T) {
	const clients, stalled, ticks = 4, 2, 200
	stderr := newLogWatch("tickload: measuring for")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		select {
		case <-stderr.seen:
		case <-r.Context().Done():
			return
		}
		writeTicks(w, 1, ticks)
		<-r.Context().Done()
	}))
	defer srv.Close()

	r, _ := runLoad(t, stderr, "-url", srv.URL+"/events", "-clients", strconv.Itoa(clients), "-stall", "0.5",
		"-stall-rcvbuf", "4096", "-ramp", "0s", "-warmup", "0s", "-duration", "1s", "-json")
	if r.Stalled != stalled || r.Ticks != (clients-stalled)*ticks || r.ConnectedAtEnd != clients {
		t.Errorf("stalled %d, ticks %d, connected %d; want %d, %d, %d",
			r.Stalled, r.Ticks, r.ConnectedAtEnd, stalled, (clients-stalled)*ticks, clients)
	}
	if want := float64(ticks) / r.WindowSeconds; r.MinClientPerSecond < want*0.999 {
		t.Errorf("slowest reading client %.2f ticks/s, want %.2f (stalled clients excluded)", r.MinClientPerSecond, want)
	}
}

func TestRunMeasuresOfferedTicksFromTheIDSpan(t *testing.T) {
	const clients = 10
	stderr := newLogWatch("tickload: measuring for")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		writeTicks(w, 1, 100) // before the window
		select {
		case <-stderr.seen:
		case <-r.Context().Done():
			return
		}
		// In the window: 101..1099, missing every tenth id.
		for id := 101; id <= 1099; id++ {
			if id%10 != 0 {
				writeTicks(w, id, id)
			}
		}
		<-r.Context().Done()
	}))
	defer srv.Close()
	r, out := runLoad(t, stderr, "-url", srv.URL+"/events", "-clients", strconv.Itoa(clients),
		"-sample", "100%", "-ramp", "100ms", "-warmup", "500ms", "-duration", "2s")
	if want := 999 / r.WindowSeconds; math.Abs(r.OfferedPerSecond-want) > 0.01*want {
		t.Errorf("offered %.2f ticks/s per client, want %.2f (999 ids over %.3fs)", r.OfferedPerSecond, want, r.WindowSeconds)
	}
	if want := 900.0 / 999; math.Abs(r.SampledComplete-want) > 1e-4 {
		t.Errorf("sampled clients complete %.5f, want %.5f", r.SampledComplete, want)
	}
	if !strings.Contains(out, "offered") {
		t.Errorf("the table does not show the offered rate:\n%s", out)
	}
}

func TestRunDialsFromEachSourceAddressInTurn(t *testing.T) {
	const clients, sources = 9, 3
	stderr := newLogWatch("tickload: measuring for")
	var (
		mu   sync.Mutex
		from = map[string]int{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		from[host]++
		mu.Unlock()
		startStream(w)
		<-r.Context().Done()
	}))
	defer srv.Close()

	r, _ := runLoad(t, stderr, "-url", srv.URL+"/events", "-clients", strconv.Itoa(clients), "-sources", strconv.Itoa(sources),
		"-ramp", "0s", "-warmup", "1s", "-duration", "100ms")
	if r.ConnectedAtStart != clients || r.Sources != sources || r.ConnectFailures != 0 {
		t.Errorf("%d connected from %d sources, %d failures (last error %q); want %d from %d, none",
			r.ConnectedAtStart, r.Sources, r.ConnectFailures, r.LastError, clients, sources)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"127.0.0.2": 3, "127.0.0.3": 3, "127.0.0.4": 3}
	if !maps.Equal(from, want) {
		t.Errorf("streams by source address %v, want %v", from, want)
	}
}
