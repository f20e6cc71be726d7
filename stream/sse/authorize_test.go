package sse

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/auth"
	"github.com/tickerd/tickerd/feed"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func newVerifier(t testing.TB) *auth.Verifier {
	t.Helper()
	v, err := auth.New(auth.Config{Secret: testSecret, Cookie: auth.DefaultCookie, Claim: auth.DefaultClaim})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// token signs an HS256 token with the test secret that expires at exp and
// entitles to patterns; no patterns at all leaves the claim out.
func token(t testing.TB, exp time.Time, patterns ...string) string {
	t.Helper()
	claims := jwt.MapClaims{"sub": "test", "exp": exp.Unix()}
	if patterns != nil {
		claims["symbols"] = patterns
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func TestStreamAuthenticationOutcomes(t *testing.T) {
	th := startHub(t, testConfig{Auth: newVerifier(t)})
	th.publish(t, 8)
	waitFor(t, "flush", func() bool { _, seq := th.Quotes(); return seq == 8 })
	hour := time.Now().Add(time.Hour)
	otherSecret, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": hour.Unix(), "symbols": []string{"*"}}).
		SignedString([]byte("another secret that is 32 bytes!"))
	const challenge = `Bearer realm="tickerd"`
	for _, tc := range []struct {
		name      string
		query     string
		header    map[string]string
		status    int
		challenge string
		body      string
	}{
		{"no token", "", nil, 401, challenge, `{"error":"authentication required: send a token as Authorization: Bearer, a cookie or access_token"}`},
		{"basic credentials", "", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, 401, challenge, `"authentication required`},
		{"expired", "", bearer(token(t, time.Now().Add(-time.Minute), "*")), 401,
			challenge + `, error="invalid_token", error_description="the token has expired"`, `{"error":"token expired"}`},
		{"other secret", "", bearer(otherSecret), 401, challenge + `, error="invalid_token"`, `{"error":"invalid token: signature or algorithm not accepted"}`},
		{"malformed", "", bearer("abc"), 401, challenge + `, error="invalid_token"`, `{"error":"invalid token: malformed"}`},
		{"bad claim", "", bearer(token(t, hour, "A B")), 401, challenge + `, error="invalid_token"`, `"error":"invalid token: symbols claim: pattern`},
		{"unentitled symbols named", "?symbols=aapl,MSFT,NVDA", bearer(token(t, hour, "AAPL")), 403,
			challenge + `, error="insufficient_scope"`, `{"error":"not entitled to symbols","symbols":["MSFT","NVDA"]}`},
		{"entitled to nothing", "", bearer(token(t, hour)), 403, challenge + `, error="insufficient_scope"`, `{"error":"not entitled to any symbol"}`},
		{"entitled to none of the universe", "", bearer(token(t, hour, "IBM", "X*")), 403, challenge + `, error="insufficient_scope"`, `{"error":"not entitled to any symbol"}`},
		{"unknown before unentitled", "?symbols=MSFT,FOO", bearer(token(t, hour, "AAPL")), 404, "", `{"error":"unknown symbols","symbols":["FOO"]}`},
		{"bad query before credentials", "?symbols=%zz", nil, 400, "", `"malformed query`},
		{"entitled", "?symbols=AAPL", bearer(token(t, hour, "AAPL")), 200, "", ""},
		{"entitled by prefix", "?symbols=MSFT", bearer(token(t, hour, "M*")), 200, "", ""},
		{"cookie", "?symbols=AAPL", map[string]string{"Cookie": "tickerd_token=" + token(t, hour, "*")}, 200, "", ""},
		{"query parameter", "?symbols=AAPL&access_token=" + token(t, hour, "*"), nil, 200, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := th.dial(t, tc.query, tc.header)
			if c.status != tc.status {
				t.Fatalf("status %d, want %d", c.status, tc.status)
			}
			if got := c.header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if tc.status == 200 {
				if ev := c.mustNext(); !strings.HasPrefix(ev.name, "retry:") {
					t.Fatalf("first event %+v", ev)
				}
				return
			}
			if ct := c.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			line, _ := c.r.ReadString('\n')
			if !json.Valid([]byte(line)) || !strings.Contains(line, tc.body) {
				t.Fatalf("body %s, want it to contain %s", line, tc.body)
			}
		})
	}
	for reason, want := range map[string]float64{"unauthorized": 6, "forbidden": 3, "unknown_symbol": 1, "bad_request": 1} {
		if got := th.metric(t, "tickerd_streams_rejected_total", reason); got != want {
			t.Errorf("rejected{%s} = %v, want %v", reason, got, want)
		}
	}
}

func TestStreamWithoutSymbolsGetsTheEntitledOnes(t *testing.T) {
	th := startHub(t, testConfig{Auth: newVerifier(t)})
	th.publish(t, 4)
	waitFor(t, "flush", func() bool { _, seq := th.Quotes(); return seq == 4 })
	c := th.dial(t, "", bearer(token(t, time.Now().Add(time.Hour), "NV*", "TSLA")))
	c.mustNext()
	var snap struct{ Quotes []feed.Quote }
	if err := json.Unmarshal([]byte(c.mustNext().data), &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Quotes) != 2 || snap.Quotes[0].Last.Symbol != "NVDA" || snap.Quotes[1].Last.Symbol != "TSLA" {
		t.Fatalf("snapshot %+v, want NVDA and TSLA", snap.Quotes)
	}
	th.publish(t, 40)
	_, syms := c.ticks(20)
	for _, s := range syms {
		if s != "NVDA" && s != "TSLA" {
			t.Fatalf("got a %s tick, entitled to NV* and TSLA", s)
		}
	}
}

func TestStreamEndsWhenItsTokenExpires(t *testing.T) {
	th := startHub(t, testConfig{Auth: newVerifier(t), Heartbeat: 400 * time.Millisecond})
	// A token's exp is in whole seconds: this one runs out 1 to 2 s from
	// now, time enough to sign it and open the stream on a loaded machine.
	exp := time.Now().Truncate(time.Second).Add(2 * time.Second)
	tok := token(t, exp, "*")
	c := th.dial(t, "", bearer(tok))
	if c.status != 200 {
		t.Fatalf("status %d", c.status)
	}
	stop := make(chan struct{})
	published := make(chan struct{})
	go func() { // ticks keep flowing while the token runs out
		defer close(published)
		for seq := uint64(1); ; seq++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				_ = th.Publish(feed.Tick{Seq: seq, Symbol: "AAPL", Price: 100, Bid: 99.99, Ask: 100.01, Size: 1, Time: time.Now()})
			}
		}
	}()
	defer func() { close(stop); <-published }()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, err := c.next(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the stream outlived its token")
			}
			break
		}
	}
	ended := time.Now()
	if ended.Before(exp) || ended.After(exp.Add(2*time.Second)) {
		t.Errorf("stream ended at %v, token expired at %v", ended, exp)
	}
	waitFor(t, "close counted", func() bool {
		return th.metric(t, "tickerd_streams_closed_total", "token_expired") == 1
	})
	if total, _ := th.streams.Counts(); total != 0 {
		t.Errorf("limits still hold %d streams", total)
	}
	// Reconnecting with the same token is refused: the client has to get a new one.
	again := th.dial(t, "", bearer(tok))
	if again.status != 401 || !strings.Contains(again.header.Get("WWW-Authenticate"), "expired") {
		t.Fatalf("reconnect with the expired token: %d %q", again.status, again.header.Get("WWW-Authenticate"))
	}
}

