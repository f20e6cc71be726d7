package feed_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/natstest"
)

// queueSource is a Source that publishes the ticks sent on its channel.
type queueSource chan feed.Tick

func (q queueSource) Run(ctx context.Context, publish func(feed.Tick)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case t := <-q:
			publish(t)
		}
	}
}

// publisher runs a NATSPublisher fed by the returned channel until the test ends.
func startPublisher(t *testing.T, url string, reg prometheus.Registerer) (queueSource, *feed.NATSPublisher) {
	t.Helper()
	p := newTestPublisher(t, url, reg)
	q := make(queueSource)
	runInBackground(t, "publisher", func(ctx context.Context) error { return p.Run(ctx, q) })
	return q, p
}

// newTestPublisher returns a publisher of testSymbols to url, not running.
func newTestPublisher(t *testing.T, url string, reg prometheus.Registerer) *feed.NATSPublisher {
	t.Helper()
	p, err := feed.NewNATSPublisher(feed.NATSPublisherConfig{
		NATSConfig: feed.NATSConfig{URL: url, Name: "test-publisher", Registerer: reg, Logger: testLogger(t)},
		Symbols:    testSymbols, MaxPerSymbol: 1000, MaxAge: time.Hour, Window: 64,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runInBackground runs fn until the test ends, then cancels it, waits and
// checks that it returned nil.
func runInBackground(t *testing.T, what string, fn func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", what, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop within 10s", what)
		}
	})
}

// testSymbols are the universe of the engine's tests: names with an
// exchange prefix and with a dot, which NATS cannot carry raw in a subject
// token, and a rare one.
var testSymbols = []string{"NASDAQ:AAPL", "MSFT", "BRK.B", rare}

const rare = "NYSE:BF.B"

// tick makes the n-th test tick: rare trades only at n == 10.
func tick(n uint64) feed.Tick {
	sym := testSymbols[n%3]
	if n == 10 {
		sym = rare
	}
	px := 100 + float64(n%50)/100
	return feed.Tick{Seq: 1_000_000 + n, Symbol: sym, Price: px, Bid: px - 0.01, Ask: px + 0.01, Size: int64(n), Time: time.Unix(1_700_000_000, int64(n))}
}

func sendTicks(t *testing.T, q queueSource, from, to uint64) {
	t.Helper()
	for n := from; n <= to; n++ {
		select {
		case q <- tick(n):
		case <-time.After(10 * time.Second):
			t.Fatalf("publisher stuck before tick %d", n)
		}
	}
}

// received gathers what a NATSSource hands on.
type received struct {
	mu    sync.Mutex
	ticks []feed.Tick
}

func (c *received) publish(t feed.Tick) {
	c.mu.Lock()
	c.ticks = append(c.ticks, t)
	c.mu.Unlock()
}

func (c *received) snapshot() []feed.Tick {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ticks)
}

