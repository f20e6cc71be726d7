package stream

import (
	"bytes"
	"testing"
	"time"
)

// TestBacklogKeepsSharedBytesAndDrainsAcrossSegments checks that the
// backlog holds the very bytes it was given (a batch's shared buffer, not
// a copy) and that partial writes across its segments leave exactly the
// unwritten tail, in order.
func TestBacklogKeepsSharedBytesAndDrainsAcrossSegments(t *testing.T) {
	batch := []byte("aaaa" + "bbbbbb" + "cc")
	segs := [][]byte{batch[:4], batch[4:10], batch[10:]}
	var c client
	for _, s := range segs {
		c.queue(s, 1, 100)
	}
	c.queue(nil, 0, 100) // nothing queued, nothing held
	if c.pending() != len(batch) || c.queuedEvents != 3 || c.limit != 4+100 || len(c.backlog) != 3 {
		t.Fatalf("pending %d, events %d, limit %d, %d segments; want %d, 3, 104, 3", c.pending(), c.queuedEvents, c.limit, len(c.backlog), len(batch))
	}
	for i, s := range c.backlog {
		if &s[0] != &segs[i][0] {
			t.Fatalf("segment %d is a copy, want the batch's own bytes", i)
		}
	}
	now := time.Unix(1, 0)
	for _, step := range []struct {
		n    int
		rest string
	}{
		{0, "aaaabbbbbbcc"}, {3, "abbbbbbcc"}, {1, "bbbbbbcc"}, {5, "bcc"}, {2, "c"},
	} {
		if c.written(step.n, now) {
			t.Fatalf("after %d more bytes: drained, want %q left", step.n, step.rest)
		}
		if got := bytes.Join(c.unwritten(nil), nil); string(got) != step.rest || c.pending() != len(step.rest) {
			t.Fatalf("after %d more bytes: unwritten %q (pending %d), want %q", step.n, got, c.pending(), step.rest)
		}
	}
	if !c.written(1, now) || c.pending() != 0 || c.backlog != nil || c.limit != 0 || len(c.unwritten(nil)) != 0 {
		t.Fatalf("after the last byte: pending %d, backlog %q, limit %d; want all empty", c.pending(), c.backlog, c.limit)
	}
	// The next queue sets a new limit from what it queues.
	c.queue([]byte("xyz"), 0, 10)
	if c.limit != 13 || c.pending() != 3 {
		t.Fatalf("limit %d, pending %d after queueing again; want 13, 3", c.limit, c.pending())
	}
}
