package ingest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tickerd/tickerd/auth"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/ingest"
	"github.com/tickerd/tickerd/internal/fakeclock"
	"github.com/tickerd/tickerd/stream"
	"github.com/tickerd/tickerd/stream/sse"
)

var (
	testKey    = []byte("publisher-key-0123456789abcdef-0123456789")
	testSecret = []byte("subscriber-secret-0123456789abcdef")
)

// recorder is an engine that keeps what it is given, behind the hub's
// hygiene.
type recorder struct {
	hub   *stream.Hub
	ticks []feed.Tick
}

func (r *recorder) Publish(t feed.Tick) error {
	t, err := r.hub.Accept(t)
	if err != nil {
		return err
	}
	r.ticks = append(r.ticks, t)
	return nil
}

type fixture struct {
	h     *ingest.Handler
	eng   *recorder
	reg   *prometheus.Registry
	clock *fakeclock.Clock
}

func newFixture(t *testing.T, edit func(*ingest.Config)) *fixture {
	t.Helper()
	reg := prometheus.NewRegistry()
	clock := fakeclock.New(time.Unix(1_700_000_000, 0))
	cfg := stream.DefaultConfig([]string{"AAPL", "MSFT"}, sse.Framing{})
	cfg.Clock = clock
	cfg.FirstSeq = 100
	hub, err := stream.NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	eng := &recorder{hub: hub}
	verifier, err := auth.New(auth.Config{Secret: testSecret, Cookie: auth.DefaultCookie, Claim: auth.DefaultClaim})
	if err != nil {
		t.Fatal(err)
	}
	c := ingest.Config{
		Key: testKey, Tokens: verifier, Engine: eng,
		MaxBodyBytes: 1 << 20, MaxLines: 1000, RequestRate: 1000, MaxPublishers: 3,
		IdleTimeout: ingest.DefaultIdleTimeout, Registerer: reg,
	}
	if edit != nil {
		edit(&c)
	}
	h, err := ingest.NewHandler(c)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{h: h, eng: eng, reg: reg, clock: clock}
}

func (f *fixture) post(t *testing.T, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/publish", strings.NewReader(body))
	req.Header.Set("Content-Type", ingest.ContentType)
	req.Header.Set("Authorization", "Bearer "+string(testKey))
	for i := 0; i < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w.Result(), w.Body.Bytes()
}

func token(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func line(sym string, px, bid, ask float64, size int) string {
	return fmt.Sprintf(`{"sym":%q,"px":%v,"bid":%v,"ask":%v,"size":%d}`, sym, px, bid, ask, size)
}

func TestPublishAcceptsGoodLinesAndNamesTheBadOnes(t *testing.T) {
	f := newFixture(t, nil)
	body := strings.Join([]string{
		line("AAPL", 100, 99.99, 100.01, 100),
		`{"sym":"AAPL","px":100.01,`,
		line("AAPL", 100.02, 100.03, 100.01, 100),
		line("FOO", 1, 0.99, 1.01, 1),
		"",
		line("MSFT", 200, 199.99, 200.01, 5),
		`{"sym":"MSFT","px":"NaN","bid":1,"ask":2,"size":1}`,
		line("AAPL", 190, 189.99, 190.01, 100),
		line("AAPL", 100.05, 100.04, 100.06, 0),
		`{"sym":"AAPL","px":100.1,"bid":100.09,"ask":100.11,"size":10,"ts":1234567890}`,
	}, "\n") + "\n"
	resp, raw := f.post(t, body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	var res ingest.Result
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	wantRejected := map[int]string{
		2: "incomplete JSON object",
		3: "bid not below ask: AAPL bid=100.03 ask=100.01",
		4: `unknown symbol "FOO"`,
		7: `"px" is string, want a finite number`,
		8: "price implausibly far",
		9: "size=0",
	}
	if res.Accepted != 3 || len(res.Rejected) != len(wantRejected) {
		t.Fatalf("result %s; want 3 accepted and lines 2 3 4 7 8 9 rejected", raw)
	}
	for _, r := range res.Rejected {
		if want, ok := wantRejected[r.Line]; !ok || !strings.Contains(r.Error, want) {
			t.Errorf("line %d rejected with %q, want %q", r.Line, r.Error, want)
		}
	}
	got := f.eng.ticks
	if len(got) != 3 || got[0].Seq != 100 || got[1].Seq != 101 || got[2].Seq != 102 ||
		got[0].Symbol != "AAPL" || got[1].Symbol != "MSFT" || got[2].Price != 100.1 {
		t.Fatalf("published %+v", got)
	}
	if !got[0].Time.Equal(f.clock.Now()) || got[2].Time != time.Unix(0, 1234567890) {
		t.Errorf("times %v %v: want the clock's without ts, the line's with", got[0].Time, got[2].Time)
	}
	for outcome, want := range map[string]float64{"accepted": 3, "malformed": 2, "bad_price": 1, "bid_not_below_ask": 1, "unknown_symbol": 1, "price_jump": 1} {
		if v := testutil.ToFloat64(lineCounter(t, f.reg, outcome)); v != want {
			t.Errorf("lines %s = %v, want %v", outcome, v, want)
		}
	}
}

func lineCounter(t *testing.T, reg *prometheus.Registry, outcome string) prometheus.Collector {
	t.Helper()
	return gathered{reg, "tickerd_publish_lines_total", "outcome", outcome}
}

// gathered is one series of a registry, as a collector testutil can read.
type gathered struct {
	reg                *prometheus.Registry
	name, label, value string
}

func (g gathered) Describe(chan<- *prometheus.Desc) {}
func (g gathered) Collect(ch chan<- prometheus.Metric) {
	mfs, _ := g.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != g.name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == g.label && l.GetValue() == g.value {
					v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
					ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(g.name, "", nil, nil), prometheus.UntypedValue, v)
				}
			}
		}
	}
}

