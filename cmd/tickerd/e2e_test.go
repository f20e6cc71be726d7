package main

import (
	"github.com/tickerd/tickerd/internal/contracttest"
	"github.com/tickerd/tickerd/internal/ssetest"

	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/r3labs/sse/v2"

	"github.com/tickerd/tickerd/feed"
)

// rawStream reads SSE events from a plain HTTP response.
type rawStream struct {
	resp   *http.Response
	events *ssetest.Reader
	// kept are the events to hold to the contract when the test ends
	// (validating them as they come would slow a reader that must keep
	// up with thousands of ticks a second): every event but ticks past
	// the first thousand. A nil kept checks nothing.
	kept *[]contracttest.Event
	seen int // ticks read
}

// newRawStream reads the events of resp, and holds them to the contract
// when t ends.
func newRawStream(t testing.TB, resp *http.Response) *rawStream {
	kept := new([]contracttest.Event)
	t.Cleanup(func() {
		for _, ev := range *kept {
			checkEvent(t, ev.Name, ev.ID, ev.Data)
		}
	})
	return &rawStream{resp: resp, events: ssetest.NewReader(resp.Body), kept: kept}
}

type rawEvent struct{ id, name, data string }

func openRaw(t *testing.T, url string, lastID string) *rawStream {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	checkAnswer(t, req, resp, nil)
	return newRawStream(t, resp)
}

// next returns the next event, skipping comments and retry hints.
func (s *rawStream) next() (rawEvent, error) {
	for {
		ev, err := s.events.Next()
		if err != nil {
			return rawEvent{}, err
		}
		if !ev.Comment && (ev.Name != "" || ev.Data != "") {
			if s.kept != nil && (ev.Name != "tick" || s.seen < 1000) {
				*s.kept = append(*s.kept, contracttest.Event{Name: ev.Name, ID: ev.ID, Data: ev.Data})
			}
			if ev.Name == "tick" {
				s.seen++
			}
			return rawEvent{id: ev.ID, name: ev.Name, data: ev.Data}, nil
		}
	}
}

// nextTick reads events until the next tick, failing on anything but
// snapshots and ticks.
func (s *rawStream) nextTick(t *testing.T) feed.Tick {
	t.Helper()
	for {
		ev, err := s.next()
		if err != nil {
			t.Fatal(err)
		}
		switch ev.name {
		case "snapshot":
		case "tick":
			var tk feed.Tick
			if err := json.Unmarshal([]byte(ev.data), &tk); err != nil {
				t.Fatal(err)
			}
			if ev.id != strconv.FormatUint(tk.Seq, 10) {
				t.Fatalf("event id %q for tick seq %d", ev.id, tk.Seq)
			}
			return tk
		default:
			t.Fatalf("unexpected event %+v", ev)
		}
	}
}

// ticks reads events until it has n ticks, failing on anything but
// snapshots and ticks.
func (s *rawStream) ticks(t *testing.T, n int) []feed.Tick {
	t.Helper()
	out := make([]feed.Tick, 0, n)
	for len(out) < n {
		out = append(out, s.nextTick(t))
	}
	return out
}

func checkTicks(t *testing.T, who string, ticks []feed.Tick, symbols ...string) {
	t.Helper()
	for i, tk := range ticks {
		if !slices.Contains(symbols, tk.Symbol) {
			t.Fatalf("%s got %s, subscribed to %v", who, tk.Symbol, symbols)
		}
		if i > 0 && tk.Seq <= ticks[i-1].Seq {
			t.Fatalf("%s: seq %d after %d", who, tk.Seq, ticks[i-1].Seq)
		}
	}
}

