package ingest_test

import (
	"context"
	"errors"
	"sync"
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
