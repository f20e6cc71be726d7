package market

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// States a Status may carry: of a symbol (trading, halted, paused) or of
// the market, which has a session's name (pre, trading, post, closed).
const (
	StateTrading = "trading" // the symbol trades; of the market: the regular session
	StateHalted  = "halted"  // the symbol's trading is halted (news pending)
	StatePaused  = "paused"  // the symbol's trading is paused for volatility (LULD)
	StateClosed  = "closed"  // the market is closed
	StatePre     = "pre"     // pre-market
	StatePost    = "post"    // after-hours
)

// Reason codes a Status carries: the halt codes of the US exchanges where
// there is one.
const (
	ReasonSession      = "session" // the market's session changed on schedule
	ReasonNewsPending  = "T1"      // halt: news pending
	ReasonNewsReleased = "T3"      // resumption after a news halt
	ReasonVolatility   = "LUDP"    // volatility trading pause (LULD), and its resumption
)

// Status is the trading state of one symbol, or of the whole market when
// Symbol is empty, from Time on.
//
// Its JSON form (the body of a status event) is
//
//	{"seq":184467,"sym":"AAPL","state":"paused","reason":"LUDP","ts":1764012345678901234}
//
// with "sym" left out for the market.
type Status struct {
	Seq    uint64    // sequence number, in the same sequence as the ticks
	Symbol string    // "" for the market
	State  string    // one of the State constants
	Reason string    // one of the Reason constants
	Time   time.Time // when the state began
}

// Halted reports whether s stops its symbol's trades.
func (s *Status) Halted() bool { return s.State == StateHalted || s.State == StatePaused }

// AppendJSON appends the status's JSON form to dst.
func (s *Status) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, s.Seq, 10)
	if s.Symbol != "" {
		dst = append(dst, `,"sym":`...)
		dst = strconv.AppendQuote(dst, s.Symbol)
	}
	dst = append(dst, `,"state":`...)
	dst = strconv.AppendQuote(dst, s.State)
	dst = append(dst, `,"reason":`...)
	dst = strconv.AppendQuote(dst, s.Reason)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, s.Time.UnixNano(), 10)
	return append(dst, '}')
}

// MarshalJSON implements json.Marshaler with the form AppendJSON writes.
func (s Status) MarshalJSON() ([]byte, error) { return s.AppendJSON(nil), nil }

type statusJSON struct {
	Seq    uint64 `json:"seq"`
	Symbol string `json:"sym"`
	State  string `json:"state"`
	Reason string `json:"reason"`
	TS     int64  `json:"ts"`
}

// UnmarshalJSON implements json.Unmarshaler for the form AppendJSON writes.
func (s *Status) UnmarshalJSON(b []byte) error {
	var j statusJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode status: %w", err)
	}
	*s = Status{Seq: j.Seq, Symbol: j.Symbol, State: j.State, Reason: j.Reason, Time: time.Unix(0, j.TS)}
	return nil
}

// Bands are a symbol's Limit Up–Limit Down price bands from Time on: a
// trade below Lower or above Upper pauses it.
//
// Their JSON form (the body of a bands event) is
//
//	{"seq":184468,"sym":"AAPL","ref":189.2,"lower":179.74,"upper":198.66,"ts":1764012345678901234}
type Bands struct {
	Seq    uint64
	Symbol string
	Ref    float64 // the reference price the bands are drawn around
	Lower  float64
	Upper  float64
	Time   time.Time
}

// AppendJSON appends the bands' JSON form to dst.
func (b *Bands) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, b.Seq, 10)
	dst = append(dst, `,"sym":`...)
	dst = strconv.AppendQuote(dst, b.Symbol)
	dst = append(dst, `,"ref":`...)
	dst = strconv.AppendFloat(dst, b.Ref, 'f', -1, 64)
	dst = append(dst, `,"lower":`...)
	dst = strconv.AppendFloat(dst, b.Lower, 'f', -1, 64)
	dst = append(dst, `,"upper":`...)
	dst = strconv.AppendFloat(dst, b.Upper, 'f', -1, 64)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, b.Time.UnixNano(), 10)
	return append(dst, '}')
}

// MarshalJSON implements json.Marshaler with the form AppendJSON writes.
func (b Bands) MarshalJSON() ([]byte, error) { return b.AppendJSON(nil), nil }

// UnmarshalJSON implements json.Unmarshaler for the form AppendJSON writes.
func (b *Bands) UnmarshalJSON(data []byte) error {
	var j struct {
		Seq    uint64  `json:"seq"`
		Symbol string  `json:"sym"`
		Ref    float64 `json:"ref"`
		Lower  float64 `json:"lower"`
		Upper  float64 `json:"upper"`
		TS     int64   `json:"ts"`
	}
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("decode bands: %w", err)
	}
	*b = Bands{Seq: j.Seq, Symbol: j.Symbol, Ref: j.Ref, Lower: j.Lower, Upper: j.Upper, Time: time.Unix(0, j.TS)}
	return nil
}