func TestAPIAppliesEntitlements(t *testing.T) {
	th := startHub(t, testConfig{Auth: newVerifier(t)})
	th.publish(t, 4)
	waitFor(t, "flush", func() bool { _, seq := th.Quotes(); return seq == 4 })
	tok := token(t, time.Now().Add(time.Hour), "AAPL", "NV*")
	get := func(path string, header map[string]string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", th.srv.URL+path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(body)
	}
	for _, tc := range []struct {
		path   string
		header map[string]string
		status int
		body   string
	}{
		{"/api/symbols", nil, 401, `"authentication required`},
		{"/api/symbols", bearer("nope"), 401, `"invalid token: malformed"`},
		{"/api/quotes/AAPL", nil, 401, `"authentication required`},
		{"/api/quotes/aapl", bearer(tok), 200, `"sym":"AAPL"`},
		{"/api/quotes/MSFT", bearer(tok), 403, `{"error":"not entitled to symbols","symbols":["MSFT"]}`},
		{"/api/quotes/FOO", bearer(tok), 404, `"unknown symbols"`},
		{"/api/history?symbol=NVDA", bearer(tok), 200, `"sym":"NVDA"`},
		{"/api/history?symbol=TSLA", bearer(tok), 403, `{"error":"not entitled to symbols","symbols":["TSLA"]}`},
		{"/api/history?symbol=TSLA", nil, 401, `"authentication required`},
		{"/api/history?symbol=NVDA&access_token=" + tok, nil, 200, `"sym":"NVDA"`},
	} {
		status, header, body := get(tc.path, tc.header)
		if status != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("GET %s: %d %s, want %d with %s", tc.path, status, body, tc.status, tc.body)
		}
		if status == 401 && !strings.HasPrefix(header.Get("WWW-Authenticate"), `Bearer realm="tickerd"`) {
			t.Errorf("GET %s: 401 without a Bearer challenge", tc.path)
		}
	}
	var list api.QuoteList
	_, _, body := get("/api/symbols", bearer(tok))
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Quotes) != 2 || list.Quotes[0].Last.Symbol != "AAPL" || list.Quotes[1].Last.Symbol != "NVDA" || list.Seq != 4 {
		t.Fatalf("/api/symbols with a grant for AAPL and NV*: %s", body)
	}
}
