package main

import (
	"io"
	"runtime/debug"
	"testing"
)

// TestGCPercentIsTheCollectorsTarget checks -gc-percent's default, that
// the flag and its variable set it, and that it becomes the collector's
// target.
func TestGCPercentIsTheCollectorsTarget(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want int
	}{
		{nil, nil, defaultGCPercent},
		{[]string{"-gc-percent", "30"}, nil, 30},
		{nil, map[string]string{"TICKERD_GC_PERCENT": "200"}, 200},
	} {
		c, err := parseConfig(roleServe, tc.args, func(k string) string { return tc.env[k] }, io.Discard)
		if err != nil {
			t.Fatalf("%v %v: %v", tc.args, tc.env, err)
		}
		if c.gcPercent != tc.want {
			t.Fatalf("%v %v: gc percent %d, want %d", tc.args, tc.env, c.gcPercent, tc.want)
		}
	}
	was := debug.SetGCPercent(100)
	defer debug.SetGCPercent(was)
	applyGCPercent(30)
	if got := debug.SetGCPercent(100); got != 30 {
		t.Fatalf("after -gc-percent 30 the collector's target is %d", got)
	}
}
