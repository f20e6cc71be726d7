package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/ingest"
)

// TestPublishBesideTheMarketIsNumberedInOneOrder runs the publish API
// beside the simulated market in exchange hours with news halts, so that
// statuses and bands come between the simulator's ticks and the
// published ones: a stream gets all of them, every id above the one
// before, and the server rejects none for its number.
func TestPublishBesideTheMarketIsNumberedInOneOrder(t *testing.T) {
	td := startTickerd(t, "-session", "exchange", "-clock-start", "2026-12-24T09:35:00-05:00", "-clock-speed", "60",
		"-halt-rate", "360", "-rate", "500", "-symbols", "AAPL,MSFT,NVDA,AMZN",
		"-publish-rate", "1000", "-publish-key-file", secretFile(t, "key", publishKey))
	s := openRaw(t, td.URL+"/events?bars=1s", "")

	type last struct {
		price float64
		ns    int64
	}
	prices := map[string]last{} // the simulator's latest tick of each symbol
	halted := map[string]bool{}
	seen := map[string]int{}
	var published, rejectedHalted, sent int
	var lastID uint64
	deadline := time.Now().Add(60 * time.Second)
	for seen["status"] < 3 || seen["bands"] < 3 || seen["bar"] < 3 || seen["tick"] < 300 || published < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: %v and %d published ticks", seen, published)
		}
		ev, err := s.next()
		if err != nil {
			t.Fatalf("stream ended after %v: %v", seen, err)
		}
		seen[ev.name]++
		switch {
		case ev.name == "bar" && ev.id != "":
			t.Fatalf("bar event with id %q", ev.id)
		case ev.name == "bar", ev.name == "snapshot" && ev.id == "": // bars carry none; nor does a snapshot before the first event
			continue
		}
		id, err := strconv.ParseUint(ev.id, 10, 64)
		if err != nil || (lastID != 0 && id <= lastID) {
			t.Fatalf("%s event id %q after %d: %.200s", ev.name, ev.id, lastID, ev.data)
		}
		lastID = id
		var body struct {
			Seq   uint64  `json:"seq"`
			Sym   string  `json:"sym"`
			State string  `json:"state"`
			Price float64 `json:"px"`
			Size  int64   `json:"size"`
			Time  int64   `json:"ts"`
		}
		if err := json.Unmarshal([]byte(ev.data), &body); err != nil {
			t.Fatalf("%s %s: %v", ev.name, ev.data, err)
		}
		if ev.name != "snapshot" && body.Seq != id {
			t.Fatalf("%s event id %d carries seq %d", ev.name, id, body.Seq)
		}
		switch ev.name {
		case "status":
			if body.Sym != "" {
				halted[body.Sym] = body.State != "trading"
			}
		case "tick":
			if body.Size%2 == 1 && body.Size > 1000 { // one of ours: the simulator's sizes are round lots or below 100
				published++
				continue
			}
			prices[body.Sym] = last{body.Price, body.Time}
			// Every tenth simulator tick, publish one beside it, at its
			// price and market time, for a symbol that trades.
			if seen["tick"]%10 != 0 || halted[body.Sym] {
				continue
			}
			size := 1001 + 2*sent
			sent++
			line := fmt.Sprintf(`{"sym":%q,"px":%v,"bid":%v,"ask":%v,"size":%d,"ts":%d}`,
				body.Sym, body.Price, body.Price-0.01, body.Price+0.01, size, body.Time)
			a := postTicks(t, td.URL, publishKey, ingest.ContentType, strings.NewReader(line))
			switch {
			case a.status != 200:
				t.Fatalf("publish %s: %d %s", line, a.status, a.raw)
			case a.result.Accepted == 1:
			case len(a.result.Rejected) == 1 && strings.Contains(a.result.Rejected[0].Error, "halted"):
				rejectedHalted++ // halted after the tick it followed: the hygiene's, not the numbering's
			default:
				t.Fatalf("publish %s: %s; want it accepted", line, a.raw)
			}
		}
	}
	if sent-rejectedHalted < published {
		t.Errorf("%d published ticks came, of %d accepted", published, sent-rejectedHalted)
	}
	text := scrape(t, td)
	if m := regexp.MustCompile(`(?m)^tickerd_feed_ticks_rejected_total\{reason="sequence"\} (\S+)$`).FindStringSubmatch(text); m == nil || m[1] != "0" {
		t.Errorf("rejected for their sequence: %v; want 0", m)
	}
}
