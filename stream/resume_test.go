package stream

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// firstLine attaches a stream of sub and returns the first line it gets.
func firstLine(t *testing.T, h *Hub, sub Subscription) string {
	t.Helper()
	server, client := socketConns(t)
	if _, err := h.Attach(sub, Sink{Conn: server, Framing: testFraming{}}); err != nil {
		t.Fatal(err)
	}
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(client).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// waitFlushed waits until the hub's quotes are current to seq.
func waitFlushed(t *testing.T, h *Hub, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, got := h.Quotes(); got != seq; _, got = h.Quotes() {
		if time.Now().After(deadline) {
			t.Fatalf("flushed %d, want %d", got, seq)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestAResumeTheHubCannotServeIsAResyncAtAnyMoment checks every moment a
// resume point can be one the hub cannot serve: before the hub's first
// tick (an id of a previous process), ahead of the hub with and without a
// resume wait that runs out, and behind the ring. Each starts with a
// resync snapshot; a point the ring covers is replayed.
func TestAResumeTheHubCannotServeIsAResyncAtAnyMoment(t *testing.T) {
	cfg := DefaultConfig([]string{"AAPL"}, testFraming{})
	cfg.FlushInterval = time.Millisecond
	cfg.ReplaySize = 4

	// Before the first tick.
	h := runHub(t, cfg)
	if got := firstLine(t, h, Subscription{Resume: true, LastID: 1_700_000}); !strings.HasPrefix(got, `snapshot 0 {"seq":0,"resync":true,`) {
		t.Fatalf("resume from a previous process before the first tick: %q, want a resync snapshot", got)
	}
	if got := firstLine(t, h, Subscription{}); !strings.HasPrefix(got, `snapshot 0 {"seq":0,"resync":false,`) {
		t.Fatalf("a fresh stream before the first tick: %q, want a plain snapshot", got)
	}

	const first = 1000
	for seq := uint64(first + 1); seq <= first+10; seq++ {
		if err := h.Publish(testTick(seq, "AAPL")); err != nil {
			t.Fatal(err)
		}
	}
	waitFlushed(t, h, first+10)
	for _, tc := range []struct {
		name   string
		lastID uint64
		want   string
	}{
		{"ahead of the hub", first + 11, `snapshot 1010 {"seq":1010,"resync":true,`},
		{"far ahead", 1 << 60, `snapshot 1010 {"seq":1010,"resync":true,`},
		{"behind the ring", first + 5, `snapshot 1010 {"seq":1010,"resync":true,`},
		{"before the hub's first tick", first - 1, `snapshot 1010 {"seq":1010,"resync":true,`},
		{"covered by the ring", first + 7, "tick 1008 "},
	} {
		if got := firstLine(t, h, Subscription{Resume: true, LastID: tc.lastID}); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s (%d): %q, want it to start with %q", tc.name, tc.lastID, got, tc.want)
		}
	}

	// Held for a resume wait that runs out: still a resync.
	cfg.ResumeWait = 50 * time.Millisecond
	cfg.Registerer = prometheus.NewRegistry()
	held := runHub(t, cfg)
	if err := held.Publish(testTick(1, "AAPL")); err != nil {
		t.Fatal(err)
	}
	waitFlushed(t, held, 1)
	if got := firstLine(t, held, Subscription{Resume: true, LastID: 99}); !strings.HasPrefix(got, `snapshot 1 {"seq":1,"resync":true,`) {
		t.Fatalf("a resume the feed never reached: %q, want a resync snapshot", got)
	}
}
