package sse

import (
	"runtime"
	"testing"
	"time"

	"github.com/tickerd/tickerd/stream"
)

// TestATightOpenCloseLoopIsNotRefused opens and closes streams from one
// address as fast as it can, at the default flush interval and with no
// tick to write: each stream's slot in the per-address limit is released
// as soon as its client has gone, so none of them is refused. Before, a
// departure was noticed at the next housekeeping pass, a second or two
// later, and all but the first few were answered 429.
func TestATightOpenCloseLoopIsNotRefused(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("departures are watched with epoll on Linux; elsewhere at housekeeping")
	}
	const (
		perAddr = 16
		streams = 400
	)
	th := startHub(t, testConfig{FlushInterval: stream.DefaultFlushInterval, MaxStreamsPerAddr: perAddr})
	refused := 0
	start := time.Now()
	for i := range streams {
		c := th.dial(t, "", nil)
		if c.status != 200 {
			refused++
			t.Logf("stream %d: status %d", i, c.status)
		}
		c.conn.Close()
	}
	t.Logf("%d streams opened and closed in %v; %d refused", streams, time.Since(start).Round(time.Millisecond), refused)
	if refused > 0 {
		t.Fatalf("%d of %d streams opened one after another, each closed before the next, were refused by a per-address limit of %d", refused, streams, perAddr)
	}
	waitFor(t, "every slot released", func() bool { total, _ := th.streams.Counts(); return total == 0 })
	// A slot is released before its stream's close is counted.
	waitFor(t, "every close counted as normal", func() bool {
		return th.metric(t, "tickerd_streams_closed_total", "normal") == streams
	})
}
