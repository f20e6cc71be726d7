package ws

import (
	"encoding/binary"
	"encoding/json"

	"github.com/tickerd/tickerd/stream"
)

// Framing frames the engine's events as WebSocket text frames, one frame
// per event: each is framed once for every client, and a client's share
// of a batch is a run of whole frames, written with one vectored write. A
// cycle's batch as one frame would need a header (its length) and a
// payload of its own for each client, since each client gets its own
// subset of the ticks.
//
// The payload is the event's JSON object with its type first:
//
//	{"type":"tick","seq":184467,"sym":"AAPL",...}
//	{"type":"snapshot","seq":184467,"resync":false,"quotes":[...]}
//	{"type":"conflated","dropped":12}
type Framing struct{}

var _ stream.Framing = Framing{}

// WebSocket opcodes (RFC 6455, 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// appendHeader appends the header of an unmasked, final frame of op with
// a payload of n bytes.
func appendHeader(dst []byte, op byte, n int) []byte {
	dst = append(dst, 0x80|op)
	switch {
	case n <= 125:
		return append(dst, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(dst, 126), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, 127), uint64(n))
}

// AppendEvent appends one text frame.
func (Framing) AppendEvent(dst []byte, kind stream.Kind, id uint64, body []byte) []byte {
	return appendTyped(dst, kind.String(), body)
}

// appendTyped appends a text frame of body, a JSON object, with
// "type":typ as its first member.
func appendTyped(dst []byte, typ string, body []byte) []byte {
	rest := body[1:] // after the object's '{'
	sep := ","
	if len(rest) == 1 { // "}": no members
		sep = ""
	}
	n := len(`{"type":"`) + len(typ) + len(`"`) + len(sep) + len(rest)
	dst = appendHeader(dst, opText, n)
	dst = append(dst, `{"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, '"')
	dst = append(dst, sep...)
	return append(dst, rest...)
}

// appendMessage appends a text frame of v encoded as JSON, with "type":typ
// first.
func appendMessage(dst []byte, typ string, v any) []byte {
	body, err := json.Marshal(v)
	if err != nil || len(body) < 2 || body[0] != '{' {
		body = []byte("{}")
	}
	return appendTyped(dst, typ, body)
}

var ping = appendHeader(nil, opPing, 0)

// Heartbeat returns a ping frame: a client answers it with a pong.
func (Framing) Heartbeat() []byte { return ping }

// Close codes tickerd sends (RFC 6455, 7.4; 4000-4999 are the
// application's).
const (
	CodeNormal         = 1000 // the client closed, and tickerd answers
	CodeGoingAway      = 1001 // tickerd is shutting down: reconnect
	CodeProtocolError  = 1002 // a frame RFC 6455 forbids (unmasked, reserved bits, a fragmented control frame)
	CodeUnsupported    = 1003 // a binary message: tickerd speaks JSON text
	CodeInvalidPayload = 1007 // a text message that is not UTF-8
	CodePolicy         = 1008 // the token expired, or a flood of messages
	CodeTooBig         = 1009 // a message over the size limit
	CodeTryAgainLater  = 1013 // every stream is taken, or the address has its share: reconnect later
	CodeSlowConsumer   = 4000 // the client read nothing for the write timeout
	CodeNoPong         = 4001 // the client answered no ping within the pong timeout
)

// closeFrame returns a close frame with code and reason (at most 123 bytes).
func closeFrame(code int, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	f := appendHeader(nil, opClose, 2+len(reason))
	f = binary.BigEndian.AppendUint16(f, uint16(code))
	return append(f, reason...)
}

// Closing returns the close frame for the reason the engine ends a stream.
func (Framing) Closing(reason stream.CloseReason) []byte {
	switch reason {
	case stream.CloseShutdown:
		return closeFrame(CodeGoingAway, "server shutting down")
	case stream.CloseTokenExpired:
		return closeFrame(CodePolicy, "token expired")
	case stream.CloseSlow:
		return closeFrame(CodeSlowConsumer, "slow consumer")
	}
	return nil
}

// Name is the transport's label in metrics.
func (Framing) Name() string { return "ws" }
