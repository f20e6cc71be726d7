package guard

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientAddr feeds arbitrary peers and X-Forwarded-For values to the
// client address logic: an untrusted peer is always the client, and a
// trusted one can only hand over to an address that is in the header.
func FuzzClientAddr(f *testing.F) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, s := range [][2]string{
		{"10.0.0.1:1", "192.0.2.1"}, {"10.0.0.1:1", "1.1.1.1, 192.0.2.1, 10.2.2.2"}, {"192.0.2.9:1", "10.0.0.1"},
		{"[fd00::1]:1", "[2001:db8::1]:80, fd00::2"}, {"10.0.0.1:1", "garbage, ,,"}, {"nonsense", "192.0.2.1"},
		{"10.0.0.1:1", "[::ffff:10.0.0.1]"}, {"[fe80::1%eth0]:1", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {xff}}}
		got := ClientAddr(r, trusted)
		peer := parseHostAddr(remote)
		if !isTrusted(peer, trusted) {
			if got != peer {
				t.Fatalf("untrusted peer %q: client %v, want the peer %v", remote, got, peer)
			}
			return
		}
		inHeader := false
		for hop := range strings.SplitSeq(xff, ",") {
			inHeader = inHeader || parseHostAddr(strings.TrimSpace(hop)) == got
		}
		if got != peer && !inHeader {
			t.Fatalf("client %v from peer %v is in neither the peer nor %q", got, peer, xff)
		}
		_ = AddrKey(got) // must not panic, whatever got is
	})
}
