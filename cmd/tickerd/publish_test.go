package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/ingest"
)

// The publish tests run tickerd fed from outside: POST /api/publish with
// curl and with a Go client, a streamed body, bad input of every kind, and
// file replay and tickerd record.

const publishKey = "publish-key-for-the-tests-0123456789abcdef"

// secretFile writes s to a new file and returns its path.
func secretFile(t *testing.T, name, s string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// publishAnswer is what POST /api/publish answered.
type publishAnswer struct {
	status int
	header http.Header
	raw    string
	result ingest.Result
}

// postTicks sends body to base's POST /api/publish with the bearer
// credential and content type given, and holds the answer to the contract.
func postTicks(t *testing.T, base, bearer, contentType string, body io.Reader) publishAnswer {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/api/publish", body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, req, resp, raw)
	a := publishAnswer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.result)
	return a
}

func tickLine(sym string, px float64, size int) string {
	return fmt.Sprintf(`{"sym":%q,"px":%v,"bid":%v,"ask":%v,"size":%d}`, sym, px, px-0.01, px+0.01, size)
}

// curlPublish posts the file at path with the real curl and returns the
// status and body of the answer.
func curlPublish(t *testing.T, base, key, path string) (int, string) {
	t.Helper()
	curl := requireTool(t, "curl")
	out, err := exec.Command(curl, "-sS", "-X", "POST",
		"-H", "Content-Type: application/x-ndjson", "-H", "Authorization: Bearer "+key,
		"--data-binary", "@"+path, "-w", "\n%{http_code}", base+"/api/publish").Output()
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	body, code, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if i := strings.LastIndex(string(out), "\n"); i >= 0 {
		body, code = strings.TrimSpace(string(out[:i])), string(out[i+1:])
	}
	status, err := strconv.Atoi(code)
	if err != nil {
		t.Fatalf("curl printed %q", out)
	}
	return status, body
}

