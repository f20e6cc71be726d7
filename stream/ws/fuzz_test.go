package ws

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/stream"
)

// FuzzParseMessage feeds arbitrary client messages to the parser: it
// either refuses them with an error that says so, or returns an op it
// knows with what that op needs, every symbol upper-case, well-formed,
// once, and within the bound.
func FuzzParseMessage(f *testing.F) {
	for _, m := range []string{
		`{"op":"subscribe","symbols":["AAPL"]}`, `{"op":"unsubscribe","symbols":["aapl","AAPL","nasdaq:msft"]}`,
		`{"op":"maxfreq","n":4}`, `{"op":"maxfreq","n":0}`, `{"op":"maxfreq","n":1e308}`, `{"op":"subscribe","symbols":["*"]}`,
		`{"op":"subscribe","symbols":["*","AAPL"]}`, `{"op":"subscribe"}`, `{}`, `[]`, `null`, `"op"`, `{"op":"x"}`,
		`{"op":"subscribe","symbols":["A","B","C","D"]}`, `{"op":"subscribe","symbols":[1]}`, `{"op":"maxfreq","n":"4"}`,
		`{"op":"subscribe","symbols":["AAPL"]}{}`, "{\"op\":\"subscribe\",\"symbols\":[\"\u0131BM\"]}",
	} {
		f.Add([]byte(m))
	}
	const maxSymbols = 3
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseMessage(data, maxSymbols)
		if err != nil {
			if !errors.Is(err, errBadMessage) {
				t.Fatalf("error %v does not wrap errBadMessage", err)
			}
			return
		}
		switch m.Op {
		case opSubscribe, opUnsubscribe:
			if len(m.Symbols) == 0 || len(m.Symbols) > maxSymbols || m.N != nil {
				t.Fatalf("%s with %d symbols and n %v", m.Op, len(m.Symbols), m.N)
			}
			seen := map[string]bool{}
			for _, s := range m.Symbols {
				if s == "*" {
					if len(m.Symbols) != 1 {
						t.Fatalf("* among %v", m.Symbols)
					}
					continue
				}
				if err := feed.CheckSymbol(s); err != nil || s != strings.ToUpper(s) || seen[s] {
					t.Fatalf("symbol %q (%v), repeated %v", s, err, seen[s])
				}
				seen[s] = true
			}
		case opMaxFreq:
			if m.N == nil || !(*m.N >= 0 && *m.N <= 1000) || m.Symbols != nil {
				t.Fatalf("maxfreq %+v", m)
			}
		default:
			t.Fatalf("op %q accepted", m.Op)
		}
	})
}

// FuzzFrames feeds arbitrary bytes to the frame reader of a connection, as
// a client would send them: it must never panic, and what it keeps of an
// incomplete frame stays within the message size limit.
func FuzzFrames(f *testing.F) {
	for _, seed := range [][]byte{
		frame(true, opText, []byte(`{"op":"subscribe","symbols":["AAPL"]}`), true),
		frame(false, opText, []byte(`{"op":"sub`), true),
		append(frame(false, opText, []byte(`{"op":"maxfreq",`), true), frame(true, opContinuation, []byte(`"n":2}`), true)...),
		frame(true, opPing, []byte("x"), true), frame(true, opPong, nil, true), frame(true, opClose, []byte{3, 232}, true),
		frame(true, opBinary, []byte{1}, true), frame(true, opText, []byte("x"), false), {0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 1},
		{0x81, 0xFE, 0xFF}, {0x81}, {},
	} {
		f.Add(seed)
	}
	ts := startServer(f, testOptions{})
	server, client := net.Pipe()
	defer client.Close()
	go func() { _, _ = io.Copy(io.Discard, client) }()
	st, err := ts.hub.Attach(stream.Subscription{Symbols: ts.hub.Empty()}, stream.Sink{Conn: server, Framing: Framing{}})
	if err != nil {
		f.Fatal(err)
	}
	h := ts.handler
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &conn{stream: st, symbols: ts.hub.Empty(), tokens: h.cfg.MessageBurst}
		rest, err := h.frames(c, append([]byte(nil), data...), 1)
		if err == nil && len(rest) > h.cfg.MaxMessageBytes+14 {
			t.Fatalf("kept %d bytes of an incomplete frame", len(rest))
		}
		if len(c.message) > h.cfg.MaxMessageBytes {
			t.Fatalf("a message of %d bytes under way", len(c.message))
		}
	})
}
