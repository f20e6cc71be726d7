package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The Node client tests run scripts under clients/node with Debian's node
// and the packages npm ci installs from package-lock.json into
// node_modules (scripts/test.sh does both). Without them they are
// skipped, except under CI, where they fail.

const repoRoot = "../.."

// requireNodeModule ends the test unless node_modules holds pkg at the
// version package-lock.json locks.
func requireNodeModule(t *testing.T, pkg string) {
	t.Helper()
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatalf("package-lock.json: %v", err)
	}
	locked, ok := lock.Packages["node_modules/"+pkg]
	if !ok {
		t.Fatalf("package-lock.json does not lock %s", pkg)
	}
	var installed struct {
		Version string `json:"version"`
	}
	b, err = os.ReadFile(filepath.Join(repoRoot, "node_modules", pkg, "package.json"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node_modules lacks %s (scripts/test.sh runs npm ci): %v", pkg, err)
		}
		t.Skipf("node_modules lacks %s; run npm ci --ignore-scripts", pkg)
	}
	if err := json.Unmarshal(b, &installed); err != nil {
		t.Fatalf("node_modules/%s/package.json: %v", pkg, err)
	}
	if installed.Version != locked.Version {
		t.Fatalf("node_modules has %s %s, package-lock.json locks %s: run npm ci --ignore-scripts", pkg, installed.Version, locked.Version)
	}
}

// requireNode returns the path of node, once it has checked that
// node_modules holds the locked ws, or ends the test.
func requireNode(t *testing.T) string {
	t.Helper()
	node := requireTool(t, "node")
	requireNodeModule(t, "ws")
	return node
}

// runNode runs a script of clients/node with args and returns what it
// printed, failing the test when it exits non-zero.
func runNode(t *testing.T, node, script string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(repoRoot, "clients", "node", script)}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		t.Fatalf("node %s: %v\nstderr:\n%s\nlast lines of stdout:\n%s", script, err, stderr.String(),
			strings.Join(lines[max(0, len(lines)-20):], "\n"))
	}
	return stdout.Bytes()
}

// scenarioLine is one line that ws-scenario.mjs prints.
type scenarioLine struct {
	Conn        string          `json:"conn"`
	T           float64         `json:"t"` // milliseconds since the script started
	Msg         json.RawMessage `json:"msg"`
	Sent        json.RawMessage `json:"sent"`
	Closed      *int            `json:"closed"`
	Error       string          `json:"error"`
	Step        string          `json:"step"`
	LastEventID uint64          `json:"lastEventId"`
	WatcherSeq  uint64          `json:"watcherSeq"`
}

// wsMessage is what the test reads of a message of /ws.
type wsMessage struct {
	Type    string   `json:"type"`
	Seq     uint64   `json:"seq"`
	Sym     string   `json:"sym"`
	Symbols []string `json:"symbols"`
	MaxFreq *float64 `json:"maxfreq"`
	Error   string   `json:"error"`
	Op      string   `json:"op"`
	Resync  bool     `json:"resync"`
	Quotes  []struct {
		Sym string `json:"sym"`
	} `json:"quotes"`

	raw json.RawMessage
	t   float64
}

func (m wsMessage) quoteSymbols() []string {
	var syms []string
	for _, q := range m.Quotes {
		syms = append(syms, q.Sym)
	}
	return syms
}

// reply is an answer /ws owes a client message: a subscription or an error.
type reply struct {
	Type    string
	Symbols []string
	MaxFreq float64
	Error   string
	Op      string
}

func (r reply) String() string {
	if r.Type == "error" {
		return fmt.Sprintf("error %q op %q symbols %v", r.Error, r.Op, r.Symbols)
	}
	return fmt.Sprintf("subscription %v maxfreq %v", r.Symbols, r.MaxFreq)
}