func (c *received) waitForSeq(t *testing.T, seq uint64) []feed.Tick {
	t.Helper()
	waitFor(t, "the source to hand on seq", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.ticks) > 0 && c.ticks[len(c.ticks)-1].Seq >= seq
	})
	return c.snapshot()
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startSource(t *testing.T, url string, replay int, reg prometheus.Registerer) (*feed.NATSSource, *received) {
	t.Helper()
	src, err := feed.NewNATSSource(feed.NATSSourceConfig{
		NATSConfig: feed.NATSConfig{URL: url, Name: "test-replica", Registerer: reg, Logger: testLogger(t)},
		Symbols:    testSymbols, Replay: replay, Heartbeat: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &received{}
	runInBackground(t, "source", func(ctx context.Context) error { return src.Run(ctx, c.publish) })
	return src, c
}

// checkStreamOrder fails unless ticks are exactly the stream sequences
// from..to, each carrying the test tick it was published as.
func checkStreamOrder(t *testing.T, ticks []feed.Tick, from, to uint64) {
	t.Helper()
	if len(ticks) != int(to-from+1) {
		t.Fatalf("got %d ticks, want seqs %d..%d", len(ticks), from, to)
	}
	for i, got := range ticks {
		seq := from + uint64(i)
		want := tick(seq)
		want.Seq = seq
		if got.Seq != seq || got.Symbol != want.Symbol || got.Price != want.Price || got.Size != want.Size || !got.Time.Equal(want.Time) {
			t.Fatalf("tick %d: got %+v, want %+v", i, got, want)
		}
	}
}

func TestSourceAndPublisherRecoverFromAServerRestartWithoutGapOrDuplicate(t *testing.T) {
	ns := natstest.Start(t)
	preg, sreg := prometheus.NewRegistry(), prometheus.NewRegistry()
	q, p := startPublisher(t, ns.URL(), preg)
	sendTicks(t, q, 1, 100)
	src, c := startSource(t, ns.URL(), 1000, sreg)
	c.waitForSeq(t, 100)
	waitFor(t, "ready", func() bool { return src.Ready() == nil })

	ns.Stop()
	waitFor(t, "source not ready", func() bool { return errors.Is(src.Ready(), feed.ErrBusDisconnected) })
	waitFor(t, "publisher not ready", func() bool { return p.Ready() != nil })
	// Ticks made during the outage wait in the publisher, in order.
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for n := uint64(101); n <= 110; n++ {
			q <- tick(n)
		}
	}()
	time.Sleep(300 * time.Millisecond) // the outage
	ns.Restart()
	<-sent
	sendTicks(t, q, 111, 200)
	checkStreamOrder(t, c.waitForSeq(t, 200), 1, 200)
	waitFor(t, "ready again", func() bool { return src.Ready() == nil && p.Ready() == nil })
	// A connection is ready again before its reconnect callback, which
	// counts the reconnection, has run.
	for _, reg := range []*prometheus.Registry{preg, sreg} {
		waitFor(t, "the reconnection counted", func() bool { return metricValue(t, reg, "tickerd_bus_reconnects_total") >= 1 })
	}
}

func connect(t *testing.T, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func lastSeq(t *testing.T, js jetstream.JetStream) uint64 {
	stream, err := js.Stream(context.Background(), feed.StreamName)
	if err != nil {
		return 0
	}
	info, err := stream.Info(context.Background())
	if err != nil {
		return 0
	}
	return info.State.LastSeq
}

// metricValue returns the value of the metric name, which has one series, on reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		m := f.GetMetric()[0]
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// testLogger logs to the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// Debian packages an older nats-server than the one the other tests embed;
// the engine must work with it too.
func TestEngineWorksWithDebiansNATSServer(t *testing.T) {
	ns := startNATSBinary(t)
	url := ns.url()
	q, _ := startPublisher(t, url, nil)
	sendTicks(t, q, 1, 30)
	src, c := startSource(t, url, 10, nil)
	checkStreamOrder(t, c.waitForSeq(t, 30), 10, 30)
	waitFor(t, "ready", func() bool { return src.Ready() == nil })
	sendTicks(t, q, 31, 40)
	checkStreamOrder(t, c.waitForSeq(t, 40), 10, 40)
}

// natsBinary is the nats-server program run as a process, which a test
// can kill as an operator's machine might.
type natsBinary struct {
	t      testing.TB
	bin    string
	port   string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *strings.Builder
}

// startNATSBinary runs nats-server with JetStream on a free loopback port
// until the test ends.
func startNATSBinary(t testing.TB) *natsBinary {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("nats-server not found (scripts/test.sh installs it)")
		}
		t.Skip("nats-server not found; scripts/test.sh installs it")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	ns := &natsBinary{t: t, bin: bin, port: port, dir: t.TempDir()}
	ns.start()
	t.Cleanup(func() { ns.stop(syscall.SIGTERM) })
	return ns
}

func (ns *natsBinary) url() string { return "nats://127.0.0.1:" + ns.port }

// start runs the server (again) on the same port and store and waits
// until it listens.
func (ns *natsBinary) start() {
	t := ns.t
	t.Helper()
	ns.cmd = exec.Command(ns.bin, "-a", "127.0.0.1", "-p", ns.port, "-js", "-sd", ns.dir)
	ns.logs = &strings.Builder{}
	ns.cmd.Stdout, ns.cmd.Stderr = ns.logs, ns.logs
	if err := ns.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ns.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { _ = cmd.Wait(); close(exited) }(ns.cmd, ns.exited)
	waitFor(t, "nats-server to listen", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+ns.port)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// stop sends sig to the server and waits until it has exited; it does
// nothing if the server is not running.
func (ns *natsBinary) stop(sig syscall.Signal) {
	if ns.cmd == nil {
		return
	}
	_ = ns.cmd.Process.Signal(sig)
	<-ns.exited
	if ns.t.Failed() {
		ns.t.Logf("nats-server:\n%s", ns.logs.String())
	}
	ns.cmd = nil
}

// The engine takes every name of the symbol rule, and only those.
func TestEngineTakesTheNamesOfTheSymbolRule(t *testing.T) {
	cfg := feed.NATSConfig{URL: "nats://127.0.0.1:4222"}
	for _, tc := range []struct {
		symbols []string
		want    string
	}{
		{testSymbols, ""},
		{[]string{"NASDAQ:AAPL", "X."}, `symbol "X.": ticker "X." has a '.' that is not between two letters or digits`},
		{[]string{"AAPL", ""}, `symbol "": empty`},
	} {
		_, perr := feed.NewNATSPublisher(feed.NATSPublisherConfig{NATSConfig: cfg, Symbols: tc.symbols, MaxPerSymbol: 1, MaxAge: time.Hour, Window: 1})
		_, serr := feed.NewNATSSource(feed.NATSSourceConfig{NATSConfig: cfg, Symbols: tc.symbols})
		for what, err := range map[string]error{"NewNATSPublisher": perr, "NewNATSSource": serr} {
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || err.Error() != tc.want) {
				t.Errorf("%s(%q) = %v, want %q", what, tc.symbols, err, tc.want)
			}
		}
	}
}
