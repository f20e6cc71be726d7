package fakeclock_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/fakeclock"
)

var testStart = time.Date(2025, 11, 24, 14, 30, 0, 0, time.UTC)

// fired reports the value waiting on timer's channel, if any, without blocking.
func fired(tm feed.Timer) (time.Time, bool) {
	select {
	case v := <-tm.C():
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestClockFiresTimersWhenDue(t *testing.T) {
	c := fakeclock.New(testStart)
	if got := c.Now(); !got.Equal(testStart) {
		t.Fatalf("Now = %v, want %v", got, testStart)
	}
	t1 := c.NewTimer(time.Second)
	t2 := c.NewTimer(2 * time.Second)
	t3 := c.NewTimer(3 * time.Second)
	if n := c.Timers(); n != 3 {
		t.Fatalf("Timers = %d, want 3", n)
	}

	steps := []struct {
		advance time.Duration
		fire    []feed.Timer
		quiet   []feed.Timer
		pending int
	}{
		{advance: 999 * time.Millisecond, quiet: []feed.Timer{t1, t2, t3}, pending: 3},
		{advance: time.Millisecond, fire: []feed.Timer{t1}, quiet: []feed.Timer{t2, t3}, pending: 2},
		{advance: 5 * time.Second, fire: []feed.Timer{t2, t3}, quiet: []feed.Timer{t1}, pending: 0},
	}
	now := testStart
	for i, s := range steps {
		c.Advance(s.advance)
		now = now.Add(s.advance)
		if got := c.Now(); !got.Equal(now) {
			t.Fatalf("step %d: Now = %v, want %v", i, got, now)
		}
		for j, tm := range s.fire {
			if v, ok := fired(tm); !ok || !v.Equal(now) {
				t.Errorf("step %d: timer %d: fired = %v %v, want %v", i, j, v, ok, now)
			}
		}
		for j, tm := range s.quiet {
			if _, ok := fired(tm); ok {
				t.Errorf("step %d: timer %d fired, want it quiet", i, j)
			}
		}
		if n := c.Timers(); n != s.pending {
			t.Errorf("step %d: Timers = %d, want %d", i, n, s.pending)
		}
	}
}

func TestClockStopAndReset(t *testing.T) {
	c := fakeclock.New(testStart)

	tm := c.NewTimer(time.Second)
	if !tm.Stop() {
		t.Error("Stop of a pending timer = false, want true")
	}
	if tm.Stop() {
		t.Error("second Stop = true, want false")
	}
	c.Advance(time.Hour)
	if _, ok := fired(tm); ok {
		t.Error("stopped timer fired")
	}

	// Reset of a stopped timer schedules it from the clock's time.
	if tm.Reset(time.Second) {
		t.Error("Reset of a stopped timer = true, want false")
	}
	c.Advance(time.Second - 1)
	if _, ok := fired(tm); ok {
		t.Fatal("reset timer fired early")
	}
	c.Advance(1)
	if v, ok := fired(tm); !ok || !v.Equal(testStart.Add(time.Hour+time.Second)) {
		t.Fatalf("reset timer: fired = %v %v", v, ok)
	}

	// A value nobody received is dropped by Stop and by Reset.
	tm.Reset(time.Second)
	if !tm.Reset(time.Minute) {
		t.Error("Reset of a pending timer = false, want true")
	}
	c.Advance(time.Minute)
	if tm.Stop() {
		t.Error("Stop of a fired timer = true, want false")
	}
	if _, ok := fired(tm); ok {
		t.Error("a stale value survived Stop")
	}
	tm.Reset(time.Second)
	c.Advance(time.Second)
	tm.Reset(time.Second)
	if _, ok := fired(tm); ok {
		t.Error("a stale value survived Reset")
	}

	for _, d := range []time.Duration{0, -time.Second} {
		if _, ok := fired(c.NewTimer(d)); !ok {
			t.Errorf("NewTimer(%v) has not fired, want it fired at once", d)
		}
	}
}

func TestClockAwaitTimers(t *testing.T) {
	c := fakeclock.New(testStart)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	const waiters = 8
	var wg sync.WaitGroup
	woke := make([]time.Time, waiters)
	for i := range waiters {
		wg.Go(func() {
			tm := c.NewTimer(time.Duration(i+1) * time.Second)
			woke[i] = <-tm.C()
		})
	}
	if err := c.AwaitTimers(ctx, waiters); err != nil {
		t.Fatalf("AwaitTimers: %v", err)
	}
	for range 4 { // concurrent readers of the clock, for the race detector
		wg.Go(func() { _ = c.Now(); _ = c.Timers() })
	}
	c.Advance(waiters * time.Second)
	wg.Wait()
	for i, w := range woke {
		if !w.Equal(testStart.Add(waiters * time.Second)) {
			t.Errorf("waiter %d woke with %v", i, w)
		}
	}

	short, cancelShort := context.WithTimeout(ctx, time.Millisecond)
	defer cancelShort()
	if err := c.AwaitTimers(short, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AwaitTimers with no timers = %v, want context.DeadlineExceeded", err)
	}
}
