package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/fakeclock"
	"github.com/tickerd/tickerd/market"
)

func TestMarketHandler(t *testing.T) {
	hub := newHub(t, "AAPL")
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		cfg  MarketConfig
		want string
	}{
		{"early close", MarketConfig{Calendar: market.NewYork(), Clock: fakeclock.New(at("2026-12-24T17:55:00Z"))},
			`{"mode":"exchange","session":"trading","now":"2026-12-24T12:55:00-05:00",` +
				`"next_open":"2026-12-28T09:30:00-05:00","next_close":"2026-12-24T13:00:00-05:00",` +
				`"today":{"date":"2026-12-24","trading":true,"early_close":true,"pre_open":"2026-12-24T04:00:00-05:00",` +
				`"open":"2026-12-24T09:30:00-05:00","close":"2026-12-24T13:00:00-05:00","post_close":"2026-12-24T17:00:00-05:00"}}`},
		{"holiday", MarketConfig{Calendar: market.NewYork(), Clock: fakeclock.New(at("2026-12-25T15:00:00Z"))},
			`{"mode":"exchange","session":"closed","now":"2026-12-25T10:00:00-05:00",` +
				`"next_open":"2026-12-28T09:30:00-05:00","next_close":"2026-12-28T16:00:00-05:00",` +
				`"today":{"date":"2026-12-25","trading":false,"holiday":"Christmas Day","early_close":false,"pre_open":null,"open":null,"close":null,"post_close":null}}`},
		{"around the clock", MarketConfig{Clock: fakeclock.New(at("2026-12-25T15:00:00Z"))},
			`{"mode":"always","session":"trading","now":"2026-12-25T15:00:00Z","next_open":null,"next_close":null,"today":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			NewMarketHandler(hub, tt.cfg).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/market", nil))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			var got, want any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if gb, _ := json.Marshal(got); string(gb) != mustCompact(t, want) {
				t.Errorf("body\n %s\nwant\n %s", w.Body.Bytes(), tt.want)
			}
		})
	}
	w := httptest.NewRecorder()
	NewMarketHandler(hub, MarketConfig{}).ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/market", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d; want 405", w.Code)
	}
}

func mustCompact(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
