package main

import (
	"github.com/tickerd/tickerd/internal/ssetest"

	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/natstest"
)

const deployDir = "../../deploy"

// requireTool returns the path of an external program the test needs. A
// missing one skips the test on a developer's machine and fails it under CI,
// where scripts/test.sh has installed it.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (scripts/test.sh installs it): %v", name, err)
	}
	t.Skipf("%s is not installed; scripts/test.sh installs it", name)
	return ""
}

// scrape returns a running tickerd's /metrics in the text format.
func scrape(t *testing.T, td *tickerd) string {
	t.Helper()
	resp, err := http.Get(td.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := bufio.NewReader(resp.Body).WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d\n%s", resp.StatusCode, b.String())
	}
	return b.String()
}

// sampleSum adds the values of every series of the metric name in a text
// exposition, whatever their labels; ok is false when it has none.
func sampleSum(exposition, name string) (sum float64, ok bool) {
	for _, line := range strings.Split(exposition, "\n") {
		rest, found := strings.CutPrefix(line, name)
		if !found || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		fields := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		sum += v
		ok = true
	}
	return sum, ok
}

// tickReader reads one event stream continuously in its own goroutine and
// records the ticks it gets.
type tickReader struct {
	symbols map[string]bool // nil: every symbol
	mu      sync.Mutex
	ticks   []feed.Tick
	err     error // why reading stopped
}

// startTickReader opens a stream of symbols (none: every symbol) and reads
// it until the test ends.
func startTickReader(t *testing.T, td *tickerd, symbols ...string) *tickReader {
	t.Helper()
	r := &tickReader{}
	streamURL := td.URL + "/events"
	if len(symbols) > 0 {
		streamURL += "?symbols=" + strings.Join(symbols, ",")
		r.symbols = map[string]bool{}
		for _, s := range symbols {
			r.symbols[s] = true
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", streamURL, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s: %d", streamURL, resp.StatusCode)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := &rawStream{resp: resp, events: ssetest.NewReader(resp.Body)}
		for {
			ev, err := s.next()
			if err == nil && ev.name != "tick" {
				continue
			}
			var tk feed.Tick
			if err == nil {
				err = json.Unmarshal([]byte(ev.data), &tk)
			}
			r.mu.Lock()
			if err != nil {
				r.err = err
				r.mu.Unlock()
				return
			}
			r.ticks = append(r.ticks, tk)
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		resp.Body.Close()
	})
	return r
}

// received returns how many ticks the reader has, and the first and the
// newest one's sequence numbers.
func (r *tickReader) received() (n int, first, last uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ticks) > 0 {
		first, last = r.ticks[0].Seq, r.ticks[len(r.ticks)-1].Seq
	}
	return len(r.ticks), first, last
}

// seqsUpTo returns the sequence numbers the reader received, up to seq.
func (r *tickReader) seqsUpTo(seq uint64) []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []uint64
	for _, tk := range r.ticks {
		if tk.Seq <= seq {
			out = append(out, tk.Seq)
		}
	}
	return out
}

// expectedUpTo returns the ticks r should have received from its first one
// up to seq: all of them when it reads every symbol (sequence numbers have
// no gaps), otherwise those of its symbols that ref, which reads every
// symbol and started earlier, received.
func (r *tickReader) expectedUpTo(ref *tickReader, seq uint64) []uint64 {
	_, first, _ := r.received()
	var out []uint64
	if r.symbols == nil {
		for s := first; s <= seq && first > 0; s++ {
			out = append(out, s)
		}
		return out
	}
	for _, s := range ref.seqsUpTo(seq) {
		if s < first {
			continue
		}
		if r.symbols == nil || r.symbols[ref.symbolOf(s)] {
			out = append(out, s)
		}
	}
	return out
}

func (r *tickReader) symbolOf(seq uint64) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := slices.BinarySearchFunc(r.ticks, seq, func(tk feed.Tick, s uint64) int { return cmp.Compare(tk.Seq, s) })
	if !ok {
		return ""
	}
	return r.ticks[i].Symbol
}

