package main

import (
	"context"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/market"
	"github.com/tickerd/tickerd/stream"
)

// barsPerMessage is the most bar events one message of the bus carries:
// about 60 KB, well inside NATS's default 1 MB payload, so a close of
// 10,000 symbols is 20 messages.
const barsPerMessage = 500

// barSource is a publisher's source with the market's bars decided once,
// here, for every replica: the bar events go to the bus in order with
// the market's events (stream.BarMaker says where), on their interval's
// subject, and the replicas relay them instead of making their own.
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

// RunMarket runs the source, handing events its events with the bars
// among them when events takes bars (feed.BarEvents).
func (b barSource) RunMarket(ctx context.Context, events feed.MarketEvents) error {
	sink, ok := events.(feed.BarEvents)
	if !ok {
		if m, ok := b.src.(feed.MarketSource); ok {
			return m.RunMarket(ctx, events)
		}
		return b.src.Run(ctx, events.Tick)
	}
	e := &barredEvents{MarketEvents: events, sink: sink, maker: b.maker}
	if m, ok := b.src.(feed.MarketSource); ok {
		return m.RunMarket(ctx, e)
	}
	return b.src.Run(ctx, e.Tick)
}

// barredEvents hands on a market's events with the bar events they make:
// the bars an event's time closes before it, the closed bars a late tick
// changed after it.
type barredEvents struct {
	feed.MarketEvents
	sink  feed.BarEvents
	maker *stream.BarMaker
}

func (e *barredEvents) Tick(t feed.Tick) {
	before, after := e.maker.Tick(t)
	part := e.send(before, t.Seq, 0)
	e.MarketEvents.Tick(t)
	e.send(after, t.Seq, part)
}

func (e *barredEvents) Status(s market.Status) {
	e.send(e.maker.Time(s.Time), s.Seq, 0)
	e.MarketEvents.Status(s)
}

// send hands bars to the sink, a message per interval and barsPerMessage
// bars, numbered from part on, and returns the next part.
func (e *barredEvents) send(bars []stream.BarEvent, seq uint64, part int) int {
	for len(bars) > 0 {
		n := 1
		for n < len(bars) && n < barsPerMessage && bars[n].Interval == bars[0].Interval {
			n++
		}
		lines := make([]byte, 0, n*112)
		for _, b := range bars[:n] {
			lines = append(b.AppendJSON(lines), '\n')
		}
		e.sink.Bars(bars[0].Interval, lines, seq, part)
		part++
		bars = bars[n:]
	}
	return part
}

// Bars relays the bar events the publisher decided (a replica's).
func (e hubEvents) Bars(_ string, lines []byte, seq uint64, _ int) {
	if err := e.hub.PublishBars(lines, seq); err != nil {
		e.log.Debug("bars rejected", "err", err)
	}
}