// TestPublishedTicksReachTheStreamsInOrder publishes with curl and with a
// Go client into a server fed only by the publish API, and reads them on
// a stream, numbered by the server in order, and in /api/history.
func TestPublishedTicksReachTheStreamsInOrder(t *testing.T) {
	td := startTickerd(t, "-feed", "http", "-publish-key-file", secretFile(t, "key", publishKey), "-symbols", "AAPL,ACME,NYSE:XYZ")
	stream := openRaw(t, td.URL+"/events", "")

	file := filepath.Join(t.TempDir(), "ticks.ndjson")
	lines := tickLine("ACME", 12.5, 100) + "\n" + `{"sym":"ACME","px":12.51` + "\n" +
		tickLine("NYSE:XYZ", 40, 7) + "\n" + `{"sym":"AAPL","px":230,"bid":229.99,"ask":230.01,"size":300,"ts":1764012345678901234}` + "\n"
	if err := os.WriteFile(file, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	status, body := curlPublish(t, td.URL, publishKey, file)
	if status != 200 || body != `{"accepted":3,"rejected":[{"line":2,"error":"malformed tick: incomplete JSON object"}]}` {
		t.Fatalf("curl: %d %s", status, body)
	}
	a := postTicks(t, td.URL, publishKey, ingest.ContentType, strings.NewReader(tickLine("ACME", 12.52, 200)+"\n"+tickLine("AAPL", 230.05, 5)))
	if a.status != 200 || a.result.Accepted != 2 || len(a.result.Rejected) != 0 {
		t.Fatalf("Go client: %d %s", a.status, a.raw)
	}

	want := []struct {
		sym  string
		px   float64
		size int64
	}{{"ACME", 12.5, 100}, {"NYSE:XYZ", 40, 7}, {"AAPL", 230, 300}, {"ACME", 12.52, 200}, {"AAPL", 230.05, 5}}
	got := stream.ticks(t, len(want))
	for i, w := range want {
		if g := got[i]; g.Seq != uint64(i+1) || g.Symbol != w.sym || g.Price != w.px || g.Size != w.size {
			t.Errorf("tick %d: %+v, want seq %d %s %v x%d", i, g, i+1, w.sym, w.px, w.size)
		}
	}
	if got[2].Time != time.Unix(0, 1764012345678901234) {
		t.Errorf("a line's ts became %v", got[2].Time)
	}
	// The other transports carry the same ticks, with the same ids.
	wsTicks := func() []feed.Tick {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(td.URL, "http")+"/ws?symbols=*&lastEventId=0", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		var out []feed.Tick
		for len(out) < len(want) {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checkMessage(t, data)
			var m struct{ Type string }
			if json.Unmarshal(data, &m) == nil && m.Type == "tick" {
				var tk feed.Tick
				if err := json.Unmarshal(untyped(data, "tick"), &tk); err != nil {
					t.Fatal(err)
				}
				out = append(out, tk)
			}
		}
		return out
	}()
	var poll struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal([]byte(get(t, td.URL+"/api/ticks?since=0")), &poll); err != nil {
		t.Fatal(err)
	}
	var polled []feed.Tick
	for _, e := range poll.Events {
		var tk feed.Tick
		if err := json.Unmarshal(untyped(e, "tick"), &tk); err != nil {
			t.Fatal(err)
		}
		polled = append(polled, tk)
	}
	for i := range want {
		if i >= len(polled) || wsTicks[i] != got[i] || polled[i] != got[i] {
			t.Fatalf("tick %d: SSE %+v, WebSocket %+v, polling %v", i, got[i], wsTicks[i], polled)
		}
	}
	var history struct {
		Seq  uint64 `json:"seq"`
		Bars []struct {
			C float64 `json:"c"`
			V int64   `json:"v"`
		} `json:"bars"`
	}
	if err := json.Unmarshal([]byte(get(t, td.URL+"/api/history?symbol=ACME&interval=1m")), &history); err != nil {
		t.Fatal(err)
	}
	if history.Seq != 4 || len(history.Bars) == 0 || history.Bars[len(history.Bars)-1].C != 12.52 {
		t.Errorf("ACME history %+v; want its last tick, seq 4, at 12.52", history)
	}
	text := scrape(t, td)
	for _, line := range []string{
		`tickerd_publish_requests_total{result="ok"} 2`,
		`tickerd_publish_lines_total{outcome="accepted"} 5`,
		`tickerd_publish_lines_total{outcome="malformed"} 1`,
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("/metrics has no %q", line)
		}
	}
	if !strings.Contains(text, `tickerd_publish_last_timestamp_seconds{publisher="key"} `) {
		t.Error("/metrics has no last publish time of the key")
	}
}

