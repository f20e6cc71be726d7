package ingest_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/ingest"
)

func TestRelayHandsTicksOnInOrderThenStops(t *testing.T) {
	r := ingest.NewRelay()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan feed.Tick, 10)
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.Run(ctx, func(t feed.Tick) { got <- t }) })
	for i := range 5 {
		if err := r.Publish(feed.Tick{Seq: uint64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		if tk := <-got; tk.Seq != uint64(i+1) {
			t.Fatalf("tick %d has seq %d", i, tk.Seq)
		}
	}
	cancel()
	wg.Wait()
	if err := r.Publish(feed.Tick{Seq: 6}); !errors.Is(err, ingest.ErrStopped) {
		t.Fatalf("after Run: %v", err)
	}
}

// TestRelayPublishReturnsOnceTheTickIsTakenIn holds Run's consumer inside
// its call for a tick: Publish returns only after that call has, so what
// the consumer counts as taken includes every tick whose Publish returned.
func TestRelayPublishReturnsOnceTheTickIsTakenIn(t *testing.T) {
	r := ingest.NewRelay()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started, gate := make(chan struct{}), make(chan struct{})
	var takenIn atomic.Bool
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		_ = r.Run(ctx, func(feed.Tick) {
			close(started)
			<-gate
			takenIn.Store(true)
		})
	})
	returned := make(chan bool)
	wg.Go(func() {
		if err := r.Publish(feed.Tick{Seq: 1}); err != nil {
			t.Error(err)
		}
		returned <- takenIn.Load()
	})
	<-started
	close(gate)
	if !<-returned {
		t.Fatal("Publish returned before Run's consumer had taken the tick in")
	}
	cancel()
}

// TestAStoppedRelayRefusesTicksThoughRunNeverRan: its consumer ended
// before running it (a publisher that could not connect).
func TestAStoppedRelayRefusesTicksThoughRunNeverRan(t *testing.T) {
	r := ingest.NewRelay()
	r.Stop()
	if err := r.Publish(feed.Tick{Seq: 1}); !errors.Is(err, ingest.ErrStopped) {
		t.Fatalf("Publish on a stopped relay: %v; want %v", err, ingest.ErrStopped)
	}
}