func TestPublishRefusesRequestsWithTheFittingStatus(t *testing.T) {
	f := newFixture(t, nil)
	good := line("AAPL", 100, 99.99, 100.01, 100) + "\n"
	hour := time.Now().Add(time.Hour).Unix()
	cases := []struct {
		name   string
		body   string
		header []string
		status int
		want   string
	}{
		{"no token", good, []string{"Authorization", ""}, 401, "authentication required"},
		{"basic auth", good, []string{"Authorization", "Basic dXNlcjpwYXNz"}, 401, "authentication required"},
		{"wrong key", good, []string{"Authorization", "Bearer " + strings.Repeat("k", 40)}, 401, "wrong API key"},
		{"subscriber token", good, []string{"Authorization", "Bearer " + token(t, jwt.MapClaims{"sub": "sam", "exp": hour, "symbols": []string{"*"}})}, 403, "does not allow publishing"},
		{"expired token", good, []string{"Authorization", "Bearer " + token(t, jwt.MapClaims{"sub": "pat", "exp": time.Now().Add(-time.Hour).Unix(), "publish": true})}, 401, "token expired"},
		{"forged token", good, []string{"Authorization", "Bearer " + token(t, jwt.MapClaims{"exp": hour, "publish": true}) + "x"}, 401, "invalid token"},
		{"wrong type", good, []string{"Content-Type", "application/json"}, 415, "want application/x-ndjson"},
		{"no type", good, []string{"Content-Type", ""}, 415, "want application/x-ndjson"},
		{"not NDJSON", "sym,px,bid,ask,size\nAAPL,1,0.9,1.1,1\n", nil, 400, "body is not NDJSON"},
		{"empty", "\n\n", nil, 400, "empty body"},
	}
	for _, c := range cases {
		resp, raw := f.post(t, c.body, c.header...)
		if resp.StatusCode != c.status || !strings.Contains(string(raw), c.want) {
			t.Errorf("%s: %d %s, want %d saying %q", c.name, resp.StatusCode, raw, c.status, c.want)
		}
		if c.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Bearer realm="tickerd publish"`) {
			t.Errorf("%s: WWW-Authenticate %q", c.name, resp.Header.Get("WWW-Authenticate"))
		}
	}
	if len(f.eng.ticks) != 0 {
		t.Errorf("refused requests published %+v", f.eng.ticks)
	}
	// A token with the permission publishes.
	pub := token(t, jwt.MapClaims{"sub": "feed-1", "exp": hour, "publish": true})
	if resp, raw := f.post(t, good, "Authorization", "Bearer "+pub); resp.StatusCode != 200 || len(f.eng.ticks) != 1 {
		t.Fatalf("publishing token: %d %s", resp.StatusCode, raw)
	}
	if v := testutil.ToFloat64(gathered{f.reg, "tickerd_publish_last_timestamp_seconds", "publisher", "token:feed-1"}); v == 0 {
		t.Error("no last publish time for token:feed-1")
	}
	req := httptest.NewRequest("GET", "/api/publish", nil)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	if w.Code != 405 || w.Header().Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

func TestPublishLimitsBodyLinesAndRate(t *testing.T) {
	f := newFixture(t, func(c *ingest.Config) { c.MaxBodyBytes = 4096; c.MaxLines = 3; c.RequestRate = 1 })
	var body bytes.Buffer
	for i := range 5 {
		px := 100 + float64(i)/100
		body.WriteString(line("AAPL", px, px-0.01, px+0.01, 1) + "\n")
	}
	resp, raw := f.post(t, body.String())
	var res ingest.Result
	_ = json.Unmarshal(raw, &res)
	if resp.StatusCode != 413 || res.Accepted != 3 || !strings.Contains(res.Error, "more than 3 lines") {
		t.Fatalf("5 lines over a limit of 3: %d %s", resp.StatusCode, raw)
	}
	// A declared length over the limit is refused before anything is read.
	big := strings.Repeat(line("AAPL", 100, 99.99, 100.01, 1)+"\n", 100)
	resp, raw = f.post(t, big)
	if resp.StatusCode != 413 || !strings.Contains(string(raw), "larger than 4096") {
		t.Fatalf("large body: %d %s", resp.StatusCode, raw)
	}
	// The burst (twice the rate) is spent; the next request waits.
	resp, raw = f.post(t, body.String())
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("third request in a second: %d %s, Retry-After %q", resp.StatusCode, raw, resp.Header.Get("Retry-After"))
	}
	// Another publisher has its own budget.
	other := token(t, jwt.MapClaims{"sub": "feed-2", "exp": time.Now().Add(time.Hour).Unix(), "publish": true})
	if resp, raw := f.post(t, line("MSFT", 10, 9.99, 10.01, 1), "Authorization", "Bearer "+other); resp.StatusCode != 200 {
		t.Fatalf("another publisher: %d %s", resp.StatusCode, raw)
	}
	if len(f.eng.ticks) != 4 {
		t.Errorf("published %d ticks, want 3 then 1", len(f.eng.ticks))
	}
	for result, want := range map[string]float64{"ok": 1, "too_large": 2, "rate_limited": 1} {
		if v := testutil.ToFloat64(gathered{f.reg, "tickerd_publish_requests_total", "result", result}); v != want {
			t.Errorf("requests %s = %v, want %v", result, v, want)
		}
	}
}

// TestPublishersPastTheBoundShareOneLabelAndOneLimit publishes as more
// identities than MaxPublishers: the first ones keep a label and a rate
// limit each; every one after shares the label "other" and one limit, so
// neither the series of tickerd_publish_last_timestamp_seconds nor the
// limiters grow with the identities a publisher can make up.
func TestPublishersPastTheBoundShareOneLabelAndOneLimit(t *testing.T) {
	// A burst of one request each, refilled only after 100 s.
	f := newFixture(t, func(c *ingest.Config) { c.MaxPublishers = 2; c.RequestRate = 0.01 })
	hour := time.Now().Add(time.Hour).Unix()
	as := func(sub string) string {
		return "Bearer " + token(t, jwt.MapClaims{"sub": sub, "exp": hour, "publish": true})
	}
	px := 100.0
	post := func(bearer string) int {
		t.Helper()
		px += 0.01
		resp, _ := f.post(t, line("AAPL", px, px-0.01, px+0.01, 1)+"\n", "Authorization", bearer)
		return resp.StatusCode
	}
	for i, c := range []struct {
		who    string
		bearer string
		status int
	}{
		{"the key", "Bearer " + string(testKey), 200},
		{"feed-1", as("feed-1"), 200},
		{"feed-2, the first past the bound", as("feed-2"), 200},
		// feed-3 has no budget of its own: feed-2 spent the one they share.
		{"feed-3", as("feed-3"), 429},
		{"feed-4", as("feed-4"), 429},
		{"feed-2 again", as("feed-2"), 429},
		// The first two keep theirs, spent by their first request.
		{"the key again", "Bearer " + string(testKey), 429},
		{"feed-1 again", as("feed-1"), 429},
	} {
		if got := post(c.bearer); got != c.status {
			t.Errorf("request %d, %s: %d, want %d", i+1, c.who, got, c.status)
		}
	}
	if got, want := publisherLabels(t, f.reg), []string{"key", "other", "token:feed-1"}; !slices.Equal(got, want) {
		t.Errorf("publisher labels %v, want %v", got, want)
	}
	if len(f.eng.ticks) != 3 {
		t.Errorf("published %d ticks, want 3", len(f.eng.ticks))
	}

	// With budget to spare, fifty identities publish: still three series.
	// The first two told apart keep their labels, whichever publishes
	// first: the key's first request is refused, feed-1 and those past
	// the bound publish, and the key still has a label of its own.
	f = newFixture(t, func(c *ingest.Config) { c.MaxPublishers = 2 })
	if resp, raw := f.post(t, line("AAPL", px, px-0.01, px+0.01, 1)+"\n", "Content-Type", "text/plain"); resp.StatusCode != 415 {
		t.Fatalf("the key's first request: %d %s", resp.StatusCode, raw)
	}
	for i := range 50 {
		if got := post(as(fmt.Sprintf("many-%d", i))); got != 200 {
			t.Fatalf("identity %d: %d", i, got)
		}
	}
	if got := post("Bearer " + string(testKey)); got != 200 {
		t.Fatalf("the key: %d", got)
	}
	if got, want := publisherLabels(t, f.reg), []string{"key", "other", "token:many-0"}; !slices.Equal(got, want) {
		t.Errorf("publisher labels of fifty identities %v, want %v", got, want)
	}
}

// publisherLabels returns the sorted publisher labels of
// tickerd_publish_last_timestamp_seconds, each checked to hold a time.
func publisherLabels(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, mf := range mfs {
		if mf.GetName() != "tickerd_publish_last_timestamp_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetGauge().GetValue() <= 0 {
				t.Errorf("series %v has no time", m.GetLabel())
			}
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetValue())
			}
		}
	}
	slices.Sort(labels)
	return labels
}

// TestPublishStreamsABodyLineByLine keeps one POST open and checks that
// each line is published as soon as it has been written, before the body
// ends.
func TestPublishStreamsABodyLineByLine(t *testing.T) {
	f := newFixture(t, nil)
	published := make(chan feed.Tick, 10)
	f2 := newFixture(t, func(c *ingest.Config) {
		c.Engine = engineFunc(func(tk feed.Tick) error {
			if err := f.eng.Publish(tk); err != nil {
				return err
			}
			published <- f.eng.ticks[len(f.eng.ticks)-1]
			return nil
		})
	})
	srv := httptest.NewServer(f2.h)
	defer srv.Close()
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", srv.URL, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ingest.ContentType)
	req.Header.Set("Authorization", "Bearer "+string(testKey))
	answered := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			close(answered)
			return
		}
		answered <- resp
	}()
	for i := range 3 {
		px := 50 + float64(i)/100
		if _, err := io.WriteString(pw, line("MSFT", px, px-0.01, px+0.01, 10)+"\n"); err != nil {
			t.Fatal(err)
		}
		select {
		case tk := <-published:
			if tk.Seq != uint64(100+i) || tk.Price != px {
				t.Fatalf("tick %d published as %+v", i, tk)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("line %d not published while the body is open", i+1)
		}
	}
	pw.Close()
	resp := <-answered
	if resp == nil {
		return
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"accepted":3`) {
		t.Fatalf("answer %d %s", resp.StatusCode, raw)
	}
}

