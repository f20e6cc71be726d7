package ws

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	gobwas "github.com/gobwas/ws"

	"github.com/tickerd/tickerd/auth"
	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/stream"
)

// conn is the reading side of one WebSocket stream: what it has received
// of a frame or a message, its subscription as the client sees it, and
// its keepalive and message budget. The engine owns the writing side.
// After registration only the edge's poller touches a conn; an idle one
// holds no buffer.
type conn struct {
	id     uint64
	raw    syscall.RawConn
	stream *stream.Stream
	grant  *auth.Grant // nil: authentication off

	symbols *stream.SymbolSet // never nil: no symbols is an empty set
	maxFreq float64

	in      []byte // bytes of a frame not yet complete
	message []byte // payload of a fragmented text message so far
	inText  bool   // a fragmented text message is under way

	lastRead int64   // Unix nanoseconds of the last bytes read
	lastPing int64   // Unix nanoseconds of the last ping tickerd sent; 0: none outstanding
	tokens   float64 // message budget
	tokensAt int64   // when tokens was last topped up
	done     bool    // closing: nothing more is read

	gone atomic.Bool // the engine has ended the stream; set by its writer
}

// errClosed ends reading a conn whose close has been asked.
var errClosed = errors.New("closed")

// readable reads what the socket holds, without blocking, into scratch
// and handles every complete frame.
func (h *Handler) readable(c *conn, scratch []byte, now int64) {
	for range 8 { // at most 8 reads a wake-up, so one client cannot hold the poller
		if c.done {
			return
		}
		var n int
		var rerr error
		err := c.raw.Read(func(fd uintptr) bool {
			n, rerr = syscall.Read(int(fd), scratch)
			return true
		})
		switch {
		case err != nil: // closed by the engine
			return
		case rerr == syscall.EAGAIN || rerr == syscall.EINTR:
			return
		case rerr != nil || n == 0:
			// The client closed its end; the engine notices at its next write.
			c.done = true
			c.stream.Close(nil, stream.CloseNormal)
			return
		}
		c.lastRead = now
		data := scratch[:n]
		if len(c.in) > 0 {
			c.in = append(c.in, data...)
			data = c.in
		}
		rest, err := h.frames(c, data, now)
		if err != nil {
			return
		}
		if len(rest) > 0 {
			c.in = append(c.in[:0], rest...)
		} else {
			c.in = nil
		}
		if n < len(scratch) {
			return
		}
	}
}

