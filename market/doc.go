// Package market is the rule book of a simulated US equity market: the New
// York exchange calendar and its trading sessions, the trading status of a
// symbol or of the whole market, and the Limit Up–Limit Down price bands.
//
// # Sessions
//
// A [Calendar] knows, for any instant, the session of the New York
// exchanges: pre-market 04:00–09:30, the regular session 09:30–16:00 and
// after-hours 16:00–20:00 New York time on trading days; closed on
// weekends and exchange holidays. On an early-close day (the day after
// Thanksgiving, Christmas Eve and July 3 when they are trading days) the
// regular session ends at 13:00 and after-hours at 17:00. Holidays come from
// github.com/rickar/cal/v2 (its US and Christian holiday definitions, with
// the exchanges' own observance: a New Year's Day on a Saturday is not made
// up on the Friday before); the time-zone database is embedded, so the
// calendar works on a system without one.
//
// # Status and bands
//
// A [Status] is the trading state of a symbol (trading, halted, paused) or
// of the market (pre, trading, post, closed) from a given time on, with a
// reason code. [Bands] are a symbol's LULD price bands around its
// reference price, computed by [BandsFor] as the Limit Up–Limit Down plan
// describes them for Tier 1 stocks: 5% above $3, 20% from $0.75 to $3, and
// the lesser of $0.15 or 75% below; doubled in the first 15 minutes of the
// regular session and, for stocks at $3 or less, in its last 25. A
// [Reference] keeps the mean trade price of the last five minutes that the
// bands are drawn around.
//
// # What this package must never do
//
// It holds no clock of its own and starts no goroutine: every answer is a
// function of the time it is given. It never touches the network, the
// default Prometheus registry or any package-level mutable state.
package market
