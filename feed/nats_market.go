package feed

import (
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
// events.
func handOn(subject string, data []byte, seq uint64, events MarketEvents) error {
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
// and bands on theirs, each message in bytes of its own.
type publishedEvents struct {
	store func(subject string, data []byte, seq uint64)
}

func (e publishedEvents) Tick(t Tick) {
	e.store(Subject(t.Symbol), t.AppendJSON(make([]byte, 0, 160)), t.Seq)
}

func (e publishedEvents) Status(s market.Status) {
	e.store(StatusSubject(s.Symbol), s.AppendJSON(make([]byte, 0, 96)), s.Seq)
}

func (e publishedEvents) Bands(b market.Bands) {
	e.store(BandsSubject(b.Symbol), b.AppendJSON(make([]byte, 0, 128)), b.Seq)
}
