package auth

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestPublishClaim(t *testing.T) {
	v := mustNew(t, Config{Secret: testSecret})
	exp := time.Now().Add(time.Hour)
	for _, c := range []struct {
		claim   any // nil: absent
		publish bool
		invalid bool
	}{{nil, false, false}, {true, true, false}, {false, false, false}, {"true", false, true}, {1, false, true}} {
		claims := claimsFor(exp, "*")
		if c.claim != nil {
			claims[PublishClaim] = c.claim
		}
		g, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret, "", claims))
		if c.invalid {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("publish %v: %v, want ErrInvalid", c.claim, err)
			}
			continue
		}
		if err != nil || g.Publish != c.publish {
			t.Errorf("publish %v: grant %+v, %v; want Publish %v", c.claim, g, err, c.publish)
		}
	}
}
