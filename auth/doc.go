// Package auth verifies the JSON Web Tokens that subscribers present and
// says which symbols each token entitles its holder to.
//
// A token arrives as "Authorization: Bearer <token>", else in a cookie
// (a browser's EventSource cannot set headers), else in the access_token
// query parameter. It is signed with HS256 and a shared secret, or with
// RS256 or ES256 and a key from a JSON Web Key Set; it must carry an expiry
// ("exp"), and may be required to carry an issuer and an audience. The
// entitlement claim ("symbols" unless configured otherwise) is a JSON array
// of patterns:
//
//	"*"       every symbol
//	"NV*"     every symbol that starts with NV (with exchange-prefixed
//	          names, "NASDAQ:*" is every symbol of that exchange)
//	"AAPL"    that symbol
//
// Patterns are case-insensitive. A token without the claim is valid and
// entitles to nothing; a claim that is not an array of such patterns makes
// the token invalid.
//
// Package auth must never implement cryptography itself: signatures are
// checked by github.com/golang-jwt/jwt/v5, and JWKS keys are read by
// github.com/MicahParks/keyfunc/v3. It knows nothing about HTTP answers;
// its callers turn its errors into them.
package auth
