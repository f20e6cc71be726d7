package stream

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tickerd/tickerd/market"
)

// lineReader reads the testFraming lines of a stream.
type lineReader struct {
	t *testing.T
	r *bufio.Reader
}

func newLineReader(t *testing.T, c net.Conn) *lineReader {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	return &lineReader{t: t, r: bufio.NewReader(c)}
}

// next returns the next line's kind, id and body.
func (l *lineReader) next() (kind, id, body string) {
	l.t.Helper()
	line, err := l.r.ReadString('\n')
	if err != nil {
		l.t.Fatalf("read: %v", err)
	}
	f := strings.SplitN(strings.TrimSuffix(line, "\n"), " ", 3)
	return f[0], f[1], f[2]
}

// attach attaches a stream of sub and returns its reader.
func attach(t *testing.T, h *Hub, sub Subscription) *lineReader {
	t.Helper()
	server, client := socketConns(t)
	if _, err := h.Attach(sub, Sink{Conn: server, Framing: testFraming{}}); err != nil {
		t.Fatal(err)
	}
	return newLineReader(t, client)
}

func testStatus(seq uint64, sym, state, reason string) market.Status {
	return market.Status{Seq: seq, Symbol: sym, State: state, Reason: reason, Time: time.Unix(0, int64(seq))}
}

// TestHaltedSymbolGetsNoTicks halts a symbol: its ticks are rejected and
// counted until it trades again, the statuses reach its streams and the
// market's reaches every stream.
func TestHaltedSymbolGetsNoTicks(t *testing.T) {
	cfg := DefaultConfig([]string{"AAPL", "MSFT"}, testFraming{})
	cfg.FlushInterval = time.Millisecond
	h := runHub(t, cfg)
	msft, _ := h.Select([]string{"MSFT"})
	all := attach(t, h, Subscription{})
	onlyMSFT := attach(t, h, Subscription{Symbols: msft})
	for _, r := range []*lineReader{all, onlyMSFT} {
		if kind, _, _ := r.next(); kind != "snapshot" {
			t.Fatalf("first event %s; want the snapshot", kind)
		}
	}

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(h.PublishStatus(testStatus(1, "", market.StateTrading, market.ReasonSession)))
	must(h.Publish(testTick(2, "AAPL")))
	must(h.PublishStatus(testStatus(3, "AAPL", market.StatePaused, market.ReasonVolatility)))
	if err := h.Publish(testTick(4, "AAPL")); !errors.Is(err, ErrHalted) {
		t.Fatalf("tick of a paused symbol: %v; want ErrHalted", err)
	}
	must(h.Publish(testTick(4, "MSFT")))
	must(h.PublishStatus(testStatus(5, "AAPL", market.StateTrading, market.ReasonVolatility)))
	must(h.Publish(testTick(6, "AAPL")))
	if got := testutil.ToFloat64(h.metrics.rejectedBy[rejectedHalted]); got != 1 {
		t.Errorf("ticks rejected as halted = %v; want 1", got)
	}

	type line struct{ kind, id, body string }
	want := []line{
		{"status", "1", `{"seq":1,"state":"trading","reason":"session","ts":1}`},
		{"tick", "2", ""},
		{"status", "3", `{"seq":3,"sym":"AAPL","state":"paused","reason":"LUDP","ts":3}`},
		{"tick", "4", ""},
		{"status", "5", `{"seq":5,"sym":"AAPL","state":"trading","reason":"LUDP","ts":5}`},
		{"tick", "6", ""},
	}
	for _, w := range want {
		kind, id, body := all.next()
		if kind != w.kind || id != w.id || (w.body != "" && body != w.body) {
			t.Fatalf("got %s %s %s; want %s %s %s", kind, id, body, w.kind, w.id, w.body)
		}
	}
	for _, w := range []line{{"status", "1", ""}, {"tick", "4", ""}} {
		if kind, id, _ := onlyMSFT.next(); kind != w.kind || id != w.id {
			t.Fatalf("MSFT's stream got %s %s; want %s %s", kind, id, w.kind, w.id)
		}
	}

	for _, bad := range []struct {
		s    market.Status
		want error
	}{
		{testStatus(7, "NOPE", market.StateHalted, market.ReasonNewsPending), ErrUnknownSymbol},
		{testStatus(7, "AAPL", market.StatePre, market.ReasonSession), ErrBadStatus},
		{testStatus(7, "", market.StateHalted, market.ReasonSession), ErrBadStatus},
		{testStatus(6, "AAPL", market.StateHalted, market.ReasonNewsPending), ErrSequence},
	} {
		if err := h.PublishStatus(bad.s); !errors.Is(err, bad.want) {
			t.Errorf("PublishStatus(%+v) = %v; want %v", bad.s, err, bad.want)
		}
	}
	if err := h.PublishBands(market.Bands{Seq: 7, Symbol: "AAPL", Ref: 100, Lower: 101, Upper: 105}); !errors.Is(err, ErrBadBands) {
		t.Errorf("bands above their reference: %v; want ErrBadBands", err)
	}
}

