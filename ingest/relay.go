package ingest

import (
	"context"
	"sync"

	"github.com/tickerd/tickerd/feed"
)

// Relay is the [feed.Source] of the ticks given to its Publish: what
// tickerd publish runs its NATS publisher on when its ticks come from the
// publish API. Publish hands a tick over to Run and returns once Run's
// consumer has taken it in (the NATS publisher: sent it), waiting while
// the consumer is busy, so a slow bus slows the publishers down rather
// than piling ticks up, and what the consumer counts as taken includes
// every tick whose Publish has returned.
type Relay struct {
	ticks   chan feed.Tick
	taken   chan struct{}
	stopped chan struct{} // closed when Run has returned
	once    sync.Once
}

// NewRelay returns a relay; its Publish waits until Run runs.
func NewRelay() *Relay {
	return &Relay{ticks: make(chan feed.Tick), taken: make(chan struct{}), stopped: make(chan struct{})}
}

// Publish hands t to Run's consumer and returns once the consumer has
// taken it in, or returns ErrStopped once Run has returned.
func (r *Relay) Publish(t feed.Tick) error {
	select {
	case r.ticks <- t:
	case <-r.stopped:
		return ErrStopped
	}
	// Run answers every tick it receives before it looks at anything else.
	<-r.taken
	return nil
}

// Stop makes Publish return ErrStopped from now on, as when Run has
// returned: for the owner of a consumer that ended before it ran Run (a
// publisher that could not connect).
func (r *Relay) Stop() { r.once.Do(func() { close(r.stopped) }) }

// Run calls publish with each tick given to Publish until ctx is done.
func (r *Relay) Run(ctx context.Context, publish func(feed.Tick)) error {
	defer r.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case t := <-r.ticks:
			publish(t)
			r.taken <- struct{}{}
		}
	}
}

var _ feed.Source = (*Relay)(nil)
