package guard

import (
	"net/http"
	"net/netip"
	"strings"
)

// AddrKey is the unit a per-address limit counts: an IPv4 address, or the
// /64 an IPv6 address is in, since one IPv6 host usually holds a whole /64.
func AddrKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits) // the zero Addr gives the zero Prefix: one shared key
	return p
}

// ClientAddr returns the address of the client that sent r. That is the
// connection's peer, unless the peer is one of the trusted proxies: then
// X-Forwarded-For is read from the right, skipping trusted proxies, and the
// first address that is not one is the client. When every hop is trusted
// the leftmost is taken; an entry that does not parse ends the walk at the
// hop behind it, so garbage a client writes into the header can never
// choose its address.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := parseHostAddr(r.RemoteAddr)
	if !isTrusted(peer, trusted) {
		return peer
	}
	client := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		hops := values[i]
		for hops != "" {
			var hop string
			if j := strings.LastIndexByte(hops, ','); j >= 0 {
				hops, hop = hops[:j], hops[j+1:]
			} else {
				hops, hop = "", hops
			}
			a := parseHostAddr(strings.TrimSpace(hop))
			if !a.IsValid() {
				return client
			}
			client = a
			if !isTrusted(a, trusted) {
				return a
			}
		}
	}
	return client
}

// parseHostAddr parses an address with or without a port: 192.0.2.1,
// 192.0.2.1:80, 2001:db8::1, [2001:db8::1]:80. It returns the zero Addr
// for anything else.
func parseHostAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
