package main

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestContractMarketEventsOnEveryTransport holds the market's events to the
// contract on each transport: a regular session on Christmas Eve at a
// minute a second, with news halts, gives status, bands and bar events
// over SSE, WebSocket and polling, and a snapshot that carries them; and
// GET /api/market on Christmas Day names the holiday.
func TestContractMarketEventsOnEveryTransport(t *testing.T) {
	td := startTickerd(t, "-session", "exchange", "-clock-start", "2026-12-24T09:35:00-05:00", "-clock-speed", "60",
		"-halt-rate", "3600", "-rate", "500")
	want := []string{"status", "bands", "bar"}
	pollWant := append([]string{"snapshot"}, want...)
	missing := func(seen map[string]bool) []string {
		var out []string
		for _, w := range want {
			if !seen[w] {
				out = append(out, w)
			}
		}
		return out
	}

	// Polls go first, with no stream open before or beside them: a poll's
	// bars=1s alone has the bars made.
	t.Run("poll", func(t *testing.T) {
		seen := map[string]bool{}
		bars := map[int64]barBody{} // AAPL's 1s bars, by start
		since := ""                 // the first poll asks for a snapshot
		deadline := time.Now().Add(60 * time.Second)
		pollMissing := func() []string {
			var out []string
			for _, w := range pollWant {
				if !seen[w] {
					out = append(out, w)
				}
			}
			return out
		}
		for len(pollMissing()) > 0 || len(bars) < 5 {
			if time.Now().After(deadline) {
				t.Fatalf("polls never answered %v, or fewer than 5 bars of AAPL: %d", pollMissing(), len(bars))
			}
			target := td.URL + "/api/ticks?bars=1s&wait=1s"
			if since != "" {
				target += "&since=" + since
			}
			req, _ := http.NewRequest("GET", target, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			checkAnswer(t, req, resp, body)
			var answer struct {
				Events []struct {
					Type string `json:"type"`
					Seq  uint64 `json:"seq"`
					barBody
				} `json:"events"`
				Seq uint64 `json:"seq"`
			}
			if err := json.Unmarshal(body, &answer); err != nil {
				t.Fatalf("poll %s: %v", body, err)
			}
			for _, ev := range answer.Events {
				seen[ev.Type] = true
				if ev.Type == "bar" && ev.Sym == "AAPL" {
					if ev.Interval != "1s" {
						t.Fatalf("bar of %s; the polls asked for 1s", ev.Interval)
					}
					bars[ev.T] = ev.barBody
				}
			}
			if answer.Seq > 0 {
				since = strconv.FormatUint(answer.Seq, 10)
			}
		}
		// The bars the polls got are the history's, with none missing
		// from the first to the last.
		var history struct {
			Bars []barBody `json:"bars"`
		}
		if err := json.Unmarshal([]byte(get(t, td.URL+"/api/history?symbol=AAPL&interval=1s")), &history); err != nil {
			t.Fatal(err)
		}
		first, last := int64(math.MaxInt64), int64(0)
		for start := range bars {
			first, last = min(first, start), max(last, start)
		}
		compared := 0
		for _, h := range history.Bars {
			if h.T < first || h.T > last {
				continue
			}
			got, ok := bars[h.T]
			if !ok || got.O != h.O || got.H != h.H || got.L != h.L || got.C != h.C || got.V != h.V {
				t.Errorf("history bar %+v; the polls got %+v (%v)", h, got, ok)
			}
			compared++
		}
		if compared != len(bars) {
			t.Errorf("the polls got %d bars of AAPL from %d to %d; the history holds %d of them", len(bars), first, last, compared)
		}
	})

	t.Run("sse", func(t *testing.T) {
		s := openRaw(t, td.URL+"/events?bars=1s", "")
		seen := map[string]bool{}
		for len(missing(seen)) > 0 {
			ev, err := s.next()
			if err != nil {
				t.Fatalf("stream ended before %v: %v", missing(seen), err)
			}
			seen[ev.name] = true
		}
		// A stream that starts now gets the market in its snapshot.
		late := openRaw(t, td.URL+"/events", "")
		for {
			ev, err := late.next()
			if err != nil {
				t.Fatal(err)
			}
			if ev.name != "snapshot" {
				continue
			}
			for _, member := range []string{`"market":`, `"status":[{`, `"bands":[{`} {
				if !strings.Contains(ev.data, member) {
					t.Fatalf("snapshot without %s: %.300s", member, ev.data)
				}
			}
			break
		}
	})

	t.Run("ws", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(td.URL, "http")+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		subscribe := []byte(`{"op":"subscribe","symbols":["*"],"bars":["1s"]}`)
		if err := theContract(t).CheckClientMessage(subscribe); err != nil {
			t.Errorf("contract: %v", err)
		}
		if err := c.Write(ctx, websocket.MessageText, subscribe); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for len(missing(seen)) > 0 {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("socket ended before %v: %v", missing(seen), err)
			}
			checkMessage(t, data)
			var m struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatalf("message %s: %v", data, err)
			}
			seen[m.Type] = true
		}
		c.Close(websocket.StatusNormalClosure, "")
	})

	holiday := startTickerd(t, "-session", "exchange", "-clock-start", "2026-12-25T10:00:00-05:00")
	m := getMarket(t, holiday)
	today, _ := m["today"].(map[string]any)
	if today["holiday"] == nil || m["session"] != "closed" {
		t.Fatalf("GET /api/market on Christmas Day = %v; want closed for the holiday", m)
	}
}

// barBody is the body of a bar event, and a bar of /api/history.
type barBody struct {
	Sym      string  `json:"sym"`
	Interval string  `json:"interval"`
	T        int64   `json:"t"`
	O        float64 `json:"o"`
	H        float64 `json:"h"`
	L        float64 `json:"l"`
	C        float64 `json:"c"`
	V        int64   `json:"v"`
}
