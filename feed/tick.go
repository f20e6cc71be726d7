package feed

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Tick is one trade in one symbol, with the quote (bid and ask) at that moment.
//
// Its JSON form is stable and documented in the README:
//
//	{"seq":184467,"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":1764012345678901234}
//
// ts is the tick's creation time in Unix nanoseconds, so a consumer can
// compute tick-to-receive latency. It is above 2^53, so JavaScript's
// JSON.parse reads it as the nearest double, up to 128 ns off (the spacing
// of doubles near 1.8e18 is 256); Math.floor(ts / 1e6) is the
// millisecond, exact but within 128 ns of a millisecond's edge.
type Tick struct {
	Seq    uint64    // global sequence number, strictly increasing across all symbols
	Symbol string    // ticker symbol, e.g. "AAPL"
	Price  float64   // trade price, on the cent grid
	Bid    float64   // best bid, on the cent grid, below Ask
	Ask    float64   // best ask, on the cent grid
	Size   int64     // shares traded
	Time   time.Time // creation time
}

// AppendJSON appends the tick's JSON form to dst without allocating.
func (t *Tick) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, t.Seq, 10)
	dst = append(dst, `,"sym":"`...)
	dst = append(dst, t.Symbol...) // symbols are validated to [A-Z0-9.:-]
	dst = append(dst, `","px":`...)
	dst = appendPrice(dst, t.Price)
	dst = append(dst, `,"bid":`...)
	dst = appendPrice(dst, t.Bid)
	dst = append(dst, `,"ask":`...)
	dst = appendPrice(dst, t.Ask)
	dst = append(dst, `,"size":`...)
	dst = strconv.AppendInt(dst, t.Size, 10)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, t.Time.UnixNano(), 10)
	return append(dst, '}')
}

// MarshalJSON implements json.Marshaler with the form AppendJSON writes.
func (t Tick) MarshalJSON() ([]byte, error) { return t.AppendJSON(nil), nil }

type tickJSON struct {
	Seq    uint64  `json:"seq"`
	Symbol string  `json:"sym"`
	Price  float64 `json:"px"`
	Bid    float64 `json:"bid"`
	Ask    float64 `json:"ask"`
	Size   int64   `json:"size"`
	TS     int64   `json:"ts"`
}

// Quote is the state of one symbol in the current session: its last tick
// plus the session's open, high, low, change and volume, and its reference
// price.
//
// JSON form (stable, documented in the README): the tick's fields plus
//
//	"open","high","low" (prices), "chg" (last - open), "chg_pct" (percent of open), "vol" (shares),
//	"prevClose" (the reference price: the previous session's close)
//
// Before the symbol's first trade (Last.Seq is 0) there is no last price:
// the form has seq 0 and none of px, bid, ask, size, ts, open, high and
// low, so no client can take a zero for a price or Go's zero time for a
// time. prevClose is absent while the reference price is not known (0).
type Quote struct {
	Last          Tick
	Open          float64
	High          float64
	Low           float64
	Change        float64
	ChangePercent float64
	Volume        int64
	PrevClose     float64 `json:"prevClose"` // the reference price; 0: not known
}

// Traded reports whether the quote has a last trade.
func (q *Quote) Traded() bool { return q.Last.Seq != 0 }

// Apply folds t into the quote. The first tick applied opens the session.
func (q *Quote) Apply(t Tick) {
	if q.Volume == 0 && q.Open == 0 {
		q.Open, q.High, q.Low = t.Price, t.Price, t.Price
	}
	q.Last = t
	q.High = max(q.High, t.Price)
	q.Low = min(q.Low, t.Price)
	q.Volume += t.Size
	q.Change = roundTo(t.Price-q.Open, 100)
	if q.Open != 0 {
		q.ChangePercent = roundTo((t.Price-q.Open)/q.Open*100, 10000)
	}
}

// AppendJSON appends the quote's JSON form to dst.
func (q *Quote) AppendJSON(dst []byte) []byte {
	if q.Traded() {
		dst = q.Last.AppendJSON(dst)
		dst = dst[:len(dst)-1] // reopen the tick object
		dst = append(dst, `,"open":`...)
		dst = appendPrice(dst, q.Open)
		dst = append(dst, `,"high":`...)
		dst = appendPrice(dst, q.High)
		dst = append(dst, `,"low":`...)
		dst = appendPrice(dst, q.Low)
		dst = append(dst, ',')
	} else {
		dst = append(dst, `{"seq":0,"sym":"`...)
		dst = append(dst, q.Last.Symbol...)
		dst = append(dst, `",`...)
	}
	dst = append(dst, `"chg":`...)
	dst = appendPrice(dst, q.Change)
	dst = append(dst, `,"chg_pct":`...)
	dst = appendPrice(dst, q.ChangePercent)
	dst = append(dst, `,"vol":`...)
	dst = strconv.AppendInt(dst, q.Volume, 10)
	if q.PrevClose > 0 {
		dst = append(dst, `,"prevClose":`...)
		dst = appendPrice(dst, q.PrevClose)
	}
	return append(dst, '}')
}

// MarshalJSON implements json.Marshaler with the form AppendJSON writes.
func (q Quote) MarshalJSON() ([]byte, error) { return q.AppendJSON(nil), nil }

// UnmarshalJSON implements json.Unmarshaler for the form AppendJSON writes.
func (q *Quote) UnmarshalJSON(b []byte) error {
	var j struct {
		tickJSON
		Open          float64 `json:"open"`
		High          float64 `json:"high"`
		Low           float64 `json:"low"`
		Change        float64 `json:"chg"`
		ChangePercent float64 `json:"chg_pct"`
		Volume        int64   `json:"vol"`
		PrevClose     float64 `json:"prevClose"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode quote: %w", err)
	}
	*q = Quote{
		Last: Tick{Seq: j.Seq, Symbol: j.Symbol, Price: j.Price, Bid: j.Bid, Ask: j.Ask, Size: j.Size},
		Open: j.Open, High: j.High, Low: j.Low,
		Change: j.Change, ChangePercent: j.ChangePercent, Volume: j.Volume, PrevClose: j.PrevClose,
	}
	if j.Seq != 0 {
		q.Last.Time = time.Unix(0, j.TS)
	}
	return nil
}

// appendPrice writes v in its shortest exact decimal form; non-finite
// values, which the feed never publishes, become 0 so the JSON stays valid.
func appendPrice(dst []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return strconv.AppendFloat(dst, v, 'f', -1, 64)
}

func roundTo(v, scale float64) float64 { return math.Round(v*scale) / scale }