func TestEndToEndClientsGetExactlyTheirSymbols(t *testing.T) {
	td := startTickerd(t, "-rate", "2000")
	url := td.URL + "/events?symbols=AAPL,MSFT"

	raw := openRaw(t, url, "")
	ev, err := raw.next()
	if err != nil || ev.name != "snapshot" {
		t.Fatalf("first event %+v, %v; want snapshot", ev, err)
	}
	var snap struct {
		Quotes []feed.Quote `json:"quotes"`
	}
	if err := json.Unmarshal([]byte(ev.data), &snap); err != nil || len(snap.Quotes) != 2 {
		t.Fatalf("snapshot %s: %v", ev.data, err)
	}
	checkTicks(t, "raw reader", raw.ticks(t, 100), "AAPL", "MSFT")

	// The r3labs/sse client: an SSE implementation that is not ours.
	client := sse.NewClient(url)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan *sse.Event, 1000)
	go func() {
		_ = client.SubscribeRawWithContext(ctx, func(msg *sse.Event) {
			if string(msg.Event) == "tick" {
				select {
				case events <- msg:
				case <-ctx.Done():
				}
			}
		})
	}()
	var got []feed.Tick
	for len(got) < 100 {
		select {
		case msg := <-events:
			var tk feed.Tick
			if err := json.Unmarshal(msg.Data, &tk); err != nil {
				t.Fatal(err)
			}
			if string(msg.ID) != strconv.FormatUint(tk.Seq, 10) {
				t.Fatalf("r3labs client: id %s for seq %d", msg.ID, tk.Seq)
			}
			got = append(got, tk)
		case <-time.After(10 * time.Second):
			t.Fatalf("r3labs client got %d ticks in 10s", len(got))
		}
	}
	cancel()
	checkTicks(t, "r3labs client", got, "AAPL", "MSFT")
}

func TestEndToEndResumeHasNoGapAndNoDuplicate(t *testing.T) {
	td := startTickerd(t, "-rate", "1000")
	ref := openRaw(t, td.URL+"/events", "")
	sub := openRaw(t, td.URL+"/events?symbols=NVDA,TSLA,JPM", "")
	first := sub.ticks(t, 30)
	lastID := first[len(first)-1].Seq
	sub.resp.Body.Close()

	refTicks := ref.ticks(t, 3000) // about 3 s of the firehose
	resumed := openRaw(t, td.URL+"/events?symbols=NVDA,TSLA,JPM", strconv.FormatUint(lastID, 10))
	var want []uint64
	for _, tk := range refTicks {
		if tk.Seq > lastID && (tk.Symbol == "NVDA" || tk.Symbol == "TSLA" || tk.Symbol == "JPM") {
			want = append(want, tk.Seq)
		}
	}
	var gotSeqs []uint64
	for _, tk := range resumed.ticks(t, len(want)) {
		gotSeqs = append(gotSeqs, tk.Seq)
	}
	if !slices.Equal(gotSeqs, want) {
		t.Fatalf("resumed stream differs from the firehose reference:\n got %v\nwant %v", gotSeqs, want)
	}
}

