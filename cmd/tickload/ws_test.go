package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckAcceptAnswersTheRFCsExample(t *testing.T) {
	// RFC 6455, 1.3: the key dGhlIHNhbXBsZSBub25jZQ== is answered with
	// s3pPLMBiTxaQ9kYGzzhZRbK+xOo=.
	h, err := parseHead([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"+
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), http.StatusSwitchingProtocols)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkAccept(&h, []byte("dGhlIHNhbXBsZSBub25jZQ==")); err != nil {
		t.Errorf("the RFC's answer: %v", err)
	}
	if err := checkAccept(&h, []byte("AAAAAAAAAAAAAAAAAAAAAA==")); err == nil || !strings.Contains(err.Error(), "does not answer the key") {
		t.Errorf("another key: %v, want an error", err)
	}
	h.upgrade = false
	if err := checkAccept(&h, []byte("dGhlIHNhbXBsZSBub25jZQ==")); err == nil || !strings.Contains(err.Error(), "without Upgrade") {
		t.Errorf("no Upgrade header: %v, want an error", err)
	}
}

func acceptFor(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// wsConn is the server's end of a test WebSocket.
type wsConn struct {
	net.Conn
	rw *bufio.ReadWriter
}

// upgrade checks r as a client handshake and answers it with accept (""
// for the right one). It reports an error through t, from any goroutine.
func upgrade(t *testing.T, w http.ResponseWriter, r *http.Request, accept string) *wsConn {
	key := r.Header.Get("Sec-WebSocket-Key")
	if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) != 16 {
		t.Errorf("Sec-WebSocket-Key %q is not 16 bytes in base64", key)
	}
	if r.Header.Get("Upgrade") != "websocket" || r.Header.Get("Connection") != "Upgrade" || r.Header.Get("Sec-WebSocket-Version") != "13" {
		t.Errorf("handshake headers %v", r.Header)
	}
	if accept == "" {
		accept = acceptFor(key)
	}
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return nil
	}
	fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept)
	return &wsConn{Conn: conn, rw: rw}
}

func (c *wsConn) send(op byte, payload string) int {
	f := serverFrame(op, payload)
	c.rw.Write(f)
	return len(f)
}

// receive reads one client frame; it must be masked.
func (c *wsConn) receive(t *testing.T) (op byte, payload string, err error) {
	if err := c.rw.Flush(); err != nil {
		return 0, "", err
	}
	var head [2]byte
	if _, err := io.ReadFull(c.rw, head[:]); err != nil {
		return 0, "", err
	}
	if head[1]&0x80 == 0 {
		t.Errorf("client frame not masked")
	}
	n := int(head[1] & 0x7F)
	switch n {
	case 126:
		var l [2]byte
		io.ReadFull(c.rw, l[:])
		n = int(binary.BigEndian.Uint16(l[:]))
	case 127:
		t.Errorf("client frame of 64-bit length")
		return 0, "", io.ErrUnexpectedEOF
	}
	b := make([]byte, 4+n)
	if _, err := io.ReadFull(c.rw, b); err != nil {
		return 0, "", err
	}
	for i := range n {
		b[4+i] ^= b[i&3]
	}
	return head[0] & 0x0F, string(b[4:]), nil
}

// drain reads until the client closes the connection.
func (c *wsConn) drain() {
	c.rw.Flush()
	io.Copy(io.Discard, c.rw)
	c.Close()
}

