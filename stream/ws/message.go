package ws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/stream"
)

// Ops a client may send.
const (
	opSubscribe   = "subscribe"
	opUnsubscribe = "unsubscribe"
	opMaxFreq     = "maxfreq"
)

// clientMessage is one message from a client:
//
//	{"op":"subscribe","symbols":["AAPL","MSFT"]}
//	{"op":"subscribe","symbols":["AAPL"],"bars":["1s","1m"]}
//	{"op":"unsubscribe","symbols":["AAPL"]}
//	{"op":"maxfreq","n":4}
//
// "*" alone subscribes to (or unsubscribes from) every symbol the client
// may read. A subscribe with bars sets the intervals whose bar events the
// stream receives, for all its symbols ([] for none).
type clientMessage struct {
	Op      string   `json:"op"`
	Symbols []string `json:"symbols"`
	N       *float64 `json:"n"`
	Bars    []string `json:"bars"`

	bars *stream.BarSet // Bars, parsed; nil when not given
}

// errBadMessage is wrapped by every parseMessage error.
var errBadMessage = errors.New("bad message")

// parseMessage reads a client's text message: one JSON object with a known
// op and the fields that op needs, symbols upper-cased, checked against
// the symbol rule and folded, at most maxSymbols of them.
func parseMessage(data []byte, maxSymbols int) (clientMessage, error) {
	var m clientMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return clientMessage{}, fmt.Errorf("%w: malformed JSON: %v", errBadMessage, err)
	}
	if dec.More() {
		return clientMessage{}, fmt.Errorf("%w: more than one JSON value", errBadMessage)
	}
	switch m.Op {
	case opSubscribe, opUnsubscribe:
		if m.N != nil {
			return clientMessage{}, fmt.Errorf("%w: %s takes symbols, not n", errBadMessage, m.Op)
		}
		if len(m.Symbols) == 0 {
			return clientMessage{}, fmt.Errorf("%w: %s needs a list of symbols", errBadMessage, m.Op)
		}
		if m.Bars != nil {
			if m.Op != opSubscribe {
				return clientMessage{}, fmt.Errorf("%w: %s takes symbols, not bars", errBadMessage, m.Op)
			}
			bars, err := stream.ParseBars(m.Bars)
			if err != nil {
				return clientMessage{}, fmt.Errorf("%w: %s", errBadMessage, strings.TrimPrefix(err.Error(), stream.ErrBadSubscription.Error()+": "))
			}
			m.bars = &bars
		}
		if len(m.Symbols) > maxSymbols {
			return clientMessage{}, fmt.Errorf("%w: more than %d symbols", errBadMessage, maxSymbols)
		}
		seen := make(map[string]bool, len(m.Symbols))
		names := m.Symbols[:0]
		for _, s := range m.Symbols {
			name := strings.ToUpper(s)
			if name == "*" {
				if len(m.Symbols) != 1 {
					return clientMessage{}, fmt.Errorf("%w: \"*\" stands alone", errBadMessage)
				}
			} else if err := feed.CheckSymbol(name); err != nil {
				return clientMessage{}, fmt.Errorf("%w: %w", errBadMessage, err)
			}
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
		m.Symbols = names
	case opMaxFreq:
		if m.Symbols != nil || m.Bars != nil {
			return clientMessage{}, fmt.Errorf("%w: maxfreq takes n, not symbols", errBadMessage)
		}
		if m.N == nil || math.IsNaN(*m.N) || *m.N < 0 || *m.N > stream.MaxMaxFreq {
			return clientMessage{}, fmt.Errorf("%w: maxfreq needs n, ticks per second per symbol from 0 (no cap) to %d", errBadMessage, stream.MaxMaxFreq)
		}
	case "":
		return clientMessage{}, fmt.Errorf("%w: no op", errBadMessage)
	default:
		return clientMessage{}, fmt.Errorf("%w: unknown op %.32q: want subscribe, unsubscribe or maxfreq", errBadMessage, m.Op)
	}
	return m, nil
}

// subscriptionMessage acknowledges a client message with the whole
// subscription: {"type":"subscription","symbols":[...],"maxfreq":4}.
type subscriptionMessage struct {
	Symbols []string `json:"symbols"`
	MaxFreq float64  `json:"maxfreq"`
}

// errorMessage names what was wrong with a client message and leaves the
// connection open: {"type":"error","error":"unknown symbols","symbols":["FOO"]}.
type errorMessage struct {
	Error   string   `json:"error"`
	Op      string   `json:"op,omitempty"`
	Symbols []string `json:"symbols,omitempty"`
}