// TestNodeWebSocketClient drives GET /ws with ws, the Node world's
// WebSocket client, through clients/node/ws-scenario.mjs: it subscribes,
// unsubscribes, asks for an unknown symbol, caps and uncaps maxfreq, then
// drops its connection and resumes with ?lastEventId. The test holds what
// the script saw to the protocol: every answer, in order, with the exact
// symbols; ticks only of the symbols acknowledged last, in increasing seq
// (across symbols too, but for maxfreq's held ticks); a snapshot of just the added symbols before their first tick; at most
// about 2 ticks a second per symbol under maxfreq 2; and, after resuming,
// exactly the ticks the polling edge has after that id, byte for byte.
func TestNodeWebSocketClient(t *testing.T) {
	node := requireNode(t)
	td := startTickerd(t, "-rate", "200", "-symbols", "AAPL,MSFT,NVDA,TSLA")
	out := runNode(t, node, "ws-scenario.mjs", "ws"+strings.TrimPrefix(td.URL, "http"))

	conns := map[string][]wsMessage{}
	var lastEventID, watcherSeq uint64
	for i, l := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var line scenarioLine
		if err := json.Unmarshal(l, &line); err != nil {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
		switch {
		case line.Error != "":
			t.Fatalf("%s: %s", line.Conn, line.Error)
		case line.Closed != nil && *line.Closed != 1000:
			t.Errorf("%s closed with %d, want 1000 answering the script's close", line.Conn, *line.Closed)
		case line.Step == "reconnect":
			lastEventID, watcherSeq = line.LastEventID, line.WatcherSeq
		case line.Msg != nil:
			m := wsMessage{raw: line.Msg, t: line.T}
			if err := json.Unmarshal(line.Msg, &m); err != nil {
				t.Fatalf("%s sent %s: %v", line.Conn, line.Msg, err)
			}
			conns[line.Conn] = append(conns[line.Conn], m)
		}
	}

	mainConn := conns["main"]
	if len(mainConn) < 2 || mainConn[0].Type != "snapshot" || !slices.Equal(mainConn[0].quoteSymbols(), []string{"AAPL"}) || mainConn[0].Resync {
		t.Fatalf("main began with %s, want a snapshot of AAPL alone", first(mainConn))
	}
	want := []reply{
		{Type: "subscription", Symbols: []string{"AAPL"}},
		{Type: "subscription", Symbols: []string{"AAPL", "MSFT", "NVDA"}},
		{Type: "subscription", Symbols: []string{"MSFT", "NVDA"}},
		{Type: "error", Error: "unknown symbols", Op: "subscribe", Symbols: []string{"NOPE"}},
		{Type: "subscription", Symbols: []string{"MSFT", "NVDA"}, MaxFreq: 2},
		{Type: "subscription", Symbols: []string{"MSFT", "NVDA"}},
	}
	if mainConn[1].Type != "subscription" {
		t.Fatalf("main's second message is %s, want the subscription after the snapshot", mainConn[1].raw)
	}
	replies := checkStream(t, "main", mainConn[1:], []string{"AAPL"}, 0)
	var got []reply
	for _, i := range replies {
		m := mainConn[1+i]
		r := reply{Type: m.Type, Symbols: m.Symbols, Error: m.Error, Op: m.Op}
		if m.MaxFreq != nil {
			r.MaxFreq = *m.MaxFreq
		}
		got = append(got, r)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("main's answers:\n  %v\nwant:\n  %v", got, want)
	}

	// Under maxfreq 2 each symbol gets a tick at most every 500ms.
	capped, uncapped := mainConn[1+replies[4]], mainConn[1+replies[5]]
	window := (uncapped.t - capped.t) / 1000
	perSym := map[string]int{}
	for _, m := range mainConn[1+replies[4] : 1+replies[5]] {
		if m.Type == "tick" {
			perSym[m.Sym]++
		}
	}
	for _, sym := range []string{"MSFT", "NVDA"} {
		if n := perSym[sym]; n < 1 || float64(n) > 2*window+2 {
			t.Errorf("%d ticks of %s in %.2fs under maxfreq 2, want 1 to %.0f", n, sym, window, 2*window+2)
		}
	}

	// Resuming: every tick after lastEventId, as the polling edge has them.
	if lastEventID == 0 || watcherSeq <= lastEventID {
		t.Fatalf("the script reconnected after seq %d with the watcher at %d: no ticks were missed", lastEventID, watcherSeq)
	}
	if seq := lastTick(mainConn); seq != lastEventID {
		t.Fatalf("the script resumed after %d; main's last tick was %d", lastEventID, seq)
	}
	resumed := conns["resumed"]
	ack := checkStream(t, "resumed", resumed, []string{"MSFT", "NVDA"}, lastEventID)
	if len(ack) != 1 || !slices.Equal(resumed[ack[0]].Symbols, []string{"MSFT", "NVDA"}) {
		t.Fatalf("resumed got answers at %v; want one subscription of MSFT, NVDA", ack)
	}
	var ticks []json.RawMessage
	replayed := 0 // ticks up to watcherSeq: tickerd had sent them before the script reconnected
	for i, m := range resumed {
		if m.Type == "tick" {
			ticks = append(ticks, m.raw)
			if m.Seq <= watcherSeq {
				replayed++
				if i > ack[0] {
					t.Errorf("resumed: replayed tick %d came after the subscription message", m.Seq)
				}
			}
		}
	}
	polled := pollSince(t, td, "MSFT,NVDA", lastEventID)
	missed := 0
	for _, e := range polled {
		var m wsMessage
		if err := json.Unmarshal(e, &m); err != nil {
			t.Fatal(err)
		}
		if m.Seq <= watcherSeq {
			missed++
		}
	}
	if missed == 0 || replayed != missed {
		t.Fatalf("resumed replayed %d ticks up to seq %d; the ring has %d after %d", replayed, watcherSeq, missed, lastEventID)
	}
	if len(ticks) > len(polled) {
		t.Fatalf("resumed got %d ticks after %d; the ring has %d", len(ticks), lastEventID, len(polled))
	}
	for i := range ticks {
		if !bytes.Equal(ticks[i], polled[i]) {
			t.Fatalf("resumed tick %d is\n  %s\nthe ring's is\n  %s", i, ticks[i], polled[i])
		}
	}
}

