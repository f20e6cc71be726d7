package feed

import "context"

// Source is where a server's ticks come from: the simulated market in the
// same process ([Simulator], the default), a NATS JetStream stream that a
// publisher process fills ([NATSSource]), or a recorded file ([Replay]). Whatever feeds it, the consumer
// sees the same thing: ticks in increasing Seq order.
//
// Run calls publish for each tick, one call at a time, until ctx is done,
// and then returns nil; it returns an error only when the source cannot go
// on. publish must not keep the tick's memory beyond the call.
type Source interface {
	Run(ctx context.Context, publish func(Tick)) error
}

var (
	_ Source = (*Simulator)(nil)
	_ Source = (*NATSSource)(nil)
	_ Source = (*Replay)(nil)
)