func TestRunWebSocketCountsTicksAndAnswersPings(t *testing.T) {
	const clients, sampled, ticks = 10, 3, 500
	stderr := newLogWatch("tickload: measuring for")
	var (
		handlers sync.WaitGroup
		inWindow atomic.Int64 // bytes the server wrote in the measured window
		pongs    atomic.Int64
		conns    atomic.Int64
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		id := conns.Add(1)
		c := upgrade(t, w, r, "")
		if c == nil {
			return
		}
		defer c.drain()
		c.send(wsText, `{"type":"subscription","symbols":[],"maxfreq":0}`)
		if op, msg, err := c.receive(t); err != nil || op != wsText || msg != `{"op":"subscribe","symbols":["*"]}` {
			t.Errorf("first client message: opcode %d %q %v, want the subscription to every symbol", op, msg, err)
			return
		}
		c.rw.Flush()
		<-stderr.seen
		ping := fmt.Sprintf("p-%d", id%10)
		n := c.send(wsPing, ping)
		if op, msg, err := c.receive(t); err != nil || op != wsPong || msg != ping {
			t.Errorf("answer to a ping %q: opcode %d %q %v, want a pong with its payload", ping, op, msg, err)
			return
		}
		pongs.Add(1)
		for seq := 1; seq <= ticks; seq++ {
			n += c.send(wsText, fmt.Sprintf(`{"type":"tick","seq":%d,"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":%d}`, seq, time.Now().UnixNano()))
			if seq%50 == 0 {
				n += c.send(wsText, `{"type":"conflated","dropped":2}`)
				c.rw.Flush()
			}
		}
		c.rw.Flush()
		inWindow.Add(int64(n))
	}))
	defer srv.Close()

	r, out := runLoad(t, stderr, "-transport", "ws", "-url", strings.Replace(srv.URL, "http:", "ws:", 1)+"/ws", "-clients", strconv.Itoa(clients),
		"-sample", strconv.Itoa(sampled), "-ramp", "100ms", "-warmup", "0s", "-duration", "2s")
	handlers.Wait()

	if r.Transport != "ws" || r.Ticks != clients*ticks || r.TicksRun != clients*ticks {
		t.Errorf("transport %q delivered %d in the window and %d in the run, want ws, %d", r.Transport, r.Ticks, r.TicksRun, clients*ticks)
	}
	if r.Latency.Count != sampled*ticks || r.Latency.Negative != 0 || r.Latency.Max > 2000 {
		t.Errorf("latency %+v, want %d samples, none negative, under 2s", r.Latency, sampled*ticks)
	}
	if r.PongsSent != clients || pongs.Load() != clients {
		t.Errorf("pongs: tickload sent %d, the server got %d, want %d", r.PongsSent, pongs.Load(), clients)
	}
	// In the window each client read the ping and the ticks and wrote its
	// pong: 2 bytes of header, 4 of mask and "p-N".
	if r.BytesIn != uint64(inWindow.Load()) || r.BytesOut != clients*(6+3) {
		t.Errorf("bytes in %d, out %d; want %d, %d", r.BytesIn, r.BytesOut, inWindow.Load(), clients*9)
	}
	if r.Requests != 0 || r.RequestsPerSecond != 0 {
		t.Errorf("%d requests in the window, want 0: every handshake came before it", r.Requests)
	}
	if r.ConnectFailures != 0 || r.Disconnects != 0 || r.ConnectedAtEnd != clients {
		t.Errorf("failures %d, disconnects %d, connected %d; want 0, 0, %d (last error %q)", r.ConnectFailures, r.Disconnects, r.ConnectedAtEnd, clients, r.LastError)
	}
	for _, want := range []string{"(WebSocket, firehose)", "pings", "bytes per delivered tick"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestRunWebSocketResumesAfterItsLastTick(t *testing.T) {
	const clients, ticks, cut = 3, 600, 250
	stderr := newLogWatch("tickload: measuring for")
	var (
		handlers sync.WaitGroup
		mu       sync.Mutex
		resumed  []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		if got := r.URL.Query().Get("symbols"); got != "AAPL" {
			t.Errorf("symbols %q, want AAPL", got)
		}
		from := 1
		if id := r.URL.Query().Get("lastEventId"); id != "" {
			mu.Lock()
			resumed = append(resumed, id)
			mu.Unlock()
			from, _ = strconv.Atoi(id)
			from++
		}
		c := upgrade(t, w, r, "")
		if c == nil {
			return
		}
		defer c.drain()
		c.send(wsText, `{"type":"subscription","symbols":["AAPL"],"maxfreq":0}`)
		c.rw.Flush()
		if from == 1 {
			<-stderr.seen
		}
		for seq := from; seq <= ticks; seq++ {
			c.send(wsText, fmt.Sprintf(`{"type":"tick","seq":%d,"sym":"AAPL","ts":%d}`, seq, time.Now().UnixNano()))
			if seq == cut && from == 1 {
				c.send(wsClose, "\x03\xe9server shutting down")
				return
			}
		}
	}))
	defer srv.Close()

	r, _ := runLoad(t, stderr, "-transport", "ws", "-url", srv.URL+"/ws", "-mode", "one", "-symbols", "AAPL",
		"-clients", strconv.Itoa(clients), "-sample", "1", "-ramp", "0s", "-warmup", "0s", "-duration", "2s", "-backoff", "10ms", "-json")
	handlers.Wait()

	if r.Ticks != clients*ticks {
		t.Errorf("delivered %d, want %d", r.Ticks, clients*ticks)
	}
	if r.Disconnects != clients || r.Reconnects != clients || r.Requests != clients {
		t.Errorf("disconnects %d, reconnects %d, requests in the window %d; want %d each", r.Disconnects, r.Reconnects, r.Requests, clients)
	}
	if !strings.Contains(r.LastError, "1001 server shutting down") {
		t.Errorf("last error %q, want the close frame", r.LastError)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(resumed) != clients {
		t.Fatalf("%d resumed handshakes, want %d", len(resumed), clients)
	}
	for _, id := range resumed {
		if id != strconv.Itoa(cut) {
			t.Errorf("resumed with lastEventId=%s, want %d", id, cut)
		}
	}
}

func TestRunWebSocketRefusals(t *testing.T) {
	tests := []struct {
		name   string
		answer func(t *testing.T, w http.ResponseWriter, r *http.Request)
		want   string
	}{
		{"over the limits before the handshake", func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"error":"over capacity"}`, http.StatusServiceUnavailable)
		}, "HTTP 503"},
		{"not a WebSocket", func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
		}, "HTTP 200"},
		{"over the limits after the handshake", func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			c := upgrade(t, w, r, "")
			c.send(wsClose, "\x03\xf5every stream is taken")
			c.drain()
		}, "refused: WebSocket closed by the server: 1013 every stream is taken"},
		{"a wrong accept", func(t *testing.T, w http.ResponseWriter, r *http.Request) {
			upgrade(t, w, r, acceptFor("AAAAAAAAAAAAAAAAAAAAAA==")).drain()
		}, "does not answer the key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var handlers sync.WaitGroup
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				handlers.Add(1)
				defer handlers.Done()
				tt.answer(t, w, r)
			}))
			defer srv.Close()
			r, _ := runLoad(t, newLogWatch("-"), "-transport", "ws", "-url", srv.URL+"/ws", "-clients", "2",
				"-ramp", "0s", "-warmup", "0s", "-duration", "100ms", "-backoff", "10ms", "-json")
			handlers.Wait()
			if r.ConnectFailures < 2 || r.ConnectedAtStart != 0 || r.Reconnects != 0 {
				t.Errorf("failures %d, connected %d, reconnects %d; want ≥2, 0, 0", r.ConnectFailures, r.ConnectedAtStart, r.Reconnects)
			}
			if !strings.Contains(r.LastError, tt.want) {
				t.Errorf("last error %q, want %q", r.LastError, tt.want)
			}
		})
	}
}
