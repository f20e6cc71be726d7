package ws

import (
	"context"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tickerd/tickerd/auth"
	"github.com/tickerd/tickerd/stream"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func token(t *testing.T, exp time.Time, patterns ...string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "test", "exp": exp.Unix(), "symbols": patterns}).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifier(t *testing.T) *auth.Verifier {
	t.Helper()
	v, err := auth.New(auth.Config{Secret: testSecret, Cookie: auth.DefaultCookie, Claim: auth.DefaultClaim})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestEntitlementsAreCheckedOnEverySubscribe connects with a token for
// AAPL and NV*, by header, cookie and access_token alike.
func TestEntitlementsAreCheckedOnEverySubscribe(t *testing.T) {
	ts := startServer(t, testOptions{auth: verifier(t)})
	tok := token(t, time.Now().Add(time.Hour), "AAPL", "NV*")
	if _, resp, err := websocket.Dial(context.Background(), ts.url("ws"), nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("no token: %v %v, want 401", resp, err)
	}
	for name, dialWith := range map[string]func() *client{
		"header": func() *client { return dial(t, ts.url("ws"), http.Header{"Authorization": {"Bearer " + tok}}) },
		"cookie": func() *client { return dial(t, ts.url("ws"), http.Header{"Cookie": {auth.DefaultCookie + "=" + tok}}) },
		"query":  func() *client { return dial(t, ts.url("ws?access_token="+tok), nil) },
	} {
		t.Run(name, func(t *testing.T) {
			c := dialWith()
			c.expect("snapshot")
			c.expect("subscription")
			c.send(`{"op":"subscribe","symbols":["AAPL","MSFT","TSLA"]}`)
			if m := c.expect("error"); m.Error != "not entitled to symbols" || strings.Join(m.Symbols, ",") != "MSFT,TSLA" || m.Op != "subscribe" {
				t.Fatalf("got %+v, want MSFT and TSLA not entitled", m)
			}
			c.send(`{"op":"subscribe","symbols":["*"]}`)
			if m := c.expect("subscription"); strings.Join(m.Symbols, ",") != "AAPL,NVDA" {
				t.Fatalf("* under the token gave %+v, want AAPL and NVDA", m)
			}
		})
	}
}

func TestAStreamEndsWhenItsTokenExpires(t *testing.T) {
	ts := startServer(t, testOptions{auth: verifier(t), engine: func(c *stream.Config) { c.Heartbeat = 200 * time.Millisecond }})
	c, resp := dialRaw(t, ts, goodHandshake+"Authorization: Bearer "+token(t, time.Now().Add(4*time.Second), "*")+"\r\n")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake %d", resp.StatusCode)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	if code := c.closeCode(); code != CodePolicy {
		t.Fatalf("close code %d, want %d (token expired)", code, CodePolicy)
	}
}

// TestASlowConsumerIsEvicted opens a connection with a small receive
// window that never reads, while ticks flow: the engine closes it at its
// write timeout, as it does an SSE stream, and counts it.
func TestASlowConsumerIsEvicted(t *testing.T) {
	ts := startServer(t, testOptions{engine: func(c *stream.Config) {
		c.WriteTimeout, c.QueueBytes, c.Heartbeat = 300*time.Millisecond, 4096, 200*time.Millisecond
	}})
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", ts.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /ws?symbols=AAPL,MSFT HTTP/1.1\r\nHost: test\r\n" + goodHandshake + "\r\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(40 * time.Second)
	for metricValue(t, ts.reg, "tickerd_streams_closed_total", "slow", "ws") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the never-reading client was not evicted as slow")
		}
		ts.publish(t, "AAPL", "MSFT", "AAPL", "MSFT")
		waitFlushed(t, ts, ts.seq) // one batch at a time, so the feed cannot outrun the writers
	}
}