// checkStream checks the messages of one connection after its first
// subscription (or, resuming, from its start): ticks of each symbol in
// increasing seq, all after since, each of a symbol the latest
// subscription message named (starting with syms), and a snapshot of
// exactly the added symbols before their first tick. It returns the
// indexes of the subscription and error messages.
//
// Across symbols, seq increases too, except under maxfreq: a tick held
// for its symbol's next slot goes out after newer ticks of other symbols,
// and the ticks still held when the cap is lifted go out right after the
// subscription message that lifts it.
func checkStream(t *testing.T, conn string, msgs []wsMessage, syms []string, since uint64) (replies []int) {
	t.Helper()
	subscribed := syms
	lastSeq, symSeq := since, map[string]uint64{}
	var pending []string             // added symbols still owed their snapshot
	capped, released := false, false // under maxfreq; held ticks may still come after lifting it
	for i, m := range msgs {
		switch m.Type {
		case "tick":
			if !slices.Contains(subscribed, m.Sym) {
				t.Fatalf("%s: message %d, a tick of %s, while subscribed to %v", conn, i, m.Sym, subscribed)
			}
			if slices.Contains(pending, m.Sym) {
				t.Fatalf("%s: message %d, a tick of %s before the snapshot of %v", conn, i, m.Sym, pending)
			}
			if prev := max(symSeq[m.Sym], since); m.Seq <= prev {
				t.Fatalf("%s: message %d, tick seq %d of %s after %d", conn, i, m.Seq, m.Sym, prev)
			}
			if m.Seq <= lastSeq && !capped && !released {
				t.Fatalf("%s: message %d, tick seq %d after %d", conn, i, m.Seq, lastSeq)
			}
			if m.Seq > lastSeq {
				released = false
			}
			symSeq[m.Sym], lastSeq = m.Seq, max(lastSeq, m.Seq)
		case "subscription":
			replies = append(replies, i)
			for _, s := range m.Symbols {
				if !slices.Contains(subscribed, s) {
					pending = append(pending, s)
				}
			}
			subscribed = m.Symbols
			wasCapped := capped
			capped = m.MaxFreq != nil && *m.MaxFreq > 0
			released = wasCapped && !capped
		case "error":
			replies = append(replies, i)
		case "snapshot":
			if len(pending) == 0 || !slices.Equal(m.quoteSymbols(), pending) || m.Resync {
				t.Fatalf("%s: message %d is %s; the snapshot owed is of %v", conn, i, m.raw, pending)
			}
			pending = nil
		default:
			t.Fatalf("%s: message %d is %s", conn, i, m.raw)
		}
	}
	return replies
}

func first(msgs []wsMessage) string {
	if len(msgs) == 0 {
		return "nothing"
	}
	return string(msgs[0].raw)
}

func lastTick(msgs []wsMessage) uint64 {
	for _, m := range slices.Backward(msgs) {
		if m.Type == "tick" {
			return m.Seq
		}
	}
	return 0
}

// pollSince returns the events GET /api/ticks answers for symbols after
// seq since.
func pollSince(t *testing.T, td *tickerd, symbols string, since uint64) []json.RawMessage {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/api/ticks?symbols=%s&since=%d", td.URL, symbols, since))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/ticks: %d %s %v", resp.StatusCode, b, err)
	}
	var answer struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		t.Fatalf("GET /api/ticks: %v: %s", err, b)
	}
	return answer.Events
}
