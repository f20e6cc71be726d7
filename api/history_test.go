package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/stream"
	"github.com/tickerd/tickerd/stream/sse"
)

// historyBase is a whole five-minute boundary, so offsets from it are easy to place in bars.
var historyBase = time.Date(2025, 11, 24, 21, 25, 0, 0, time.UTC)

func historyTick(sym string, at time.Time, price float64, size int64) feed.Tick {
	return feed.Tick{Symbol: sym, Price: price, Bid: price - 0.01, Ask: price + 0.01, Size: size, Time: at}
}

// newHub returns an engine over symbols that is not running: what the
// REST edge reads needs no flush.
func newHub(t *testing.T, symbols ...string) *stream.Hub {
	t.Helper()
	cfg := stream.DefaultConfig(symbols, sse.Framing{})
	cfg.BarCapacity = 8
	h, err := stream.NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHistoryHandler(t *testing.T) {
	t.Parallel()
	hub := newHub(t, "AAPL", "BRK.B", "MSFT")
	for i, tk := range []feed.Tick{
		historyTick("AAPL", historyBase.Add(1*time.Second), 10, 100),
		historyTick("AAPL", historyBase.Add(2*time.Second), 12, 200),
		historyTick("BRK.B", historyBase.Add(3*time.Second), 400, 5),
		historyTick("AAPL", historyBase.Add(6*time.Second), 11, 300),
	} {
		tk.Seq = uint64(41 + i)
		if err := hub.Publish(tk); err != nil {
			t.Fatal(err)
		}
	}
	h := NewHistoryHandler(hub, nil)

	type body struct {
		Symbol   string       `json:"sym"`
		Interval string       `json:"interval"`
		Seq      uint64       `json:"seq"`
		Bars     []stream.Bar `json:"bars"`
		Error    string       `json:"error"`
		Symbols  []string     `json:"symbols"`
	}
	tests := []struct {
		name       string
		method     string
		target     string
		wantStatus int
		want       body
		wantErrHas string // substring of the error message
	}{
		{
			name: "5s bars", target: "/api/history?symbol=AAPL&interval=5s", wantStatus: 200,
			want: body{Symbol: "AAPL", Interval: "5s", Seq: 44, Bars: []stream.Bar{
				{Time: historyBase.Unix(), Open: 10, High: 12, Low: 10, Close: 12, Volume: 300},
				{Time: historyBase.Unix() + 5, Open: 11, High: 11, Low: 11, Close: 11, Volume: 300},
			}},
		},
		{
			name: "limit keeps the newest bars", target: "/api/history?symbol=AAPL&interval=5s&limit=1", wantStatus: 200,
			want: body{Symbol: "AAPL", Interval: "5s", Seq: 44, Bars: []stream.Bar{
				{Time: historyBase.Unix() + 5, Open: 11, High: 11, Low: 11, Close: 11, Volume: 300},
			}},
		},
		{
			name: "limit above what is kept gives everything", target: "/api/history?symbol=AAPL&interval=5s&limit=500", wantStatus: 200,
			want: body{Symbol: "AAPL", Interval: "5s", Seq: 44, Bars: []stream.Bar{
				{Time: historyBase.Unix(), Open: 10, High: 12, Low: 10, Close: 12, Volume: 300},
				{Time: historyBase.Unix() + 5, Open: 11, High: 11, Low: 11, Close: 11, Volume: 300},
			}},
		},
		{name: "limit zero", target: "/api/history?symbol=AAPL&limit=0", wantStatus: 400, wantErrHas: "invalid limit"},
		{name: "limit not a number", target: "/api/history?symbol=AAPL&limit=ten", wantStatus: 400, wantErrHas: "invalid limit"},
		{name: "limit twice", target: "/api/history?symbol=AAPL&limit=1&limit=2", wantStatus: 400, wantErrHas: "invalid limit"},
		{
			name: "1m bars", target: "/api/history?symbol=AAPL&interval=1m", wantStatus: 200,
			want: body{Symbol: "AAPL", Interval: "1m", Seq: 44, Bars: []stream.Bar{
				{Time: historyBase.Unix(), Open: 10, High: 12, Low: 10, Close: 11, Volume: 600},
			}},
		},
		{
			name: "interval defaults to 5s, symbol is case-insensitive", target: "/api/history?symbol=aapl", wantStatus: 200,
			want: body{Symbol: "AAPL", Interval: "5s", Seq: 44, Bars: []stream.Bar{
				{Time: historyBase.Unix(), Open: 10, High: 12, Low: 10, Close: 12, Volume: 300},
				{Time: historyBase.Unix() + 5, Open: 11, High: 11, Low: 11, Close: 11, Volume: 300},
			}},
		},
		{
			name: "other symbol", target: "/api/history?symbol=BRK.B&interval=1m", wantStatus: 200,
			want: body{Symbol: "BRK.B", Interval: "1m", Seq: 43, Bars: []stream.Bar{
				{Time: historyBase.Unix(), Open: 400, High: 400, Low: 400, Close: 400, Volume: 5},
			}},
		},
		{
			name: "no trades yet is an empty list", target: "/api/history?symbol=MSFT&interval=1s", wantStatus: 200,
			want: body{Symbol: "MSFT", Interval: "1s", Seq: 0, Bars: []stream.Bar{}},
		},
		{
			name: "HEAD", method: http.MethodHead, target: "/api/history?symbol=AAPL&interval=1s", wantStatus: 200,
		},
		{
			name: "missing symbol", target: "/api/history?interval=5s", wantStatus: 400,
			wantErrHas: "missing symbol",
		},
		{
			name: "empty symbol", target: "/api/history?symbol=&interval=5s", wantStatus: 400,
			wantErrHas: "missing symbol",
		},
		{
			name: "malformed symbol", target: "/api/history?symbol=AAPL%3Cb%3E", wantStatus: 400,
			wantErrHas: `symbol "AAPL<B>": '<' is not one of A-Z 0-9 . - :`,
		},
		{
			name: "overlong symbol", target: "/api/history?symbol=" + strings.Repeat("A", 100), wantStatus: 400,
			wantErrHas: "longer than",
		},
		{
			name: "unknown symbol", target: "/api/history?symbol=NOPE&interval=1s", wantStatus: 404,
			want: body{Symbols: []string{"NOPE"}}, wantErrHas: "unknown symbol",
		},
		{
			name: "bad interval", target: "/api/history?symbol=AAPL&interval=7s", wantStatus: 400,
			wantErrHas: "want one of 1s, 5s, 1m, 5m",
		},
		{
			name: "Go duration spelling is not an interval name", target: "/api/history?symbol=AAPL&interval=1m0s", wantStatus: 400,
			wantErrHas: "want one of 1s, 5s, 1m, 5m",
		},
		{
			name: "POST", method: http.MethodPost, target: "/api/history?symbol=AAPL", wantStatus: 405,
			wantErrHas: "method not allowed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(method, tt.target, nil))
			res := rec.Result()
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", res.StatusCode, tt.wantStatus, rec.Body)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if method == http.MethodHead {
				return
			}
			var got body
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("decode %s: %v", rec.Body, err)
			}
			if tt.wantErrHas != "" && !strings.Contains(got.Error, tt.wantErrHas) {
				t.Errorf("error = %q, want it to contain %q", got.Error, tt.wantErrHas)
			}
			if tt.wantErrHas == "" && got.Error != "" {
				t.Errorf("unexpected error %q", got.Error)
			}
			got.Error = ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("body = %+v, want %+v", got, tt.want)
			}
			if tt.wantStatus == 200 && !strings.Contains(rec.Body.String(), `"bars":[`) {
				t.Errorf("bars is not a JSON list: %s", rec.Body)
			}
		})
	}
}
