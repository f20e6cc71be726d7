package ingest

import (
	"context"
	"sync"

	"github.com/tickerd/tickerd/feed"
)

// Relay is the [feed.Source] of the ticks given to its Publish: what
// tickerd publish runs its NATS publisher on when its ticks come from the
// publish API. Publish hands a tick over to Run, waiting while Run's
// consumer is busy (storing the previous tick), so a slow bus slows the
// publishers down rather than piling ticks up.
type Relay struct {
	ticks   chan feed.Tick
	stopped chan struct{} // closed when Run has returned
	once    sync.Once
}

// NewRelay returns a relay; its Publish waits until Run runs.
func NewRelay() *Relay {
	return &Relay{ticks: make(chan feed.Tick), stopped: make(chan struct{})}
}

// Publish hands t to Run's consumer, or returns ErrStopped once Run has
// returned.
func (r *Relay) Publish(t feed.Tick) error {
	select {
	case r.ticks <- t:
		return nil
	case <-r.stopped:
		return ErrStopped
	}
}

// Run calls publish with each tick given to Publish until ctx is done.
func (r *Relay) Run(ctx context.Context, publish func(feed.Tick)) error {
	defer r.once.Do(func() { close(r.stopped) })
	for {
		select {
		case <-ctx.Done():
			return nil
		case t := <-r.ticks:
			publish(t)
		}
	}
}

var _ feed.Source = (*Relay)(nil)
