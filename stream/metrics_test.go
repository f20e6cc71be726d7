package stream

import (
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestEveryReasonIsExportedFromTheStart checks that each labelled counter
// has a series for every reason before anything happened, so that rate()
// over it and the alerts on it work from the first scrape.
func TestEveryReasonIsExportedFromTheStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewHub(Config{Symbols: []string{"AAPL", "MSFT"}, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				got[f.GetName()] = append(got[f.GetName()], l.GetName()+"="+l.GetValue())
			}
		}
	}
	for name, want := range map[string][]string{
		"tickerd_streams_closed_total":      {"reason=normal", "reason=over_limit", "reason=shutdown", "reason=slow", "reason=write_error"},
		"tickerd_streams_rejected_total":    {"reason=bad_request", "reason=over_limit", "reason=unavailable", "reason=unknown_symbol"},
		"tickerd_events_dropped_total":      {"reason=conflated", "reason=disconnected"},
		"tickerd_feed_ticks_rejected_total": {"reason=bad_price", "reason=sequence", "reason=unknown_symbol"},
		"tickerd_feed_ticks_total":          {"symbol=AAPL", "symbol=MSFT"},
	} {
		slices.Sort(got[name])
		if !slices.Equal(got[name], want) {
			t.Errorf("%s labels %v, want %v", name, got[name], want)
		}
	}
}
