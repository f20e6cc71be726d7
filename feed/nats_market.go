package feed

import (
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/tickerd/tickerd/market"
)

// Subjects of the market's events in the tick stream. They share the
// stream, and so the sequence, with the ticks: a replica hands them on with
// their stream sequence like ticks, and its clients see one order on every
// replica. Their first token after [SubjectPrefix] starts with '_' and a
// letter that is not a hex digit, which no symbol's token does ([Subject]),
// so they never collide with a symbol's subject.
const (
	statusSubjectPrefix = SubjectPrefix + "_status."
	bandsSubjectPrefix  = SubjectPrefix + "_bands."
	marketStatusSubject = statusSubjectPrefix + "_market"
)

// BarsHeader is the header of a message of the tick stream that carries
// bar events with its event: a JSON array of bar events' bodies, to be
// handed on just before the event. The publisher decides the market's bars
// once, for every replica, and puts them on the event after the one that
// made them: the bars an event's time closed, and the closed bars a late
// tick changed. They take no sequence number of their own, so the ids of
// a replica's events are those of an all-in-one's.
const BarsHeader = "Tickerd-Bars"

// BarEvents is implemented by the MarketEvents of a replica that relays
// the bars a message carries: bars is the [BarsHeader] of the message
// whose stream sequence is seq, handed on just before its event.
type BarEvents interface {
	Bars(bars []byte, seq uint64)
}

// BarCarrier is implemented by the MarketEvents of a publisher: bars, a
// JSON array of bar events, goes with the next event it is handed.
type BarCarrier interface {
	CarryBars(bars []byte)
}

// StatusSubject is the subject of symbol's statuses; of the market's with
// symbol "".
func StatusSubject(symbol string) string {
	if symbol == "" {
		return marketStatusSubject
	}
	return statusSubjectPrefix + Subject(symbol)[len(SubjectPrefix):]
}

// BandsSubject is the subject of symbol's LULD bands.
func BandsSubject(symbol string) string {
	return bandsSubjectPrefix + Subject(symbol)[len(SubjectPrefix):]
}

// eventKind says what a message of the tick stream carries, by its subject.
type eventKind int

const (
	eventTick eventKind = iota
	eventStatus
	eventBands
)

func kindOf(subject string) eventKind {
	switch {
	case len(subject) > len(statusSubjectPrefix) && subject[:len(statusSubjectPrefix)] == statusSubjectPrefix:
		return eventStatus
	case len(subject) > len(bandsSubjectPrefix) && subject[:len(bandsSubjectPrefix)] == bandsSubjectPrefix:
		return eventBands
	}
	return eventTick
}

// handOn decodes one message of the tick stream (a tick, a status or
// bands, by its subject), gives it the stream sequence seq and hands it to
// events, after the bars it carries (bars, its [BarsHeader]) when events
// takes them ([BarEvents]).
func handOn(subject string, bars, data []byte, seq uint64, events MarketEvents) error {
	if b, ok := events.(BarEvents); ok && len(bars) > 0 {
		b.Bars(bars, seq)
	}
	switch kindOf(subject) {
	case eventStatus:
		var s market.Status
		if err := s.UnmarshalJSON(data); err != nil {
			return err
		}
		s.Seq = seq
		events.Status(s)
	case eventBands:
		var b market.Bands
		if err := b.UnmarshalJSON(data); err != nil {
			return err
		}
		b.Seq = seq
		events.Bands(b)
	default:
		var t Tick
		if err := t.UnmarshalJSON(data); err != nil {
			return err
		}
		t.Seq = seq
		events.Tick(t)
	}
	return nil
}

// publishedEvents stores a market's events in the tick stream, in the
// order the market made them: ticks on their symbol's subject, statuses
// and bands on theirs, each message in bytes of its own and with the bars
// it carries (CarryBars). key makes a message's id unique in the
// publisher's run: the event's sequence number.
type publishedEvents struct {
	store func(msg *nats.Msg, key string)
	bars  []byte // carried by the next event
}

var _ BarCarrier = (*publishedEvents)(nil)

func (e *publishedEvents) Tick(t Tick) {
	e.send(Subject(t.Symbol), t.AppendJSON(make([]byte, 0, 160)), t.Seq)
}

func (e *publishedEvents) Status(s market.Status) {
	e.send(StatusSubject(s.Symbol), s.AppendJSON(make([]byte, 0, 96)), s.Seq)
}

func (e *publishedEvents) Bands(b market.Bands) {
	e.send(BandsSubject(b.Symbol), b.AppendJSON(make([]byte, 0, 128)), b.Seq)
}

// CarryBars has the next event carry bars, which the caller leaves alone from then on.
func (e *publishedEvents) CarryBars(bars []byte) { e.bars = bars }

func (e *publishedEvents) send(subject string, data []byte, seq uint64) {
	msg := &nats.Msg{Subject: subject, Data: data}
	if len(e.bars) > 0 {
		msg.Header = nats.Header{BarsHeader: []string{string(e.bars)}}
		e.bars = nil
	}
	e.store(msg, strconv.FormatUint(seq, 10))
}
