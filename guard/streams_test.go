package guard

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/internal/setting"
)

// manualClock is a clock the test moves.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func streamRequest(remote string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/events", nil)
	r.RemoteAddr = remote
	return r
}

// admit asks g for a stream from remote and returns the answer's status
// (200 when admitted, its place kept) and Retry-After.
func admit(g *Gate, remote string) (status int, retryAfter string) {
	w := httptest.NewRecorder()
	if _, ok := g.Admit(w, streamRequest(remote)); ok {
		return http.StatusOK, ""
	}
	return w.Code, w.Header().Get("Retry-After")
}

func rejected(t *testing.T, reg *prometheus.Registry, transport, reason string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "tickerd_streams_rejected_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["transport"] == transport && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no tickerd_streams_rejected_total{transport=%q,reason=%q}", transport, reason)
	return 0
}

// TestTightLoopFromOneAddressIsRateLimitedAndOthersAreNot opens streams
// in a tight loop from one address: the first burst get in, the rest get
// 429 with the Retry-After of the bucket; another address, and polls of the
// same one, are not limited; a second later one more token is there.
func TestTightLoopFromOneAddressIsRateLimitedAndOthersAreNot(t *testing.T) {
	clock := &manualClock{now: time.Unix(1e9, 0)}
	reg := prometheus.NewRegistry()
	s, err := NewStreams(StreamsConfig{
		MaxStreams: 1000, MaxStreamsPerAddr: 1000,
		StreamRatePerAddr: 0.5, StreamBurstPerAddr: 5,
		Now: clock.Now, Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	sse, poll := s.Gate("sse"), s.Gate("poll")
	var admitted, limited int
	for range 100 {
		switch status, retry := admit(sse, "192.0.2.1:4000"); status {
		case http.StatusOK:
			admitted++
		case http.StatusTooManyRequests:
			limited++
			if retry != "2" { // one token every 2 s
				t.Fatalf("Retry-After %q, want 2", retry)
			}
		default:
			t.Fatalf("status %d", status)
		}
	}
	if admitted != 5 || limited != 95 {
		t.Fatalf("tight loop: %d admitted, %d limited; want the burst of 5 admitted, 95 limited", admitted, limited)
	}
	if got := rejected(t, reg, "sse", "over_client_rate"); got != 95 {
		t.Errorf("over_client_rate counted %v, want 95", got)
	}
	for i := range 5 {
		if status, _ := admit(sse, fmt.Sprintf("192.0.2.%d:4000", i+2)); status != http.StatusOK {
			t.Fatalf("another address got %d", status)
		}
	}
	for range 20 {
		if status, _ := admit(poll, "192.0.2.1:4000"); status != http.StatusOK {
			t.Fatalf("a poll from the limited address got %d; polls pass no bucket", status)
		}
	}
	clock.Advance(2 * time.Second)
	if status, _ := admit(sse, "192.0.2.1:4000"); status != http.StatusOK {
		t.Fatalf("after 2s: %d, want a new token", status)
	}
	if status, _ := admit(sse, "192.0.2.1:4000"); status != http.StatusTooManyRequests {
		t.Fatalf("the token after 2s spent: %d, want 429", status)
	}
}

// TestGlobalRateAnswers503AndSpendsNoAddressToken fills the bucket of all
// streams from many addresses: the next gets 503 with Retry-After, and the
// refusal leaves its address's bucket as it was.
func TestGlobalRateAnswers503AndSpendsNoAddressToken(t *testing.T) {
	clock := &manualClock{now: time.Unix(1e9, 0)}
	reg := prometheus.NewRegistry()
	s, err := NewStreams(StreamsConfig{
		MaxStreams: 1000, MaxStreamsPerAddr: 1000,
		StreamRate: 0.25, StreamBurst: 10,
		StreamRatePerAddr: 1, StreamBurstPerAddr: 1,
		Now: clock.Now, Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	g := s.Gate("ws")
	for i := range 10 {
		if status, _ := admit(g, fmt.Sprintf("198.51.100.%d:1", i)); status != http.StatusOK {
			t.Fatalf("stream %d within the burst: %d", i, status)
		}
	}
	status, retry := admit(g, "203.0.113.9:1")
	if status != http.StatusServiceUnavailable || retry != "4" {
		t.Fatalf("over the global rate: %d Retry-After %q, want 503 and 4", status, retry)
	}
	if got := rejected(t, reg, "ws", "over_rate"); got != 1 {
		t.Errorf("over_rate counted %v, want 1", got)
	}
	clock.Advance(4 * time.Second)
	// The address refused globally still has its one token.
	if status, _ := admit(g, "203.0.113.9:1"); status != http.StatusOK {
		t.Fatalf("after 4s: %d; the global refusal must not have spent the address's token", status)
	}
}

// TestRateBucketsOfAddressesAreBounded opens one stream from more
// addresses than the buckets kept: the map never grows past its bound, and
// buckets that filled up again are the ones dropped first.
func TestRateBucketsOfAddressesAreBounded(t *testing.T) {
	clock := &manualClock{now: time.Unix(1e9, 0)}
	s, err := NewStreams(StreamsConfig{
		MaxStreams: 1 << 20, MaxStreamsPerAddr: 1,
		StreamRatePerAddr: 1, StreamBurstPerAddr: 1,
		Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	g := s.Gate("sse")
	addr := func(i int) string {
		return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String() + ":1"
	}
	for i := range maxRateAddrs {
		if status, _ := admit(g, addr(i)); status != http.StatusOK {
			t.Fatalf("address %d: %d", i, status)
		}
	}
	if n := s.rate.addrCount(); n != maxRateAddrs {
		t.Fatalf("%d buckets, want %d", n, maxRateAddrs)
	}
	// Every bucket is in use: one more address drops arbitrary ones down
	// to three quarters of the bound, and gets in.
	if status, _ := admit(g, "192.0.2.200:1"); status != http.StatusOK {
		t.Fatalf("new address at the bound: %d", status)
	}
	if n := s.rate.addrCount(); n > maxRateAddrs*3/4+1 || n < maxRateAddrs/2 {
		t.Fatalf("%d buckets after the sweep, want about %d", n, maxRateAddrs*3/4)
	}
	for i := maxRateAddrs; s.rate.addrCount() < maxRateAddrs; i++ {
		admit(g, addr(i))
	}
	// A second later every bucket is full again, as good as new: the next
	// sweep drops them all and keeps the one address that just came.
	clock.Advance(time.Second)
	if status, _ := admit(g, "192.0.2.201:1"); status != http.StatusOK {
		t.Fatalf("new address after the idle second: %d", status)
	}
	if n := s.rate.addrCount(); n != 1 {
		t.Fatalf("%d buckets after sweeping idle ones, want 1", n)
	}
}

// TestDescriptorLimitRefusesWithItsReasonAndWarns lowers the limit to what
// the descriptors hold: the streams over it get 503 with Retry-After,
// counted as fd_limit, and one WARN line says so however many there are.
func TestDescriptorLimitRefusesWithItsReasonAndWarns(t *testing.T) {
	reg := prometheus.NewRegistry()
	var logs strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	s, err := NewStreams(StreamsConfig{MaxStreams: 100, MaxStreamsPerAddr: 100, DescriptorStreams: 3, Registerer: reg, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if s.Limit() != 3 {
		t.Fatalf("limit %d, want 3", s.Limit())
	}
	if got := gaugeValue(t, reg, "tickerd_streams_limit"); got != 3 {
		t.Errorf("tickerd_streams_limit %v, want 3", got)
	}
	g := s.Gate("sse")
	for range 3 {
		if status, _ := admit(g, "192.0.2.1:1"); status != http.StatusOK {
			t.Fatalf("within the limit: %d", status)
		}
	}
	for range 5 {
		if status, retry := admit(g, "192.0.2.2:1"); status != http.StatusServiceUnavailable || retry != "10" {
			t.Fatalf("over the descriptor limit: %d Retry-After %q, want 503 and 10", status, retry)
		}
	}
	if got := rejected(t, reg, "sse", "fd_limit"); got != 5 {
		t.Errorf("fd_limit counted %v, want 5", got)
	}
	if got := rejected(t, reg, "sse", "over_limit"); got != 0 {
		t.Errorf("over_limit counted %v, want 0", got)
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if n := strings.Count(out, "level=WARN"); n != 1 || !strings.Contains(out, "open-file limit") {
		t.Errorf("want exactly one WARN line about the open-file limit, got:\n%s", out)
	}

	// Above MaxStreams, the descriptor count changes nothing.
	s, err = NewStreams(StreamsConfig{MaxStreams: 2, MaxStreamsPerAddr: 2, DescriptorStreams: 50})
	if err != nil || s.Limit() != 2 {
		t.Fatalf("limit %d (%v), want MaxStreams 2", s.Limit(), err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s", name)
	return 0
}

func TestStreamsConfigRefusesBadRates(t *testing.T) {
	for _, tc := range []struct {
		cfg  StreamsConfig
		name string
	}{
		{StreamsConfig{StreamRate: -1}, "StreamRate"},
		{StreamsConfig{StreamRate: 5}, "StreamBurst"},
		{StreamsConfig{StreamRatePerAddr: -0.5}, "StreamRatePerAddr"},
		{StreamsConfig{StreamRatePerAddr: 2, StreamBurstPerAddr: 0}, "StreamBurstPerAddr"},
		{StreamsConfig{DescriptorStreams: -1}, "DescriptorStreams"},
	} {
		tc.cfg.MaxStreams, tc.cfg.MaxStreamsPerAddr = 10, 10
		_, err := NewStreams(tc.cfg)
		var bad *setting.Error
		if !errors.As(err, &bad) || bad.Name != tc.name {
			t.Errorf("%+v: %v, want a setting error naming %s", tc.cfg, err, tc.name)
		}
	}
}
