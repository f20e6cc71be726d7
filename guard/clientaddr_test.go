package guard

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientAddrTrustsForwardedForOnlyFromProxies(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies configured", "203.0.113.5:4000", []string{"192.0.2.1"}, nil, "203.0.113.5"},
		{"untrusted peer", "203.0.113.5:4000", []string{"192.0.2.1"}, proxies, "203.0.113.5"},
		{"trusted peer", "10.1.2.3:4000", []string{"192.0.2.1"}, proxies, "192.0.2.1"},
		{"client's own claim ignored", "10.1.2.3:4000", []string{"1.1.1.1, 192.0.2.1"}, proxies, "192.0.2.1"},
		{"chain of proxies", "10.1.2.3:4000", []string{"192.0.2.1, 10.9.9.9"}, proxies, "192.0.2.1"},
		{"several headers", "10.1.2.3:4000", []string{"192.0.2.1", "10.9.9.9"}, proxies, "192.0.2.1"},
		{"every hop trusted", "10.1.2.3:4000", []string{"10.4.4.4, 10.5.5.5"}, proxies, "10.4.4.4"},
		{"no header from proxy", "10.1.2.3:4000", nil, proxies, "10.1.2.3"},
		{"garbage stops the walk", "10.1.2.3:4000", []string{"192.0.2.1, nonsense, 10.9.9.9"}, proxies, "10.9.9.9"},
		{"garbage alone", "10.1.2.3:4000", []string{"<script>"}, proxies, "10.1.2.3"},
		{"empty entries", "10.1.2.3:4000", []string{" , "}, proxies, "10.1.2.3"},
		{"address with port", "10.1.2.3:4000", []string{"192.0.2.1:5555"}, proxies, "192.0.2.1"},
		{"IPv6 with port", "[fd00::1]:4000", []string{"[2001:db8::7]:5555"}, proxies, "2001:db8::7"},
		{"IPv6 bare", "[fd00::1]:4000", []string{"2001:db8::7"}, proxies, "2001:db8::7"},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:4000", []string{"192.0.2.1"}, proxies, "192.0.2.1"},
		{"zone dropped", "[fe80::1%eth0]:4000", nil, proxies, "fe80::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientAddr(r, tc.trusted); got.String() != tc.want {
				t.Fatalf("clientAddr = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAddrKeyGroupsAnIPv6Slash64(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"},
		{"192.0.2.1", "::ffff:192.0.2.1"},
	} {
		if ka, kb := AddrKey(netip.MustParseAddr(tc.a)), AddrKey(netip.MustParseAddr(tc.b)); ka != kb {
			t.Errorf("%s → %s and %s → %s, want one key", tc.a, ka, tc.b, kb)
		}
	}
	if ka, kb := AddrKey(netip.MustParseAddr("2001:db8:1:2::1")), AddrKey(netip.MustParseAddr("2001:db8:1:3::1")); ka == kb {
		t.Errorf("two /64s share the key %s", ka)
	}
	if ka, kb := AddrKey(netip.MustParseAddr("192.0.2.1")), AddrKey(netip.MustParseAddr("192.0.2.2")); ka == kb {
		t.Errorf("two IPv4 addresses share the key %s", ka)
	}
}
