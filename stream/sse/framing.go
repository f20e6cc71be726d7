package sse

import (
	"strconv"

	"github.com/tickerd/tickerd/stream"
)

// Framing frames the engine's events as SSE event blocks:
//
//	id: 184467
//	event: tick
//	data: {"seq":184467,"sym":"AAPL",...}
//
// with no id line for an event that carries none (a conflated notice), and
// a comment line as the heartbeat.
type Framing struct{}

var _ stream.Framing = Framing{}

// AppendEvent appends one event block.
func (Framing) AppendEvent(dst []byte, kind stream.Kind, id uint64, body []byte) []byte {
	if id != 0 {
		dst = append(dst, "id: "...)
		dst = strconv.AppendUint(dst, id, 10)
		dst = append(dst, '\n')
	}
	dst = append(dst, "event: "...)
	dst = append(dst, kind.String()...)
	dst = append(dst, "\ndata: "...)
	dst = append(dst, body...)
	return append(dst, "\n\n"...)
}

var heartbeat = []byte(": heartbeat\n\n")

// Heartbeat returns a comment line, which EventSource ignores.
func (Framing) Heartbeat() []byte { return heartbeat }

// Closing returns nothing: an event stream ends when its connection does,
// and EventSource reconnects.
func (Framing) Closing(stream.CloseReason) []byte { return nil }

// Name is the transport's label in metrics.
func (Framing) Name() string { return "sse" }
