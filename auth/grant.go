package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tickerd/tickerd/feed"
)

// Grant is what a verified token entitles its holder to.
type Grant struct {
	Subject string    // the token's "sub"; may be empty
	Until   time.Time // when the token stops being accepted: its expiry plus the leeway
	Publish bool      // the token's "publish" claim is true: its holder may publish ticks

	all      bool            // "*"
	exact    map[string]bool // "AAPL"
	prefixes []string        // "NV*" as "NV"
}

// Allows reports whether the grant entitles to symbol, an upper-case name.
func (g *Grant) Allows(symbol string) bool {
	if g.all || g.exact[symbol] {
		return true
	}
	for _, p := range g.prefixes {
		if strings.HasPrefix(symbol, p) {
			return true
		}
	}
	return false
}

// AllowsAll reports whether the grant entitles to every symbol there is.
func (g *Grant) AllowsAll() bool { return g.all }

// Patterns returns the grant's patterns in a canonical order: "*" alone,
// or the exact names then the prefix patterns, each sorted.
func (g *Grant) Patterns() []string {
	if g.all {
		return []string{"*"}
	}
	var out []string
	for s := range g.exact {
		out = append(out, s)
	}
	slices.Sort(out)
	n := len(out)
	for _, p := range g.prefixes {
		out = append(out, p+"*")
	}
	slices.Sort(out[n:])
	return slices.Compact(out)
}

// maxPatterns bounds an entitlement claim.
const maxPatterns = 1024

var errClaim = errors.New("not an array of symbol patterns")

// parseEntitlements reads the entitlement claim as decoded from JSON: nil
// (absent) or an array of patterns.
func parseEntitlements(claim any) (*Grant, error) {
	g := &Grant{exact: map[string]bool{}}
	if claim == nil {
		return g, nil
	}
	list, ok := claim.([]any)
	if !ok {
		return nil, errClaim
	}
	if len(list) > maxPatterns {
		return nil, fmt.Errorf("more than %d patterns", maxPatterns)
	}
	for _, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, errClaim
		}
		if err := g.add(strings.ToUpper(s)); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// add records one upper-cased pattern: "*", a symbol name that follows
// [feed.CheckSymbol], or the start of one followed by "*".
func (g *Grant) add(p string) error {
	if p == "*" {
		g.all = true
		return nil
	}
	const bad = "pattern %.40q is not a symbol, a symbol prefix followed by *, or *"
	name, prefix := strings.CutSuffix(p, "*")
	switch {
	case !prefix:
		if err := feed.CheckSymbol(name); err != nil {
			return fmt.Errorf(bad+": %w", p, err)
		}
		g.exact[name] = true
	case !startsSymbol(name):
		return fmt.Errorf(bad, p)
	default:
		g.prefixes = append(g.prefixes, name)
	}
	return nil
}

// startsSymbol reports whether some symbol name starts with the non-empty
// prefix. It does if the prefix is a name itself or is one once followed
// by a letter: a proper prefix of a name ends inside its exchange code
// (so it is letters, a ticker), on a letter or digit of its ticker (a
// name), or on the ':' or a '.' or '-' that a letter may follow (a name
// with it, no longer than the name it starts).
func startsSymbol(prefix string) bool {
	return prefix != "" && (feed.CheckSymbol(prefix) == nil || feed.CheckSymbol(prefix+"A") == nil)
}
