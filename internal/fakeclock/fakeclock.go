// Package fakeclock is a clock for tests whose time moves only when the
// test says so. It implements feed.Clock, so a test can drive a
// feed.Simulator tick by tick. It is for tests only: production code uses
// feed.SystemClock.
package fakeclock

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tickerd/tickerd/feed"
)

// Clock is a [feed.Clock] whose time moves only when [Clock.Advance] is
// called. Its methods are safe for concurrent use. The zero value starts at
// the zero time; use [New] to start elsewhere.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	pending []*timer      // timers that have not fired, in no order
	changed chan struct{} // closed and replaced when pending changes
}

var _ feed.Clock = (*Clock)(nil)

// New returns a Clock whose time is start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when the clock reaches Now()+d; a
// timer with d <= 0 has fired already.
func (c *Clock) NewTimer(d time.Duration) feed.Timer {
	t := &timer{clock: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scheduleLocked(t, d)
	return t
}

// Advance moves the clock forward by d and fires, in deadline order, every
// timer that is then due, sending the new time on its channel. It does not
// wait for anything the timers wake up to run.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	var due []*timer
	c.pending = slices.DeleteFunc(c.pending, func(t *timer) bool {
		if t.deadline.After(c.now) {
			return false
		}
		due = append(due, t)
		return true
	})
	if len(due) == 0 {
		return
	}
	slices.SortStableFunc(due, func(a, b *timer) int { return a.deadline.Compare(b.deadline) })
	for _, t := range due {
		t.fireLocked(c.now)
	}
	c.notifyLocked()
}

// Timers returns the number of timers waiting to fire.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// AwaitTimers blocks until at least n timers are waiting to fire, which
// tells a test that the code under test has gone back to waiting on the
// clock, or until ctx is done, when it returns ctx.Err().
func (c *Clock) AwaitTimers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if len(c.pending) >= n {
			c.mu.Unlock()
			return nil
		}
		changed := c.changedLocked()
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *Clock) scheduleLocked(t *timer, d time.Duration) {
	t.deadline = c.now.Add(d)
	if d <= 0 {
		t.fireLocked(c.now)
		return
	}
	c.pending = append(c.pending, t)
	c.notifyLocked()
}

// unscheduleLocked removes t from the pending timers and reports whether
// it was there.
func (c *Clock) unscheduleLocked(t *timer) bool {
	i := slices.Index(c.pending, t)
	if i < 0 {
		return false
	}
	c.pending = slices.Delete(c.pending, i, i+1)
	c.notifyLocked()
	return true
}

func (c *Clock) changedLocked() chan struct{} {
	if c.changed == nil {
		c.changed = make(chan struct{})
	}
	return c.changed
}

func (c *Clock) notifyLocked() {
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

type timer struct {
	clock    *Clock
	ch       chan time.Time // capacity 1
	deadline time.Time      // guarded by clock.mu
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	t.drainLocked()
	return t.clock.unscheduleLocked(t)
}

func (t *timer) Reset(d time.Duration) bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	t.drainLocked()
	wasPending := t.clock.unscheduleLocked(t)
	t.clock.scheduleLocked(t, d)
	return wasPending
}

// fireLocked sends now on the timer's channel; the channel is empty
// because every Stop and Reset drains it and a timer fires once per
// schedule.
func (t *timer) fireLocked(now time.Time) {
	select {
	case t.ch <- now:
	default:
	}
}

// drainLocked discards a fired value nobody received, as Go 1.23 timers do.
func (t *timer) drainLocked() {
	select {
	case <-t.ch:
	default:
	}
}
