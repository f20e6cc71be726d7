package guard

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// CORS answers cross-origin requests from an allow-list of origins.
type CORS struct {
	origins map[string]bool // normalized: scheme://host[:port]
	any     bool            // "*": every origin, without credentials
}

// What an allowed origin may do.
const (
	corsMethods       = "GET, HEAD"
	corsHeaders       = "Authorization, Last-Event-ID"
	corsExposeHeaders = "Retry-After, WWW-Authenticate"
	corsMaxAge        = 10 * time.Minute
)

// NewCORS returns the allow-list of origins, each scheme://host[:port] with
// scheme http or https, or the single entry "*" for every origin. An empty
// list allows no cross-origin request: pages of other origins cannot read
// tickerd's answers.
func NewCORS(origins []string) (*CORS, error) {
	c := &CORS{origins: make(map[string]bool)}
	for _, o := range origins {
		if o == "*" {
			c.any = true
			continue
		}
		n, err := normalizeOrigin(o)
		if err != nil {
			return nil, err
		}
		c.origins[n] = true
	}
	if c.any && len(c.origins) > 0 {
		return nil, fmt.Errorf("origin * cannot be listed with others")
	}
	return c, nil
}

// normalizeOrigin returns o as a browser sends it in the Origin header.
func normalizeOrigin(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("origin %q: want scheme://host[:port] with scheme http or https", o)
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("origin %q: bad port", o)
		}
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return u.Scheme + "://" + host, nil
}

// allowed reports whether a request from origin may read the answer.
func (c *CORS) allowed(origin string) bool {
	return origin != "" && (c.any || c.origins[strings.ToLower(origin)])
}

// Wrap returns next behind the allow-list. A request from an allowed origin
// gets Access-Control-Allow-Origin (and, for a listed origin,
// Access-Control-Allow-Credentials, so that cookies work); its preflight
// (OPTIONS with Access-Control-Request-Method) is answered 204 with the
// methods and headers tickerd accepts and how long to cache that. A request
// from any other origin passes untouched, without CORS headers, so a
// browser keeps its answer from the page that asked. With an empty list,
// Wrap returns next itself.
func (c *CORS) Wrap(next http.Handler) http.Handler {
	if !c.any && len(c.origins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
		}
		if !c.allowed(origin) {
			next.ServeHTTP(w, r)
			return
		}
		if c.any {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if !preflight {
			h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Allow-Headers", corsHeaders)
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(corsMaxAge.Seconds())))
		w.WriteHeader(http.StatusNoContent)
	})
}

// AllowsWebSocket reports whether a WebSocket handshake r may be taken.
// Browsers send cookies on a WebSocket handshake from any page and CORS
// does not apply to it, so the Origin is checked here (cross-site
// WebSocket hijacking): a page of the same origin as the request's Host,
// or of an origin on the allow-list, may connect. A handshake without
// Origin comes from a client that is not a browser, which sends the
// credentials it was given, and is taken. With "*" on the list, any
// origin may connect without cookies, as it may read every answer without
// them.
func (c *CORS) AllowsWebSocket(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || c.origins[strings.ToLower(origin)] {
		return true
	}
	if u, err := url.Parse(origin); err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) && (u.Scheme == "http" || u.Scheme == "https") {
		return true
	}
	return c.any && r.Header.Get("Cookie") == ""
}
