package stream

import (
	"fmt"
	"strings"
)

// BarSet is the set of bar intervals (1s, 5s, 1m, 5m) whose bar events a
// stream receives; the zero value is none.
type BarSet uint8

// allBars is every interval's bars.
const allBars = BarSet(1<<len(barIntervals) - 1)

func (s BarSet) has(i int) bool { return s&(1<<i) != 0 }

// ParseBars reads the bars parameter of a subscription: comma lists of
// interval names. An interval the engine does not keep is an error that
// names it and wraps ErrBadSubscription.
func ParseBars(values []string) (BarSet, error) {
	var set BarSet
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			i := barIntervalNamed(name)
			if i < 0 {
				return 0, fmt.Errorf("%w: unknown bars interval %.20q; want %s", ErrBadSubscription, name, BarIntervalNames())
			}
			set |= 1 << i
		}
	}
	return set, nil
}

func barIntervalNamed(name string) int {
	for i, iv := range barIntervals {
		if iv.name == name {
			return i
		}
	}
	return -1
}
