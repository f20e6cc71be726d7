package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseConfigErrors(t *testing.T) {
	const u = "-url=http://127.0.0.1:1/events"
	tests := []struct {
		args []string
		want string
	}{
		{[]string{}, "-url is required"},
		{[]string{"-url=https://127.0.0.1/events"}, "only http://"},
		{[]string{"-url=http:///events"}, "want http://host:port"},
		{[]string{u, "-clients=0"}, "-clients must be at least 1"},
		{[]string{u, "-clients=100000000"}, "open files"},
		{[]string{u, "-mode=all"}, "-mode must be"},
		{[]string{u, "-symbols=AAPL"}, "-symbols is used only with"},
		{[]string{u, "-mode=one"}, "needs -symbols"},
		{[]string{u, "-mode=one", "-symbols=AAPL,aapl"}, `-symbols: symbol "aapl": lower-case 'a'; names are upper-case`},
		{[]string{u, "-mode=one", "-symbols=AAPL,,MSFT"}, `-symbols: symbol "": empty`},
		{[]string{u, "-mode=one", "-symbols=NASDAQ:"}, `-symbols: symbol "NASDAQ:": no ticker after ':'`},
		{[]string{u, "-mode=one", "-symbols=BRK..B"}, `-symbols: symbol "BRK..B": ticker "BRK..B" has a '.'`},
		{[]string{u, "-mode=one", "-symbols=ABCDEFGHIJKL:AAPL"}, `exchange "ABCDEFGHIJKL" is longer than 11 letters`},
		{[]string{u, "-mode=one", "-symbols=AAPL,AAPL"}, "AAPL listed twice"},
		{[]string{u, "-mode=random", "-symbols=AAPL,MSFT", "-k=3"}, "-k must be between 1 and the 2"},
		{[]string{u + "?symbols=AAPL", "-mode=one", "-symbols=MSFT"}, "remove it from -url"},
		{[]string{u, "-duration=0s"}, "-duration must be at least"},
		{[]string{u, "-ramp=-1s"}, "-ramp must be at least"},
		{[]string{u, "-stall=1"}, "-stall must be in [0,1)"},
		{[]string{u, "-sample=-1"}, "-sample"},
		{[]string{u, "-sample=150%"}, "-sample"},
		{[]string{u, "-bufsize=100"}, "-bufsize must be"},
		{[]string{u, "-pid=999999999"}, "-pid 999999999"},
		{[]string{u, "extra"}, `unexpected argument "extra"`},
		{[]string{u, "-nosuchflag"}, "flag provided but not defined"},
		{[]string{u, "-transport=sockjs"}, `-transport must be sse, ws or poll, got "sockjs"`},
		{[]string{"-url=ws://127.0.0.1:1/ws"}, "only http:// is supported (and ws:// with -transport ws)"},
		{[]string{"-transport=poll", "-poll-wait=25s"}, "-url is required, e.g. -url http://127.0.0.1:8080/api/ticks"},
		{[]string{u, "-transport=poll"}, "needs -poll-wait (long polling, e.g. 25s) or -poll-interval"},
		{[]string{u, "-transport=poll", "-poll-wait=25s", "-poll-interval=1s"}, "exclude each other"},
		{[]string{u, "-transport=poll", "-poll-interval=-1s"}, "must not be negative"},
		{[]string{u, "-transport=ws", "-poll-wait=25s"}, "used only with -transport poll"},
		{[]string{u, "-poll-interval=1s"}, "used only with -transport poll"},
		{[]string{u, "-transport=poll", "-poll-wait=25s", "-stall=0.1"}, "-stall is for streams"},
		{[]string{u, "-sources=-1"}, "-sources must be between 0 and 253, got -1"},
		{[]string{u, "-sources=254"}, "-sources must be between 0 and 253, got 254"},
		{[]string{"-url=http://10.0.0.1:1/events", "-sources=2"}, "reach only a server on an IPv4 loopback address; -url names 10.0.0.1"},
		{[]string{"-url=http://localhost:1/events", "-sources=2"}, "-url names localhost"},
	}
	for _, tt := range tests {
		_, err := parseConfig(tt.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseConfig(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

func TestParseConfigRoles(t *testing.T) {
	cfg, err := parseConfig([]string{"-url=http://127.0.0.1:9/events?stream=ticks", "-clients=200",
		"-stall=0.1", "-sample=5%", "-mode=random", "-symbols=AAPL,MSFT,NVDA,AMZN", "-k=2",
		"-ramp=0s", "-duration=2s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.stall != 20 || cfg.sample != 9 || cfg.addr != "127.0.0.1:9" || cfg.duration != 2*time.Second {
		t.Errorf("stall %d sample %d addr %s duration %v; want 20 9 127.0.0.1:9 2s", cfg.stall, cfg.sample, cfg.addr, cfg.duration)
	}
	load := newLoadRun(cfg)
	var stalled, sampled int
	for _, c := range load.clients {
		if c.stalled {
			stalled++
		}
		if c.sampled {
			sampled++
		}
		if c.stalled && c.sampled {
			t.Error("a client is both stalled and sampled")
		}
		req := string(c.session.(*sseSession).request)
		if !strings.HasPrefix(req, "GET /events?stream=ticks&symbols=") || strings.Count(strings.Fields(req)[1], ",") != 1 {
			t.Fatalf("request %q: want stream=ticks and two symbols", req)
		}
	}
	if stalled != 20 || sampled != 9 {
		t.Errorf("%d stalled, %d sampled clients; want 20, 9", stalled, sampled)
	}
}

func TestParseConfigTransports(t *testing.T) {
	tests := []struct {
		args      []string
		transport string
		wait      time.Duration
		interval  time.Duration
		url       string
	}{
		{[]string{"-url=http://h:1/events"}, "sse", 0, 0, "http://h:1/events"},
		{[]string{"-url=ws://h:1/ws", "-transport=ws"}, "ws", 0, 0, "http://h:1/ws"},
		{[]string{"-url=http://h:1/api/ticks", "-transport=poll", "-poll-wait=25s"}, "poll", 25 * time.Second, 0, "http://h:1/api/ticks"},
		{[]string{"-url=http://h:1/api/ticks", "-transport=poll", "-poll-interval=1s"}, "poll", 0, time.Second, "http://h:1/api/ticks"},
	}
	for _, tt := range tests {
		cfg, err := parseConfig(tt.args, io.Discard)
		if err != nil {
			t.Errorf("parseConfig(%q): %v", tt.args, err)
			continue
		}
		if cfg.transport != tt.transport || cfg.pollWait != tt.wait || cfg.pollInterval != tt.interval || cfg.url.String() != tt.url {
			t.Errorf("parseConfig(%q) = %s, wait %v, interval %v, %s; want %s, %v, %v, %s",
				tt.args, cfg.transport, cfg.pollWait, cfg.pollInterval, cfg.url, tt.transport, tt.wait, tt.interval, tt.url)
		}
	}
}

func TestWebSocketClientsSubscribeUnlessTheURLNamesSymbols(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		subscribe bool
	}{
		{[]string{"-url=http://h:1/ws"}, true},
		{[]string{"-url=http://h:1/ws?maxfreq=4"}, true},
		{[]string{"-url=http://h:1/ws?symbols=AAPL"}, false},
		{[]string{"-url=http://h:1/ws", "-mode=random", "-symbols=AAPL,MSFT", "-k=1"}, false},
	} {
		cfg, err := parseConfig(append(tt.args, "-transport=ws"), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if got := newLoadRun(cfg).clients[0].session.(*wsSession).subscribe; got != tt.subscribe {
			t.Errorf("%q: subscribe %v, want %v", tt.args, got, tt.subscribe)
		}
	}
}

func TestBuildRequest(t *testing.T) {
	cfg, err := parseConfig([]string{"-url=http://localhost:8080/events", "-mode=one", "-symbols=AAPL,BRK.B,NASDAQ:AAPL"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	load := newLoadRun(cfg)
	for i, sym := range []string{"AAPL", "BRK.B", "NASDAQ:AAPL"} {
		want := "GET /events?symbols=" + sym + " HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: tickload\r\n" +
			"Accept: text/event-stream\r\nCache-Control: no-cache\r\n"
		if got := string(load.clients[i].session.(*sseSession).request); got != want {
			t.Errorf("request %d = %q, want %q", i, got, want)
		}
	}
	if got := cfg.addr; got != "localhost:8080" {
		t.Errorf("addr = %q", got)
	}
}
