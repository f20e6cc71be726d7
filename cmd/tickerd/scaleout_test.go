package main

import (
	"bufio"
	"context"
	"encoding/json"
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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/natstest"
)

// The scale-out tests run real components: a NATS server with JetStream
// (in process, file storage), tickerd publish, tickerd replicas, and Debian's
// nginx with the project's own deploy/nginx/nginx.conf.

// startReplica runs tickerd -feed nats against url and waits until it is ready.
func startReplica(t *testing.T, url string, args ...string) *tickerd {
	t.Helper()
	td := startTickerd(t, append([]string{"-feed", "nats", "-nats-url", url, "-retry", "100ms"}, args...)...)
	waitReady(t, td.URL)
	return td
}

// startPublisher runs tickerd publish against url and waits until it stores ticks.
func startPublisher(t *testing.T, url string, rate int) *tickerd {
	t.Helper()
	td := startTickerd(t, "publish", "-nats-url", url, "-rate", strconv.Itoa(rate))
	waitReady(t, td.URL)
	return td
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	waitFor(t, base+" ready", func() bool { return readyStatus(base) == 200 })
}

func readyStatus(base string) int {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// readiness reads a server's /readyz body.
func readiness(t *testing.T, base string) (status int, body struct {
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Clients int    `json:"clients"`
}) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// metric returns the value of an unlabelled series on a server's /metrics.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(get(t, base+"/metrics"), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("%s/metrics has no %s", base, name)
	return 0
}

// eventSource reads a stream the way a browser's EventSource does: when
// the connection ends it waits the advertised retry and reconnects with
// Last-Event-ID set to the last id it received.
type eventSource struct {
	url  string
	stop func()

	mu         sync.Mutex
	ticks      []feed.Tick
	firsts     []string // first event of each connection: tick, snapshot, ...
	snapshots  int
	heartbeats int
	lastID     string
	retry      time.Duration
	err        error // a malformed event, if any
}

func openEventSource(t *testing.T, url string) *eventSource {
	t.Helper()
	es := &eventSource{url: url, retry: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			es.connect(ctx)
			es.mu.Lock()
			wait := es.retry
			es.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}()
	es.stop = func() { cancel(); <-done }
	t.Cleanup(es.stop)
	return es
}

// connect runs one connection to its end.
func (es *eventSource) connect(ctx context.Context) {
	req, err := http.NewRequestWithContext(ctx, "GET", es.url, nil)
	if err != nil {
		es.fail(err)
		return
	}
	es.mu.Lock()
	if es.lastID != "" {
		req.Header.Set("Last-Event-ID", es.lastID)
	}
	es.mu.Unlock()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return // refused or reset: retry
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		_, _ = io.Copy(io.Discard, resp.Body)
		return
	}
	r := bufio.NewReader(resp.Body)
	first := true
	var id, name, data string
	var comment bool
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		if line != "" {
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "":
				comment = true
			case "id":
				id = value
			case "event":
				name = value
			case "data":
				data = value
			case "retry":
				if ms, err := strconv.Atoi(value); err == nil {
					es.mu.Lock()
					es.retry = time.Duration(ms) * time.Millisecond
					es.mu.Unlock()
				}
			}
			continue
		}
		es.mu.Lock()
		switch {
		case name != "":
			if first {
				es.firsts = append(es.firsts, name)
				first = false
			}
			if id != "" {
				es.lastID = id
			}
			switch name {
			case "snapshot":
				es.snapshots++
			case "tick":
				var tk feed.Tick
				if err := json.Unmarshal([]byte(data), &tk); err != nil || strconv.FormatUint(tk.Seq, 10) != id {
					es.err = fmt.Errorf("tick id %q data %s: %v", id, data, err)
				}
				es.ticks = append(es.ticks, tk)
			}
		case comment:
			es.heartbeats++
		}
		es.mu.Unlock()
		id, name, data, comment = "", "", "", false
	}
}

func (es *eventSource) fail(err error) {
	es.mu.Lock()
	es.err = err
	es.mu.Unlock()
}

type esState struct {
	ticks      []feed.Tick
	firsts     []string
	snapshots  int
	heartbeats int
	err        error
}

func (es *eventSource) state() esState {
	es.mu.Lock()
	defer es.mu.Unlock()
	return esState{slices.Clone(es.ticks), slices.Clone(es.firsts), es.snapshots, es.heartbeats, es.err}
}

