package main

import (
	"github.com/tickerd/tickerd/internal/ssetest"

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
	return &rawStream{resp: resp, events: ssetest.NewReader(resp.Body)}
}

// next returns the next event, skipping comments and retry hints.
func (s *rawStream) next() (rawEvent, error) {
	for {
		ev, err := s.events.Next()
		if err != nil {
			return rawEvent{}, err
		}
		if !ev.Comment && (ev.Name != "" || ev.Data != "") {
			return rawEvent{id: ev.ID, name: ev.Name, data: ev.Data}, nil
		}
	}
}

// ticks reads events until it has n ticks, failing on anything but
// snapshots and ticks.
func (s *rawStream) ticks(t *testing.T, n int) []feed.Tick {
	t.Helper()
	var out []feed.Tick
	for len(out) < n {
		ev, err := s.next()
		if err != nil {
			t.Fatalf("after %d ticks: %v", len(out), err)
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
			out = append(out, tk)
		default:
			t.Fatalf("unexpected event %+v", ev)
		}
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

func TestEndToEndNonReadingClientDoesNotDelayOthers(t *testing.T) {
	td := startTickerd(t, "-rate", "5000", "-queue-bytes", "16384", "-write-timeout", "1s")
	host := strings.TrimPrefix(td.URL, "http://")
	// Several clients that never read, with tiny receive windows.
	for range 5 {
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		}}
		conn, err := d.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /events HTTP/1.1\r\nHost: %s\r\n\r\n", host)
	}
	reader := openRaw(t, td.URL+"/events", "")
	start := time.Now()
	ticks := reader.ticks(t, 25000) // 5 s at 5,000 ticks/s
	elapsed := time.Since(start)
	for i := 1; i < len(ticks); i++ {
		if ticks[i].Seq != ticks[i-1].Seq+1 {
			t.Fatalf("reading client missed ticks: %d after %d", ticks[i].Seq, ticks[i-1].Seq)
		}
	}
	lag := time.Since(time.Unix(0, ticks[len(ticks)-1].Time.UnixNano()))
	t.Logf("reading client: %d ticks in %v, last tick %v old on arrival", len(ticks), elapsed, lag)
	metrics := get(t, td.URL+"/metrics")
	if !strings.Contains(metrics, `tickerd_streams_closed_total{reason="slow"} 5`) &&
		!strings.Contains(metrics, "tickerd_clients_conflated 5") {
		t.Errorf("the non-reading clients were neither conflated nor closed:\n%s", grep(metrics, "tickerd_clients|tickerd_streams_closed"))
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
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
	bin := filepath.Join(t.TempDir(), "tickerd")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The binary is told port 0 and reports the port it bound the way it
	// does to an operator: in its log (JSON here), on the serving line.
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-grace", "3s", "-log-format", "json")
	cmd.Env = append(os.Environ(), "TICKERD_RATE=500")
	logs := &logBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	var page string
	if !pollUntil(10*time.Second, 10*time.Millisecond, func() bool {
		page = logs.jsonField("tickerd serving", "page")
		return page != ""
	}) {
		t.Fatalf("tickerd did not log that it serves within 10s:\n%s", logs)
	}
	base := strings.TrimSuffix(page, "/")
	waitReady(t, base)
	stream := openRaw(t, base+"/events", "")
	stream.ticks(t, 10)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("tickerd still running 10s after SIGTERM\n%s", logs)
	}
	for {
		if _, err := stream.next(); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("stream ended with %v, want EOF", err)
			}
			break
		}
	}
	for _, want := range []string{"tickerd serving", "tickerd shutting down", "tickerd stopped"} {
		if logs.jsonField(want, "level") == "" {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}
