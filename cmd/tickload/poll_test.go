package main

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pollRequest is what one poll asked for.
type pollRequest struct {
	addr     string // the client's end of the connection
	since    string // "" when absent
	wait     string
	inWindow bool
}

// tickLog is a poll endpoint over ticks the test publishes: it answers a
// poll without since with a snapshot of many quotes, and one with since
// with every tick after it, waiting up to wait for the first.
type tickLog struct {
	window <-chan struct{} // closed when the measured window begins

	mu       sync.Mutex
	base     uint64   // seq of the tick before the first
	ticks    []string // tick i has seq base+1+i
	changed  chan struct{}
	answered map[uint64]bool // seqs answers gave
	requests []pollRequest
	cutAt    int // with cutAt > 0, the cutAt-th poll of a client's first connection is cut short
	polls    map[string]int
	fresh    map[string]bool // connections whose first poll had no since
}

func newTickLog(window <-chan struct{}) *tickLog {
	return &tickLog{window: window, base: 1_000_000, changed: make(chan struct{}), answered: map[uint64]bool{}, polls: map[string]int{}, fresh: map[string]bool{}}
}

// publish adds n ticks stamped now.
func (l *tickLog) publish(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for range n {
		seq := l.base + uint64(len(l.ticks)) + 1
		l.ticks = append(l.ticks, fmt.Sprintf(`{"type":"tick","seq":%d,"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":%d}`, seq, time.Now().UnixNano()))
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *tickLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := pollRequest{addr: r.RemoteAddr, since: q.Get("since"), wait: q.Get("wait")}
	select {
	case <-l.window:
		req.inWindow = true
	default:
	}
	wait, err := time.ParseDuration(req.wait)
	if err != nil {
		http.Error(w, "bad wait", http.StatusBadRequest)
		return
	}
	l.mu.Lock()
	l.requests = append(l.requests, req)
	l.polls[r.RemoteAddr]++
	if l.polls[r.RemoteAddr] == 1 && req.since == "" {
		l.fresh[r.RemoteAddr] = true
	}
	cut := l.cutAt > 0 && l.polls[r.RemoteAddr] == l.cutAt && l.fresh[r.RemoteAddr]
	latest := l.base + uint64(len(l.ticks))
	l.mu.Unlock()
	if req.since == "" {
		l.answer(w, snapshotAnswer(latest, 300).body, nil)
		return
	}
	since, err := strconv.ParseUint(req.since, 10, 64)
	if err != nil {
		http.Error(w, "bad since", http.StatusBadRequest)
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		l.mu.Lock()
		latest, changed := l.base+uint64(len(l.ticks)), l.changed
		events := l.ticks[min(max(since, l.base)-l.base, uint64(len(l.ticks))):]
		l.mu.Unlock()
		if len(events) > 0 || wait == 0 {
			body := `{"events":[` + strings.Join(events, ",") + `],"seq":` + strconv.FormatUint(latest, 10) + "}\n"
			if cut {
				l.answer(w, body[:len(body)/2], http.ErrAbortHandler)
			}
			l.answer(w, body, nil)
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			wait = 0
		case <-r.Context().Done():
			return
		}
	}
}

// answer writes body as JSON (chunked when it is long, as net/http
// does), then panics with abort, if not nil, to cut the connection.
func (l *tickLog) answer(w http.ResponseWriter, body string, abort error) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if abort == nil {
		if i := strings.LastIndex(body, `"seq":`); i >= 0 {
			seq, _ := strconv.ParseUint(strings.TrimRight(body[i+len(`"seq":`):], "}\n"), 10, 64)
			l.mu.Lock()
			l.answered[seq] = true
			l.mu.Unlock()
		}
	}
	w.Write([]byte(body))
	if abort != nil {
		w.(http.Flusher).Flush()
		panic(abort)
	}
}

// check reports polls whose since was no answer's seq, and the waits the
// polls asked for in the window, by value.
func (l *tickLog) check(t *testing.T) (waits map[string]int, inWindow int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	waits = map[string]int{}
	firsts := map[string]bool{}
	for _, r := range l.requests {
		if r.since == "" {
			if firsts[r.addr] {
				t.Errorf("a second poll without since on %s", r.addr)
			}
			firsts[r.addr] = true
		} else if s, _ := strconv.ParseUint(r.since, 10, 64); !l.answered[s] {
			t.Errorf("poll with since=%s, which no answer gave", r.since)
		}
		if r.inWindow {
			waits[r.wait]++
			inWindow++
		}
	}
	return waits, inWindow
}

