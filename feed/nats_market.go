package feed

import (
	"strconv"

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
	barsSubjectPrefix   = SubjectPrefix + "_bars."
	marketStatusSubject = statusSubjectPrefix + "_market"
)

// BarEvents is implemented by the MarketEvents of a source and of a
// publisher that carry the market's bars, decided once by the publisher
// rather than by each replica: a publisher's stores them in the tick
// stream, a replica's relays them. lines are bar events' bodies, one per
// line, all of one interval (1s, 5s, 1m, 5m). On a publisher seq is the
// sequence number of the event that made them and part numbers the
// messages one event made; on a replica seq is the message's stream
// sequence, which orders it among the ticks, and part is 0.
type BarEvents interface {
	Bars(interval string, lines []byte, seq uint64, part int)
}

// BarsSubject is the subject of the bar events of interval, e.g.
// ticks._bars.1m: one subject per interval, each message the bars of
// many symbols, so that a close of 10,000 symbols is a few messages.
func BarsSubject(interval string) string { return barsSubjectPrefix + interval }

var _ MarketSource = (*NATSSource)(nil)

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
	eventBars
)

func kindOf(subject string) eventKind {
	switch {
	case len(subject) > len(statusSubjectPrefix) && subject[:len(statusSubjectPrefix)] == statusSubjectPrefix:
		return eventStatus
	case len(subject) > len(bandsSubjectPrefix) && subject[:len(bandsSubjectPrefix)] == bandsSubjectPrefix:
		return eventBands
	case len(subject) > len(barsSubjectPrefix) && subject[:len(barsSubjectPrefix)] == barsSubjectPrefix:
		return eventBars
	}
	return eventTick
}

// handOn decodes one message of the tick stream (a tick, a status,
// bands or bars, by its subject), gives it the stream sequence seq and
// hands it to events; bars only when events takes them ([BarEvents]).
func handOn(subject string, data []byte, seq uint64, events MarketEvents) error {
	switch kindOf(subject) {
	case eventBars:
		if b, ok := events.(BarEvents); ok {
			b.Bars(subject[len(barsSubjectPrefix):], data, seq, 0)
		}
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
// order the market made them: ticks on their symbol's subject, statuses,
// bands and bars on theirs, each message in bytes of its own. key makes
// a message's id unique in the publisher's run: an event's sequence
// number, and for bars also their part.
type publishedEvents struct {
	store func(subject string, data []byte, key string)
}

var _ BarEvents = publishedEvents{}

func (e publishedEvents) Tick(t Tick) {
	e.store(Subject(t.Symbol), t.AppendJSON(make([]byte, 0, 160)), strconv.FormatUint(t.Seq, 10))
}

func (e publishedEvents) Status(s market.Status) {
	e.store(StatusSubject(s.Symbol), s.AppendJSON(make([]byte, 0, 96)), strconv.FormatUint(s.Seq, 10))
}

func (e publishedEvents) Bands(b market.Bands) {
	e.store(BandsSubject(b.Symbol), b.AppendJSON(make([]byte, 0, 128)), strconv.FormatUint(b.Seq, 10))
}

// Bars stores lines as they are: the caller gives each message bytes of
// its own.
func (e publishedEvents) Bars(interval string, lines []byte, seq uint64, part int) {
	e.store(BarsSubject(interval), lines, strconv.FormatUint(seq, 10)+"-b"+strconv.Itoa(part))
}
