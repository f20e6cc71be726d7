package feed

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// storedMark follows a publisher's publications by their ordinals in the
// order sent (1 first; only the source's goroutine sends): the number
// sent, and the highest ordinal up to which every publication is stored,
// so that a caller can wait until what it handed the publisher is in the
// stream. A publication dropped as the publisher stops keeps its ordinal,
// which the mark then never reaches. Marking costs two atomic
// operations while nobody waits.
type storedMark struct {
	sent    atomic.Uint64 // ordinal of the last publication sent
	upTo    atomic.Uint64 // every publication up to this ordinal is stored
	waiting atomic.Int64  // callers in WaitStored

	mu       sync.Mutex
	advanced chan struct{} // closed when upTo moves or the publisher stops; nil while nobody waits
	stopped  bool          // the publisher's Run (there is one) has returned: nothing more gets stored
}

// next returns the ordinal of a publication being sent.
func (m *storedMark) next() uint64 { return m.sent.Add(1) }

// storedUpTo records that every publication up to ordinal n is stored.
func (m *storedMark) storedUpTo(n uint64) {
	m.upTo.Store(n)
	if m.waiting.Load() > 0 {
		m.wake()
	}
}

// stop marks the end of the publisher's Run.
func (m *storedMark) stop() {
	m.mu.Lock()
	m.stopped = true
	m.mu.Unlock()
	m.wake()
}

func (m *storedMark) wake() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.advanced != nil {
		close(m.advanced)
		m.advanced = nil
	}
}

// ErrPublisherStopped is what WaitStored reports when the publisher stops
// before the publications waited for are stored.
var ErrPublisherStopped = errors.New("the NATS publisher stopped before the ticks were stored")

// Sent returns the ordinal of the publisher's last publication sent (or
// dropped as it stopped), 1 for the first: what a caller that has handed
// it ticks waits for with WaitStored.
func (p *NATSPublisher) Sent() uint64 { return p.mark.sent.Load() }

// WaitStored waits until every publication up to ordinal n (see Sent) is
// stored in the stream, and returns nil; or it returns ctx's error, or
// ErrPublisherStopped once the publisher has stopped without storing
// them. While the bus cannot store ticks it waits.
func (p *NATSPublisher) WaitStored(ctx context.Context, n uint64) error {
	m := &p.mark
	m.waiting.Add(1)
	defer m.waiting.Add(-1)
	for {
		m.mu.Lock()
		if m.upTo.Load() >= n {
			m.mu.Unlock()
			return nil
		}
		if m.stopped {
			m.mu.Unlock()
			return ErrPublisherStopped
		}
		if m.advanced == nil {
			m.advanced = make(chan struct{})
		}
		advanced := m.advanced
		m.mu.Unlock()
		select {
		case <-advanced:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