// TestSnapshotCarriesTheMarket checks a snapshot's market members and the
// quotes' session across an open and a close.
func TestSnapshotCarriesTheMarket(t *testing.T) {
	cfg := DefaultConfig([]string{"AAPL", "MSFT"}, testFraming{})
	cfg.FlushInterval = time.Millisecond
	h := runHub(t, cfg)
	probe := attach(t, h, Subscription{})
	probe.next() // its snapshot, of no market: nothing published yet
	snapshot := func() string {
		t.Helper()
		r := attach(t, h, Subscription{})
		_, _, body := r.next()
		return body
	}
	steps := []func() error{
		func() error { return h.PublishStatus(testStatus(1, "", market.StatePre, market.ReasonSession)) },
		func() error { return h.Publish(testTick(2, "AAPL")) },
		func() error { return h.PublishStatus(testStatus(3, "", market.StateTrading, market.ReasonSession)) },
		func() error {
			return h.PublishBands(market.Bands{Seq: 4, Symbol: "AAPL", Ref: 100, Lower: 95, Upper: 105, Time: time.Unix(0, 4)})
		},
		func() error {
			return h.PublishStatus(testStatus(5, "MSFT", market.StateHalted, market.ReasonNewsPending))
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		probe.next() // wait for its batch
	}
	got := snapshot()
	for _, want := range []string{
		`"market":{"seq":3,"state":"trading","reason":"session","ts":3}`,
		`"status":[{"seq":5,"sym":"MSFT","state":"halted","reason":"T1","ts":5}]`,
		`"bands":[{"seq":4,"sym":"AAPL","ref":100,"lower":95,"upper":105,"ts":4}]`,
		// The open started the session afresh: AAPL's pre-market trade is its last, not its open.
		`"sym":"AAPL","px":100,"bid":99.99,"ask":100.01,"size":10,"ts":`,
		`"open":0,"high":0,"low":0,"chg":0,"chg_pct":0,"vol":0}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("snapshot %s\nlacks %s", got, want)
		}
	}
	if err := h.PublishStatus(testStatus(6, "", market.StatePost, market.ReasonSession)); err != nil {
		t.Fatal(err)
	}
	probe.next()
	if got := snapshot(); !strings.Contains(got, `"bands":[]`) || !strings.Contains(got, `"state":"post"`) {
		t.Errorf("snapshot after the close %s; want no bands and the post session", got)
	}
	quotes, _ := h.Quotes()
	if quotes[0].PrevClose != 100 || quotes[1].PrevClose != 0 {
		t.Errorf("reference prices after the close %v, %v; want AAPL's last price and none for MSFT, which never traded", quotes[0].PrevClose, quotes[1].PrevClose)
	}
	if s, ok := h.Session(); !ok || s.State != market.StatePost {
		t.Errorf("Session = %+v, %v; want post", s, ok)
	}
}

// TestResumeReplaysStatuses resumes a stream from before a halt.
func TestResumeReplaysStatuses(t *testing.T) {
	cfg := DefaultConfig([]string{"AAPL"}, testFraming{})
	cfg.FlushInterval = time.Millisecond
	h := runHub(t, cfg)
	probe := attach(t, h, Subscription{})
	probe.next()
	if err := h.Publish(testTick(1, "AAPL")); err != nil {
		t.Fatal(err)
	}
	if err := h.PublishStatus(testStatus(2, "AAPL", market.StateHalted, market.ReasonNewsPending)); err != nil {
		t.Fatal(err)
	}
	probe.next()
	probe.next()
	r := attach(t, h, Subscription{Resume: true, LastID: 1})
	if kind, id, _ := r.next(); kind != "status" || id != "2" {
		t.Fatalf("resumed stream got %s %s; want status 2", kind, id)
	}
	body, next, ticks, snap := h.AppendSince(nil, testFraming{}, nil, 0, 1, true, 10)
	if snap || ticks != 1 || next != 2 || !strings.HasPrefix(string(body), "status 2 ") {
		t.Errorf("AppendSince = %q, %d, %d, %v; want the status", body, next, ticks, snap)
	}
}

func TestConflatedStreamKeepsTheLatestMarketEvents(t *testing.T) {
	c := &client{}
	for _, e := range []event{
		{seq: 3, sym: 0, kind: uint8(KindStatus)},
		{seq: 4, sym: -1, kind: uint8(KindStatus)},
		{seq: 5, sym: 0, kind: uint8(KindStatus)},
		{seq: 7, sym: 0, kind: uint8(KindBar), bar: 0},
		{seq: 7, sym: 0, kind: uint8(KindBar), bar: 2},
	} {
		c.holdMarket(e)
	}
	if len(c.heldMarket) != 4 || c.heldMarket[0].seq != 5 {
		t.Fatalf("held %+v; want the newer status of symbol 0 in place of the older, and both bars", c.heldMarket)
	}
	if cmpEvents(event{seq: 7, kind: uint8(KindBar)}, event{seq: 7}) >= 0 {
		t.Error("a bar does not come before the tick that closed it")
	}
}

func TestParseBars(t *testing.T) {
	set, err := ParseBars([]string{"1s,1m", "5m"})
	if err != nil || !set.has(0) || set.has(1) || !set.has(2) || !set.has(3) {
		t.Fatalf("ParseBars = %b, %v", set, err)
	}
	if _, err := ParseBars([]string{"1s,2m"}); !errors.Is(err, ErrBadSubscription) || !strings.Contains(err.Error(), `unknown bars interval "2m"; want 1s, 5s, 1m, 5m`) {
		t.Errorf("ParseBars(2m) = %v", err)
	}
}
