package feed

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/market"
)

func TestMarketSubjects(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{StatusSubject("AAPL"), "ticks._status.AAPL"},
		{StatusSubject("BRK.B"), "ticks._status.BRK_2EB"},
		{StatusSubject(""), "ticks._status._market"},
		{BandsSubject("NASDAQ:AAPL"), "ticks._bands.NASDAQ_3AAAPL"},
		{BarsSubject("1m"), "ticks._bars.1m"},
	} {
		if tt.got != tt.want {
			t.Errorf("subject %q; want %q", tt.got, tt.want)
		}
	}
	for subject, want := range map[string]eventKind{
		"ticks.AAPL": eventTick, "ticks._5FSTATUS": eventTick, "ticks._status.AAPL": eventStatus,
		"ticks._status._market": eventStatus, "ticks._bands.BRK_2EB": eventBands,
		"ticks._bars.1s": eventBars, "ticks._5FBARS": eventTick,
	} {
		if got := kindOf(subject); got != want {
			t.Errorf("kindOf(%s) = %v; want %v", subject, got, want)
		}
	}
}

type eventsRecorder struct {
	ticks  []Tick
	status []market.Status
	bands  []market.Bands
	bars   []string // interval, seq and lines
}

func (r *eventsRecorder) Bars(interval string, lines []byte, seq uint64, part int) {
	r.bars = append(r.bars, fmt.Sprintf("%s %d %d %s", interval, seq, part, lines))
}

func (r *eventsRecorder) Tick(t Tick)            { r.ticks = append(r.ticks, t) }
func (r *eventsRecorder) Status(s market.Status) { r.status = append(r.status, s) }
func (r *eventsRecorder) Bands(b market.Bands)   { r.bands = append(r.bands, b) }

// TestHandOnGivesTheStreamSequence decodes what the publisher stores.
func TestHandOnGivesTheStreamSequence(t *testing.T) {
	at := time.Unix(0, 1764012345678901234)
	type message struct {
		subject string
		data    []byte
		key     string
	}
	var stored []message
	pub := publishedEvents{store: func(subject string, data []byte, key string) {
		stored = append(stored, message{subject, data, key})
	}}
	pub.Status(market.Status{Seq: 7, State: market.StateTrading, Reason: market.ReasonSession, Time: at})
	pub.Bands(market.Bands{Seq: 8, Symbol: "BRK.B", Ref: 400, Lower: 380, Upper: 420, Time: at})
	pub.Tick(Tick{Seq: 9, Symbol: "BRK.B", Price: 400, Bid: 399.99, Ask: 400.01, Size: 100, Time: at})
	pub.Status(market.Status{Seq: 10, Symbol: "BRK.B", State: market.StatePaused, Reason: market.ReasonVolatility, Time: at})
	pub.Bars("1s", []byte("{\"sym\":\"BRK.B\"}\n"), 10, 1)
	var keys []string
	for _, m := range stored {
		keys = append(keys, m.key)
	}
	if got := strings.Join(keys, " "); got != "7 8 9 10 10-b1" {
		t.Errorf("message keys %s; want 7 8 9 10 10-b1", got)
	}
	rec := &eventsRecorder{}
	for i, m := range stored {
		if err := handOn(m.subject, m.data, uint64(101+i), rec); err != nil {
			t.Fatalf("%s %s: %v", m.subject, m.data, err)
		}
	}
	if len(rec.status) != 2 || rec.status[0].Seq != 101 || rec.status[0].Symbol != "" || rec.status[1].Seq != 104 || rec.status[1].State != market.StatePaused ||
		len(rec.bands) != 1 || rec.bands[0].Seq != 102 || rec.bands[0].Upper != 420 ||
		len(rec.ticks) != 1 || rec.ticks[0].Seq != 103 || !rec.ticks[0].Time.Equal(at) ||
		len(rec.bars) != 1 || rec.bars[0] != "1s 105 0 {\"sym\":\"BRK.B\"}\n" {
		t.Fatalf("handed on %+v", rec)
	}
	if err := handOn("ticks._status.AAPL", []byte(`{"seq":`), 1, rec); err == nil {
		t.Error("a broken status was handed on")
	}
	// A replica whose events take no bars skips them.
	if err := handOn("ticks._bars.1s", []byte("x"), 106, ticksOnly(func(Tick) {})); err != nil {
		t.Errorf("bars to events without Bars: %v", err)
	}
}
