package guard

import (
	"errors"
	"net/http"

	"github.com/tickerd/tickerd/auth"
	"github.com/tickerd/tickerd/internal/httpjson"
)

// Authenticator verifies the credentials a request carries and returns
// what they entitle to. Its errors wrap auth.ErrNoToken, auth.ErrExpired or
// auth.ErrInvalid. *auth.Verifier is one.
type Authenticator interface {
	Authenticate(r *http.Request) (*auth.Grant, error)
}

// authRealm names tickerd in WWW-Authenticate challenges.
const authRealm = `Bearer realm="tickerd"`

// Authenticate returns the grant of r's credentials: nil, with ok, when a
// is nil (authentication is off). Without valid credentials it answers 401
// with a Bearer challenge (RFC 6750) and returns false.
func Authenticate(a Authenticator, w http.ResponseWriter, r *http.Request) (g *auth.Grant, ok bool) {
	if a == nil {
		return nil, true
	}
	g, err := a.Authenticate(r)
	if err == nil {
		return g, true
	}
	challenge, message := authRealm, "authentication required: send a token as Authorization: Bearer, a cookie or access_token"
	switch {
	case errors.Is(err, auth.ErrNoToken):
	case errors.Is(err, auth.ErrExpired):
		challenge += `, error="invalid_token", error_description="the token has expired"`
		message = "token expired"
	default:
		challenge += `, error="invalid_token"`
		message = err.Error()
		if !errors.Is(err, auth.ErrInvalid) {
			message = auth.ErrInvalid.Error()
		}
	}
	w.Header().Set("WWW-Authenticate", challenge)
	httpjson.WriteError(w, http.StatusUnauthorized, message)
	return nil, false
}

// Forbid answers 403 for symbols the grant does not cover, naming them.
func Forbid(w http.ResponseWriter, message string, symbols ...string) {
	w.Header().Set("WWW-Authenticate", authRealm+`, error="insufficient_scope"`)
	httpjson.WriteError(w, http.StatusForbidden, message, symbols...)
}

// Unentitled returns the names g does not allow; none when g is nil
// (authentication is off).
func Unentitled(g *auth.Grant, names []string) []string {
	if g == nil {
		return nil
	}
	var out []string
	for _, n := range names {
		if !g.Allows(n) {
			out = append(out, n)
		}
	}
	return out
}
