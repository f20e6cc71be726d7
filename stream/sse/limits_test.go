package sse

import (
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"testing"

	"github.com/tickerd/tickerd/internal/httpjson"
)

func TestStreamLimitsAnswer429And503AndAreReleasedOnClose(t *testing.T) {
	th := startHub(t, testConfig{
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
		var body httpjson.Error
		if err := json.NewDecoder(io.LimitReader(c.r, 4096)).Decode(&body); err != nil || body.Message != wantMessage {
			t.Errorf("body %+v (%v), want error %q", body, err, wantMessage)
		}
	}

	a1 := open("192.0.2.1", 200)
	open("198.51.100.7, 192.0.2.1", 200) // the client's own claim on the left is not believed
	checkRefusal(open("192.0.2.1", 429), "too many streams from your address (at most 2); close one and retry")
	open("2001:db8::1", 200)
	checkRefusal(open("192.0.2.9", 503), "the service has all the streams it can take; retry later")
	if total, addrs := th.streams.Counts(); total != 3 || addrs != 2 {
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
	waitFor(t, "the closed stream released", func() bool { total, _ := th.streams.Counts(); return total == 2 })
	open("192.0.2.1", 200)

	for reason, want := range map[string]float64{"over_limit": 2, "over_client_limit": 1} {
		if got := th.metric(t, "tickerd_streams_rejected_total", reason); got != want {
			t.Errorf("rejected{%s} = %v, want %v", reason, got, want)
		}
	}
	th.stop()
	if total, addrs := th.streams.Counts(); total != 0 || addrs != 0 {
		t.Fatalf("after shutdown the limits hold %d streams of %d addresses", total, addrs)
	}
}
