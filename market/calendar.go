package market

import (
	"fmt"
	"time"
	_ "time/tzdata" // New York's rules without a system time-zone database

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/aa"
	"github.com/rickar/cal/v2/us"
)

// Session is the phase of the market's trading day.
type Session int

// Sessions of a trading day, in the order they come.
const (
	Closed  Session = iota // no trading: overnight, weekends, holidays
	Pre                    // pre-market, 04:00–09:30 New York time
	Regular                // the regular session, 09:30–16:00 (13:00 on an early-close day)
	Post                   // after-hours, 16:00–20:00 (13:00–17:00 on an early-close day)
)

// String returns the session's state name on the wire: closed, pre,
// trading or post.
func (s Session) String() string {
	switch s {
	case Pre:
		return StatePre
	case Regular:
		return StateTrading
	case Post:
		return StatePost
	}
	return StateClosed
}

// Times of a trading day, New York time, as offsets from midnight.
const (
	preOpen        = 4 * time.Hour
	regularOpen    = 9*time.Hour + 30*time.Minute
	regularClose   = 16 * time.Hour
	postClose      = 20 * time.Hour
	earlyClose     = 13 * time.Hour
	earlyPostClose = 17 * time.Hour
)

// Calendar is the New York exchanges' calendar. Its methods are safe for
// concurrent use.
type Calendar struct {
	loc      *time.Location
	holidays *cal.Calendar
}

// NewYork returns the calendar of the New York exchanges.
func NewYork() *Calendar {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil { // the database is embedded: this cannot happen
		panic(fmt.Sprintf("market: %v", err))
	}
	h := &cal.Calendar{}
	h.AddHoliday(
		// The exchanges do not close on the Friday before a New Year's Day that is a Saturday.
		us.NewYear.Clone(&cal.Holiday{Observed: []cal.AltDay{{Day: time.Sunday, Offset: 1}}}),
		us.MlkDay,
		us.PresidentsDay,
		aa.GoodFriday,
		us.MemorialDay,
		us.Juneteenth.Clone(&cal.Holiday{StartYear: 2022}),
		us.IndependenceDay,
		us.LaborDay,
		us.ThanksgivingDay,
		us.ChristmasDay,
	)
	return &Calendar{loc: loc, holidays: h}
}

// Location returns New York's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Day is the schedule of one New York calendar day.
type Day struct {
	Date       time.Time // midnight New York time
	Trading    bool      // the exchanges open; when false, the times below are zero
	Holiday    string    // the holiday's name, if the exchanges close for one
	EarlyClose bool      // the regular session ends at 13:00
	PreOpen    time.Time // pre-market opens
	Open       time.Time // the regular session opens
	Close      time.Time // the regular session closes, after-hours begins
	PostClose  time.Time // after-hours ends
}

// Day returns the schedule of the New York calendar day that holds t.
func (c *Calendar) Day(t time.Time) Day {
	t = t.In(c.loc)
	y, m, d := t.Date()
	day := Day{Date: time.Date(y, m, d, 0, 0, 0, 0, c.loc)}
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return day
	}
	if name, ok := c.holiday(day.Date); ok {
		day.Holiday = name
		return day
	}
	day.Trading = true
	day.EarlyClose = c.earlyClose(day.Date)
	closeAt, postAt := regularClose, postClose
	if day.EarlyClose {
		closeAt, postAt = earlyClose, earlyPostClose
	}
	day.PreOpen = c.at(day.Date, preOpen)
	day.Open = c.at(day.Date, regularOpen)
	day.Close = c.at(day.Date, closeAt)
	day.PostClose = c.at(day.Date, postAt)
	return day
}

// at returns the wall-clock time of offset after midnight on date, in New
// York, which is not midnight plus offset on a day that changes its clocks.
func (c *Calendar) at(date time.Time, offset time.Duration) time.Time {
	y, m, d := date.Date()
	return time.Date(y, m, d, int(offset/time.Hour), int(offset%time.Hour/time.Minute), 0, 0, c.loc)
}

func (c *Calendar) holiday(date time.Time) (string, bool) {
	actual, observed, h := c.holidays.IsHoliday(date)
	if actual || observed {
		return h.Name, true
	}
	return "", false
}

// earlyClose reports whether the exchanges close at 13:00 on date, a
// trading day: the day after Thanksgiving, Christmas Eve, and July 3 when
// Independence Day is a weekday after it.
func (c *Calendar) earlyClose(date time.Time) bool {
	_, m, d := date.Date()
	switch {
	case m == time.December && d == 24:
		return true
	case m == time.July && d == 3:
		return date.Weekday() != time.Friday // a Friday July 3 is Independence Day observed
	case m == time.November:
		_, _, h := c.holidays.IsHoliday(date.AddDate(0, 0, -1))
		return h == us.ThanksgivingDay
	}
	return false
}

// SessionAt returns the session at t.
func (c *Calendar) SessionAt(t time.Time) Session {
	day := c.Day(t)
	switch {
	case !day.Trading || t.Before(day.PreOpen) || !t.Before(day.PostClose):
		return Closed
	case t.Before(day.Open):
		return Pre
	case t.Before(day.Close):
		return Regular
	}
	return Post
}

// Next returns the first change of session after t: when it happens and the
// session it begins.
func (c *Calendar) Next(t time.Time) (time.Time, Session) {
	day := c.Day(t)
	for range 30 { // no stretch of days without trading is this long
		if day.Trading {
			for _, change := range [...]struct {
				at time.Time
				s  Session
			}{{day.PreOpen, Pre}, {day.Open, Regular}, {day.Close, Post}, {day.PostClose, Closed}} {
				if change.at.After(t) {
					return change.at, change.s
				}
			}
		}
		day = c.Day(c.at(day.Date.AddDate(0, 0, 1), 12*time.Hour))
	}
	panic("market: no trading day within 30 days of " + t.String())
}

// NextOpen returns the start of the first regular session after t.
func (c *Calendar) NextOpen(t time.Time) time.Time {
	for {
		at, s := c.Next(t)
		if s == Regular {
			return at
		}
		t = at
	}
}

// NextClose returns the end of the first regular session that ends after t.
func (c *Calendar) NextClose(t time.Time) time.Time {
	for {
		at, s := c.Next(t)
		if s == Post {
			return at
		}
		t = at
	}
}
