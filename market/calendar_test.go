package market_test

import (
	"testing"
	"time"

	"github.com/tickerd/tickerd/market"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCalendarDays(t *testing.T) {
	c := market.NewYork()
	tests := []struct {
		date    string // any instant of the New York day
		trading bool
		holiday string
		early   bool
		open    string // UTC, when trading
		close   string
		post    string
	}{
		{"2026-03-06T12:00:00-05:00", true, "", false, "2026-03-06T14:30:00Z", "2026-03-06T21:00:00Z", "2026-03-07T01:00:00Z"},
		{"2026-03-07T12:00:00-05:00", false, "", false, "", "", ""}, // Saturday
		{"2026-03-08T12:00:00-04:00", false, "", false, "", "", ""}, // Sunday, clocks go forward
		{"2026-03-09T12:00:00-04:00", true, "", false, "2026-03-09T13:30:00Z", "2026-03-09T20:00:00Z", "2026-03-10T00:00:00Z"},
		{"2026-10-30T12:00:00-04:00", true, "", false, "2026-10-30T13:30:00Z", "2026-10-30T20:00:00Z", "2026-10-31T00:00:00Z"},
		{"2026-11-02T12:00:00-05:00", true, "", false, "2026-11-02T14:30:00Z", "2026-11-02T21:00:00Z", "2026-11-03T01:00:00Z"},
		{"2026-01-01T12:00:00-05:00", false, "New Year's Day", false, "", "", ""},
		{"2026-01-19T12:00:00-05:00", false, "Martin Luther King Jr. Day", false, "", "", ""},
		{"2026-02-16T12:00:00-05:00", false, "Presidents' Day", false, "", "", ""},
		{"2026-04-03T12:00:00-04:00", false, "Good Friday", false, "", "", ""},
		{"2026-05-25T12:00:00-04:00", false, "Memorial Day", false, "", "", ""},
		{"2026-06-19T12:00:00-04:00", false, "Juneteenth", false, "", "", ""},
		{"2026-07-03T12:00:00-04:00", false, "Independence Day", false, "", "", ""}, // July 4 is a Saturday
		{"2026-09-07T12:00:00-04:00", false, "Labor Day", false, "", "", ""},
		{"2026-11-26T12:00:00-05:00", false, "Thanksgiving Day", false, "", "", ""},
		{"2026-11-27T12:00:00-05:00", true, "", true, "2026-11-27T14:30:00Z", "2026-11-27T18:00:00Z", "2026-11-27T22:00:00Z"},
		{"2026-12-24T12:00:00-05:00", true, "", true, "2026-12-24T14:30:00Z", "2026-12-24T18:00:00Z", "2026-12-24T22:00:00Z"},
		{"2026-12-25T12:00:00-05:00", false, "Christmas Day", false, "", "", ""},
		{"2025-07-03T12:00:00-04:00", true, "", true, "2025-07-03T13:30:00Z", "2025-07-03T17:00:00Z", "2025-07-03T21:00:00Z"},
		{"2021-12-24T12:00:00-05:00", false, "Christmas Day", false, "", "", ""},                                               // Christmas on a Saturday
		{"2021-12-31T12:00:00-05:00", true, "", false, "2021-12-31T14:30:00Z", "2021-12-31T21:00:00Z", "2022-01-01T01:00:00Z"}, // New Year's Day on a Saturday is not made up
		{"2021-06-18T12:00:00-04:00", true, "", false, "2021-06-18T13:30:00Z", "2021-06-18T20:00:00Z", "2021-06-19T00:00:00Z"}, // before the exchanges kept Juneteenth
		{"2027-06-18T12:00:00-04:00", false, "Juneteenth", false, "", "", ""},
		{"2023-12-25T12:00:00-05:00", false, "Christmas Day", false, "", "", ""},
		{"2023-12-22T12:00:00-05:00", true, "", false, "2023-12-22T14:30:00Z", "2023-12-22T21:00:00Z", "2023-12-23T01:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			d := c.Day(utc(tt.date))
			if d.Trading != tt.trading || d.Holiday != tt.holiday || d.EarlyClose != tt.early {
				t.Fatalf("Day = trading %v holiday %q early %v; want %v %q %v", d.Trading, d.Holiday, d.EarlyClose, tt.trading, tt.holiday, tt.early)
			}
			if !tt.trading {
				return
			}
			for _, got := range []struct {
				name string
				at   time.Time
				want string
			}{{"open", d.Open, tt.open}, {"close", d.Close, tt.close}, {"post close", d.PostClose, tt.post}} {
				if !got.at.Equal(utc(got.want)) {
					t.Errorf("%s = %v; want %v", got.name, got.at.UTC(), got.want)
				}
			}
			if want := d.Open.Add(-5*time.Hour - 30*time.Minute); !d.PreOpen.Equal(want) {
				t.Errorf("pre-market opens %v; want %v", d.PreOpen.UTC(), want.UTC())
			}
		})
	}
}

