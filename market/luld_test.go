package market_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tickerd/tickerd/market"
)

func TestBandsFor(t *testing.T) {
	tests := []struct {
		ref          float64
		doubled      bool
		lower, upper float64
	}{
		{100, false, 95, 105},
		{100, true, 90, 110},
		{189.23, false, 179.77, 198.69}, // 9.4615 wide: the lower rounded up, the upper down
		{3.00, false, 2.4, 3.6},         // 20% at $3 and below
		{0.75, false, 0.6, 0.9},
		{0.5, false, 0.35, 0.65}, // $0.15 below $0.75
		{0.1, false, 0.03, 0.17}, // 75% of a low price, never below a cent
		{0.01, false, 0.01, 0.01},
	}
	for _, tt := range tests {
		lower, upper := market.BandsFor(tt.ref, tt.doubled)
		if lower != tt.lower || upper != tt.upper {
			t.Errorf("BandsFor(%v, %v) = %v, %v; want %v, %v", tt.ref, tt.doubled, lower, upper, tt.lower, tt.upper)
		}
	}
}

func TestDoubled(t *testing.T) {
	c := market.NewYork()
	tests := []struct {
		at   string
		ref  float64
		want bool
	}{
		{"2026-03-09T09:29:59-04:00", 100, false},
		{"2026-03-09T09:30:00-04:00", 100, true},
		{"2026-03-09T09:44:59-04:00", 100, true},
		{"2026-03-09T09:45:00-04:00", 100, false},
		{"2026-03-09T15:40:00-04:00", 100, false},
		{"2026-03-09T15:40:00-04:00", 2.5, true},
		{"2026-03-09T15:34:59-04:00", 2.5, false},
		{"2026-12-24T12:40:00-05:00", 2.5, true}, // the last 25 minutes before an early close
		{"2026-12-24T15:40:00-05:00", 2.5, false},
	}
	for _, tt := range tests {
		if got := c.Doubled(utc(tt.at), tt.ref); got != tt.want {
			t.Errorf("Doubled(%s, %v) = %v; want %v", tt.at, tt.ref, got, tt.want)
		}
	}
}

func TestReferenceIsTheMeanOfTheLastFiveMinutes(t *testing.T) {
	var r market.Reference
	start := utc("2026-03-09T10:00:00-04:00")
	if _, ok := r.Mean(start); ok {
		t.Fatal("an empty reference has a mean")
	}
	r.Add(start, 10)
	r.Add(start.Add(time.Minute), 20)
	r.Add(start.Add(2*time.Minute), 30)
	if got, _ := r.Mean(start.Add(2 * time.Minute)); got != 20 {
		t.Errorf("mean = %v; want 20", got)
	}
	// Six minutes on, the first trade's bucket has left the window.
	if got, _ := r.Mean(start.Add(6 * time.Minute)); got != 25 {
		t.Errorf("mean after the first trade left the window = %v; want 25", got)
	}
	if _, ok := r.Mean(start.Add(10 * time.Minute)); ok {
		t.Error("a reference whose trades are all older than the window has a mean")
	}
	r.Reset()
	if _, ok := r.Mean(start); ok {
		t.Error("Reset kept trades")
	}
}

func TestStatusAndBandsJSON(t *testing.T) {
	at := time.Unix(0, 1764012345678901234)
	tests := []struct {
		v    json.Marshaler
		want string
	}{
		{market.Status{Seq: 7, Symbol: "AAPL", State: market.StatePaused, Reason: market.ReasonVolatility, Time: at},
			`{"seq":7,"sym":"AAPL","state":"paused","reason":"LUDP","ts":1764012345678901234}`},
		{market.Status{Seq: 8, State: market.StateClosed, Reason: market.ReasonSession, Time: at},
			`{"seq":8,"state":"closed","reason":"session","ts":1764012345678901234}`},
		{market.Bands{Seq: 9, Symbol: "AAPL", Ref: 100, Lower: 95, Upper: 105, Time: at},
			`{"seq":9,"sym":"AAPL","ref":100,"lower":95,"upper":105,"ts":1764012345678901234}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.v)
		if err != nil || string(b) != tt.want {
			t.Errorf("json = %s, %v; want %s", b, err, tt.want)
		}
	}
	var s market.Status
	if err := json.Unmarshal([]byte(tests[0].want), &s); err != nil || s != tests[0].v.(market.Status) {
		t.Errorf("status read back %+v, %v", s, err)
	}
	var b market.Bands
	if err := json.Unmarshal([]byte(tests[2].want), &b); err != nil || b != tests[2].v.(market.Bands) {
		t.Errorf("bands read back %+v, %v", b, err)
	}
}
