package feed

import (
	"math"
	"sync"
	"time"
)

// ScaledClock is a [Clock] that reads start when it is first read and
// then runs speed times as fast as its base: a simulated clock for
// watching an open or a close in a minute. Two processes given the same
// start begin their markets at the same instant of it, whenever they start.
type ScaledClock struct {
	base  Clock
	start time.Time
	speed float64

	once   sync.Once
	origin time.Time // base's time when the clock was first read
}

// NewScaledClock returns a clock that reads start when first read and runs
// speed (positive) times as fast as base.
func NewScaledClock(base Clock, start time.Time, speed float64) *ScaledClock {
	return &ScaledClock{base: base, start: start, speed: speed}
}

// Now returns the scaled time.
func (c *ScaledClock) Now() time.Time {
	now := c.base.Now()
	c.once.Do(func() { c.origin = now })
	return c.start.Add(time.Duration(float64(now.Sub(c.origin)) * c.speed))
}

// NewTimer returns a timer that fires when the scaled clock has moved by d.
func (c *ScaledClock) NewTimer(d time.Duration) Timer {
	return scaledTimer{c.base.NewTimer(c.real(d)), c}
}

// real returns how long the base clock takes to move the scaled one by d,
// rounded up so a timer never fires before its time.
func (c *ScaledClock) real(d time.Duration) time.Duration {
	return time.Duration(math.Ceil(float64(d) / c.speed))
}

type scaledTimer struct {
	Timer
	c *ScaledClock
}

func (t scaledTimer) Reset(d time.Duration) bool { return t.Timer.Reset(t.c.real(d)) }