func (es *eventSource) waitTicks(t *testing.T, n int) esState {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d ticks on %s", n, es.url), func() bool { return len(es.state().ticks) >= n })
	return es.state()
}

// checkExactlyOnceInOrder fails unless the ticks are consecutive stream
// sequence numbers, and no tick was stored twice (same symbol and time).
func checkExactlyOnceInOrder(t *testing.T, who string, st esState) {
	t.Helper()
	if st.err != nil {
		t.Fatalf("%s: %v", who, st.err)
	}
	seen := make(map[string]uint64, len(st.ticks))
	for i, tk := range st.ticks {
		if i > 0 && tk.Seq != st.ticks[i-1].Seq+1 {
			t.Fatalf("%s: tick %d has seq %d after %d: a gap or a duplicate", who, i, tk.Seq, st.ticks[i-1].Seq)
		}
		key := tk.Symbol + "@" + strconv.FormatInt(tk.Time.UnixNano(), 10)
		if prev, dup := seen[key]; dup {
			t.Fatalf("%s: the tick at seq %d was stored again at %d", who, prev, tk.Seq)
		}
		seen[key] = tk.Seq
	}
}

// nginxBinary finds Debian's nginx; without it the test fails on CI and is
// skipped elsewhere.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nginx not found (scripts/test.sh installs nginx-light)")
	}
	t.Skip("nginx not found; scripts/test.sh installs nginx-light")
	return ""
}

// nginxListener is the socket nginx serves on. nginx cannot be told port
// 0, so the test listens on one and nginx inherits the socket, as it does
// from its old master in a binary upgrade (the NGINX variable names the
// inherited descriptors): the port is never free for another process to
// take between the test choosing it and nginx binding it.
type nginxListener struct {
	addr string   // host:port, as nginx.conf's listen directive names it
	file *os.File // the listening socket, for nginx's descriptor 3
}

func listenForNginx(t *testing.T) nginxListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	// A duplicate from os.NewFile stays non-blocking when handed to nginx,
	// where the one from (*net.TCPListener).File would turn blocking.
	raw, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	dup := -1
	if err := raw.Control(func(fd uintptr) {
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		if dup, err = syscall.Dup(int(fd)); err == nil {
			syscall.CloseOnExec(dup)
		}
	}); err != nil || dup < 0 {
		t.Fatalf("duplicate the listener for nginx: %v", err)
	}
	f := os.NewFile(uintptr(dup), "nginx listener")
	t.Cleanup(func() { f.Close() })
	return nginxListener{addr: ln.Addr().String(), file: f}
}

