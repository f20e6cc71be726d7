package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The NDJSON tick format is what POST /api/publish takes, what a replay
// file may hold and what tickerd record writes: one JSON object a line,
//
//	{"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":1764012345678901234}
//
// sym, px, bid, ask and size are required; ts (Unix nanoseconds) is
// optional where the reader supplies the time. seq may be present, as in
// the ticks tickerd streams, and is ignored: whoever takes the tick in
// numbers it. Any other field makes the line malformed.

// ErrMalformed is wrapped by the errors of a line that is not a tick.
var ErrMalformed = errors.New("malformed tick")

// ErrNotObject is wrapped by the error of a line that is not even a JSON
// object; it wraps ErrMalformed.
var ErrNotObject = fmt.Errorf("%w: not a JSON object", ErrMalformed)

// MaxLineBytes is the longest line of the tick formats; a tick's JSON is
// about a hundred bytes.
const MaxLineBytes = 4096

// ParseTickLine parses one line of the NDJSON tick format, without its
// line ending. It checks that the line is one JSON object with the
// required fields of the right types and a symbol name that follows
// [CheckSymbol]; whether the prices make sense is the engine's to judge.
// A tick without ts has a zero Time. Its errors wrap [ErrMalformed].
func ParseTickLine(line []byte) (Tick, error) {
	var j struct {
		Seq    *uint64  `json:"seq"`
		Symbol *string  `json:"sym"`
		Price  *float64 `json:"px"`
		Bid    *float64 `json:"bid"`
		Ask    *float64 `json:"ask"`
		Size   *int64   `json:"size"`
		TS     *int64   `json:"ts"`
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return Tick{}, ErrNotObject
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Tick{}, fmt.Errorf("%w: %s", ErrMalformed, jsonReason(err))
	}
	if dec.More() {
		return Tick{}, fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	for _, f := range []struct {
		name    string
		missing bool
	}{{"sym", j.Symbol == nil}, {"px", j.Price == nil}, {"bid", j.Bid == nil}, {"ask", j.Ask == nil}, {"size", j.Size == nil}} {
		if f.missing {
			return Tick{}, fmt.Errorf("%w: no %q", ErrMalformed, f.name)
		}
	}
	if err := CheckSymbol(*j.Symbol); err != nil {
		return Tick{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	t := Tick{Symbol: *j.Symbol, Price: *j.Price, Bid: *j.Bid, Ask: *j.Ask, Size: *j.Size}
	if j.TS != nil {
		t.Time = time.Unix(0, *j.TS)
	}
	return t, nil
}

// jsonReason says what encoding/json found wrong, in the format's terms.
func jsonReason(err error) string {
	var typ *json.UnmarshalTypeError
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &typ):
		if typ.Field == "" {
			return "not a JSON object" // unreachable: the line starts with {
		}
		return fmt.Sprintf("%q is %s, want %s", typ.Field, typ.Value, jsonKind(typ.Type.Kind().String()))
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %v", syn.Offset, syn)
	}
	msg := err.Error()
	if rest, ok := bytes.CutPrefix([]byte(msg), []byte("json: unknown field ")); ok {
		return "unknown field " + string(rest)
	}
	if err.Error() == "unexpected EOF" {
		return "incomplete JSON object"
	}
	return msg
}

func jsonKind(kind string) string {
	switch kind {
	case "float64":
		return "a finite number"
	case "int64":
		return "an integer"
	case "uint64":
		return "a non-negative integer"
	case "string":
		return "a string"
	}
	return kind
}
