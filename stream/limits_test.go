package stream

import (
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestStreamLimitsAnswer429And503AndAreReleasedOnClose(t *testing.T) {
	th := startHub(t, Config{
		MaxStreams:        3,
		MaxStreamsPerAddr: 2,
		TrustedProxies:    []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	from := func(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }
	open := func(addr string, want int) *sseConn {
		t.Helper()
		c := th.dial(t, "", from(addr))
		if c.status != want {
			t.Fatalf("stream from %s: status %d, want %d", addr, c.status, want)
		}
		return c
	}
	checkRefusal := func(c *sseConn, wantMessage string) {
		t.Helper()
		if got := c.header.Get("Retry-After"); got != "10" {
			t.Errorf("Retry-After %q, want 10", got)
		}
		if ct := c.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		var body apiError
		if err := json.NewDecoder(io.LimitReader(c.r, 4096)).Decode(&body); err != nil || body.Message != wantMessage {
			t.Errorf("body %+v (%v), want error %q", body, err, wantMessage)
		}
	}

	a1 := open("192.0.2.1", 200)
	open("198.51.100.7, 192.0.2.1", 200) // the client's own claim on the left is not believed
	checkRefusal(open("192.0.2.1", 429), "too many streams from your address (at most 2); close one and retry")
	open("2001:db8::1", 200)
	checkRefusal(open("192.0.2.9", 503), "the service has all the streams it can take; retry later")
	if total, addrs := th.limits.counts(); total != 3 || addrs != 2 {
		t.Fatalf("limits hold %d streams of %d addresses, want 3 of 2", total, addrs)
	}
	// A HEAD request is answered as a GET would be, and holds nothing.
	req, _ := http.NewRequest("HEAD", th.srv.URL+"/events", nil)
	req.Header.Set("X-Forwarded-For", "192.0.2.50")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("HEAD at the limit: %d, want 503", resp.StatusCode)
	}

	// Closing a stream gives its place back, to its own address first of all.
	a1.conn.Close()
	waitFor(t, "the closed stream released", func() bool { total, _ := th.limits.counts(); return total == 2 })
	open("192.0.2.1", 200)

	for reason, want := range map[string]float64{"over_limit": 2, "over_client_limit": 1} {
		if got := testutil.ToFloat64(th.metrics.rejected.WithLabelValues(reason)); got != want {
			t.Errorf("rejected{%s} = %v, want %v", reason, got, want)
		}
	}
	th.stop()
	if total, addrs := th.limits.counts(); total != 0 || addrs != 0 {
		t.Fatalf("after shutdown the limits hold %d streams of %d addresses", total, addrs)
	}
}

func TestClientAddrTrustsForwardedForOnlyFromProxies(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies configured", "203.0.113.5:4000", []string{"192.0.2.1"}, nil, "203.0.113.5"},
		{"untrusted peer", "203.0.113.5:4000", []string{"192.0.2.1"}, proxies, "203.0.113.5"},
		{"trusted peer", "10.1.2.3:4000", []string{"192.0.2.1"}, proxies, "192.0.2.1"},
		{"client's own claim ignored", "10.1.2.3:4000", []string{"1.1.1.1, 192.0.2.1"}, proxies, "192.0.2.1"},
		{"chain of proxies", "10.1.2.3:4000", []string{"192.0.2.1, 10.9.9.9"}, proxies, "192.0.2.1"},
		{"several headers", "10.1.2.3:4000", []string{"192.0.2.1", "10.9.9.9"}, proxies, "192.0.2.1"},
		{"every hop trusted", "10.1.2.3:4000", []string{"10.4.4.4, 10.5.5.5"}, proxies, "10.4.4.4"},
		{"no header from proxy", "10.1.2.3:4000", nil, proxies, "10.1.2.3"},
		{"garbage stops the walk", "10.1.2.3:4000", []string{"192.0.2.1, nonsense, 10.9.9.9"}, proxies, "10.9.9.9"},
		{"garbage alone", "10.1.2.3:4000", []string{"<script>"}, proxies, "10.1.2.3"},
		{"empty entries", "10.1.2.3:4000", []string{" , "}, proxies, "10.1.2.3"},
		{"address with port", "10.1.2.3:4000", []string{"192.0.2.1:5555"}, proxies, "192.0.2.1"},
		{"IPv6 with port", "[fd00::1]:4000", []string{"[2001:db8::7]:5555"}, proxies, "2001:db8::7"},
		{"IPv6 bare", "[fd00::1]:4000", []string{"2001:db8::7"}, proxies, "2001:db8::7"},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:4000", []string{"192.0.2.1"}, proxies, "192.0.2.1"},
		{"zone dropped", "[fe80::1%eth0]:4000", nil, proxies, "fe80::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientAddr(r, tc.trusted); got.String() != tc.want {
				t.Fatalf("clientAddr = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAddrKeyGroupsAnIPv6Slash64(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"},
		{"192.0.2.1", "::ffff:192.0.2.1"},
	} {
		if ka, kb := addrKey(netip.MustParseAddr(tc.a)), addrKey(netip.MustParseAddr(tc.b)); ka != kb {
			t.Errorf("%s → %s and %s → %s, want one key", tc.a, ka, tc.b, kb)
		}
	}
	if ka, kb := addrKey(netip.MustParseAddr("2001:db8:1:2::1")), addrKey(netip.MustParseAddr("2001:db8:1:3::1")); ka == kb {
		t.Errorf("two /64s share the key %s", ka)
	}
	if ka, kb := addrKey(netip.MustParseAddr("192.0.2.1")), addrKey(netip.MustParseAddr("192.0.2.2")); ka == kb {
		t.Errorf("two IPv4 addresses share the key %s", ka)
	}
}
