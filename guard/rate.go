package guard

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxRateAddrs bounds the client addresses whose token buckets are kept.
// A bucket that has filled up again is the same as a new one, so it is
// dropped first; past the bound with every bucket in use (a storm from
// more addresses than this), arbitrary ones go and their addresses start
// afresh, while the bucket of all streams still holds.
const maxRateAddrs = 1 << 16

// connRate is the token buckets that new streams pass: one for all
// streams, one per client address (an IPv6 /64).
type connRate struct {
	all       *rate.Limiter // nil: no limit in all
	addrRate  rate.Limit    // 0: no limit per address
	addrBurst int

	mu    sync.Mutex
	addrs map[netip.Prefix]*rate.Limiter
}

func newConnRate(all float64, allBurst int, perAddr float64, addrBurst int) *connRate {
	c := &connRate{addrRate: rate.Limit(perAddr), addrBurst: addrBurst, addrs: make(map[netip.Prefix]*rate.Limiter)}
	if all > 0 {
		c.all = rate.NewLimiter(rate.Limit(all), allBurst)
	}
	return c
}

// take spends a token of key's bucket and one of the bucket of all at
// now. When either is empty it spends none and returns the reason and how
// long until a token is there.
func (c *connRate) take(key netip.Prefix, now time.Time) (refused bool, reason Reason, wait time.Duration) {
	var mine *rate.Reservation
	if c.addrRate > 0 {
		mine = c.bucket(key, now).ReserveN(now, 1)
		if d := mine.DelayFrom(now); d > 0 {
			mine.CancelAt(now)
			return true, RejectOverClientRate, d
		}
	}
	if c.all != nil {
		r := c.all.ReserveN(now, 1)
		if d := r.DelayFrom(now); d > 0 {
			r.CancelAt(now)
			if mine != nil {
				mine.CancelAt(now)
			}
			return true, RejectOverRate, d
		}
	}
	return false, 0, 0
}

// bucket returns key's bucket, made full when new.
func (c *connRate) bucket(key netip.Prefix, now time.Time) *rate.Limiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.addrs[key]; b != nil {
		return b
	}
	if len(c.addrs) >= maxRateAddrs {
		c.evict(now)
	}
	b := rate.NewLimiter(c.addrRate, c.addrBurst)
	c.addrs[key] = b
	return b
}

// evict drops the buckets that are full again, then, if that left three
// quarters of the bound or more, arbitrary ones down to that: the next
// sweep is a quarter of the bound away, so a sweep costs O(1) per new
// address. c.mu is held.
func (c *connRate) evict(now time.Time) {
	full := float64(c.addrBurst)
	for k, b := range c.addrs {
		if b.TokensAt(now) >= full {
			delete(c.addrs, k)
		}
	}
	for k := range c.addrs {
		if len(c.addrs) < maxRateAddrs*3/4 {
			break
		}
		delete(c.addrs, k)
	}
}

// addrCount returns how many client addresses have a bucket.
func (c *connRate) addrCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.addrs)
}
