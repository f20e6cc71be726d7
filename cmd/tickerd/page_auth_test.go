package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
)

// TestPageWorksWithATokenInACookie runs the page against a tickerd with
// authentication on: without a cookie its stream is refused and it keeps
// retrying; once a login would have set the cookie, its next attempt
// streams the entitled symbols, and the chart loads its history with the
// same cookie.
func TestPageWorksWithATokenInACookie(t *testing.T) {
	secret := []byte("a test secret of at least 32 bytes, for tickerd")
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	td := startPageServer(t, "-auth-secret-file", secretFile)
	p := newPage(t, 1280, 800)
	p.do(chromedp.Navigate(td.URL + "/"))

	// No cookie: the page's data is refused and it is not live.
	refused := func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return slices.ContainsFunc(p.problems, func(s string) bool { return strings.Contains(s, "/events?bars=5s answered 401") })
	}
	if !pollUntil(5*time.Second, 20*time.Millisecond, refused) {
		t.Fatalf("the stream was not refused without a cookie within 5s; page state %s", p.debugState())
	}
	if st := p.state(); st.State == "live" || st.TicksSeen != 0 {
		t.Fatalf("without a token the page is %+v", st)
	}
	p.mu.Lock()
	for _, what := range p.problems {
		// The refused stream and the console line about it; a retry of the
		// refused EventSource that the browser aborts when the page closes
		// it is the same refusal seen from the network.
		if !strings.Contains(what, "401") && !(strings.Contains(what, "(EventSource) failed: net::ERR_ABORTED") && strings.Contains(what, "/events")) {
			t.Errorf("without a token: %s", what)
		}
	}
	p.problems = nil
	p.mu.Unlock()

	// The login sets the cookie; the page's own retry picks it up.
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"exp": time.Now().Add(time.Hour).Unix(), "symbols": []string{"AAPL", "NV*"},
	}).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	httpOnly := true
	p.do(chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, network.SetCookie, network.SetCookieParams{
			Name: "tickerd_token", Value: tok, URL: td.URL + "/", HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteStrict,
		})
		return err
	}))
	p.waitFor("the entitled symbols streaming", `tickerd.state === 'live' && tickerd.ticksSeen > 0 &&
		JSON.stringify(tickerd.symbols) === '["AAPL","NVDA"]' && document.querySelectorAll('#rows tr').length === 2`,
		40*time.Second)
	p.waitFor("the chart's history", `tickerd.selected === 'AAPL' && tickerd.chartLoaded`, 10*time.Second)
	if got := eval[bool](p, `document.cookie.includes('tickerd_token')`); got {
		t.Error("the page's scripts can read the HttpOnly token")
	}
	p.checkNoProblems()
}
