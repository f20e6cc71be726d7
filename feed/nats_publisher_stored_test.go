package feed_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/natstest"
)

// TestWaitStoredReturnsOnceTheTicksAreInTheStream waits for what was
// handed to a publisher: it returns once the stream holds it, waits while
// the server is down, and reports a publisher that stops first.
func TestWaitStoredReturnsOnceTheTicksAreInTheStream(t *testing.T) {
	ns := natstest.Start(t)
	p := newTestPublisher(t, ns.URL(), prometheus.NewRegistry())
	q := make(queueSource)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx, q) }()
	nc, js := connect(t, ns.URL())
	defer nc.Close()
	// The source hands a tick on before the publisher sends it.
	sent := func(n uint64) {
		waitFor(t, "the ticks sent", func() bool { return p.Sent() == n })
	}
	wait := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return p.WaitStored(ctx, p.Sent())
	}

	sendTicks(t, q, 1, 50)
	sent(50)
	if err := wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := lastSeq(t, js); got != 50 {
		t.Fatalf("stored up to %d when WaitStored returned; want 50", got)
	}

	// While the server is down nothing is stored: WaitStored waits. (The
	// publisher holds the next tick back after one it could not send.)
	ns.Stop()
	sendTicks(t, q, 51, 51)
	sent(51)
	if err := wait(300 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitStored with the server down: %v; want it to wait out its context", err)
	}
	ns.Restart()
	sendTicks(t, q, 52, 60)
	sent(60)
	if err := wait(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	nc2, js2 := connect(t, ns.URL())
	defer nc2.Close()
	if got := lastSeq(t, js2); got != 60 {
		t.Fatalf("stored up to %d when WaitStored returned after the outage; want 60", got)
	}

	// A publisher that stops has nothing more stored.
	stop()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if err := p.WaitStored(context.Background(), p.Sent()+1); !errors.Is(err, feed.ErrPublisherStopped) {
		t.Fatalf("WaitStored after Run returned: %v; want %v", err, feed.ErrPublisherStopped)
	}
}
