package sse

import (
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	r3sse "github.com/r3labs/sse/v2"
)

// retryWithin reports whether name, as sseConn.next returns a retry hint,
// is one of half to one and a half times retry.
func retryWithin(name string, retry time.Duration) bool {
	ms, err := strconv.ParseInt(strings.TrimPrefix(name, "retry:"), 10, 64)
	return strings.HasPrefix(name, "retry:") && err == nil &&
		ms >= retry.Milliseconds()/2 && ms <= retry.Milliseconds()*3/2
}

// The retry field is in the block of the stream's first event, on the
// wire: a block of its own would reach some clients as an empty event.
func TestRetryGoesOutInTheBlockOfTheFirstEvent(t *testing.T) {
	th := startHub(t, testConfig{Retry: 2 * time.Second})
	th.publish(t, 3)
	waitFor(t, "first flush", func() bool { _, seq := th.Quotes(); return seq == 3 })
	for _, tc := range []struct {
		name   string
		header map[string]string
		first  string // what follows the retry line, up to the end of its line
	}{
		{"a snapshot", nil, "id: 3\nevent: snapshot\ndata: {\"seq\":3,\"resync\":false,"},
		{"a replay", map[string]string{"Last-Event-ID": "1"}, "id: 2\nevent: tick\ndata: {\"seq\":2,"},
		{"a resync", map[string]string{"Last-Event-ID": "999"}, "id: 3\nevent: snapshot\ndata: {\"seq\":3,\"resync\":true,"},
	} {
		c := th.dial(t, "", tc.header)
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if !retryWithin("retry:"+strings.TrimSpace(strings.TrimPrefix(line, "retry:")), 2*time.Second) || !strings.HasPrefix(line, "retry: ") {
			t.Fatalf("%s: the body starts with %q, want a retry line", tc.name, line)
		}
		rest := make([]byte, len(tc.first))
		if n, err := io.ReadFull(c.r, rest); err != nil {
			t.Fatalf("%s: after %q: %v", tc.name, rest[:n], err)
		}
		if string(rest) != tc.first {
			t.Errorf("%s: the retry line is followed by %q, want %q in its block", tc.name, rest, tc.first)
		}
	}
}

// Each stream is told its own reconnect delay, spread over half to one
// and a half times Retry, so that the clients of a server that closes
// them all do not come back in the same instant.
func TestRetryIsJitteredPerStream(t *testing.T) {
	th := startHub(t, testConfig{Retry: 2 * time.Second})
	th.publish(t, 1)
	seen := map[int64]bool{}
	lo, hi := int64(1<<62), int64(0)
	for range 40 {
		c := th.dial(t, "", nil)
		ev := c.mustNext()
		if !retryWithin(ev.name, 2*time.Second) {
			t.Fatalf("retry %q, want 1000 to 3000 ms", ev.name)
		}
		ms, _ := strconv.ParseInt(strings.TrimPrefix(ev.name, "retry:"), 10, 64)
		seen[ms] = true
		lo, hi = min(lo, ms), max(hi, ms)
		c.conn.Close()
	}
	// 40 uniform draws over 2,000 values: all within 1,000 ms of each
	// other happens with a chance below 1e-11.
	if len(seen) < 20 || hi-lo < 1000 {
		t.Fatalf("40 streams were told %d distinct delays from %d to %d ms; want them spread over 1000..3000", len(seen), lo, hi)
	}
	if got := jitter(0); got != 0 {
		t.Errorf("jitter(0) = %v, want 0: reconnect at once", got)
	}
}

// The r3labs/sse client delivers a block with only a retry field as an
// event with no name and no data; with the retry in the first event's
// block, the first thing it delivers is the snapshot, carrying the retry.
func TestR3labsClientGetsNoEmptyEvent(t *testing.T) {
	th := startHub(t, testConfig{Retry: 2 * time.Second})
	th.publish(t, 2)
	waitFor(t, "first flush", func() bool { _, seq := th.Quotes(); return seq == 2 })
	client := r3sse.NewClient(th.srv.URL + "/events?symbols=AAPL,MSFT")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan *r3sse.Event, 16)
	done := make(chan error, 1)
	go func() {
		done <- client.SubscribeRawWithContext(ctx, func(msg *r3sse.Event) {
			select {
			case got <- msg:
			default:
			}
		})
	}()
	var names []string
	for len(names) < 3 {
		if len(names) == 1 {
			th.publish(t, 4) // seq 3 to 6: TSLA, AAPL, MSFT, NVDA
		}
		select {
		case msg := <-got:
			names = append(names, string(msg.Event))
			if len(names) == 1 && (string(msg.Event) != "snapshot" || !retryWithin("retry:"+string(msg.Retry), 2*time.Second)) {
				t.Fatalf("first event %q with retry %q, want the snapshot carrying the retry", msg.Event, msg.Retry)
			}
			if len(msg.Event) == 0 || len(msg.Data) == 0 {
				t.Fatalf("an event with name %q and data %q after %v", msg.Event, msg.Data, names)
			}
		case <-ctx.Done():
			t.Fatalf("the client got %v in 10 s", names)
		}
	}
	if strings.Join(names, " ") != "snapshot tick tick" {
		t.Fatalf("the client got %v, want snapshot tick tick", names)
	}
	cancel()
	<-done
}
