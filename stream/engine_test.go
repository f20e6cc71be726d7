package stream

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
)

// TestEngineKnowsNothingOfHTTP checks the engine's promise: neither it nor
// any package of tickerd it stands on imports net/http (the libraries it
// uses may, for their own ends).
func TestEngineKnowsNothingOfHTTP(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}|{{.Module}}|{{join .Imports \",\"}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if !strings.HasPrefix(parts[1], "github.com/tickerd/tickerd") {
			continue
		}
		checked++
		for _, imp := range strings.Split(parts[2], ",") {
			if imp == "net/http" || strings.HasPrefix(imp, "net/http/") {
				t.Errorf("%s imports %s", parts[0], imp)
			}
		}
	}
	if checked < 2 {
		t.Fatalf("checked %d of tickerd's packages; go list gave %q", checked, out)
	}
}

// socketConns returns both ends of a connected Unix socket pair.
func socketConns(t *testing.T) (server, client net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
		t.Cleanup(func() { c.Close() })
	}
	return conns[0], conns[1]
}

// runHub starts a hub of cfg and stops it when the test ends.
func runHub(t *testing.T, cfg Config) *Hub {
	t.Helper()
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-h.Started()
	return h
}

func testTick(seq uint64, sym string) feed.Tick {
	return feed.Tick{Seq: seq, Symbol: sym, Price: 100, Bid: 99.99, Ask: 100.01, Size: 10, Time: time.Now()}
}

// TestAttachedSinkGetsItsFramingOfEveryEvent attaches streams to the
// engine with a framing of the test's own, no transport involved: the
// first gets its head, a snapshot, its greeting and then the ticks of its
// symbols; the second resumes and gets exactly the ticks it missed, its
// greeting, then live ones; the third resumes ahead of the hub, is held
// until the hub reaches its point, and gets its greeting before the ticks
// after it.
func TestAttachedSinkGetsItsFramingOfEveryEvent(t *testing.T) {
	cfg := DefaultConfig([]string{"AAPL", "MSFT"}, testFraming{})
	cfg.FlushInterval = time.Millisecond
	cfg.ResumeWait = 10 * time.Second
	h := runHub(t, cfg)
	msft, err := h.Select([]string{"MSFT"})
	if err != nil {
		t.Fatal(err)
	}
	server, client := socketConns(t)
	closed := make(chan struct{})
	if _, err := h.Attach(Subscription{Symbols: msft}, Sink{Conn: server, Framing: testFraming{}, Head: []byte("HEAD\n"), Greeting: []byte("HELLO\n"), OnClose: func() { close(closed) }}); err != nil {
		t.Fatal(err)
	}
	for i, sym := range []string{"AAPL", "MSFT", "AAPL", "MSFT"} {
		if err := h.Publish(testTick(uint64(i+1), sym)); err != nil {
			t.Fatal(err)
		}
	}
	r := bufio.NewReader(client)
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	var lines []string
	for len(lines) < 5 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", lines, err)
		}
		lines = append(lines, strings.TrimSuffix(line, "\n"))
	}
	want := []string{"HEAD", `snapshot 0 {"seq":0,"resync":false,"quotes":[`, "HELLO", "tick 2 ", "tick 4 "}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Fatalf("line %d %q, want it to start with %q; all %q", i, lines[i], w, lines)
		}
	}

	// A second stream resumes after seq 2: it gets 3 and 4 from the ring,
	// its greeting, then 5. A third resumes after 6, ahead of the hub: it
	// is held, then gets its greeting and 7.
	server2, client2 := socketConns(t)
	if _, err := h.Attach(Subscription{Resume: true, LastID: 2}, Sink{Conn: server2, Framing: testFraming{}, Greeting: []byte("HELLO\n")}); err != nil {
		t.Fatal(err)
	}
	server3, client3 := socketConns(t)
	if _, err := h.Attach(Subscription{Resume: true, LastID: 6}, Sink{Conn: server3, Framing: testFraming{}, Greeting: []byte("HELLO\n")}); err != nil {
		t.Fatal(err)
	}
	for seq, sym := range []string{5: "AAPL", 6: "MSFT"} {
		if sym == "" {
			continue
		}
		if err := h.Publish(testTick(uint64(seq), sym)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, seq := h.Quotes(); seq != 6; _, seq = h.Quotes() {
		if time.Now().After(deadline) {
			t.Fatalf("the hub flushed up to %d, want 6", seq)
		}
		time.Sleep(time.Millisecond)
	}
	if err := h.Publish(testTick(7, "AAPL")); err != nil {
		t.Fatal(err)
	}
	for _, resumed := range []struct {
		conn net.Conn
		want []string
	}{{client2, []string{"tick 3", "tick 4", "HELLO", "tick 5", "tick 6", "tick 7"}}, {client3, []string{"HELLO", "tick 7"}}} {
		r := bufio.NewReader(resumed.conn)
		_ = resumed.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var got []string
		for len(got) < len(resumed.want) {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("after %q: %v", got, err)
			}
			f := strings.Fields(line)
			got = append(got, strings.Join(f[:min(2, len(f))], " "))
		}
		if !slices.Equal(got, resumed.want) {
			t.Fatalf("resumed stream got %q, want %q", got, resumed.want)
		}
	}

	// The engine calls OnClose once the client is gone.
	client.Close()
	if err := h.Publish(testTick(8, "MSFT")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("OnClose not called after the client left")
	}
}

