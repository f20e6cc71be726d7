package stream

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// A symbol that has not traded is in every snapshot with its reference
// price and without a price or a time; once it trades, its quote has both.
func TestQuoteBeforeTheFirstTradeCarriesTheReferencePriceOnly(t *testing.T) {
	cfg := DefaultConfig([]string{"AAPL", "MSFT"}, testFraming{})
	cfg.FlushInterval = time.Millisecond
	h := runHub(t, cfg)
	if err := h.SetPrevClose("MSFT", 417.46); err != nil {
		t.Fatal(err)
	}
	if err := h.SetPrevClose("IBM", 1); !errors.Is(err, ErrUnknownSymbol) {
		t.Errorf("SetPrevClose of an unknown symbol = %v, want ErrUnknownSymbol", err)
	}
	if err := h.SetPrevClose("AAPL", -1); !errors.Is(err, ErrBadPrice) {
		t.Errorf("SetPrevClose of a negative price = %v, want ErrBadPrice", err)
	}
	want := `snapshot 0 {"seq":0,"resync":false,"quotes":[{"seq":0,"sym":"AAPL","chg":0,"chg_pct":0,"vol":0},` +
		`{"seq":0,"sym":"MSFT","chg":0,"chg_pct":0,"vol":0,"prevClose":417.46}]}` + "\n"
	if got := firstLine(t, h, Subscription{}); got != want {
		t.Fatalf("snapshot before any trade:\n%s\nwant\n%s", got, want)
	}
	tick := testTick(1, "MSFT")
	tick.Time = time.Unix(0, 1764012345678901234)
	if err := h.Publish(tick); err != nil {
		t.Fatal(err)
	}
	waitFlushed(t, h, 1)
	q, _ := h.Quote("MSFT")
	if b, _ := q.MarshalJSON(); !strings.Contains(string(b), `"px":100,`) || !strings.Contains(string(b), `"ts":1764012345678901234,`) ||
		!strings.HasSuffix(string(b), `"prevClose":417.46}`) {
		t.Fatalf("quote after the first trade: %s", b)
	}
}
