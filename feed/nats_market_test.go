package feed

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickerd/tickerd/market"
)

func TestMarketSubjects(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{StatusSubject("AAPL"), "ticks._status.AAPL"},
		{StatusSubject("BRK.B"), "ticks._status.BRK_2EB"},
		{StatusSubject(""), "ticks._status._market"},
		{BandsSubject("NASDAQ:AAPL"), "ticks._bands.NASDAQ_3AAAPL"},
	} {
		if tt.got != tt.want {
			t.Errorf("subject %q; want %q", tt.got, tt.want)
		}
	}
	for subject, want := range map[string]eventKind{
		"ticks.AAPL": eventTick, "ticks._5FSTATUS": eventTick, "ticks._status.AAPL": eventStatus,
		"ticks._status._market": eventStatus, "ticks._bands.BRK_2EB": eventBands,
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
	bars   []string // seq, bars and how many events came before them
}

func (r *eventsRecorder) Bars(bars []byte, seq uint64) {
	r.bars = append(r.bars, fmt.Sprintf("%d %s before %d", seq, bars, len(r.ticks)+len(r.status)+len(r.bands)))
}

func (r *eventsRecorder) Tick(t Tick)            { r.ticks = append(r.ticks, t) }
func (r *eventsRecorder) Status(s market.Status) { r.status = append(r.status, s) }
func (r *eventsRecorder) Bands(b market.Bands)   { r.bands = append(r.bands, b) }

// TestHandOnGivesTheStreamSequence decodes what the publisher stores.
func TestHandOnGivesTheStreamSequence(t *testing.T) {
	at := time.Unix(0, 1764012345678901234)
	type message struct {
		subject string
		bars    string
		data    []byte
		key     string
	}
	var stored []message
	pub := &publishedEvents{store: func(msg *nats.Msg, key string) {
		stored = append(stored, message{msg.Subject, msg.Header.Get(BarsHeader), msg.Data, key})
	}}
	pub.Status(market.Status{Seq: 7, State: market.StateTrading, Reason: market.ReasonSession, Time: at})
	pub.Bands(market.Bands{Seq: 8, Symbol: "BRK.B", Ref: 400, Lower: 380, Upper: 420, Time: at})
	pub.CarryBars([]byte(`[{"sym":"BRK.B"}]`))
	pub.Tick(Tick{Seq: 9, Symbol: "BRK.B", Price: 400, Bid: 399.99, Ask: 400.01, Size: 100, Time: at})
	pub.Status(market.Status{Seq: 10, Symbol: "BRK.B", State: market.StatePaused, Reason: market.ReasonVolatility, Time: at})
	var keys []string
	for _, m := range stored {
		keys = append(keys, m.key+"/"+m.bars)
	}
	if got := strings.Join(keys, " "); got != `7/ 8/ 9/[{"sym":"BRK.B"}] 10/` {
		t.Errorf("message keys and bars %s; want the bars with the tick only", got)
	}
	rec := &eventsRecorder{}
	for i, m := range stored {
		if err := handOn(m.subject, []byte(m.bars), m.data, uint64(101+i), rec); err != nil {
			t.Fatalf("%s %s: %v", m.subject, m.data, err)
		}
	}
	if len(rec.status) != 2 || rec.status[0].Seq != 101 || rec.status[0].Symbol != "" || rec.status[1].Seq != 104 || rec.status[1].State != market.StatePaused ||
		len(rec.bands) != 1 || rec.bands[0].Seq != 102 || rec.bands[0].Upper != 420 ||
		len(rec.ticks) != 1 || rec.ticks[0].Seq != 103 || !rec.ticks[0].Time.Equal(at) ||
		len(rec.bars) != 1 || rec.bars[0] != `103 [{"sym":"BRK.B"}] before 2` {
		t.Fatalf("handed on %+v", rec)
	}
	if err := handOn("ticks._status.AAPL", nil, []byte(`{"seq":`), 1, rec); err == nil {
		t.Error("a broken status was handed on")
	}
	// A replica whose events take no bars hands on the event alone.
	var alone []Tick
	if err := handOn("ticks.AAPL", []byte("[]"), stored[2].data, 106, ticksOnly(func(t Tick) { alone = append(alone, t) })); err != nil || len(alone) != 1 {
		t.Errorf("a tick with bars to events without Bars: %v, %v", alone, err)
	}
}
