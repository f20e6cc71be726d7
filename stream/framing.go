package stream

// Kind is the kind of an event the engine sends.
type Kind int

// Kinds of events.
const (
	KindTick      Kind = iota // one trade: a feed.Tick
	KindSnapshot              // the latest quote of every subscribed symbol
	KindConflated             // how many ticks a slow stream skipped
	KindStatus                // a symbol's or the market's trading status: a market.Status
	KindBands                 // a symbol's LULD price bands: a market.Bands
	KindBar                   // a closed bar of a symbol, or a closed bar a late tick changed
)

var kindNames = [...]string{"tick", "snapshot", "conflated", "status", "bands", "bar"}

// String returns the kind's name on the wire: tick, snapshot, conflated,
// status, bands or bar.
func (k Kind) String() string { return kindNames[k] }

// Framing turns the engine's events into one transport's bytes: an SSE
// event block, a WebSocket frame. The engine encodes each event's JSON
// body once and calls AppendEvent once per framing, so every stream of a
// transport shares the same bytes. A Framing must be comparable (a stream
// names its framing by value) and safe for concurrent use.
type Framing interface {
	// Name is the transport's name in metric labels: sse, ws, poll.
	Name() string
	// AppendEvent appends one event of kind to dst: id is its sequence
	// number (0: none to resume from), body its JSON object.
	AppendEvent(dst []byte, kind Kind, id uint64, body []byte) []byte
	// Heartbeat is what a stream idle for Config.Heartbeat is sent.
	Heartbeat() []byte
	// Closing is what a stream is sent, if its socket takes it, when the
	// engine ends it for reason (shutdown, expired credentials, a slow
	// client); nil for nothing.
	Closing(reason CloseReason) []byte
}