// TestPublishRefusesBadInputAndLosesNothingElse sends what a publisher
// can get wrong to a server with subscriber authentication on, and checks
// each answer and that every good line still reached the stream.
func TestPublishRefusesBadInputAndLosesNothingElse(t *testing.T) {
	secret := "subscriber-secret-for-the-tests-0123456789"
	td := startTickerd(t, "-feed", "http", "-publish-key-file", secretFile(t, "key", publishKey),
		"-auth-secret-file", secretFile(t, "secret", secret), "-symbols", "AAPL,ACME", "-publish-rate", "2")
	sign := func(claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hour := time.Now().Add(time.Hour).Unix()
	reader := sign(jwt.MapClaims{"sub": "reader", "exp": hour, "symbols": []string{"*"}})
	writer := sign(jwt.MapClaims{"sub": "feed-1", "exp": hour, "symbols": []string{"*"}, "publish": true})
	expired := sign(jwt.MapClaims{"sub": "feed-2", "exp": time.Now().Add(-time.Hour).Unix(), "publish": true})

	req, err := http.NewRequest("GET", td.URL+"/events?symbols=ACME", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+reader)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", resp, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	stream := newRawStream(t, resp)

	good := tickLine("ACME", 10, 1)
	for _, c := range []struct {
		name        string
		bearer      string
		contentType string
		body        string
		status      int
		want        string
	}{
		{"no token", "", ingest.ContentType, good, 401, "authentication required"},
		{"wrong key", strings.Repeat("x", 40), ingest.ContentType, good, 401, "wrong API key"},
		{"forged token", writer + "x", ingest.ContentType, good, 401, "invalid token"},
		{"subscriber token", reader, ingest.ContentType, good, 403, "does not allow publishing"},
		{"expired token", expired, ingest.ContentType, good, 401, "token expired"},
		{"wrong content type", writer, "application/json", good, 415, "want application/x-ndjson"},
		{"not NDJSON", writer, ingest.ContentType, "sym,px,bid,ask,size\nACME,10,9.99,10.01,1\n", 400, "not NDJSON"},
	} {
		a := postTicks(t, td.URL, c.bearer, c.contentType, strings.NewReader(c.body))
		if a.status != c.status || !strings.Contains(a.raw, c.want) {
			t.Errorf("%s: %d %s; want %d saying %q", c.name, a.status, a.raw, c.status, c.want)
		}
	}

	// Bad lines among good ones: each named, the good ones published.
	body := strings.Join([]string{
		tickLine("ACME", 10, 1),
		`{"sym":"ACME","px":1e400,"bid":9.99,"ask":10.01,"size":1}`,
		`{"sym":"ACME","px":10,"bid":10.02,"ask":10.01,"size":1}`,
		tickLine("FOO", 10, 1),
		`not json`,
		tickLine("ACME", 10.01, 2),
		tickLine("ACME", 30, 3),
		tickLine("ACME", 10.02, 3),
	}, "\n")
	a := postTicks(t, td.URL, writer, ingest.ContentType, strings.NewReader(body))
	want := map[int]string{
		2: `"px" is number 1e400, want a finite number`,
		3: "bid not below ask: ACME bid=10.02 ask=10.01",
		4: `unknown symbol "FOO"`,
		5: "not a JSON object",
		7: "price implausibly far",
	}
	if a.status != 200 || a.result.Accepted != 3 || len(a.result.Rejected) != len(want) {
		t.Fatalf("mixed body: %d %s", a.status, a.raw)
	}
	for _, r := range a.result.Rejected {
		if !strings.Contains(r.Error, want[r.Line]) || want[r.Line] == "" {
			t.Errorf("line %d: %q, want %q", r.Line, r.Error, want[r.Line])
		}
	}
	for i, px := range []float64{10, 10.01, 10.02} {
		if tk := stream.nextTick(t); tk.Price != px || tk.Seq != uint64(i+1) {
			t.Errorf("good line %d arrived as %+v", i+1, tk)
		}
	}

	// A 50 MB body is refused before it is read.
	big := filepath.Join(t.TempDir(), "big.ndjson")
	line := tickLine("ACME", 10, 1) + "\n"
	if err := os.WriteFile(big, bytes.Repeat([]byte(line), 50<<20/len(line)+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if status, body := curlPublish(t, td.URL, publishKey, big); status != 413 || !strings.Contains(body, "larger than 16777216") {
		t.Errorf("50 MB body: %d %s", status, body)
	}

	// A flood: the burst of twice -publish-rate, then 429 with Retry-After.
	var last publishAnswer
	var sizes []int64 // of the ticks accepted before the 429
	for i := range 8 {
		if last = postTicks(t, td.URL, writer, ingest.ContentType, strings.NewReader(tickLine("ACME", 10.02, 100+i))); last.status != 200 {
			break
		}
		sizes = append(sizes, int64(100+i))
	}
	retry, err := strconv.Atoi(last.header.Get("Retry-After"))
	if last.status != 429 || err != nil || retry < 1 || !strings.Contains(last.result.Error+last.raw, "more than 2 publish requests per second") {
		t.Fatalf("flood: %d %s, Retry-After %q", last.status, last.raw, last.header.Get("Retry-After"))
	}
	// After Retry-After the publisher is heard again (the limiter runs on
	// the wall clock: the request is retried until it is accepted, within
	// Retry-After and some slack).
	eventually(t, "a publish after Retry-After", time.Duration(retry)*time.Second+10*time.Second, func() (bool, string) {
		a := postTicks(t, td.URL, writer, ingest.ContentType, strings.NewReader(tickLine("ACME", 10.03, 999)))
		return a.status == 200 && a.result.Accepted == 1, fmt.Sprintf("%d %s", a.status, a.raw)
	})
	// The stream has every tick accepted, in order, and the one after.
	prev := uint64(3)
	for _, size := range append(sizes, 999) {
		if tk := stream.nextTick(t); tk.Size != size || tk.Seq != prev+1 {
			t.Fatalf("flood: %+v, want size %d after seq %d (accepted before the 429: sizes %v)", tk, size, prev, sizes)
		} else {
			prev = tk.Seq
		}
	}
	text := scrape(t, td)
	for _, line := range []string{
		`tickerd_publish_requests_total{result="unauthorized"} 4`,
		`tickerd_publish_requests_total{result="forbidden"} 1`,
		`tickerd_publish_requests_total{result="bad_type"} 1`,
		`tickerd_publish_requests_total{result="too_large"} 1`,
		`tickerd_publish_lines_total{outcome="unknown_symbol"} 1`,
		`tickerd_publish_lines_total{outcome="price_jump"} 1`,
		`tickerd_publish_lines_total{outcome="bid_not_below_ask"} 1`,
		`tickerd_feed_ticks_rejected_total{reason="bid_not_below_ask"} 1`,
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("/metrics has no %q", line)
		}
	}
	if !strings.Contains(text, `tickerd_publish_last_timestamp_seconds{publisher="token:feed-1"} `) {
		t.Error("/metrics has no last publish time of token:feed-1")
	}
	if !regexp.MustCompile(`(?m)^tickerd_publish_requests_total\{result="rate_limited"\} [1-9]`).MatchString(text) {
		t.Error("/metrics counts no rate_limited request")
	}
}

// TestPublishStreamsOneLongBody keeps one POST open and writes a line at
// a time: each tick is on the stream before the next line is written.
func TestPublishStreamsOneLongBody(t *testing.T) {
	td := startTickerd(t, "-feed", "http", "-publish-key-file", secretFile(t, "key", publishKey), "-symbols", "ACME", "-publish-max-lines", "3")
	stream := openRaw(t, td.URL+"/events", "")
	pr, pw := io.Pipe()
	answered := make(chan publishAnswer, 1)
	go func() { answered <- postTicks(t, td.URL, publishKey, ingest.ContentType, pr) }()
	for i := range 3 {
		px := 20 + float64(i)/100
		if _, err := io.WriteString(pw, tickLine("ACME", px, 10)+"\n"); err != nil {
			t.Fatal(err)
		}
		if tk := stream.nextTick(t); tk.Price != px || tk.Seq != uint64(i+1) {
			t.Fatalf("line %d arrived as %+v", i+1, tk)
		}
	}
	// A fourth line is over -publish-max-lines: the answer says so, and
	// counts the three that were published.
	if _, err := io.WriteString(pw, tickLine("ACME", 20.03, 10)+"\n"); err != nil {
		t.Fatal(err)
	}
	a := <-answered
	pw.Close()
	if a.status != 413 || a.result.Accepted != 3 || !strings.Contains(a.result.Error, "more than 3 lines") {
		t.Fatalf("answer %d %s", a.status, a.raw)
	}
}

// TestPublishChunkedBodyOverTheSizeLimit streams some 20 MB of good
// lines in one chunked body, with no Content-Length to refuse it by: the
// byte limit stops it as it is read, the answer says so and counts the
// lines before, and those are exactly the ticks that reach a stream.
func TestPublishChunkedBodyOverTheSizeLimit(t *testing.T) {
	// The stream may queue every tick rather than conflate them.
	td := startTickerd(t, "-feed", "http", "-publish-key-file", secretFile(t, "key", publishKey), "-symbols", "ACME",
		"-queue-bytes", strconv.Itoa(64<<20))
	stream := openRaw(t, td.URL+"/events", "")
	const lineBytes = 250 // 16 MiB is not a whole number of lines: the limit cuts one
	price := func(i int) float64 { return 10 + float64(i%100)/100 }
	padded := func(i int) []byte {
		l := tickLine("ACME", price(i), i+1)
		return []byte(l[:len(l)-1] + strings.Repeat(" ", lineBytes-len(l)-1) + "}\n")
	}
	const lines = 20_000_000 / lineBytes // fewer than -publish-max-lines: the bytes trip first
	const limit = ingest.DefaultMaxBodyBytes
	const accepted = limit / lineBytes
	pr, pw := io.Pipe()
	wrote := make(chan error, 1)
	go func() {
		for i := range lines {
			if _, err := pw.Write(padded(i)); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- pw.Close()
	}()
	answered := make(chan publishAnswer, 1)
	go func() { answered <- postTicks(t, td.URL, publishKey, ingest.ContentType, struct{ io.Reader }{pr}) }() // no length: chunked
	// The stream is read while the body is, so that it keeps up.
	for i := range accepted {
		if tk := stream.nextTick(t); tk.Seq != uint64(i+1) || tk.Price != price(i) || tk.Size != int64(i+1) {
			t.Fatalf("tick %d arrived as %+v", i+1, tk)
		}
	}
	a := <-answered
	pr.CloseWithError(errors.New("answered"))
	<-wrote
	if a.status != 413 || a.result.Accepted != accepted || len(a.result.Rejected) != 0 ||
		a.result.Error != fmt.Sprintf("body larger than %d bytes; the lines before were read", limit) {
		t.Fatalf("answer %d %.300s; want 413 with %d lines accepted", a.status, a.raw, accepted)
	}
	// Nothing past the accepted lines reached the stream: the next tick
	// on it is one published after.
	if a := postTicks(t, td.URL, publishKey, ingest.ContentType, strings.NewReader(tickLine("ACME", 10, 424242))); a.status != 200 || a.result.Accepted != 1 {
		t.Fatalf("publishing after: %d %s", a.status, a.raw)
	}
	if tk := stream.nextTick(t); tk.Seq != uint64(accepted+1) || tk.Size != 424242 {
		t.Fatalf("after the accepted lines came %+v, want the tick published after", tk)
	}
	text := scrape(t, td)
	for _, line := range []string{
		`tickerd_publish_requests_total{result="too_large"} 1`,
		fmt.Sprintf(`tickerd_publish_lines_total{outcome="accepted"} %d`, accepted+1),
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("/metrics has no %q", line)
		}
	}
}

// TestPublishBesideTheSimulatorAndOff runs the publish API beside the
// simulated market (-feed memory), and checks that it is off without a key.
func TestPublishBesideTheSimulatorAndOff(t *testing.T) {
	off := startTickerd(t, "-rate", "50")
	if a := postTicks(t, off.URL, publishKey, ingest.ContentType, strings.NewReader(tickLine("AAPL", 230, 1))); a.status != 404 {
		t.Errorf("without a key file: %d %s", a.status, a.raw)
	}

	td := startTickerd(t, "-rate", "50", "-symbols", "AAPL,MSFT", "-publish-key-file", secretFile(t, "key", publishKey))
	stream := openRaw(t, td.URL+"/events?symbols=AAPL", "")
	last := stream.nextTick(t)
	a := postTicks(t, td.URL, publishKey, ingest.ContentType, strings.NewReader(tickLine("AAPL", last.Price, 777)))
	if a.status != 200 || a.result.Accepted != 1 {
		t.Fatalf("publish: %d %s", a.status, a.raw)
	}
	// The published tick comes among the simulator's, numbered with them.
	for n := 0; ; n++ {
		tk := stream.nextTick(t)
		if tk.Seq <= last.Seq {
			t.Fatalf("seq %d after %d", tk.Seq, last.Seq)
		}
		last = tk
		if tk.Size == 777 {
			break
		}
		if n > 10000 {
			t.Fatal("the published tick never came")
		}
	}
	if tk := stream.nextTick(t); tk.Seq <= last.Seq {
		t.Fatalf("simulator's seq %d after the published %d", tk.Seq, last.Seq)
	}
}

// TestReplayPlaysAFileAndRecordWritesOne plays the sample file twice, in
// two servers, and records one of them: all three give the same prices in
// the same order.
func TestReplayPlaysAFileAndRecordWritesOne(t *testing.T) {
	sample := "../../deploy/replay/sample.ndjson.gz"
	r, err := feed.NewReplay(feed.ReplayConfig{Path: sample, Speed: 1, MaxSymbols: feed.MaxSymbols, Clock: feed.SystemClock{}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	want := fileTicks(t, sample, n)
	prices := func(ticks []feed.Tick) string {
		var b strings.Builder
		for _, tk := range ticks {
			fmt.Fprintf(&b, "%s %v %v %v %d\n", tk.Symbol, tk.Price, tk.Bid, tk.Ask, tk.Size)
		}
		return b.String()
	}
	var played [2][]feed.Tick
	var recorded string
	for i := range played {
		td := startTickerd(t, "-feed", "replay", "-replay-file", sample, "-replay-speed", "20", "-replay-loop")
		if got := strings.Join(symbolsOf(t, td.URL), ","); got != strings.Join(r.Symbols(), ",") {
			t.Fatalf("the universe is %s, the file's symbols %s", got, strings.Join(r.Symbols(), ","))
		}
		// Resuming from 0 replays from the first tick, however many have been played.
		stream := openRaw(t, td.URL+"/events", "0")
		if i == 1 {
			recorded = filepath.Join(t.TempDir(), "rec.csv.gz")
			if err := run(t.Context(), []string{"record", "-url", td.URL, "-o", recorded, "-count", strconv.Itoa(n / 2)},
				func(string) string { return "" }, io.Discard, io.Discard, nil); err != nil {
				t.Fatal(err)
			}
		}
		played[i] = stream.ticks(t, n)
		for j, tk := range played[i] {
			if tk.Seq != uint64(j+1) {
				t.Fatalf("play %d: tick %d has seq %d", i, j, tk.Seq)
			}
		}
		td.Stop()
	}
	if prices(played[0]) != prices(want) || prices(played[1]) != prices(want) {
		t.Fatalf("played:\n%.500s\nfile:\n%.500s", prices(played[0]), prices(want))
	}
	// What record wrote is a run of the ticks played, seq and all: the
	// tick numbered s is the file's (s-1)th, the file played in a loop.
	got := fileTicks(t, recorded, n/2)
	first := firstSeqOf(t, recorded) - 1
	if len(got) != n/2 || prices(got) != prices(fileTicks(t, sample, first+n/2)[first:]) {
		t.Fatalf("recorded from seq %d:\n%.500s", first+1, prices(got))
	}
}

// firstSeqOf reads the seq of the first tick of a CSV file that tickerd
// record wrote, compressed.
func firstSeqOf(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(zr)
	if !lines.Scan() || lines.Text() != feed.CSVHeader || !lines.Scan() {
		t.Fatalf("%s does not start with the CSV header and a tick", path)
	}
	seq, _, _ := strings.Cut(lines.Text(), ",")
	n, err := strconv.Atoi(seq)
	if err != nil || n < 1 {
		t.Fatalf("first line %q", lines.Text())
	}
	return n
}

// fileTicks reads the first n ticks of a tick file played in a loop.
func fileTicks(t *testing.T, path string, n int) []feed.Tick {
	t.Helper()
	r, err := feed.NewReplay(feed.ReplayConfig{Path: path, Speed: feed.MaxReplaySpeed, Loop: true, MaxSymbols: feed.MaxSymbols, Clock: feed.SystemClock{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out []feed.Tick
	_ = r.Run(ctx, func(tk feed.Tick) {
		if len(out) < n {
			out = append(out, tk)
		}
		if len(out) == n {
			cancel()
		}
	})
	return out
}

func symbolsOf(t *testing.T, base string) []string {
	t.Helper()
	var list struct {
		Quotes []struct {
			Sym string `json:"sym"`
		} `json:"quotes"`
	}
	if err := json.Unmarshal([]byte(get(t, base+"/api/symbols")), &list); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range list.Quotes {
		out = append(out, s.Sym)
	}
	return out
}

// TestReplayRefusesABrokenFile checks that a truncated file stops tickerd
// at start with the byte offset, as a usage error, and crashes nothing.
func TestReplayRefusesABrokenFile(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/replay/sample.ndjson.gz")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cut.ndjson.gz")
	if err := os.WriteFile(path, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	err = run(t.Context(), []string{"-feed", "replay", "-replay-file", path, "-addr", "127.0.0.1:0"},
		func(string) string { return "" }, io.Discard, io.Discard, nil)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), fmt.Sprintf("gzip data truncated at byte %d", len(raw)/2)) {
		t.Fatalf("run: %v (exit %d)", err, exitCode(err))
	}
}

// TestReplayFileBrokenWhilePlayingStopsOnlyTheReplay breaks a looped
// replay file after its first pass has begun: the next pass finds the
// file truncated, the log names the byte offset, and the server goes on
// serving its health, its streams and its other source, the publish API.
func TestReplayFileBrokenWhilePlayingStopsOnlyTheReplay(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "day.ndjson.gz")
	tw, err := feed.CreateTickFile(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1_764_000_000, 0)
	for i := range 20 {
		px := 100 + float64(i)/100
		if err := tw.Write(feed.Tick{Symbol: "AAPL", Price: px, Bid: px - 0.01, Ask: px + 0.01, Size: 1, Time: start.Add(time.Duration(i) * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	td := startTickerd(t, "-feed", "replay", "-replay-file", path, "-replay-loop", "-symbols", "AAPL,ACME",
		"-publish-key-file", secretFile(t, "key", publishKey))
	played := openRaw(t, td.URL+"/events?symbols=*", "")
	if tk := played.nextTick(t); tk.Symbol != "AAPL" {
		t.Fatalf("first tick %+v", tk)
	}
	// A pass has begun; every pass after opens the file anew, and finds
	// half of it. (Renamed into place, so that no pass reads it half
	// written.)
	cut := filepath.Join(dir, "cut")
	if err := os.WriteFile(cut, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(cut, path); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%s: gzip data truncated at byte %d", path, len(raw)/2)
	waitFor(t, "the replay to log the broken file", func() bool {
		return strings.Contains(td.Log.String(), "replay stopped: the file cannot be read") && strings.Contains(td.Log.String(), want)
	})
	if strings.Contains(td.Log.String(), "panic") {
		t.Fatalf("log:\n%s", td.Log)
	}
	if body := get(t, td.URL+"/healthz"); !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %s", body)
	}
	// A stream opened before and one opened after both get what the
	// publish API takes in.
	after := openRaw(t, td.URL+"/events?symbols=ACME", "")
	if a := postTicks(t, td.URL, publishKey, ingest.ContentType, strings.NewReader(tickLine("ACME", 50, 777))); a.status != 200 || a.result.Accepted != 1 {
		t.Fatalf("publish after the replay stopped: %d %s", a.status, a.raw)
	}
	if tk := after.nextTick(t); tk.Symbol != "ACME" || tk.Size != 777 {
		t.Errorf("the stream opened after got %+v", tk)
	}
	for tk := played.nextTick(t); tk.Size != 777; tk = played.nextTick(t) {
		if tk.Symbol != "AAPL" {
			t.Fatalf("the stream opened before got %+v", tk)
		}
	}
}

// cuttingProxy passes tickerd's event streams on, counting the ticks it
// passes, and cuts every stream open when told to, as a restarting load
// balancer or a network fault does.
type cuttingProxy struct {
	*httptest.Server
	ticks   atomic.Int64 // tick events passed on
	resumes chan string  // the Last-Event-ID of each stream asked for
	mu      sync.Mutex
	cuts    []context.CancelFunc
}

func startCuttingProxy(t *testing.T, target string) *cuttingProxy {
	t.Helper()
	p := &cuttingProxy{resumes: make(chan string, 16)}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cut := context.WithCancel(r.Context())
		defer cut()
		p.mu.Lock()
		p.cuts = append(p.cuts, cut)
		p.mu.Unlock()
		select {
		case p.resumes <- r.Header.Get("Last-Event-ID"):
		default:
		}
		req, err := http.NewRequestWithContext(ctx, r.Method, target+r.URL.RequestURI(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header = r.Header.Clone()
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
		w.WriteHeader(res.StatusCode)
		rc := http.NewResponseController(w)
		buf := make([]byte, 32<<10)
		for {
			n, err := res.Body.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
				_ = rc.Flush()
				p.ticks.Add(int64(bytes.Count(buf[:n], []byte("event: tick\n"))))
			}
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(p.Close)
	return p
}

// cut ends every stream passing through.
func (p *cuttingProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cut := range p.cuts {
		cut()
	}
	p.cuts = nil
}

// TestRecordResumesAfterTheStreamIsCut records through a proxy that cuts
// the stream mid-record: tickerd record reconnects, resuming after the
// last tick it wrote, and the file has every seq of the run exactly once.
func TestRecordResumesAfterTheStreamIsCut(t *testing.T) {
	td := startTickerd(t, "-rate", "100")
	proxy := startCuttingProxy(t, td.URL)
	const n = 300
	path := filepath.Join(t.TempDir(), "rec.ndjson")
	var stderr logBuffer
	recorded := make(chan error, 1)
	go func() {
		recorded <- run(t.Context(), []string{"record", "-url", proxy.URL, "-o", path, "-count", strconv.Itoa(n)},
			func(string) string { return "" }, io.Discard, &stderr, nil)
	}()
	if first := <-proxy.resumes; first != "" {
		t.Fatalf("the first stream resumed from %q", first)
	}
	waitFor(t, "record to get 50 ticks", func() bool { return proxy.ticks.Load() >= 50 })
	proxy.cut()
	var resumed string
	select {
	case resumed = <-proxy.resumes:
	case <-time.After(20 * time.Second):
		t.Fatal("record did not reconnect")
	}
	if after, err := strconv.ParseUint(resumed, 10, 64); err != nil || after == 0 {
		t.Fatalf("record reconnected with Last-Event-ID %q", resumed)
	}
	select {
	case err := <-recorded:
		if err != nil {
			t.Fatalf("record: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("record did not finish:\n%s", stderr.String())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64 // a tick reader ignores seq: read the lines as the stream's ticks
	for line := range strings.Lines(string(raw)) {
		var tk feed.Tick
		if err := json.Unmarshal([]byte(line), &tk); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		seqs = append(seqs, tk.Seq)
	}
	if len(seqs) != n {
		t.Fatalf("%d ticks in the file, want %d", len(seqs), n)
	}
	for i, s := range seqs {
		if s != seqs[0]+uint64(i) {
			t.Fatalf("tick %d has seq %d after %d: the file skips or repeats (resumed after %s)", i, s, seqs[i-1], resumed)
		}
	}
	if strings.Contains(stderr.String(), "conflated") {
		t.Errorf("record's stream fell behind:\n%s", stderr.String())
	}
}