// TestCalendarTransitions walks the session changes from one instant on,
// across both of 2026's clock changes and an early close.
func TestCalendarTransitions(t *testing.T) {
	c := market.NewYork()
	type change struct {
		at string
		s  market.Session
	}
	tests := []struct {
		name string
		from string
		want []change
	}{
		{"spring forward", "2026-03-06T15:00:00-05:00", []change{
			{"2026-03-06T16:00:00-05:00", market.Post},
			{"2026-03-06T20:00:00-05:00", market.Closed},
			{"2026-03-09T04:00:00-04:00", market.Pre},
			{"2026-03-09T09:30:00-04:00", market.Regular},
		}},
		{"fall back", "2026-10-30T19:00:00-04:00", []change{
			{"2026-10-30T20:00:00-04:00", market.Closed},
			{"2026-11-02T04:00:00-05:00", market.Pre},
			{"2026-11-02T09:30:00-05:00", market.Regular},
			{"2026-11-02T16:00:00-05:00", market.Post},
		}},
		{"early close and a holiday", "2026-12-24T12:55:00-05:00", []change{
			{"2026-12-24T13:00:00-05:00", market.Post},
			{"2026-12-24T17:00:00-05:00", market.Closed},
			{"2026-12-28T04:00:00-05:00", market.Pre},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := utc(tt.from)
			for i, w := range tt.want {
				next, s := c.Next(at)
				if !next.Equal(utc(w.at)) || s != w.s {
					t.Fatalf("change %d after %v = %v %v; want %v %v", i, at, next, s, w.at, w.s)
				}
				if got := c.SessionAt(next); got != w.s {
					t.Errorf("SessionAt(%v) = %v; want %v", next, got, w.s)
				}
				if got := c.SessionAt(next.Add(-time.Nanosecond)); got == w.s {
					t.Errorf("SessionAt just before %v = %v already", next, got)
				}
				at = next
			}
		})
	}
}

func TestCalendarNextOpenAndClose(t *testing.T) {
	c := market.NewYork()
	from := utc("2026-12-24T14:00:00-05:00") // after the early close, before Christmas
	if got, want := c.NextOpen(from), utc("2026-12-28T09:30:00-05:00"); !got.Equal(want) {
		t.Errorf("NextOpen = %v; want %v", got, want)
	}
	if got, want := c.NextClose(from), utc("2026-12-28T16:00:00-05:00"); !got.Equal(want) {
		t.Errorf("NextClose = %v; want %v", got, want)
	}
	if got, want := c.NextClose(utc("2026-12-24T12:00:00-05:00")), utc("2026-12-24T13:00:00-05:00"); !got.Equal(want) {
		t.Errorf("NextClose on the early-close day = %v; want %v", got, want)
	}
}

func TestSessionNames(t *testing.T) {
	for s, want := range map[market.Session]string{market.Closed: "closed", market.Pre: "pre", market.Regular: "trading", market.Post: "post"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q; want %q", s, s.String(), want)
		}
	}
}
