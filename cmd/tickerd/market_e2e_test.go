package main

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/market"
)

// getMarket answers GET /api/market, held to the contract.
func getMarket(t *testing.T, td *tickerd) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", td.URL+"/api/market", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	checkAnswer(t, req, resp, body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("GET /api/market %s: %v", body, err)
	}
	return m
}

// TestExchangeSessionOnALiveServer runs the early close of Christmas Eve
// at half an hour a second: the stream starts in the regular session (or,
// started late, in after-hours), gets the
// close and the end of after-hours as status events, and GET /api/market
// follows, with Monday's open next.
func TestExchangeSessionOnALiveServer(t *testing.T) {
	td := startTickerd(t, "-session", "exchange", "-clock-start", "2026-12-24T12:30:00-05:00", "-clock-speed", "1800", "-rate", "200")
	s := openRaw(t, td.URL+"/events", "")
	ny := market.NewYork().Location()
	type status struct {
		Sym   string `json:"sym"`
		State string `json:"state"`
		TS    int64  `json:"ts"`
	}
	first, err := s.next()
	if err != nil || first.name != "snapshot" {
		t.Fatalf("first event %+v, %v; want the snapshot", first, err)
	}
	var snap struct{ Market *status }
	if err := json.Unmarshal([]byte(first.data), &snap); err != nil {
		t.Fatal(err)
	}
	var states []string
	if snap.Market != nil { // the stream came after the market's first status
		states = append(states, snap.Market.State+"@"+time.Unix(0, snap.Market.TS).In(ny).Format("15:04"))
	}
	lastTick := map[string]time.Time{}
	for !slices.Contains(states, "closed@17:00") {
		ev, err := s.next()
		if err != nil {
			t.Fatalf("after %v: %v", states, err)
		}
		switch ev.name {
		case "status":
			var st status
			if err := json.Unmarshal([]byte(ev.data), &st); err != nil {
				t.Fatal(err)
			}
			if st.Sym == "" {
				states = append(states, st.State+"@"+time.Unix(0, st.TS).In(ny).Format("15:04"))
			}
		case "tick":
			var tk feed.Tick
			if err := json.Unmarshal([]byte(ev.data), &tk); err != nil {
				t.Fatal(err)
			}
			lastTick[tk.Symbol] = tk.Time
		}
	}
	// A stream that starts late (a busy machine) begins in after-hours.
	got := strings.Join(states, " ")
	if got != "trading@12:30 post@13:00 closed@17:00" && got != "post@13:00 closed@17:00" {
		t.Fatalf("market statuses %v; want trading from 12:30, post at 13:00 and closed at 17:00", states)
	}
	closeAt := time.Date(2026, 12, 24, 22, 0, 0, 0, time.UTC)
	for sym, at := range lastTick {
		if at.After(closeAt) {
			t.Errorf("a tick of %s at %v, after the close of after-hours", sym, at)
		}
	}
	m := getMarket(t, td)
	if m["mode"] != "exchange" || m["session"] != "closed" || m["next_open"] != "2026-12-28T09:30:00-05:00" {
		t.Errorf("GET /api/market = %v; want closed until Monday 09:30", m)
	}
}

// TestHaltsOnALiveServer halts symbols for news a hundred times a
// second: no tick of a halted symbol reaches the stream until it trades again.
func TestHaltsOnALiveServer(t *testing.T) {
	td := startTickerd(t, "-halt-rate", "3600", "-clock-speed", "100", "-rate", "500")
	s := openRaw(t, td.URL+"/events?bars=1s", "")
	halted := map[string]bool{}
	halts, resumes, bars := 0, 0, 0
	for resumes < 3 || bars == 0 {
		ev, err := s.next()
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Sym   string `json:"sym"`
			State string `json:"state"`
		}
		if ev.name != "snapshot" {
			if err := json.Unmarshal([]byte(ev.data), &e); err != nil {
				t.Fatal(err)
			}
		}
		switch ev.name {
		case "snapshot":
			// Symbols halted before the stream began are in its snapshot.
			var snap struct {
				Status []struct {
					Sym   string `json:"sym"`
					State string `json:"state"`
				} `json:"status"`
			}
			if err := json.Unmarshal([]byte(ev.data), &snap); err != nil {
				t.Fatal(err)
			}
			for _, st := range snap.Status {
				if st.State == "halted" || st.State == "paused" {
					halted[st.Sym] = true
				}
			}
		case "status":
			switch e.State {
			case "halted", "paused":
				halted[e.Sym] = true
				halts++
			case "trading":
				if e.Sym != "" {
					if !halted[e.Sym] {
						t.Fatalf("%s resumed without a halt", e.Sym)
					}
					delete(halted, e.Sym)
					resumes++
				}
			}
		case "tick":
			if halted[e.Sym] {
				t.Fatalf("tick %s of %s while it is halted", ev.id, e.Sym)
			}
		case "bar":
			bars++
		}
	}
	if halts < resumes {
		t.Errorf("%d halts, %d resumptions", halts, resumes)
	}
}

// TestBadMarketInputIsRefusedByName asks for a bar interval no store keeps
// on every transport.
func TestBadMarketInputIsRefusedByName(t *testing.T) {
	td := startTickerd(t)
	for _, path := range []string{"/events?bars=2m", "/api/ticks?bars=1s,2m", "/ws?bars=2m"} {
		req, _ := http.NewRequest("GET", td.URL+path, nil)
		if strings.HasPrefix(path, "/ws") {
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `unknown bars interval \"2m\"; want 1s, 5s, 1m, 5m`) {
			t.Errorf("GET %s: %d %s; want 400 naming the interval", path, resp.StatusCode, body)
		}
	}
}