// nginxConfig writes deploy/nginx/nginx.conf into a new directory with only
// its listen address changed to ln's, and an upstream.conf naming the given
// replicas, and returns the directory.
func nginxConfig(t *testing.T, ln nginxListener, replicas ...string) (dir string) {
	t.Helper()
	conf, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nginx", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	const listen = "listen 8080;"
	if strings.Count(string(conf), listen) != 1 {
		t.Fatalf("deploy/nginx/nginx.conf should have exactly one %q", listen)
	}
	dir = t.TempDir()
	conf = []byte(strings.Replace(string(conf), listen, "listen "+ln.addr+";", 1))
	var upstream strings.Builder
	for _, r := range replicas {
		fmt.Fprintf(&upstream, "server %s max_fails=1 fail_timeout=5s;\n", strings.TrimPrefix(r, "http://"))
	}
	for name, content := range map[string][]byte{"nginx.conf": conf, "upstream.conf": []byte(upstream.String())} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// nginxCommand runs nginx on dir's configuration, with its pid file there,
// its early log on stderr, and ln inherited as its listening socket.
func nginxCommand(bin, dir string, ln nginxListener, extra ...string) *exec.Cmd {
	cmd := exec.Command(bin, append([]string{"-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", "stderr",
		"-g", "pid " + filepath.Join(dir, "nginx.pid") + "; daemon off;"}, extra...)...)
	cmd.ExtraFiles = []*os.File{ln.file}
	cmd.Env = append(os.Environ(), "NGINX=3;")
	return cmd
}

// startNginx runs nginx in front of the replicas until the test ends, and
// returns its URL.
func startNginx(t *testing.T, replicas ...string) string {
	t.Helper()
	bin := nginxBinary(t)
	ln := listenForNginx(t)
	dir := nginxConfig(t, ln, replicas...)
	if out, err := nginxCommand(bin, dir, ln, "-t").CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	cmd := nginxCommand(bin, dir, ln)
	logs := &logBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // fast shutdown
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("nginx log:\n%s", logs)
		}
	})
	// The socket takes connections already; nginx answers them once it
	// runs. A request waits at most a second, in case nginx has exited.
	url := "http://" + ln.addr
	client := &http.Client{Transport: &http.Transport{}, Timeout: time.Second}
	defer client.CloseIdleConnections()
	waitFor(t, "nginx to answer", func() bool {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("nginx exited: %v\n%s", err, logs)
		default:
		}
		resp, err := client.Get(url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	return url
}

func TestNginxConfigPassesNginxT(t *testing.T) {
	bin := nginxBinary(t)
	ln := listenForNginx(t)
	out, err := nginxCommand(bin, nginxConfig(t, ln, "127.0.0.1:1", "127.0.0.1:2"), ln, "-t").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

// One publisher, two replicas behind nginx. A client reads through nginx;
// the replica it is on stops; it reconnects with Last-Event-ID, lands on
// the other, and has every sequence number exactly once, in order.
func TestFailoverThroughNginxResumesOnTheOtherReplica(t *testing.T) {
	ns := natstest.Start(t)
	startPublisher(t, ns.URL(), 500)
	replicas := []*tickerd{startReplica(t, ns.URL()), startReplica(t, ns.URL())}
	proxy := startNginx(t, replicas[0].URL, replicas[1].URL)

	es := openEventSource(t, proxy+"/events")
	before := es.waitTicks(t, 500) // about a second
	var on, other *tickerd
	waitFor(t, "the client on a replica", func() bool {
		_, a := readiness(t, replicas[0].URL)
		_, b := readiness(t, replicas[1].URL)
		switch {
		case a.Clients == 1 && b.Clients == 0:
			on, other = replicas[0], replicas[1]
		case a.Clients == 0 && b.Clients == 1:
			on, other = replicas[1], replicas[0]
		}
		return on != nil
	})
	if err := on.Stop(); err != nil {
		t.Fatal(err)
	}
	after := es.waitTicks(t, len(before.ticks)+1000)

	checkExactlyOnceInOrder(t, "client through nginx", after)
	if !slices.Equal(after.firsts, []string{"snapshot", "tick"}) {
		t.Fatalf("connections began with %v; want a snapshot, then (after failover) the missed ticks", after.firsts)
	}
	if _, st := readiness(t, other.URL); st.Clients != 1 {
		t.Errorf("the other replica has %d clients, want 1", st.Clients)
	}
	if got := metric(t, other.URL, "tickerd_replays_total"); got != 1 {
		t.Errorf("the other replica replayed %v streams, want 1", got)
	}
	t.Logf("%d ticks, seq %d..%d, failover after seq %d", len(after.ticks), after.ticks[0].Seq, after.ticks[len(after.ticks)-1].Seq, before.ticks[len(before.ticks)-1].Seq)
}

// NATS stops mid-stream and comes back with its file store: the replicas
// keep their clients (heartbeats go on), say they are not ready meanwhile,
// reconnect by themselves and carry on where they were.
func TestNATSRestartMidStreamLeavesNoGap(t *testing.T) {
	ns := natstest.Start(t)
	startPublisher(t, ns.URL(), 500)
	replicas := []*tickerd{
		startReplica(t, ns.URL(), "-heartbeat", "200ms"),
		startReplica(t, ns.URL(), "-heartbeat", "200ms"),
	}
	var clients []*eventSource
	for _, r := range replicas {
		clients = append(clients, openEventSource(t, r.URL+"/events"))
	}
	for _, c := range clients {
		c.waitTicks(t, 300)
	}

	ns.Stop()
	for _, r := range replicas {
		waitFor(t, "replica not ready", func() bool {
			code, body := readiness(t, r.URL)
			return code == 503 && body.Reason == feed.ErrBusDisconnected.Error()
		})
	}
	for _, c := range clients {
		hb := c.state().heartbeats
		waitFor(t, "heartbeats during the outage", func() bool { return c.state().heartbeats >= hb+2 })
	}
	outage := make([]int, len(clients))
	for i, c := range clients {
		outage[i] = len(c.state().ticks)
	}
	ns.Restart()
	for _, r := range replicas {
		waitReady(t, r.URL)
	}
	for i, c := range clients {
		st := c.waitTicks(t, outage[i]+500)
		checkExactlyOnceInOrder(t, fmt.Sprintf("client of replica %d", i), st)
		if len(st.firsts) != 1 {
			t.Errorf("client %d connected %d times, want once: the outage must not cost a client its stream", i, len(st.firsts))
		}
	}
	// A connection serves again before its reconnect callback, which
	// counts the reconnection, has run.
	for _, r := range replicas {
		waitFor(t, r.URL+" counting its reconnection", func() bool {
			return metric(t, r.URL, "tickerd_bus_reconnects_total") >= 1 && metric(t, r.URL, "tickerd_bus_connected") == 1
		})
	}
}

// A replica started after the stream has history is at once as current as
// one that was there all along: same quotes, resumable ids.
func TestLateReplicaServesCorrectSnapshotsAtOnce(t *testing.T) {
	ns := natstest.Start(t)
	pub := startPublisher(t, ns.URL(), 2000)
	early := startReplica(t, ns.URL())
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stream, err := js.Stream(ctx, feed.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "3000 ticks in the stream", func() bool {
		info, err := stream.Info(ctx)
		return err == nil && info.State.LastSeq >= 3000
	})
	if err := pub.Stop(); err != nil { // the market stands still from here on
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := info.State.LastSeq
	waitFor(t, "the early replica at the end of the stream", func() bool {
		var l quoteList
		getJSONInto(t, early.URL+"/api/symbols", &l)
		return l.Seq == last
	})

	start := time.Now()
	late := startReplica(t, ns.URL(), "-replay", "20")
	t.Logf("late replica ready %v after start, stream at seq %d", time.Since(start), last)

	var fromEarly, fromLate quoteList
	getJSONInto(t, early.URL+"/api/symbols", &fromEarly)
	// Ready once its source has handed on the stream's last tick, the
	// replica serves it from its next flush, a few milliseconds on.
	waitFor(t, "the late replica's quotes as of the stream's end", func() bool {
		getJSONInto(t, late.URL+"/api/symbols", &fromLate)
		return fromLate.Seq >= last
	})
	if fromLate.Seq != last || len(fromLate.Quotes) != len(fromEarly.Quotes) {
		t.Fatalf("late replica at seq %d with %d quotes, want %d with %d", fromLate.Seq, len(fromLate.Quotes), last, len(fromEarly.Quotes))
	}
	for i, q := range fromLate.Quotes {
		m, err := stream.GetLastMsgForSubject(ctx, feed.Subject(q.Last.Symbol))
		if err != nil {
			t.Fatal(err)
		}
		var stored feed.Tick
		if err := stored.UnmarshalJSON(m.Data); err != nil {
			t.Fatal(err)
		}
		stored.Seq = m.Sequence
		if q.Last != stored || q.Last != fromEarly.Quotes[i].Last {
			t.Fatalf("%s: late replica's last tick %+v; stream has %+v, early replica %+v", q.Last.Symbol, q.Last, stored, fromEarly.Quotes[i].Last)
		}
	}

	// Its stream starts with the same snapshot, and ids resume on it.
	snap := openRaw(t, late.URL+"/events?symbols=AAPL", "")
	ev, err := snap.next()
	if err != nil || ev.name != "snapshot" || ev.id != strconv.FormatUint(last, 10) {
		t.Fatalf("first event %+v, %v; want a snapshot at %d", ev, err, last)
	}
	resumed := openRaw(t, late.URL+"/events", strconv.FormatUint(last-5, 10))
	for i, tk := range resumed.ticks(t, 5) {
		if tk.Seq != last-4+uint64(i) {
			t.Fatalf("resumed at %d: tick %d has seq %d", last-5, i, tk.Seq)
		}
	}
	tooOld := openRaw(t, late.URL+"/events", "1")
	if ev, err := tooOld.next(); err != nil || ev.name != "snapshot" || !strings.Contains(ev.data, `"resync":true`) {
		t.Fatalf("resume from before the late replica's history: %+v, %v; want a resync snapshot", ev, err)
	}
}

type quoteList struct {
	Seq    uint64       `json:"seq"`
	Quotes []feed.Quote `json:"quotes"`
}

func getJSONInto(t *testing.T, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(get(t, url)), v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
