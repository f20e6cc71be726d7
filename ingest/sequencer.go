package ingest

import (
	"sync"

	"github.com/tickerd/tickerd/feed"
)

// Engine is where numbered ticks go; *stream.Hub is one. Publish reports
// why it rejects a tick.
type Engine interface {
	Publish(feed.Tick) error
}

// Sequencer numbers the ticks a server takes in and hands them to its
// engine, one at a time: every tick gets the next sequence number, so
// ticks from several publishers (and the simulated market beside them)
// reach the engine in increasing order. A rejected tick uses no number.
// A tick without a time gets the clock's.
type Sequencer struct {
	engine Engine
	clock  feed.Clock

	mu   sync.Mutex
	next uint64
}

// NewSequencer returns a sequencer whose first tick gets firstSeq (at least 1).
func NewSequencer(engine Engine, firstSeq uint64, clock feed.Clock) *Sequencer {
	return &Sequencer{engine: engine, clock: clock, next: max(firstSeq, 1)}
}

// Publish numbers t and hands it to the engine, returning the engine's
// verdict.
func (s *Sequencer) Publish(t feed.Tick) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Seq = s.next
	if t.Time.IsZero() {
		t.Time = s.clock.Now()
	}
	if err := s.engine.Publish(t); err != nil {
		return err
	}
	s.next++
	return nil
}