func TestPromtoolAcceptsTheMetricsConfigAndRules(t *testing.T) {
	promtool := requireTool(t, "promtool")
	td := startTickerd(t, "-rate", "1000")
	// A client that has received ticks, so that every histogram has data.
	r := startTickReader(t, td)
	eventually(t, "ticks on a stream", 10*time.Second, func() (bool, string) {
		n, _, _ := r.received()
		return n >= 50, fmt.Sprintf("%d ticks", n)
	})
	metrics := scrape(t, td)

	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
	}{
		{"check metrics", []string{"check", "metrics"}, metrics},
		{"check config", []string{"check", "config", filepath.Join(deployDir, "prometheus/prometheus.yml")}, ""},
		{"check rules", []string{"check", "rules", filepath.Join(deployDir, "prometheus/alerts.yml")}, ""},
		{"test rules", []string{"test", "rules", filepath.Join(deployDir, "prometheus/alerts_test.yml")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(promtool, tc.args...)
			cmd.Stdin = strings.NewReader(tc.stdin)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(tc.args, " "), err, out)
			}
			// check metrics prints one line per problem and nothing else.
			if tc.name == "check metrics" && len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("promtool check metrics reports problems:\n%s", out)
			}
		})
	}
}

// TestEventsWrittenEqualTicksReceived checks the stream counters through the
// real program: once no tick is in flight, tickerd_events_written_total is
// exactly the number of ticks the clients received, and every client
// received every tick of its symbols since it connected, in order.
func TestEventsWrittenEqualTicksReceived(t *testing.T) {
	// A slow feed leaves quiet moments between ticks (20 ms on average
	// against a 5 ms flush interval) in which to compare.
	td := startTickerd(t, "-rate", "50")
	readers := []*tickReader{
		startTickReader(t, td), // the reference: every symbol, connected first
		startTickReader(t, td, "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "JPM"),
		startTickReader(t, td),
		startTickReader(t, td, "BRK.B", "V", "MA", "UNH", "XOM", "JNJ", "PG", "HD", "AVGO", "LLY"),
	}
	ref := readers[0]
	eventually(t, "every client receiving ticks", 10*time.Second, func() (bool, string) {
		var counts []int
		for _, r := range readers {
			n, _, _ := r.received()
			counts = append(counts, n)
		}
		return slices.Min(counts) >= 15, fmt.Sprint(counts)
	})

	// Scrape, wait until every client has every tick up to the newest one
	// that scrape counted, and scrape again. When no tick was published in
	// between, the second scrape counts exactly what the clients received.
	// A tick published in between, or a count merged a moment after its
	// write went out, only means another try.
	eventually(t, "a quiet moment with exact counts", 20*time.Second, func() (bool, string) {
		// -first-seq 1 and no rejected ticks: the count is the newest seq.
		ticks, _ := sampleSum(scrape(t, td), "tickerd_feed_ticks_total")
		newest := uint64(ticks)
		want := 0
		for i, r := range readers {
			var got, exp []uint64
			if !pollUntil(2*time.Second, time.Millisecond, func() bool {
				got, exp = r.seqsUpTo(newest), r.expectedUpTo(ref, newest)
				return slices.Equal(got, exp)
			}) {
				t.Fatalf("client %d up to tick %d:\n got %v\nwant %v", i, newest, got, exp)
			}
			want += len(got)
		}
		after := scrape(t, td)
		ticksAfter, _ := sampleSum(after, "tickerd_feed_ticks_total")
		written, _ := sampleSum(after, "tickerd_events_written_total")
		state := fmt.Sprintf("ticks %v then %v; events written %v, received %d", ticks, ticksAfter, written, want)
		if ticksAfter != ticks || written != float64(want) {
			return false, state
		}
		t.Log(state)
		return true, state
	})

	m := scrape(t, td)
	for name, want := range map[string]float64{
		"tickerd_clients":                    float64(len(readers)),
		"tickerd_clients_conflated":          0,
		"tickerd_streams_opened_total":       float64(len(readers)),
		"tickerd_streams_closed_total":       0,
		"tickerd_events_dropped_total":       0,
		"tickerd_feed_ticks_rejected_total":  0,
		"tickerd_feed_rate_ticks_per_second": 50,
	} {
		if got, ok := sampleSum(m, name); !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	for i, r := range readers {
		r.mu.Lock()
		if r.err != nil {
			t.Errorf("client %d stopped reading: %v", i, r.err)
		}
		r.mu.Unlock()
	}
}

// promServer is a Prometheus server run by a test.
type promServer struct {
	URL    string
	client *http.Client
	logs   *logBuffer
}

// startPrometheus runs the prometheus binary on port 0 of loopback with
// the configuration file config, storage in a temporary directory and
// extra flags, waits until it is ready and stops it at cleanup. Prometheus
// reports the port it bound in its log ("Listening on").
func startPrometheus(t *testing.T, bin, config string, extra ...string) *promServer {
	t.Helper()
	args := append([]string{
		"--config.file=" + config,
		"--storage.tsdb.path=" + t.TempDir(),
		"--web.listen-address=127.0.0.1:0",
		"--log.level=info",
		"--log.format=json",
	}, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second // then SIGKILL
	logs := &logBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	p := &promServer{client: &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}, logs: logs}
	t.Cleanup(func() {
		cancel()
		<-exited
		p.client.CloseIdleConnections()
	})
	ready := pollUntil(20*time.Second, 50*time.Millisecond, func() bool {
		select {
		case err := <-exited:
			exited <- err
			return true
		default:
		}
		if p.URL == "" {
			addr := logs.jsonField("Listening on", "address")
			if addr == "" {
				return false
			}
			p.URL = "http://" + addr
		}
		resp, err := p.client.Get(p.URL + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	select {
	case err := <-exited:
		exited <- err
		t.Fatalf("prometheus %s exited: %v\n%s", strings.Join(args, " "), err, logs)
	default:
	}
	if !ready {
		t.Fatalf("prometheus not ready after 20s:\n%s", logs)
	}
	return p
}

// promResult is the answer of Prometheus's query API.
type promResult struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
	httpStatus int
}

// query evaluates expr at the current time through /api/v1/query.
func (p *promServer) query(t *testing.T, expr string) promResult {
	t.Helper()
	resp, err := p.client.PostForm(p.URL+"/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	defer resp.Body.Close()
	var r promResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("query %s: status %d, %v", expr, resp.StatusCode, err)
	}
	r.httpStatus = resp.StatusCode
	return r
}

// values returns the sample values of a successful instant-vector answer.
func (r promResult) values() []float64 {
	var out []float64
	for _, s := range r.Data.Result {
		if str, ok := s.Value[1].(string); ok {
			if v, err := strconv.ParseFloat(str, 64); err == nil {
				out = append(out, v)
			}
		}
	}
	return out
}

// scalar returns the only value of expr, or NaN and a description of what
// came back instead.
func (p *promServer) scalar(t *testing.T, expr string) (float64, string) {
	t.Helper()
	r := p.query(t, expr)
	v := r.values()
	if r.Status != "success" || len(v) != 1 {
		return math.NaN(), fmt.Sprintf("%s: %d %s %s %s, %d samples", expr, r.httpStatus, r.Status, r.ErrorType, r.Error, len(v))
	}
	return v[0], fmt.Sprintf("%s = %v", expr, v[0])
}

// TestPrometheusScrapesTickerd runs tickerd and a real Prometheus server with
// the shipped configuration and alert rules, and checks through
// Prometheus's HTTP API what an SRE would look at: the target is up, the
// clients gauge, the event rate and the latency histogram move, the alert
// rules evaluate, and every expression of the Grafana dashboard is valid
// PromQL with data behind it. Prometheus scrapes a publisher and a replica
// on a real NATS server too, as job tickerd beside the all-in-one, so that
// the bus panels have data. A second server with native histograms on
// checks the native buckets of tickerd_tick_to_wire_seconds.
func TestPrometheusScrapesTickerd(t *testing.T) {
	bin := requireTool(t, "prometheus")
	start := time.Now()
	td := startTickerd(t, "-rate", "500")
	const clients = 3
	for range clients {
		startTickReader(t, td)
	}
	ns := natstest.Start(t)
	pub := startPublisher(t, ns.URL(), 100)
	replica := startReplica(t, ns.URL())
	// A universe above -symbol-series: one series of tickerd_feed_ticks_total.
	large := startTickerd(t, "-rate", "500", "-symbols", "synthetic:1500")
	target := strings.TrimPrefix(td.URL, "http://")
	largeTarget := strings.TrimPrefix(large.URL, "http://")
	config := prometheusConfig(t, target, strings.TrimPrefix(pub.URL, "http://"), strings.TrimPrefix(replica.URL, "http://"), largeTarget)
	// The single-series checks below look at the all-in-one.
	aio := fmt.Sprintf(`job="tickerd", instance=%q`, target)
	prom := startPrometheus(t, bin, config)
	native := startPrometheus(t, bin, config, "--enable-feature=native-histograms")
	t.Logf("%v: both Prometheus servers ready", time.Since(start).Round(time.Millisecond))

	checkValue := func(p *promServer, what, expr string, ok func(float64) bool) {
		t.Helper()
		var state string
		eventually(t, what, 15*time.Second, func() (bool, string) {
			var v float64
			v, state = p.scalar(t, expr)
			return !math.IsNaN(v) && ok(v), state
		})
		t.Logf("%v: %s", time.Since(start).Round(time.Millisecond), state)
	}
	checkValue(prom, "every target up", `sum(up{job="tickerd"})`, func(v float64) bool { return v == 4 })
	checkValue(prom, "a series per symbol up to -symbol-series", `count(tickerd_feed_ticks_total{`+aio+`})`, func(v float64) bool { return v == 52 })
	checkValue(prom, "one series above it", fmt.Sprintf(`count(tickerd_feed_ticks_total{instance=%q})`, largeTarget), func(v float64) bool { return v == 1 })
	checkValue(prom, "the clients gauge", `sum(tickerd_clients{`+aio+`})`, func(v float64) bool { return v == clients })
	checkValue(prom, "events written", `rate(tickerd_events_written_total{`+aio+`}[5s])`, func(v float64) bool { return v > 0 })
	first, _ := prom.scalar(t, `tickerd_tick_to_wire_seconds_count{`+aio+`}`)
	checkValue(prom, "the latency histogram growing", `tickerd_tick_to_wire_seconds_count{`+aio+`}`,
		func(v float64) bool { return v > first })
	checkValue(prom, "a tick-to-wire p99", `histogram_quantile(0.99, rate(tickerd_tick_to_wire_seconds_bucket{`+aio+`}[5s]))`,
		func(v float64) bool { return v > 0 && v <= 10 })
	checkValue(prom, "the publisher and the replica on the bus", `sum(tickerd_bus_connected{job="tickerd"})`,
		func(v float64) bool { return v == 2 })
	checkValue(prom, "the publisher storing ticks", `rate(tickerd_bus_published_total{job="tickerd"}[5s])`,
		func(v float64) bool { return v > 0 })
	checkValue(prom, "the replica consuming them", `deriv(tickerd_bus_consumed_sequence{job="tickerd"}[5s])`,
		func(v float64) bool { return v > 0 })

	t.Run("alert rules", func(t *testing.T) {
		eventually(t, "every rule evaluated without error", 15*time.Second, func() (bool, string) {
			return prom.rulesHealthy(t)
		})
		if r := prom.query(t, `ALERTS{alertname=~"TickerdScrapeDown|TickerdFeedStalled|TickerdBus.+"}`); len(r.Data.Result) > 0 {
			t.Errorf("alerts active on a healthy tickerd, publisher and replica: %+v", r.Data.Result)
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		if r := prom.query(t, "sum(rate(tickerd_events_written_total[5s]"); r.httpStatus != 400 || r.ErrorType != "bad_data" {
			t.Fatalf("an invalid expression got %d %q, want 400 bad_data: the check below would prove nothing", r.httpStatus, r.ErrorType)
		}
		for _, e := range dashboardExprs(t, loadDashboard(t)) {
			expr := grafanaVariables.Replace(e.expr)
			eventually(t, fmt.Sprintf("panel %q to have data", e.panel), 15*time.Second, func() (bool, string) {
				r := prom.query(t, expr)
				if r.httpStatus == 400 || r.ErrorType == "bad_data" {
					t.Fatalf("panel %q: Prometheus rejects %s: %s", e.panel, expr, r.Error)
				}
				return r.Status == "success" && len(r.Data.Result) > 0,
					fmt.Sprintf("%s: %d %s %s, %d series", expr, r.httpStatus, r.Status, r.Error, len(r.Data.Result))
			})
		}
		t.Logf("%v: every dashboard expression has data", time.Since(start).Round(time.Millisecond))
		// The feed panels work for a server without per-symbol series too.
		largeOnly := strings.NewReplacer("$__rate_interval", "5s", "$job", "tickerd", "$instance", largeTarget) // its dots match themselves among the targets
		feedPanels := 0
		for _, e := range dashboardExprs(t, loadDashboard(t)) {
			if !strings.Contains(e.expr, "tickerd_feed_ticks_total") || strings.Contains(e.expr, "tickerd_bus_") {
				continue // not about the feed, or about a replica's
			}
			feedPanels++
			expr := largeOnly.Replace(e.expr)
			eventually(t, fmt.Sprintf("panel %q to have data for the large universe", e.panel), 15*time.Second, func() (bool, string) {
				r := prom.query(t, expr)
				return r.Status == "success" && len(r.Data.Result) > 0, fmt.Sprintf("%s: %s %s, %d series", expr, r.Status, r.Error, len(r.Data.Result))
			})
		}
		if feedPanels < 3 {
			t.Errorf("%d panels query tickerd_feed_ticks_total, want at least 3", feedPanels)
		}
	})

	t.Run("native histogram", func(t *testing.T) {
		checkValue(native, "native samples", `histogram_count(tickerd_tick_to_wire_seconds{`+aio+`})`, func(v float64) bool { return v > 0 })
		first, _ := native.scalar(t, `histogram_count(tickerd_tick_to_wire_seconds{`+aio+`})`)
		checkValue(native, "the native histogram growing", `histogram_count(tickerd_tick_to_wire_seconds{`+aio+`})`,
			func(v float64) bool { return v > first })
		checkValue(native, "a native p99", `histogram_quantile(0.99, rate(tickerd_tick_to_wire_seconds{`+aio+`}[5s]))`,
			func(v float64) bool { return v > 0 && v <= 10 })
	})
	t.Logf("%v: done", time.Since(start).Round(time.Millisecond))
}

// prometheusConfig writes deploy/prometheus/prometheus.yml and its rules to
// a temporary directory, made to scrape the targets every second.
func prometheusConfig(t *testing.T, targets ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "prometheus/prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	config := string(b)
	// The line "- localhost:8080" of the targets list, once per target.
	line := regexp.MustCompile(`(?m)^( *- )localhost:8080$`)
	if n := len(line.FindAllString(config, -1)); n != 1 {
		t.Fatalf("prometheus.yml has %d lines \"- localhost:8080\"; this test replaces it with tickerd's addresses", n)
	}
	config = line.ReplaceAllStringFunc(config, func(l string) string {
		indent := line.FindStringSubmatch(l)[1]
		return indent + strings.Join(targets, "\n"+indent)
	})
	config = regexp.MustCompile(`(scrape|evaluation)_interval: \w+`).ReplaceAllString(config, "${1}_interval: 1s")
	rules, err := os.ReadFile(filepath.Join(deployDir, "prometheus/alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// rulesHealthy reports whether Prometheus has evaluated every rule it
// loaded, without error, and whether it loaded any.
func (p *promServer) rulesHealthy(t *testing.T) (bool, string) {
	t.Helper()
	resp, err := p.client.Get(p.URL + "/api/v1/rules")
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return false, err.Error()
	}
	var states []string
	ok := true
	for _, g := range r.Data.Groups {
		for _, rule := range g.Rules {
			states = append(states, rule.Name+":"+rule.Health+" "+rule.LastError)
			if rule.LastError != "" {
				t.Fatalf("rule %s fails: %s", rule.Name, rule.LastError)
			}
			ok = ok && rule.Health == "ok"
		}
	}
	return ok && len(states) > 0, strings.Join(states, ", ")
}
