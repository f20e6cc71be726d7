package feed

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unsafe"
)

// UnmarshalJSON implements json.Unmarshaler for the form AppendJSON writes.
// That exact form (the fields in its order, no spaces, a symbol without
// escapes), which is every tick a publisher stores, is read by hand, at a
// fraction of encoding/json's cost; any other JSON is read by
// encoding/json, with the same result (FuzzTickDecode holds the two to it).
func (t *Tick) UnmarshalJSON(b []byte) error {
	if decodeTickForm(b, t) {
		return nil
	}
	var j tickJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode tick: %w", err)
	}
	*t = Tick{Seq: j.Seq, Symbol: j.Symbol, Price: j.Price, Bid: j.Bid, Ask: j.Ask, Size: j.Size, Time: time.Unix(0, j.TS)}
	return nil
}

// decodeTickForm reads b into t and reports true when b is exactly the
// form AppendJSON writes, with numbers encoding/json would read alike; on
// false t is unchanged.
func decodeTickForm(b []byte, t *Tick) bool {
	d := tickDecoder{b: b}
	var out Tick
	var ts int64
	ok := d.lit(`{"seq":`) && d.uint(&out.Seq) &&
		d.lit(`,"sym":"`) && d.symbol(&out.Symbol) &&
		d.lit(`,"px":`) && d.float(&out.Price) &&
		d.lit(`,"bid":`) && d.float(&out.Bid) &&
		d.lit(`,"ask":`) && d.float(&out.Ask) &&
		d.lit(`,"size":`) && d.int(&out.Size) &&
		d.lit(`,"ts":`) && d.int(&ts) &&
		d.lit(`}`) && len(d.b) == 0
	if !ok {
		return false
	}
	out.Time = time.Unix(0, ts)
	*t = out
	return true
}

// tickDecoder reads b from its start, each step consuming what it read.
type tickDecoder struct{ b []byte }

func (d *tickDecoder) lit(s string) bool {
	if len(d.b) < len(s) || string(d.b[:len(s)]) != s {
		return false
	}
	d.b = d.b[len(s):]
	return true
}

// symbol reads a string's bytes up to its closing quote: printable ASCII
// only, and no backslash, so the bytes are the string.
func (d *tickDecoder) symbol(s *string) bool {
	for i, c := range d.b {
		switch {
		case c == '"':
			if i == 0 {
				return false
			}
			*s = string(d.b[:i])
			d.b = d.b[i+1:]
			return true
		case c < 0x20 || c > 0x7e || c == '\\':
			return false
		}
	}
	return false
}

// number cuts a JSON number off the front of b: -?(0|[1-9][0-9]*), then,
// unless integer, an optional fraction and exponent.
func (d *tickDecoder) number(integer bool) (string, bool) {
	b, i := d.b, 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return "", false
	}
	if !integer {
		if i < len(b) && b[i] == '.' {
			i++
			if i >= len(b) || b[i] < '0' || b[i] > '9' {
				return "", false
			}
			for i < len(b) && '0' <= b[i] && b[i] <= '9' {
				i++
			}
		}
		if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
			i++
			if i < len(b) && (b[i] == '+' || b[i] == '-') {
				i++
			}
			if i >= len(b) || b[i] < '0' || b[i] > '9' {
				return "", false
			}
			for i < len(b) && '0' <= b[i] && b[i] <= '9' {
				i++
			}
		}
	} else if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return "", false // encoding/json refuses it for an integer field: let it say so
	}
	// The string only lives for the parse that follows: no copy.
	s := unsafe.String(&b[0], i)
	d.b = b[i:]
	return s, true
}

func (d *tickDecoder) float(v *float64) bool {
	s, ok := d.number(false)
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	*v = f
	return err == nil
}

func (d *tickDecoder) int(v *int64) bool {
	s, ok := d.number(true)
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	*v = n
	return err == nil
}

func (d *tickDecoder) uint(v *uint64) bool {
	if len(d.b) > 0 && d.b[0] == '-' {
		return false
	}
	s, ok := d.number(true)
	if !ok {
		return false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	*v = n
	return err == nil
}
