package feed

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Clock is the time source of a [Simulator]: the time now, and a timer to
// wait for a later time. [SystemClock] is the real one; [FakeClock] lets a
// test move time by hand.
//
// A timer, rather than a bare channel like time.After, lets the simulator
// reuse one timer for its whole run and stop it when it returns, so a fake
// clock never holds on to a waiter nobody listens to.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer that a [Simulator] uses, with the
// semantics of Go 1.23 and later: after Stop or Reset returns, no stale
// value is received from C.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing and reports whether it was
	// still pending.
	Stop() bool
	// Reset makes the timer fire after d and reports whether it was
	// still pending.
	Reset(d time.Duration) bool
}

// SystemClock is the [Clock] of the operating system: time.Now and
// time.NewTimer.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer that fires after d.
func (SystemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time        { return t.t.C }
func (t systemTimer) Stop() bool                 { return t.t.Stop() }
func (t systemTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

// FakeClock is a [Clock] whose time moves only when [FakeClock.Advance] is
// called, for tests in this and other packages. Its methods are safe for
// concurrent use. The zero value starts at the zero time; use
// [NewFakeClock] to start elsewhere.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	pending []*fakeTimer  // timers that have not fired, in no order
	changed chan struct{} // closed and replaced when pending changes
}

// NewFakeClock returns a FakeClock whose time is start.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{now: start} }

// Now returns the clock's current time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when the clock reaches Now()+d; a
// timer with d <= 0 has fired already.
func (c *FakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{clock: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scheduleLocked(t, d)
	return t
}

// Advance moves the clock forward by d and fires, in deadline order, every
// timer that is then due, sending the new time on its channel. It does not
// wait for anything the timers wake up to run.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	c.pending = slices.DeleteFunc(c.pending, func(t *fakeTimer) bool {
		if t.deadline.After(c.now) {
			return false
		}
		due = append(due, t)
		return true
	})
	if len(due) == 0 {
		return
	}
	slices.SortStableFunc(due, func(a, b *fakeTimer) int { return a.deadline.Compare(b.deadline) })
	for _, t := range due {
		t.fireLocked(c.now)
	}
	c.notifyLocked()
}

// Timers returns the number of timers waiting to fire.
func (c *FakeClock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// AwaitTimers blocks until at least n timers are waiting to fire, which
// tells a test that the code under test has gone back to waiting on the
// clock, or until ctx is done, when it returns ctx.Err().
func (c *FakeClock) AwaitTimers(ctx context.Context, n int) error {
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

func (c *FakeClock) scheduleLocked(t *fakeTimer, d time.Duration) {
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
func (c *FakeClock) unscheduleLocked(t *fakeTimer) bool {
	i := slices.Index(c.pending, t)
	if i < 0 {
		return false
	}
	c.pending = slices.Delete(c.pending, i, i+1)
	c.notifyLocked()
	return true
}

func (c *FakeClock) changedLocked() chan struct{} {
	if c.changed == nil {
		c.changed = make(chan struct{})
	}
	return c.changed
}

func (c *FakeClock) notifyLocked() {
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

type fakeTimer struct {
	clock    *FakeClock
	ch       chan time.Time // capacity 1
	deadline time.Time      // guarded by clock.mu
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	t.drainLocked()
	return t.clock.unscheduleLocked(t)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
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
func (t *fakeTimer) fireLocked(now time.Time) {
	select {
	case t.ch <- now:
	default:
	}
}

// drainLocked discards a fired value nobody received, as Go 1.23 timers do.
func (t *fakeTimer) drainLocked() {
	select {
	case <-t.ch:
	default:
	}
}