func TestRunLongPollingGetsEveryTick(t *testing.T) {
	const clients, sampled, batches, batch = 10, 3, 40, 25
	stderr := newLogWatch("tickload: measuring for")
	l := newTickLog(stderr.seen)
	srv := httptest.NewServer(l)
	defer srv.Close()
	var feed sync.WaitGroup
	feed.Go(func() { // the feed: a batch every 2ms once the window has begun
		<-stderr.seen
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for range batches {
			<-tick.C
			l.publish(batch)
		}
	})

	r, out := runLoad(t, stderr, "-transport", "poll", "-poll-wait", "5s", "-url", srv.URL+"/api/ticks", "-clients", strconv.Itoa(clients),
		"-sample", strconv.Itoa(sampled), "-bufsize", "4096", "-ramp", "100ms", "-warmup", "500ms", "-duration", "2s")
	feed.Wait()

	const total = batches * batch
	if r.Ticks != clients*total || r.TicksRun != clients*total {
		t.Errorf("delivered %d in the window and %d in the run, want %d", r.Ticks, r.TicksRun, clients*total)
	}
	if r.Latency.Count != sampled*total || r.Latency.Negative != 0 || r.Latency.Max > 2000 {
		t.Errorf("latency %+v, want %d samples, none negative, under 2s", r.Latency, sampled*total)
	}
	if want := total / r.WindowSeconds; r.SampledComplete != 1 || r.OfferedPerSecond < want*0.999 || r.OfferedPerSecond > want*1.001 {
		t.Errorf("sampled clients got %.5f of %.2f ticks/s; want all of %.2f", r.SampledComplete, r.OfferedPerSecond, want)
	}
	waits, inWindow := l.check(t)
	if r.Requests != uint64(inWindow) || waits["5s"] != inWindow || inWindow < clients {
		t.Errorf("tickload counted %d polls in the window, the server %d, %v by wait; want the same, all wait=5s, at least one a client",
			r.Requests, inWindow, waits)
	}
	if r.ConnectFailures != 0 || r.Disconnects != 0 || r.ConnectedAtEnd != clients {
		t.Errorf("failures %d, disconnects %d, connected %d; want 0, 0, %d (last error %q)", r.ConnectFailures, r.Disconnects, r.ConnectedAtEnd, clients, r.LastError)
	}
	if r.BytesIn == 0 || r.BytesOut == 0 || r.BytesPerTick <= 0 {
		t.Errorf("bytes in %d, out %d, per tick %.1f; want them counted", r.BytesIn, r.BytesOut, r.BytesPerTick)
	}
	if !strings.Contains(out, "(long polling, wait=5s, firehose)") || !strings.Contains(out, "requests") {
		t.Errorf("the table does not say how the clients polled:\n%s", out)
	}
}

func TestRunPlainPollingPollsEveryInterval(t *testing.T) {
	const clients, ticks = 10, 1000
	stderr := newLogWatch("tickload: measuring for")
	l := newTickLog(stderr.seen)
	srv := httptest.NewServer(l)
	defer srv.Close()
	var feed sync.WaitGroup
	feed.Go(func() {
		<-stderr.seen
		l.publish(ticks)
	})

	r, _ := runLoad(t, stderr, "-transport", "poll", "-poll-interval", "100ms", "-url", srv.URL+"/api/ticks", "-clients", strconv.Itoa(clients),
		"-sample", "100%", "-ramp", "100ms", "-warmup", "200ms", "-duration", "2s", "-json")
	feed.Wait()

	if r.Ticks != clients*ticks || r.Latency.Count != clients*ticks {
		t.Errorf("delivered %d, %d latency samples; want %d", r.Ticks, r.Latency.Count, clients*ticks)
	}
	// The server sees the window begin a little after tickload does (when
	// it logs that it measures), so a poll each may fall in between.
	waits, inWindow := l.check(t)
	if waits["0"] != inWindow || math.Abs(float64(r.Requests)-float64(inWindow)) > clients {
		t.Errorf("polls in the window by wait %v, tickload counted %d; want all %d with wait=0, give or take one a client", waits, r.Requests, inWindow)
	}
	// One poll per client every 100ms: never more, and on a loaded machine
	// not far fewer.
	if most := float64(clients) * (r.WindowSeconds/0.1 + 1); float64(r.Requests) > most || float64(r.Requests) < most/2 {
		t.Errorf("%d polls in %.2fs, want at most %.0f and not under half that", r.Requests, r.WindowSeconds, most)
	}
	if r.PollInterval != 0.1 || r.Transport != "poll" {
		t.Errorf("report says transport %q, interval %vs", r.Transport, r.PollInterval)
	}
}

func TestRunPollResumesAfterADisconnect(t *testing.T) {
	const clients, batches, batch = 4, 20, 30
	stderr := newLogWatch("tickload: measuring for")
	l := newTickLog(stderr.seen)
	l.cutAt = 4 // the snapshot, the held poll, one more, then this one is cut
	srv := httptest.NewServer(l)
	defer srv.Close()
	var feed sync.WaitGroup
	feed.Go(func() {
		<-stderr.seen
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for range batches {
			<-tick.C
			l.publish(batch)
		}
	})
	r, _ := runLoad(t, stderr, "-transport", "poll", "-poll-wait", "5s", "-url", srv.URL+"/api/ticks", "-clients", strconv.Itoa(clients),
		"-sample", "1", "-ramp", "0s", "-warmup", "200ms", "-duration", "2s", "-backoff", "10ms", "-json")
	feed.Wait()

	if r.Ticks != clients*batches*batch {
		t.Errorf("delivered %d, want %d: each tick once", r.Ticks, clients*batches*batch)
	}
	if r.Disconnects != clients || r.Reconnects != clients {
		t.Errorf("disconnects %d, reconnects %d; want %d each (last error %q)", r.Disconnects, r.Reconnects, clients, r.LastError)
	}
	l.check(t) // the resumed polls carry the last whole answer's seq
}

func TestRunPollRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "0")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":"too many streams from your address"}`))
	}))
	defer srv.Close()
	r, _ := runLoad(t, newLogWatch("-"), "-transport", "poll", "-poll-interval", "1s", "-url", srv.URL+"/api/ticks", "-clients", "3",
		"-ramp", "0s", "-warmup", "0s", "-duration", "100ms", "-backoff", "10ms", "-json")
	if r.ConnectFailures < 3 || r.ConnectedAtStart != 0 || r.Ticks != 0 || !strings.Contains(r.LastError, "HTTP 429") {
		t.Errorf("failures %d, connected %d, ticks %d, last error %q; want ≥3, 0, 0, HTTP 429", r.ConnectFailures, r.ConnectedAtStart, r.Ticks, r.LastError)
	}
}
