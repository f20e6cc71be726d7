package main

import (
	"context"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/market"
	"github.com/tickerd/tickerd/stream"
)

// barsPerEvent is the most bar events one message of the bus carries
// (feed.BarsHeader): about 220 KB, well inside NATS's default 1 MB
// payload. The rest of a larger close (10,000 symbols' at once) goes with
// the events after it, a few more milliseconds on.
const barsPerEvent = 2000

// barSource is a publisher's source with the market's bars decided once,
// here, for every replica: each event carries, to the bus, the bar events
// decided since the one before (stream.BarMaker says which), and the
// replicas relay them instead of making their own.
type barSource struct {
	src   feed.Source
	maker *stream.BarMaker
}

func newBarSource(src feed.Source, names []string, barBytes int) barSource {
	return barSource{src: src, maker: stream.NewBarMaker(names, max(1, stream.BarsPerInterval(barBytes, len(names), stream.DefaultBarCapacity)))}
}

// Run runs the source without bars: they go only to a bus.
func (b barSource) Run(ctx context.Context, publish func(feed.Tick)) error {
	return b.src.Run(ctx, publish)
}

// RunMarket runs the source, handing events its events, and the bars to
// carry with them when events carries bars (feed.BarCarrier).
func (b barSource) RunMarket(ctx context.Context, events feed.MarketEvents) error {
	if carrier, ok := events.(feed.BarCarrier); ok {
		events = &barredEvents{MarketEvents: events, carrier: carrier, maker: b.maker}
	}
	if m, ok := b.src.(feed.MarketSource); ok {
		return m.RunMarket(ctx, events)
	}
	return b.src.Run(ctx, events.Tick)
}

// barredEvents hands on a market's events, each with the bar events
// decided before it: the bars its own time closes, and those of earlier
// events, such as the closed bars a late tick changed, which a replica
// must get after that tick.
type barredEvents struct {
	feed.MarketEvents
	carrier feed.BarCarrier
	maker   *stream.BarMaker
	waiting []stream.BarEvent // decided, not yet carried
}

func (e *barredEvents) Tick(t feed.Tick) {
	before, after := e.maker.Tick(t)
	e.carry(before)
	e.MarketEvents.Tick(t)
	e.waiting = append(e.waiting, after...)
}

func (e *barredEvents) Status(s market.Status) {
	e.carry(e.maker.Time(s.Time))
	e.MarketEvents.Status(s)
}

func (e *barredEvents) Bands(b market.Bands) {
	e.carry(nil)
	e.MarketEvents.Bands(b)
}

// carry has the next event carry what waits and bars, up to barsPerEvent.
func (e *barredEvents) carry(bars []stream.BarEvent) {
	e.waiting = append(e.waiting, bars...)
	if len(e.waiting) == 0 {
		return
	}
	n := min(len(e.waiting), barsPerEvent)
	e.carrier.CarryBars(stream.AppendBarEvents(make([]byte, 0, n*120), e.waiting[:n]))
	e.waiting = append(e.waiting[:0], e.waiting[n:]...)
}

// Bars relays the bar events the publisher decided (a replica's).
func (e hubEvents) Bars(bars []byte, seq uint64) {
	if err := e.hub.PublishBars(bars, seq); err != nil {
		e.log.Debug("bars rejected", "err", err)
	}
}