type engineFunc func(feed.Tick) error

func (f engineFunc) Publish(t feed.Tick) error { return f(t) }

func TestNewHandlerRefusesBadSettings(t *testing.T) {
	for _, c := range []struct {
		edit func(*ingest.Config)
		name string
	}{
		{func(c *ingest.Config) { c.Key = []byte("short") }, "Key"},
		{func(c *ingest.Config) { c.MaxLines = 0 }, "MaxLines"},
		{func(c *ingest.Config) { c.RequestRate = 0 }, "RequestRate"},
		{func(c *ingest.Config) { c.MaxBodyBytes = 0 }, "MaxBodyBytes"},
	} {
		c0 := ingest.Config{Key: testKey, Engine: engineFunc(func(feed.Tick) error { return nil }), MaxBodyBytes: 1 << 20,
			MaxLines: 10, RequestRate: 1, MaxPublishers: 1, IdleTimeout: time.Minute, Registerer: prometheus.NewRegistry()}
		c.edit(&c0)
		if _, err := ingest.NewHandler(c0); err == nil || !strings.HasPrefix(err.Error(), c.name+" ") {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// BenchmarkPublishBody posts a body of 1,000 ticks through the handler
// into a hub (not running: Publish and its hygiene only), and reports
// lines per second.
func BenchmarkPublishBody(b *testing.B) {
	reg := prometheus.NewRegistry()
	cfg := stream.DefaultConfig([]string{"AAPL", "MSFT"}, sse.Framing{})
	cfg.FirstSeq = 1
	hub, err := stream.NewHub(cfg)
	if err != nil {
		b.Fatal(err)
	}
	h, err := ingest.NewHandler(ingest.Config{
		Key: testKey, Engine: hub,
		MaxBodyBytes: 1 << 20, MaxLines: 1000, RequestRate: 1e6, MaxPublishers: 1,
		IdleTimeout: time.Minute, Registerer: reg,
	})
	if err != nil {
		b.Fatal(err)
	}
	var body bytes.Buffer
	for i := range 1000 {
		px := 100 + float64(i%10)/100
		body.WriteString(line("AAPL", px, px-0.01, px+0.01, 100) + "\n")
	}
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/api/publish", bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Type", ingest.ContentType)
		req.Header.Set("Authorization", "Bearer "+string(testKey))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "lines/s")
}
