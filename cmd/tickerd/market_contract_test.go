package main

import (
	"context"
	"encoding/json"
	"io"
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

	t.Run("poll", func(t *testing.T) {
		// Bars are made only while a stream asks for their interval; a
		// poll is no stream, so one is kept open meanwhile.
		openRaw(t, td.URL+"/events?symbols=AAPL&bars=1s", "")
		seen := map[string]bool{}
		since := "" // the first poll asks for a snapshot
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
		for len(pollMissing()) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("polls never answered %v", pollMissing())
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
				} `json:"events"`
				Seq uint64 `json:"seq"`
			}
			if err := json.Unmarshal(body, &answer); err != nil {
				t.Fatalf("poll %s: %v", body, err)
			}
			for _, ev := range answer.Events {
				seen[ev.Type] = true
			}
			if answer.Seq > 0 {
				since = strconv.FormatUint(answer.Seq, 10)
			}
		}
	})

	holiday := startTickerd(t, "-session", "exchange", "-clock-start", "2026-12-25T10:00:00-05:00")
	m := getMarket(t, holiday)
	today, _ := m["today"].(map[string]any)
	if today["holiday"] == nil || m["session"] != "closed" {
		t.Fatalf("GET /api/market on Christmas Day = %v; want closed for the holiday", m)
	}
}
