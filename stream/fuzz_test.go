package stream

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseSymbols feeds arbitrary query strings to the subscription parser
// of GET /events and checks what it returns against the query.
func FuzzParseSymbols(f *testing.F) {
	universe := []string{"AAPL", "MSFT", "NVDA", "BRK.B", "NASDAQ:TSLA", "X-1"}
	index := make(map[string]int)
	for i, s := range universe {
		index[s] = i
	}
	const maxSymbols = 4
	for _, q := range []string{
		"", "symbols=", "symbols=AAPL", "symbols=aapl,msft", "symbols=AAPL&symbols=NVDA", "symbols=AAPL,,MSFT",
		"symbols=AAPL,", "symbols=FOO,AAPL,BAR", "symbols=brk.b,nasdaq:tsla,x-1", "symbols=%zz", "symbols=AA%20PL",
		"symbols=AAPL,AAPL,AAPL,AAPL,AAPL", "symbols=A,B,C,D,E", "symbols=%3Cscript%3E", "symbols=ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"symbols=\u0131bm", "lastEventId=5&symbols=MSFT", "symbols=AAPL;MSFT",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		query, err := url.ParseQuery(raw)
		if err != nil {
			return // answered 400 before the parser runs
		}
		values := query["symbols"]
		sub, names, err := parseSymbols(values, index, maxSymbols)
		if err != nil {
			bad, unknown := errors.Is(err, errBadQuery), errors.Is(err, errUnknownSymbols)
			if bad == unknown || sub != nil || names != nil {
				t.Fatalf("error %v: bad %v, unknown %v, sub %v, names %v", err, bad, unknown, sub, names)
			}
			var u *unknownSymbolsError
			if errors.As(err, &u) {
				for _, s := range u.symbols {
					if _, known := index[s]; known || checkSymbolName(s) != nil {
						t.Fatalf("%q reported unknown", s)
					}
				}
			}
			return
		}
		if values == nil {
			if sub != nil || names != nil {
				t.Fatalf("no symbols parameter gave %v %v, want every symbol (nil)", sub, names)
			}
			return
		}
		if len(names) > maxSymbols || len(names) == 0 {
			t.Fatalf("%d names from %q", len(names), raw)
		}
		seen := map[string]bool{}
		for _, n := range names {
			i, ok := index[n]
			if !ok || seen[n] || !sub.has(i) {
				t.Fatalf("name %q: known %v, repeated %v, in the subscription %v", n, ok, seen[n], ok && sub.has(i))
			}
			seen[n] = true
			if !strings.Contains(strings.ToUpper(strings.Join(values, ",")), n) {
				t.Fatalf("%q is not in the query %q", n, raw)
			}
		}
		for i, s := range universe {
			if sub.has(i) != seen[s] {
				t.Fatalf("subscription has %s = %v, names %v", s, sub.has(i), names)
			}
		}
	})
}

// FuzzParseLastEventID checks that any resume point a client sends is either
// a decimal sequence number or treated as absent, and never an error.
func FuzzParseLastEventID(f *testing.F) {
	for _, s := range [][2]string{
		{"", ""}, {"42", ""}, {"", "42"}, {"42", "7"}, {"abc", "7"}, {" 42 ", ""}, {"-1", ""}, {"1e3", ""},
		{"18446744073709551615", ""}, {"18446744073709551616", ""}, {"0x10", ""}, {"+5", ""}, {"\t9\n", ""},
		{"0", ""}, {"007", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, header, query string) {
		id, ok := parseLastEventID(header, query)
		want, wantOK := uint64(0), false
		for _, s := range []string{header, query} {
			if n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64); err == nil {
				want, wantOK = n, true
				break
			}
		}
		if ok != wantOK || id != want {
			t.Fatalf("parseLastEventID(%q, %q) = %d, %v; want %d, %v", header, query, id, ok, want, wantOK)
		}
		if ok {
			if again, ok := parseLastEventID(strconv.FormatUint(id, 10), ""); !ok || again != id {
				t.Fatalf("id %d does not round-trip", id)
			}
		}
	})
}

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
		got := clientAddr(r, trusted)
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
		_ = addrKey(got) // must not panic, whatever got is
	})
}
