package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// farFuture keeps seed tokens valid for as long as the corpus is kept.
var farFuture = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// checkOutcome holds for every answer Verify gives: an error wraps exactly
// one of the package's errors and comes without a grant; a grant has an
// expiry and patterns that parse back to themselves.
func checkOutcome(t *testing.T, g *Grant, err error) {
	t.Helper()
	if err != nil {
		n := 0
		for _, e := range []error{ErrNoToken, ErrExpired, ErrInvalid} {
			if errors.Is(err, e) {
				n++
			}
		}
		if n != 1 || g != nil {
			t.Fatalf("error %v (wraps %d package errors) with grant %+v", err, n, g)
		}
		return
	}
	if g == nil || g.Until.IsZero() {
		t.Fatalf("grant %+v without an expiry", g)
	}
	patterns := g.Patterns()
	claim := make([]any, len(patterns))
	for i, p := range patterns {
		claim[i] = p
		name, prefix := strings.CutSuffix(p, "*")
		if probe := name + map[bool]string{true: "X", false: ""}[prefix]; p != "*" && !g.Allows(probe) {
			t.Fatalf("grant with pattern %q does not allow %q", p, probe)
		}
	}
	again, err := parseEntitlements(claim)
	if err != nil {
		t.Fatalf("patterns %q do not parse back: %v", patterns, err)
	}
	if got := again.Patterns(); strings.Join(got, ",") != strings.Join(patterns, ",") {
		t.Fatalf("patterns %q parse back as %q", patterns, got)
	}
}

// FuzzVerifyToken feeds arbitrary strings to Verify as tokens.
func FuzzVerifyToken(f *testing.F) {
	v := mustNew(f, Config{Secret: testSecret, Leeway: time.Second})
	for _, c := range []jwt.MapClaims{
		claimsFor(farFuture, "AAPL", "NV*"),
		claimsFor(farFuture, "*"),
		claimsFor(time.Unix(1, 0), "AAPL"),
		{"exp": farFuture.Unix()},
		{"exp": farFuture.Unix(), "symbols": "AAPL"},
	} {
		f.Add(sign(f, jwt.SigningMethodHS256, testSecret, "", c))
	}
	f.Add(sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claimsFor(farFuture, "*")))
	for _, s := range []string{"", ".", "..", "a.b.c", "eyJ.eyJ.", "eyJhbGciOiJIUzI1NiJ9.e30.", strings.Repeat("A", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		g, err := v.Verify(token)
		checkOutcome(t, g, err)
	})
}

// FuzzVerifyClaims signs arbitrary payloads with the right secret, so that
// every one reaches claim validation and the entitlement claim.
func FuzzVerifyClaims(f *testing.F) {
	v := mustNew(f, Config{Secret: testSecret, Audience: "tickerd"})
	exp := `"exp":4102444800`
	for _, p := range []string{
		`{` + exp + `,"aud":"tickerd","symbols":["AAPL","nv*","NASDAQ:*"]}`,
		`{` + exp + `,"aud":["x","tickerd"],"symbols":["*"]}`,
		`{` + exp + `,"aud":"tickerd"}`,
		`{` + exp + `,"aud":"tickerd","symbols":[1,null,{}]}`,
		`{` + exp + `,"aud":"tickerd","symbols":"AAPL"}`,
		`{"exp":"soon","aud":"tickerd"}`,
		`{"exp":1e400,"aud":"tickerd"}`,
		`{"exp":-1,"aud":"tickerd"}`,
		`{` + exp + `,"nbf":4102444800,"aud":"tickerd"}`,
		`[]`, `null`, `{`, ``,
	} {
		f.Add([]byte(p))
	}
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		signing := header + "." + base64.RawURLEncoding.EncodeToString(payload)
		sig, err := jwt.SigningMethodHS256.Sign(signing, testSecret)
		if err != nil {
			t.Fatal(err)
		}
		g, err := v.Verify(signing + "." + base64.RawURLEncoding.EncodeToString(sig))
		checkOutcome(t, g, err)
	})
}