// TestEndToEndNonReadingClientDoesNotDelayOthers runs streams whose clients
// never read, and one client that reads every tick: the reader gets every
// tick, none of them late, while the stuck streams fill up, are conflated
// and are closed as slow.
func TestEndToEndNonReadingClientDoesNotDelayOthers(t *testing.T) {
	const (
		rate         = 1000
		stuckStreams = 5
		writeTimeout = 4 * time.Second
		// maxLag is the oldest a tick may be when the reader gets it. The
		// hub waits for every writer at each flush, so a write that
		// blocked on a stuck socket would hold every stream back until the
		// write timeout: the reader would get ticks writeTimeout old.
		// Otherwise a tick waits for one flush interval (5 ms), the
		// reader's turn, and the scrapes of /metrics the reader makes
		// between ticks; on 2 cores under -race the oldest was under
		// 200 ms in every run, and 1.22 s and 1.6 s on machines loaded
		// six and more times over. Three quarters of the write timeout
		// leaves a GC pause or a busy machine room, and is still short of
		// a blocked writer.
		maxLag = writeTimeout * 3 / 4
	)
	// At 10 times the default rate, a send buffer of half a second of the
	// stream, as the README advises (130 B × rate / 2).
	td := startTickerd(t, "-rate", strconv.Itoa(rate), "-send-buffer", strconv.Itoa(130*rate/2), "-write-timeout", writeTimeout.String())
	host := strings.TrimPrefix(td.URL, "http://")
	// Clients that never read, with tiny receive windows.
	stuck := make([]net.Conn, stuckStreams)
	for i := range stuck {
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		}}
		conn, err := d.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /events HTTP/1.1\r\nHost: %s\r\n\r\n", host)
		stuck[i] = conn
	}
	series := func(exposition, name string) float64 {
		t.Helper()
		v, ok := sampleSum(exposition, name)
		if !ok {
			t.Fatalf("/metrics has no %s", name)
		}
		return v
	}
	waitFor(t, "the stuck streams to open", func() bool {
		return series(get(t, td.URL+"/metrics"), "tickerd_streams_opened_total") == stuckStreams
	})

	// The reader reads until every stuck stream is closed, and a second
	// more. A stuck stream's socket takes bytes until the kernel's buffers
	// are full (-send-buffer: within a second), then it is conflated
	// once it has taken nothing for a second, and closed as slow once it
	// has taken nothing for the write timeout.
	const slow = `tickerd_streams_closed_total{reason="slow",transport="sse"}`
	reader := openRaw(t, td.URL+"/events", "")
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	var (
		prev        feed.Tick
		worst       time.Duration
		worstAt     int
		closedAt    = -1
		closedAfter time.Duration
		m           string
	)
	for i := 0; closedAt < 0 || i < closedAt+rate; i++ {
		tk := reader.nextTick(t)
		if lag := time.Since(tk.Time); lag > worst {
			worst, worstAt = lag, i
		}
		if i > 0 && tk.Seq != prev.Seq+1 {
			t.Fatalf("the reading client missed ticks: %d after %d", tk.Seq, prev.Seq)
		}
		prev = tk
		if closedAt < 0 && i%(rate/10) == 0 { // every 100 ms of ticks
			m = get(t, td.URL+"/metrics")
			if series(m, slow) >= stuckStreams {
				closedAt, closedAfter = i, time.Since(start)
			} else if time.Now().After(deadline) {
				t.Fatalf("the stuck streams were not closed as slow within 30s:\n%s", grep(m, "tickerd_clients|tickerd_streams_closed"))
			}
		}
	}
	t.Logf("reading client: %d ticks, the stuck streams closed after %v (tick %d); the latest tick %v old on arrival (tick %d)",
		closedAt+rate, closedAfter.Round(time.Millisecond), closedAt, worst.Round(time.Millisecond), worstAt)
	if worst > maxLag {
		t.Errorf("the reading client got a tick %v old, want at most %v: the stuck streams held it back", worst, maxLag)
	}

	// The stuck streams ended as slow, with ticks still queued, and no
	// other stream ended.
	m = get(t, td.URL+"/metrics")
	if got := series(m, `tickerd_events_dropped_total{reason="disconnected"}`); got == 0 {
		t.Errorf("the stuck streams were closed with no tick queued")
	}
	for name, want := range map[string]float64{
		slow:                           stuckStreams,
		"tickerd_streams_closed_total": stuckStreams,
		"tickerd_clients":              1,
		"tickerd_clients_conflated":    0,
		// No stream came out of conflation: the reader never went in.
		`tickerd_events_dropped_total{reason="conflated"}`: 0,
	} {
		if got := series(m, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// What a stuck client has: the head, then what of its stream its tiny
	// window held (a snapshot and ticks in sequence, without a gap, or
	// less), then the reset of its slow stream, which drops the rest; never
	// a conflated event.
	for i, conn := range stuck {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stuck client %d: %v, %v", i, resp, err)
		}
		events := newRawStream(t, resp)
		var names []string
		var last uint64
		for {
			ev, err := events.next()
			if err != nil {
				// A slow stream is closed abortively: its end is a reset.
				if !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("stuck client %d: the stream ended with %v, want a reset", i, err)
				}
				break
			}
			if len(names) == 0 || names[len(names)-1] != ev.name {
				names = append(names, ev.name)
			}
			if ev.name == "tick" {
				seq, _ := strconv.ParseUint(ev.id, 10, 64)
				if last != 0 && seq != last+1 {
					t.Fatalf("stuck client %d: tick %d after %d", i, seq, last)
				}
				last = seq
			}
		}
		if want := []string{"snapshot", "tick"}; len(names) > len(want) || !slices.Equal(names, want[:len(names)]) {
			t.Errorf("stuck client %d got %v, want a snapshot and then ticks, or the start of that", i, names)
		}
	}
}

