package feed_test

import (
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
)

var testStart = time.Date(2025, 11, 24, 14, 30, 0, 0, time.UTC)

func TestSystemClock(t *testing.T) {
	var c feed.Clock = feed.SystemClock{}
	before := time.Now()
	now := c.Now()
	if now.Before(before) || now.Sub(before) > time.Minute {
		t.Errorf("Now = %v, want about %v", now, before)
	}
	tm := c.NewTimer(time.Millisecond)
	select {
	case v := <-tm.C():
		if v.Sub(before) < time.Millisecond {
			t.Errorf("timer fired at %v, less than 1ms after %v", v, before)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("timer did not fire")
	}
	if tm.Reset(time.Hour) {
		t.Error("Reset of a fired timer = true, want false")
	}
	if !tm.Stop() {
		t.Error("Stop of a pending system timer = false, want true")
	}
}
