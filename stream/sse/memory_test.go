package sse

import (
	"io"
	"runtime"
	"testing"
)

// TestMemoryStaysBoundedOverAMillionTicks publishes a million ticks to a
// reading client and a client that never reads, then checks that the heap
// holds little more than the replay ring.
func TestMemoryStaysBoundedOverAMillionTicks(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes a million ticks")
	}
	const ticks, ring = 1_000_000, 65536
	// The reader is sent bursts of a thousand ticks (130 KB) at once; the
	// default send buffer would spread each over many cycles and conflate
	// more of them on a busy machine, which is not what this test measures.
	th := startHub(t, testConfig{ReplaySize: ring, QueueBytes: 64 << 10, SendBuffer: 256 << 10})
	reader := th.dial(t, "", nil)
	copied := make(chan int64)
	go func() {
		n, _ := io.Copy(io.Discard, reader.r)
		copied <- n
	}()
	stuck := th.dialSmallWindow(t)
	waitFor(t, "attached", func() bool { return th.Status().Clients == 2 })
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	// Each thousand is flushed before the next, so that batches (and the
	// buffers the ring keeps alive) are the same size however busy the
	// machine is.
	for range ticks / 1000 {
		th.publish(t, 1000)
		waitFor(t, "the flush", func() bool { _, seq := th.Quotes(); return seq == th.seq })
	}
	waitFor(t, "last flush", func() bool { _, seq := th.Quotes(); return seq == ticks })
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap after %d ticks: %.1f MiB (%.1f MiB more than before; ring of %d ticks)",
		ticks, float64(after.HeapAlloc)/(1<<20), float64(grown)/(1<<20), ring)
	// A held tick costs its encoded bytes (~130 B) and its ring slot (~56 B).
	if limit := int64(ring * 400); grown > limit {
		t.Fatalf("heap grew by %d bytes, more than %d for a ring of %d", grown, limit, ring)
	}
	th.stop()
	// The reader kept reading: at least a ring's worth of ticks (about 150
	// bytes each). How many more depends on how busy the machine is; what
	// it could not take in time was conflated, which is the point of the
	// memory bound.
	if n := <-copied; n < ring*150 {
		t.Fatalf("reading client got %d bytes for %d ticks", n, ticks)
	}
	_ = stuck
}
