package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// keys is a set of signing keys and the JWKS that publishes their public halves.
type keys struct {
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	jwks []byte
}

func newKeys(t testing.TB) *keys {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	point, err := ek.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig",
			"n": b64(rk.N.Bytes()), "e": b64(big.NewInt(int64(rk.E)).Bytes())},
		{"kty": "EC", "kid": "ec-1", "alg": "ES256", "use": "sig", "crv": "P-256",
			"x": b64(point[1:33]), "y": b64(point[33:])},
	}}
	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return &keys{rsa: rk, ec: ek, jwks: raw}
}

// sign makes a token with method and key, carrying claims and kid when set.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claimsFor(exp time.Time, symbols ...any) jwt.MapClaims {
	return jwt.MapClaims{"sub": "alice", "exp": exp.Unix(), "symbols": symbols}
}

// mustNew returns the Verifier of cfg, with the default cookie and claim
// where cfg names none.
func mustNew(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	if cfg.Cookie == "" {
		cfg.Cookie = DefaultCookie
	}
	if cfg.Claim == "" {
		cfg.Claim = DefaultClaim
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyOutcomes(t *testing.T) {
	k := newKeys(t)
	v := mustNew(t, Config{Secret: testSecret, JWKS: k.jwks, Issuer: "https://login.example", Audience: "tickerd", Leeway: 5 * time.Second})
	hsOnly := mustNew(t, Config{Secret: testSecret})
	jwksOnly := mustNew(t, Config{JWKS: k.jwks})
	now := time.Now()
	// Tokens are checked at the moment they were made for: generating
	// keys and signing may take seconds on a busy machine.
	v.nowFunc = func() time.Time { return now }
	hour := now.Add(time.Hour)
	full := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "alice", "exp": hour.Unix(), "iss": "https://login.example", "aud": "tickerd", "symbols": []string{"AAPL"}}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaPublicDER, _ := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	for _, tc := range []struct {
		name    string
		v       *Verifier
		token   string
		wantErr error
		reason  string
	}{
		{"HS256", v, sign(t, jwt.SigningMethodHS256, testSecret, "", full(nil)), nil, ""},
		{"RS256 from the JWKS", v, sign(t, jwt.SigningMethodRS256, k.rsa, "rsa-1", full(nil)), nil, ""},
		{"ES256 from the JWKS", v, sign(t, jwt.SigningMethodES256, k.ec, "ec-1", full(nil)), nil, ""},
		{"RS256 without kid", v, sign(t, jwt.SigningMethodRS256, k.rsa, "", full(nil)), nil, ""},
		{"expired", v, sign(t, jwt.SigningMethodHS256, testSecret, "", full(jwt.MapClaims{"exp": now.Add(-time.Minute).Unix()})), ErrExpired, ""},
		{"expired within the leeway", v, sign(t, jwt.SigningMethodHS256, testSecret, "", full(jwt.MapClaims{"exp": now.Add(-2 * time.Second).Unix()})), nil, ""},
		{"no expiry", v, sign(t, jwt.SigningMethodHS256, testSecret, "", full(jwt.MapClaims{"exp": nil})), ErrInvalid, "required claim"},
		{"expiry not a number", v, sign(t, jwt.SigningMethodHS256, testSecret, "", full(jwt.MapClaims{"exp": "tomorrow"})), ErrInvalid, "wrong type"},
		{"not valid yet", v, sign(t, jwt.SigningMethodHS256, testSecret, "", full(jwt.MapClaims{"nbf": now.Add(time.Minute).Unix()})), ErrInvalid, "not valid yet"},
		{"wrong issuer", v, sign(t, jwt.SigningMethodHS256, testSecret, "", full(jwt.MapClaims{"iss": "https://evil.example"})), ErrInvalid, "wrong issuer"},
		{"no issuer", v, sign(t, jwt.SigningMethodHS256, testSecret, "", full(jwt.MapClaims{"iss": nil})), ErrInvalid, "required claim"},
		{"wrong audience", v, sign(t, jwt.SigningMethodHS256, testSecret, "", full(jwt.MapClaims{"aud": []string{"other"}})), ErrInvalid, "wrong audience"},
		{"other secret", v, sign(t, jwt.SigningMethodHS256, []byte("another secret, also 32 bytes long!"), "", full(nil)), ErrInvalid, "signature"},
		{"other RSA key", v, sign(t, jwt.SigningMethodRS256, otherRSA, "rsa-1", full(nil)), ErrInvalid, "signature"},
		{"unknown kid", v, sign(t, jwt.SigningMethodRS256, k.rsa, "rsa-9", full(nil)), ErrInvalid, "no key"},
		{"kid of a key for another algorithm", v, sign(t, jwt.SigningMethodRS256, k.rsa, "ec-1", full(nil)), ErrInvalid, ""},
		{"alg none", v, sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", full(nil)), ErrInvalid, "signature or algorithm"},
		{"HS384", v, sign(t, jwt.SigningMethodHS384, testSecret, "", full(nil)), ErrInvalid, "signature or algorithm"},
		{"HS256 when only a JWKS is configured", jwksOnly, sign(t, jwt.SigningMethodHS256, testSecret, "", claimsFor(hour)), ErrInvalid, "signature or algorithm"},
		{"HS256 keyed with the RSA public key", jwksOnly, sign(t, jwt.SigningMethodHS256, rsaPublicDER, "rsa-1", claimsFor(hour)), ErrInvalid, "signature or algorithm"},
		{"RS256 when only a secret is configured", hsOnly, sign(t, jwt.SigningMethodRS256, k.rsa, "rsa-1", claimsFor(hour)), ErrInvalid, "signature or algorithm"},
		{"symbols not an array", v, sign(t, jwt.SigningMethodHS256, testSecret, "", full(jwt.MapClaims{"symbols": "AAPL"})), ErrInvalid, "symbols claim"},
		{"symbols with a number", v, sign(t, jwt.SigningMethodHS256, testSecret, "", full(jwt.MapClaims{"symbols": []any{"AAPL", 7}})), ErrInvalid, "symbols claim"},
		{"a star inside a pattern", v, sign(t, jwt.SigningMethodHS256, testSecret, "", full(jwt.MapClaims{"symbols": []string{"A*PL"}})), ErrInvalid, "symbols claim"},
		{"garbage", v, "not a token", ErrInvalid, "malformed"},
		{"empty", v, "", ErrInvalid, "malformed"},
		{"three dots of nothing", v, "..", ErrInvalid, "malformed"},
		{"too long", v, strings.Repeat("a", MaxTokenBytes+1), ErrInvalid, "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := tc.v.Verify(tc.token)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if g.Subject != "alice" || !g.Allows("AAPL") || g.Allows("MSFT") || g.Until.IsZero() {
					t.Fatalf("grant %+v", g)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Verify = %v, want %v mentioning %q", err, tc.wantErr, tc.reason)
			}
			if g != nil {
				t.Fatalf("a grant with an error: %+v", g)
			}
		})
	}
}

