package feed

import "time"

// Clock is the time source of a [Simulator]: the time now, and a timer to
// wait for a later time. [SystemClock] is the real one; tests use one whose
// time they move by hand.
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
