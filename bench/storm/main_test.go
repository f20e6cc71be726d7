package main

import (
	"bufio"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTickTimeReadsTheNanoseconds(t *testing.T) {
	at, ok := tickTime([]byte(`{"seq":7,"sym":"AAPL","px":1.5,"ts":1767225600123456789,"size":3}`))
	if !ok || at.UnixNano() != 1767225600123456789 {
		t.Fatalf("tickTime = %v %v", at.UnixNano(), ok)
	}
	if _, ok := tickTime([]byte(`{"seq":7}`)); ok {
		t.Fatal("a body without ts has a time")
	}
}

// TestLatencyQuantileByWindowAndGroup fills two windows of one group and
// one of the other: each quantile sees only its own window and group, to
// within a bucket (4%).
func TestLatencyQuantileByWindowAndGroup(t *testing.T) {
	l := newLatencies()
	t0 := l.start.Add(time.Second)
	for i := range 100 {
		l.add(groupStayed, t0, time.Duration(i+1)*time.Millisecond) // 1..100 ms
		l.add(groupStayed, t0.Add(10*time.Second), 5*time.Second)
		l.add(groupReturned, t0, time.Microsecond)
	}
	within := func(got, want time.Duration) bool { return got >= want && got <= want*105/100 }
	if got := l.quantile(groupStayed, t0, t0.Add(time.Second), 0.99); !within(got, 99*time.Millisecond) {
		t.Errorf("p99 of 1..100 ms = %v, want 99 ms within a bucket", got)
	}
	if got := l.quantile(groupStayed, t0, t0.Add(time.Second), 0.5); !within(got, 50*time.Millisecond) {
		t.Errorf("p50 of 1..100 ms = %v, want 50 ms within a bucket", got)
	}
	if got := l.quantile(groupStayed, t0.Add(9*time.Second), t0.Add(11*time.Second), 0.99); !within(got, 5*time.Second) {
		t.Errorf("p99 of the later window = %v, want 5 s", got)
	}
	if got := l.quantile(groupReturned, t0, t0, 0.99); got != bucketMin {
		t.Errorf("p99 of the other group = %v, want the first bucket", got)
	}
	if got := l.quantile(groupReturned, t0.Add(5*time.Second), t0.Add(6*time.Second), 0.99); got != 0 {
		t.Errorf("an empty window gives %v, want 0", got)
	}
}

// TestClientReadsEventsLikeEventSource feeds a stream to a client: it
// keeps the last id and the retry delay, marks its return at the first
// event after a loss, and records the tick's latency in the returned group.
func TestClientReadsEventsLikeEventSource(t *testing.T) {
	s := newStorm(options{}, "")
	defer s.cancel()
	c := &client{s: s, retry: 3 * time.Second}
	s.stopped.Store(true)
	c.lost()
	ts := time.Now().Add(-20 * time.Millisecond).UnixNano()
	stream := "retry: 2500\n\n: comment\n\nid: 41\nevent: snapshot\ndata: {\"seq\":41}\n\n" +
		"id: 42\nevent: tick\ndata: {\"seq\":42,\"ts\":" + itoa(ts) + "}\n\n"
	c.read(bufio.NewReader(strings.NewReader(stream)))
	if c.lastID != "42" || c.retry != 2500*time.Millisecond || !c.connected.Load() {
		t.Fatalf("lastID %q retry %v connected %v", c.lastID, c.retry, c.connected.Load())
	}
	if lost, back := c.times(); lost.IsZero() || back.Before(lost) {
		t.Fatalf("lost %v back %v", lost, back)
	}
	if got := s.latency.quantile(groupReturned, s.latency.start, time.Now(), 1); got < 20*time.Millisecond || got > time.Second {
		t.Fatalf("latency of the tick %v, want about 20 ms", got)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestSamplerPeakCPUIsOverAWindow gives the sampler two samples 10 µs
// apart across a 10 ms step of the kernel's CPU count: the peak is taken
// over at least cpuWindow, not over those 10 µs.
func TestSamplerPeakCPUIsOverAWindow(t *testing.T) {
	t0 := time.Now()
	s := &sampler{done: make(chan struct{}), stopped: make(chan struct{})}
	close(s.stopped)
	s.samples = []procSample{
		{t0, 0, 10 << 20},
		{t0.Add(250 * time.Millisecond), 125 * time.Millisecond, 20 << 20}, // half a core
		{t0.Add(250*time.Millisecond + 10*time.Microsecond), 135 * time.Millisecond, 20 << 20},
		{t0.Add(500 * time.Millisecond), 375 * time.Millisecond, 30 << 20}, // a core
	}
	cores, rss := s.stop(t0, t0.Add(time.Second))
	if cores < 0.9 || cores > 1.1 || rss != 30<<20 {
		t.Fatalf("peak %.2f cores, %d bytes; want about 1 core and 30 MiB", cores, rss)
	}
}

// TestBeforeRunsItsOwnBinaryFirst: -before adds a configuration that runs
// the other binary with no flags ahead of -tickerd's, which keep their
// flags and their binary.
func TestBeforeRunsItsOwnBinaryFirst(t *testing.T) {
	o, err := parseOptions([]string{"-tickerd", "/new", "-before", "/old", "-config", "slow=-drain-window 9s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []config{{name: "before", binary: "/old"}, {name: "slow", binary: "/new", args: []string{"-drain-window", "9s"}}}
	if !reflect.DeepEqual(o.configs, want) {
		t.Fatalf("configs %+v, want %+v", o.configs, want)
	}
	o, err = parseOptions([]string{"-tickerd", "/new"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.configs) != len(defaultConfigs) || o.configs[0].name != "defaults" || o.configs[0].binary != "/new" || len(o.configs[0].args) != 0 {
		t.Fatalf("default configs %+v", o.configs)
	}
}
