package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tickerd/tickerd/internal/ssetest"
)

// deliveredTick is what a transport delivered of one tick.
type deliveredTick struct {
	Seq uint64  `json:"seq"`
	Sym string  `json:"sym"`
	Px  float64 `json:"px"`
}

// TestOneSubscriptionOverEveryTransportSeesTheSameTicks reads the same
// subscription, from the same resume point, over SSE, WebSocket and
// polling at once: each sees the same ticks in the same order, with no
// gap and no duplicate.
func TestOneSubscriptionOverEveryTransportSeesTheSameTicks(t *testing.T) {
	td := startTickerd(t, "-rate", "400", "-symbols", "AAPL,MSFT,NVDA,TSLA")
	var start struct{ Seq uint64 }
	getJSONInto(t, td.URL+"/api/symbols", &start)
	const symbols, want = "AAPL,NVDA", 300
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	readers := map[string]func() ([]deliveredTick, error){
		"sse": func() ([]deliveredTick, error) {
			req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/events?symbols=%s&lastEventId=%d", td.URL, symbols, start.Seq), nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			checkAnswer(t, req, resp, nil)
			r := ssetest.NewReader(resp.Body)
			var got []deliveredTick
			for len(got) < want {
				ev, err := r.Next()
				if err != nil {
					return got, err
				}
				if ev.Name != "" {
					checkEvent(t, ev.Name, ev.ID, ev.Data)
				}
				if ev.Name != "tick" {
					continue
				}
				var tk deliveredTick
				if err := json.Unmarshal([]byte(ev.Data), &tk); err != nil {
					return got, err
				}
				got = append(got, tk)
			}
			return got, nil
		},
		"ws": func() ([]deliveredTick, error) {
			u := "ws" + strings.TrimPrefix(td.URL, "http") + fmt.Sprintf("/ws?symbols=%s&lastEventId=%d", symbols, start.Seq)
			c, _, err := websocket.Dial(ctx, u, nil)
			if err != nil {
				return nil, err
			}
			defer c.CloseNow()
			var got []deliveredTick
			for len(got) < want {
				_, data, err := c.Read(ctx)
				if err != nil {
					return got, err
				}
				checkMessage(t, data)
				var m struct {
					Type string `json:"type"`
					deliveredTick
				}
				if err := json.Unmarshal(data, &m); err != nil {
					return got, err
				}
				if m.Type == "tick" {
					got = append(got, m.deliveredTick)
				}
			}
			return got, nil
		},
		"poll": func() ([]deliveredTick, error) {
			var got []deliveredTick
			since := start.Seq
			for len(got) < want {
				var a struct {
					Seq    uint64 `json:"seq"`
					Events []struct {
						Type string `json:"type"`
						deliveredTick
					} `json:"events"`
				}
				req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/ticks?symbols=%s&since=%d&wait=5s", td.URL, symbols, since), nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return got, err
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					return got, err
				}
				checkAnswer(t, req, resp, body)
				if err := json.Unmarshal(body, &a); err != nil {
					return got, err
				}
				for _, e := range a.Events {
					if e.Type != "tick" {
						return got, fmt.Errorf("a %s in a poll after %d", e.Type, since)
					}
					got = append(got, e.deliveredTick)
				}
				since = a.Seq
			}
			return got, nil
		},
	}
	var mu sync.Mutex
	results := map[string][]deliveredTick{}
	var wg sync.WaitGroup
	for name, read := range readers {
		wg.Go(func() {
			got, err := read()
			if err != nil {
				t.Errorf("%s: %v after %d ticks", name, err, len(got))
			}
			mu.Lock()
			results[name] = got[:min(len(got), want)]
			mu.Unlock()
		})
	}
	wg.Wait()
	sse := results["sse"]
	if len(sse) != want {
		t.Fatalf("SSE delivered %d ticks, want %d", len(sse), want)
	}
	for i, tk := range sse {
		if tk.Sym != "AAPL" && tk.Sym != "NVDA" {
			t.Fatalf("SSE delivered a %s tick", tk.Sym)
		}
		if i > 0 && tk.Seq <= sse[i-1].Seq {
			t.Fatalf("SSE: seq %d after %d", tk.Seq, sse[i-1].Seq)
		}
	}
	if sse[0].Seq <= start.Seq {
		t.Fatalf("SSE started at %d, resuming after %d", sse[0].Seq, start.Seq)
	}
	for _, name := range []string{"ws", "poll"} {
		if !slices.Equal(results[name], sse) {
			t.Errorf("%s delivered %d ticks that differ from SSE's %d (first %s vs %s)", name, len(results[name]), len(sse),
				firstTicks(results[name]), firstTicks(sse))
		}
	}
}

func firstTicks(ts []deliveredTick) string {
	var b strings.Builder
	for _, tk := range ts[:min(len(ts), 3)] {
		b.WriteString(strconv.FormatUint(tk.Seq, 10) + tk.Sym + " ")
	}
	return b.String()
}