func TestGrantLastsUntilExpiryPlusLeeway(t *testing.T) {
	v := mustNew(t, Config{Secret: testSecret, Leeway: 30 * time.Second})
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	g, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret, "", claimsFor(exp, "*")))
	if err != nil {
		t.Fatal(err)
	}
	if want := exp.Add(30 * time.Second); !g.Until.Equal(want) {
		t.Fatalf("Until %v, want %v", g.Until, want)
	}
	// A token checked later than its expiry plus leeway is refused.
	v.nowFunc = func() time.Time { return exp.Add(31 * time.Second) }
	if _, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret, "", claimsFor(exp, "*"))); !errors.Is(err, ErrExpired) {
		t.Fatalf("after expiry plus leeway: %v", err)
	}
}

func TestAuthenticateFindsTheToken(t *testing.T) {
	v := mustNew(t, Config{Secret: testSecret, Cookie: "tk"})
	hour := time.Now().Add(time.Hour)
	a := sign(t, jwt.SigningMethodHS256, testSecret, "", claimsFor(hour, "A"))
	b := sign(t, jwt.SigningMethodHS256, testSecret, "", claimsFor(hour, "B"))
	c := sign(t, jwt.SigningMethodHS256, testSecret, "", claimsFor(hour, "C"))
	for _, tc := range []struct {
		name    string
		header  string
		cookie  string
		query   string
		want    string // the symbol the used token allows
		wantErr error
	}{
		{"header", "Bearer " + a, "", "", "A", nil},
		{"scheme is case-insensitive", "bearer " + a, "", "", "A", nil},
		{"cookie", "", b, "", "B", nil},
		{"query", "", "", c, "C", nil},
		{"header before cookie and query", "Bearer " + a, b, c, "A", nil},
		{"cookie before query", "", b, c, "B", nil},
		{"another scheme is not a token", "Basic dXNlcjpwYXNz", "", "", "", ErrNoToken},
		{"another scheme, then the cookie", "Basic dXNlcjpwYXNz", b, "", "B", nil},
		{"nothing", "", "", "", "", ErrNoToken},
		{"empty bearer", "Bearer ", "", "", "", ErrInvalid},
		{"bad header token hides a good cookie", "Bearer nope", b, "", "", ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/events?symbols=A&access_token="+tc.query, nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "tk", Value: tc.cookie})
			}
			g, err := v.Authenticate(r)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Authenticate = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || !g.Allows(tc.want) {
				t.Fatalf("Authenticate = %+v, %v; want the token allowing %s", g, err, tc.want)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Cookie: DefaultCookie, Claim: DefaultClaim}, "neither a secret nor a JWKS"},
		{Config{Secret: []byte("short"), Cookie: DefaultCookie, Claim: DefaultClaim}, "Secret of 5 bytes: want an HS256 secret of at least 32 bytes"},
		{Config{JWKS: []byte("{"), Cookie: DefaultCookie, Claim: DefaultClaim}, "JWKS"},
		{Config{JWKS: []byte(`{"keys":[{"kty":"RSA","n":"AQAB"}]}`), Cookie: DefaultCookie, Claim: DefaultClaim}, "JWKS"},
		{Config{Secret: testSecret, Cookie: "a b", Claim: DefaultClaim}, `Cookie "a b": want a cookie name`},
		{Config{Secret: testSecret, Cookie: "", Claim: DefaultClaim}, `Cookie "": want a cookie name`},
		{Config{Secret: testSecret, Cookie: DefaultCookie, Claim: ""}, "no entitlement claim"},
		{Config{Secret: testSecret, Cookie: DefaultCookie, Claim: DefaultClaim, Leeway: -time.Second}, "negative leeway"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error mentioning %q", tc.cfg, err, tc.want)
		}
	}
}
