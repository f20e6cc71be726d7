package main

import (
	"sync"
	"testing"
)

// TestASampledClientsProgressIsSeenWhole samples a client while it takes
// ticks one at a time, each the next id: every sample must hold as many
// ticks as the id of the last one, or the share of the id span a client
// got would be off by a read at either edge of the window.
func TestASampledClientsProgressIsSeenWhole(t *testing.T) {
	c := &client{sampled: true}
	const ticks = 200_000
	var reader sync.WaitGroup
	reader.Go(func() {
		for seq := uint64(1); seq <= ticks; seq++ {
			c.received(1, seq)
		}
	})
	torn := 0
	for {
		delivered, last := c.progress()
		if delivered != last {
			torn++
		}
		if last == ticks {
			break
		}
	}
	reader.Wait()
	if torn > 0 {
		t.Errorf("%d samples held a count of ticks and a last id apart", torn)
	}
}