// TestReplaySizeZeroTurnsReplayOff checks that ReplaySize 0 means what it
// says: a resume the hub has passed always gets a resync snapshot.
func TestReplaySizeZeroTurnsReplayOff(t *testing.T) {
	cfg := DefaultConfig([]string{"AAPL"}, testFraming{})
	cfg.FlushInterval = time.Millisecond
	cfg.ReplaySize = 0
	h := runHub(t, cfg)
	for seq := uint64(1); seq <= 3; seq++ {
		if err := h.Publish(testTick(seq, "AAPL")); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, seq := h.Quotes(); seq != 3; _, seq = h.Quotes() {
		if time.Now().After(deadline) {
			t.Fatal("ticks not flushed")
		}
		time.Sleep(time.Millisecond)
	}
	server, client := socketConns(t)
	if _, err := h.Attach(Subscription{Resume: true, LastID: 2}, Sink{Conn: server, Framing: testFraming{}}); err != nil {
		t.Fatal(err)
	}
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(client).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(line, `snapshot 3 {"seq":3,"resync":true,`) {
		t.Fatalf("resume with replay off got %q, want a resync snapshot at 3", line)
	}
}

func TestConfigRefusesWhatMakesNoSense(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no symbols", func(c *Config) { c.Symbols = nil }, "Symbols"},
		{"negative replay", func(c *Config) { c.ReplaySize = -1 }, "ReplaySize -1"},
		{"zero flush interval", func(c *Config) { c.FlushInterval = 0 }, "FlushInterval 0s"},
		{"short heartbeat", func(c *Config) { c.Heartbeat = time.Millisecond }, "Heartbeat 1ms"},
		{"zero write timeout", func(c *Config) { c.WriteTimeout = 0 }, "WriteTimeout 0s"},
		{"tiny queue", func(c *Config) { c.QueueBytes = 0 }, "QueueBytes 0"},
		{"no writers", func(c *Config) { c.Writers = 0 }, "Writers 0"},
		{"long resume wait", func(c *Config) { c.ResumeWait = time.Hour }, "ResumeWait 1h0m0s: want a resume wait"},
		{"zero price jump", func(c *Config) { c.MaxPriceJump = 0 }, "MaxPriceJump 0"},
		{"no bars", func(c *Config) { c.BarCapacity = 0 }, "BarCapacity 0"},
		{"no bar memory", func(c *Config) { c.BarBytes = 0 }, "BarBytes 0: want at least 192 bytes: one bar of each interval for each of the 1 symbols"},
		{"bar memory under one bar each", func(c *Config) { c.Symbols = []string{"AAPL", "MSFT"}; c.BarBytes = 383 }, "BarBytes 383: want at least 384 bytes"},
		{"negative symbol series", func(c *Config) { c.SymbolSeries = -1 }, "SymbolSeries -1: want 0 (one series for all symbols) or more symbols"},
		{"no framing", func(c *Config) { c.Framings = nil }, "Framings"},
		{"a framing twice", func(c *Config) { c.Framings = []Framing{testFraming{}, testFraming{}} }, "each framing once"},
		{"no clock", func(c *Config) { c.Clock = nil }, "Clock"},
	} {
		cfg := DefaultConfig([]string{"AAPL"}, testFraming{})
		tc.edit(&cfg)
		if _, err := NewHub(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: NewHub = %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}
