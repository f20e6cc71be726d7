// Package feed is where ticks come from: the Tick and Quote types and their
// JSON, the universe of symbols, and a simulated market that produces a
// deterministic stream of ticks on a clock that tests can drive.
//
// # The simulated market
//
// A [Simulator] draws trades as a Poisson process at a configured total
// rate (ticks per second of clock time). Each arrival picks one symbol of
// the universe uniformly at random, so every symbol trades at Rate/len(Symbols)
// on average. The symbol's price then follows geometric Brownian motion over
// the time elapsed since that symbol's previous trade:
//
//	log S(t+Δt) = log S(t) + Drift·Δt + Volatility·√Δt·Z,  Z ~ N(0,1)
//
// with Δt in trading years. A trading year is 252 sessions of 6.5 hours
// ([TradingYear]), and simulated time runs at clock speed, so a symbol with
// Volatility 0.25 moves about 0.25/√252 ≈ 1.6% in 6.5 hours of running.
// Drift is the annualised mean of the log-return (not the arithmetic
// rate of return μ of dS = μS·dt + σS·dW; Drift = μ − σ²/2): with Drift 0 the
// median price stays at the start price and the log-price is a martingale.
//
// The simulator keeps the exact log-price; the published Price is that price
// rounded to the cent grid, never below one cent. Bid and Ask are on the cent
// grid with Bid ≤ Price ≤ Ask, Bid < Ask and Bid ≥ 0.01; the spread is one to
// three basis points of the price, at least one cent. Sizes are mostly round
// lots (100 to 5,000 shares, smaller lots likelier), sometimes odd lots of
// 1 to 99 shares.
//
// The same SimulatorConfig (Seed included) and the same clock start give the
// same ticks, in the same order, with the same times.
//
// # What this package must never do
//
// It never touches the network, the default Prometheus registry or any
// package-level mutable state, and it never starts a goroutine that outlives
// the call that started it: [Simulator.Run] returns only when its ticks
// have stopped.
package feed