// frames handles the complete frames at the start of data and returns
// what is left of an incomplete one.
func (h *Handler) frames(c *conn, data []byte, now int64) ([]byte, error) {
	for len(data) > 0 {
		if len(data) < 2 {
			return data, nil
		}
		fin, rsv, op := data[0]&0x80 != 0, data[0]&0x70, data[0]&0x0F
		masked, length := data[1]&0x80 != 0, uint64(data[1]&0x7F)
		head := 2
		switch length {
		case 126:
			if len(data) < 4 {
				return data, nil
			}
			length, head = uint64(binary.BigEndian.Uint16(data[2:])), 4
		case 127:
			if len(data) < 10 {
				return data, nil
			}
			length, head = binary.BigEndian.Uint64(data[2:]), 10
		}
		switch {
		case rsv != 0:
			return nil, h.fail(c, CodeProtocolError, "reserved bits set", stream.CloseProtocol)
		case !masked:
			return nil, h.fail(c, CodeProtocolError, "client frames must be masked", stream.CloseProtocol)
		case op >= opClose && (!fin || length > 125):
			return nil, h.fail(c, CodeProtocolError, "control frames must be whole and at most 125 bytes", stream.CloseProtocol)
		case op > opBinary && op < opClose || op > opPong:
			return nil, h.fail(c, CodeProtocolError, "unknown opcode", stream.CloseProtocol)
		case op == opBinary:
			return nil, h.fail(c, CodeUnsupported, "binary messages are not accepted: send JSON text", stream.CloseProtocol)
		case length > uint64(h.cfg.MaxMessageBytes) || uint64(len(c.message))+length > uint64(h.cfg.MaxMessageBytes):
			return nil, h.fail(c, CodeTooBig, "message larger than "+strconv.Itoa(h.cfg.MaxMessageBytes)+" bytes", stream.CloseProtocol)
		}
		total := head + 4 + int(length)
		if len(data) < total {
			return data, nil
		}
		var mask [4]byte
		copy(mask[:], data[head:head+4])
		payload := data[head+4 : total]
		gobwas.Cipher(payload, mask, 0)
		data = data[total:]
		if err := h.frame(c, fin, op, payload, now); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// frame handles one unmasked frame.
func (h *Handler) frame(c *conn, fin bool, op byte, payload []byte, now int64) error {
	switch op {
	case opPing:
		c.stream.Send(append(appendHeader(nil, opPong, len(payload)), payload...))
		return nil
	case opPong:
		c.lastPing = 0
		return nil
	case opClose:
		code, reason := gobwas.ParseCloseFrameData(payload)
		if len(payload) == 1 || (len(payload) >= 2 && gobwas.CheckCloseFrameData(code, reason) != nil) {
			return h.fail(c, CodeProtocolError, "malformed close frame", stream.CloseProtocol)
		}
		c.done = true
		c.stream.Close(closeFrame(CodeNormal, ""), stream.CloseNormal)
		return errClosed
	case opText:
		if c.inText {
			return h.fail(c, CodeProtocolError, "a new message began before the last one ended", stream.CloseProtocol)
		}
		if !fin {
			c.inText = true
			c.message = append(c.message[:0], payload...)
			return nil
		}
		return h.message(c, payload, now)
	case opContinuation:
		if !c.inText {
			return h.fail(c, CodeProtocolError, "a continuation frame with no message under way", stream.CloseProtocol)
		}
		c.message = append(c.message, payload...)
		if !fin {
			return nil
		}
		c.inText = false
		msg := c.message
		c.message = nil
		return h.message(c, msg, now)
	}
	return nil
}

// message handles one whole text message, within the client's budget.
func (h *Handler) message(c *conn, data []byte, now int64) error {
	if !utf8.Valid(data) {
		return h.fail(c, CodeInvalidPayload, "text message is not UTF-8", stream.CloseProtocol)
	}
	elapsed := float64(now-c.tokensAt) / 1e9
	c.tokens = min(h.cfg.MessageBurst, c.tokens+elapsed*h.cfg.MessageRate)
	c.tokensAt = now
	if c.tokens < 1 {
		h.metrics.message("flood", "error")
		return h.fail(c, CodePolicy, "too many messages", stream.CloseOverLimit)
	}
	c.tokens--
	m, err := parseMessage(data, h.cfg.MaxSymbols)
	if err != nil {
		h.metrics.message("invalid", "error")
		h.reply(c, "error", errorMessage{Error: strings.TrimPrefix(err.Error(), errBadMessage.Error()+": ")})
		return nil
	}
	if e := h.apply(c, m); e != nil {
		h.metrics.message(m.Op, "error")
		e.Op = m.Op
		h.reply(c, "error", e)
		return nil
	}
	h.metrics.message(m.Op, "ok")
	return nil
}

// apply carries out a well-formed message, or says why it cannot.
func (h *Handler) apply(c *conn, m clientMessage) *errorMessage {
	switch m.Op {
	case opMaxFreq:
		c.maxFreq = *m.N
		c.stream.Resubscribe(stream.Resubscription{Symbols: c.symbols, MaxFreq: c.maxFreq,
			Ack: appendMessage(nil, "subscription", h.subscription(c))})
		return nil
	}
	set, e := h.entitled(c.grant, m.Symbols)
	if e != nil {
		return e
	}
	next, added := c.symbols.Minus(set), (*stream.SymbolSet)(nil)
	if m.Op == opSubscribe {
		next, added = c.symbols.Union(set), set.Minus(c.symbols)
		if m.Symbols[0] != "*" && next.Len() > h.cfg.MaxSymbols {
			return &errorMessage{Error: "too many symbols: at most " + strconv.Itoa(h.cfg.MaxSymbols) + " in one subscription"}
		}
	}
	c.symbols = next
	// The acknowledgement goes with the change: every event after it is of
	// the new subscription.
	c.stream.Resubscribe(stream.Resubscription{Symbols: c.symbols, MaxFreq: c.maxFreq, Added: added, Bars: m.bars,
		Ack: appendMessage(nil, "subscription", h.subscription(c))})
	return nil
}

func (h *Handler) subscription(c *conn) subscriptionMessage {
	return subscriptionMessage{Symbols: h.hub.Names(c.symbols), MaxFreq: c.maxFreq}
}

// reply sends the client a message of typ.
func (h *Handler) reply(c *conn, typ string, v any) {
	c.stream.Send(appendMessage(nil, typ, v))
}

// fail closes c with code after a frame it cannot take.
func (h *Handler) fail(c *conn, code int, reason string, why stream.CloseReason) error {
	c.done = true
	c.stream.Close(closeFrame(code, reason), why)
	return errClosed
}

// keepalive pings a client it has heard nothing from for the ping
// interval, and closes one that has not answered a ping within the pong
// timeout.
func (h *Handler) keepalive(c *conn, now time.Time) {
	ns := now.UnixNano()
	switch {
	case c.done:
	case c.lastPing != 0 && ns-c.lastPing >= int64(h.cfg.PongTimeout):
		h.fail(c, CodeNoPong, "no pong", stream.CloseProtocol)
	case c.lastPing == 0 && ns-c.lastRead >= int64(h.cfg.PingInterval):
		c.lastPing = ns
		c.stream.Send(ping)
	}
}

// entitled returns the set of names ("*" alone: every symbol) that grant
// (nil: authentication off) allows, or the error message that says which
// are unknown or not entitled.
func (h *Handler) entitled(grant *auth.Grant, names []string) (*stream.SymbolSet, *errorMessage) {
	if len(names) == 1 && names[0] == "*" {
		set, n := h.hub.SelectFunc(func(s string) bool { return grant == nil || grant.Allows(s) })
		if err := h.hub.CheckFirehose(n); err != nil {
			return nil, &errorMessage{Error: err.Error()}
		}
		return set, nil
	}
	set, err := h.hub.Select(names)
	var unknown *stream.UnknownSymbolsError
	if errors.As(err, &unknown) {
		return nil, &errorMessage{Error: "unknown symbols", Symbols: unknown.Symbols}
	}
	if denied := guard.Unentitled(grant, names); len(denied) > 0 {
		return nil, &errorMessage{Error: "not entitled to symbols", Symbols: denied}
	}
	return set, nil
}
