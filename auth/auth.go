package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tickerd/tickerd/internal/setting"
)

// Config sets up a Verifier. At least one of Secret and JWKS is required.
type Config struct {
	Secret   []byte        // HS256 shared secret, at least 32 bytes
	JWKS     []byte        // a JSON Web Key Set with the RS256 and ES256 public keys
	Issuer   string        // required "iss", when set
	Audience string        // required in "aud", when set
	Cookie   string        // cookie that may carry the token (DefaultCookie); required
	Claim    string        // claim listing the entitled symbol patterns (DefaultClaim); required
	Leeway   time.Duration // clock skew allowed on "exp" and "nbf"
}

// Defaults of Config.
const (
	DefaultCookie = "tickerd_token"
	DefaultClaim  = "symbols"
)

// PublishClaim is the claim that, true, lets a token's holder publish
// ticks (POST /api/publish) as well as subscribe.
const PublishClaim = "publish"

// MinSecretBytes is the shortest HS256 secret accepted: as long as the hash.
const MinSecretBytes = 32

// MaxTokenBytes bounds the tokens the Verifier looks at.
const MaxTokenBytes = 8 << 10

// Errors Authenticate and Verify return; every error wraps exactly one.
var (
	ErrNoToken = errors.New("no token")      // the request carries no token
	ErrExpired = errors.New("token expired") // a valid token, past its expiry
	ErrInvalid = errors.New("invalid token") // anything else wrong with a token
)

// Verifier checks tokens and reads their entitlements. It is safe for
// concurrent use.
type Verifier struct {
	secret  []byte
	jwks    keyfunc.Keyfunc
	cookie  string
	claim   string
	leeway  time.Duration
	parser  *jwt.Parser
	nowFunc func() time.Time
}

// New returns a Verifier for cfg.
func New(cfg Config) (*Verifier, error) {
	if cfg.Claim == "" {
		return nil, setting.Bad("Claim", `""`, "the name of the claim listing a token's entitlements (no entitlement claim named)")
	}
	if cfg.Leeway < 0 {
		return nil, fmt.Errorf("auth: negative leeway %v", cfg.Leeway)
	}
	if !validCookieName(cfg.Cookie) {
		return nil, setting.Bad("Cookie", strconv.Quote(cfg.Cookie), "a cookie name (an RFC 6265 token)")
	}
	v := &Verifier{cookie: cfg.Cookie, claim: cfg.Claim, leeway: cfg.Leeway, nowFunc: time.Now}
	var methods []string
	if cfg.Secret != nil {
		if len(cfg.Secret) < MinSecretBytes {
			return nil, setting.Bad("Secret", fmt.Sprintf("of %d bytes", len(cfg.Secret)), fmt.Sprintf("an HS256 secret of at least %d bytes", MinSecretBytes))
		}
		v.secret = cfg.Secret
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if cfg.JWKS != nil {
		k, err := keyfunc.NewJWKSetJSON(cfg.JWKS)
		if err != nil {
			return nil, setting.Bad("JWKS", fmt.Sprintf("(%v)", err), "a JWKS of RS256 or ES256 public keys")
		}
		v.jwks = k
		methods = append(methods, jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg())
	}
	if methods == nil {
		return nil, errors.New("auth: neither a secret nor a JWKS")
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(func() time.Time { return v.nowFunc() }),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Authenticate verifies the token r carries: in the Authorization header
// with the Bearer scheme, else in the cookie, else in the access_token query
// parameter. An Authorization header with another scheme is not a token.
func (v *Verifier) Authenticate(r *http.Request) (*Grant, error) {
	token, ok := v.token(r)
	if !ok {
		return nil, ErrNoToken
	}
	return v.Verify(token)
}

func (v *Verifier) token(r *http.Request) (string, bool) {
	if scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token), true
	}
	if c, err := r.Cookie(v.cookie); err == nil && c.Value != "" {
		return c.Value, true
	}
	if r.URL != nil {
		if t := r.URL.Query().Get("access_token"); t != "" {
			return t, true
		}
	}
	return "", false
}

// Verify checks token's signature, expiry and, when configured, issuer and
// audience, and returns what it entitles to.
func (v *Verifier) Verify(token string) (*Grant, error) {
	if len(token) > MaxTokenBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxTokenBytes)
	}
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(token, claims, v.key); err != nil {
		return nil, classify(err)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil { // the parser has required it already
		return nil, fmt.Errorf("%w: no expiry", ErrInvalid)
	}
	g, err := parseEntitlements(claims[v.claim])
	if err != nil {
		return nil, fmt.Errorf("%w: %s claim: %w", ErrInvalid, v.claim, err)
	}
	g.Subject, _ = claims.GetSubject()
	if p, present := claims[PublishClaim]; present {
		publish, ok := p.(bool)
		if !ok {
			return nil, fmt.Errorf("%w: %s claim: not true or false", ErrInvalid, PublishClaim)
		}
		g.Publish = publish
	}
	g.Until = exp.Add(v.leeway)
	return g, nil
}

// key picks the verification key for a token by its algorithm; the parser
// has already refused algorithms that are not configured.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	switch t.Method.Alg() {
	case jwt.SigningMethodHS256.Alg():
		if v.secret != nil {
			return v.secret, nil
		}
	case jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg():
		if v.jwks != nil {
			return v.jwks.Keyfunc(t)
		}
	}
	return nil, fmt.Errorf("no key for %s", t.Method.Alg())
}

// classify turns a parser error into one of the package's errors with a
// message fit for a client: it says what is wrong, never which key or why
// a library thought so.
func classify(err error) error {
	var reason string
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenMalformed):
		reason = "malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		reason = "signature or algorithm not accepted"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		reason = "no key to verify it"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		reason = "a required claim (exp, or iss or aud where configured) is missing"
	case errors.Is(err, jwt.ErrInvalidType):
		reason = "a registered claim has the wrong type"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		reason = "not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		reason = "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		reason = "wrong audience"
	default:
		reason = "claims not valid"
	}
	return fmt.Errorf("%w: %s", ErrInvalid, reason)
}

// validCookieName reports whether name is an RFC 6265 cookie name (a token).
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}