// get returns the body of GET url; an answer of the API is held to the
// contract.
func get(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	checkAnswer(t, req, resp, b)
	return string(b)
}

func grep(s, prefix string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for _, p := range strings.Split(prefix, "|") {
			if strings.HasPrefix(line, p) {
				out = append(out, line)
			}
		}
	}
	return strings.Join(out, "\n")
}

// TestSIGTERMEndsTheProcessCleanly builds the real binary, streams from it,
// sends SIGTERM and expects exit status 0 and the stream closed.
func TestSIGTERMEndsTheProcessCleanly(t *testing.T) {
	// The binary is told port 0 and reports the port it bound the way it
	// does to an operator: in its log (JSON here), on the serving line.
	cmd := exec.Command(buildTickerd(t), "-addr", "127.0.0.1:0", "-grace", "3s", "-log-format", "json")
	cmd.Env = append(os.Environ(), "TICKERD_RATE=500")
	td := startBinary(t, cmd, 10*time.Second)
	base, logs := td.base, td.logs
	stream := openRaw(t, base+"/events", "")
	stream.ticks(t, 10)
	// The client goes on reading through the drain, as a live one does: a
	// stream whose client stops reading is reset at its close instead.
	ended := make(chan error, 1)
	go func() {
		for {
			if _, err := stream.next(); err != nil {
				ended <- err
				return
			}
		}
	}()
	td.terminate(t, 10*time.Second)
	if err := <-ended; !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("stream ended with %v, want EOF", err)
	}
	for _, want := range []string{"tickerd serving", "tickerd shutting down", "tickerd stopped"} {
		if logs.jsonField(want, "level") == "" {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// buildTickerd builds this command into the test's temporary directory
// and returns the binary.
func buildTickerd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tickerd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// binaryProcess is a tickerd binary a test started, with its log.
type binaryProcess struct {
	cmd    *exec.Cmd
	logs   *logBuffer
	exited chan error
	base   string // http://host:port, from its serving line
}

// startBinary starts cmd, a tickerd binary told -addr 127.0.0.1:0 and
// -log-format json, and waits up to within for the serving line of its
// log, which names the address it bound, and for it to be ready. The
// process is killed when the test ends, if it is still running.
func startBinary(t *testing.T, cmd *exec.Cmd, within time.Duration) *binaryProcess {
	t.Helper()
	p := &binaryProcess{cmd: cmd, logs: &logBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	var page string
	if !pollUntil(within, 10*time.Millisecond, func() bool {
		page = p.logs.jsonField("tickerd serving", "page")
		return page != ""
	}) {
		t.Fatalf("tickerd did not log that it serves within %v:\n%s", within, p.logs)
	}
	p.base = strings.TrimSuffix(page, "/")
	waitReady(t, p.base)
	return p
}

// terminate sends SIGTERM and waits up to within for a clean exit.
func (p *binaryProcess) terminate(t *testing.T, within time.Duration) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.logs)
		}
	case <-time.After(within):
		t.Fatalf("tickerd still running %v after SIGTERM\n%s", within, p.logs)
	}
}
