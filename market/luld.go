package market

import (
	"math"
	"time"
)

// Parameters of the Limit Up–Limit Down plan that the simulated market follows.
const (
	// PauseLength is how long a volatility pause lasts.
	PauseLength = 5 * time.Minute
	// ReferenceWindow is the span of trades whose mean price is the reference.
	ReferenceWindow = 5 * time.Minute
	// ReferenceMove is the move of the reference price, as a share of the
	// bands' reference, that redraws the bands.
	ReferenceMove = 0.01

	openDoubled      = 15 * time.Minute // bands are doubled this long after the open
	closeDoubled     = 25 * time.Minute // and, for stocks at $3 or less, this long before the close
	referenceBuckets = 10
)

// BandsFor returns the Tier 1 LULD bands around ref, each on the cent grid
// (the lower rounded up, the upper down, never below a cent): ±5% above
// $3, ±20% from $0.75 to $3, and the lesser of $0.15 and 75% below $0.75;
// twice that when doubled.
func BandsFor(ref float64, doubled bool) (lower, upper float64) {
	var width float64
	switch {
	case ref > 3:
		width = 0.05 * ref
	case ref >= 0.75:
		width = 0.20 * ref
	default:
		width = min(0.15, 0.75*ref)
	}
	if doubled {
		width *= 2
	}
	lower = max(math.Ceil((ref-width)*100-1e-9)/100, 0.01)
	upper = math.Floor((ref+width)*100+1e-9) / 100
	return lower, upper
}

// Doubled reports whether the bands of a stock at ref are doubled at t:
// in the first 15 minutes of the regular session, and for a stock at $3 or
// less in its last 25 minutes too.
func (c *Calendar) Doubled(t time.Time, ref float64) bool {
	day := c.Day(t)
	if !day.Trading || t.Before(day.Open) || !t.Before(day.Close) {
		return false
	}
	return t.Before(day.Open.Add(openDoubled)) || (ref <= 3 && !t.Before(day.Close.Add(-closeDoubled)))
}

// Reference is the mean price of a symbol's trades over the last
// [ReferenceWindow], kept in ten buckets of 30 seconds: the LULD reference
// price. Its zero value holds no trades.
type Reference struct {
	sums   [referenceBuckets]float64
	counts [referenceBuckets]int
	starts [referenceBuckets]int64 // start of each bucket's span, Unix nanoseconds
}

const bucketSpan = int64(ReferenceWindow) / referenceBuckets

// Add records a trade at price made at t.
func (r *Reference) Add(t time.Time, price float64) {
	start := t.UnixNano() - t.UnixNano()%bucketSpan
	i := int(start / bucketSpan % referenceBuckets)
	if r.starts[i] != start {
		r.starts[i], r.sums[i], r.counts[i] = start, 0, 0
	}
	r.sums[i] += price
	r.counts[i]++
}

// Mean returns the mean price of the trades of the window that ends at t,
// and false if there were none.
func (r *Reference) Mean(t time.Time) (float64, bool) {
	oldest := t.UnixNano() - int64(ReferenceWindow)
	var sum float64
	var n int
	for i := range r.starts {
		if r.counts[i] > 0 && r.starts[i]+bucketSpan > oldest && r.starts[i] <= t.UnixNano() {
			sum += r.sums[i]
			n += r.counts[i]
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / float64(n), true
}

// Reset forgets every trade.
func (r *Reference) Reset() { *r = Reference{} }
