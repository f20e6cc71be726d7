// Package feed is where a server's ticks come from.
//
// It has what a tick is made of (the Tick and Quote types and their JSON,
// the symbol names and the universe of symbols) and the sources that make
// them: a simulated market that produces a deterministic stream of ticks on
// a clock that tests can drive, and the NATS JetStream engine that carries
// ticks from one publisher to many replicas.
//
// # Symbol names
//
// One rule, [CheckSymbol], says what a symbol's name is: a ticker,
// optionally after its exchange's code and a colon (AAPL, BRK.B,
// NASDAQ:AAPL), at most [MaxSymbolLen] characters. The universe holds only
// such names, and a package that takes a name from elsewhere checks it with
// CheckSymbol rather than a rule of its own.
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
// A universe is the [DefaultUniverse], a list or a file ([ParseSymbols]),
// or up to [MaxSymbols] generated ones ([SyntheticUniverse]: the default
// universe, then generated names and parameters, the same for the same
// seed), so that a server can be run at the size of a national market.
//
// # The market
//
// With a [MarketConfig], a simulator is a market ([Simulator.RunMarket]):
// it keeps the exchanges' sessions of a [market.Calendar] (no trades while
// the market is closed; before and after the regular session a tenth of
// the arrivals trade, at four times the spread), LULD bands around each
// symbol's recent mean price, a five-minute pause for a symbol whose price
// would leave them, and news halts at a configured rate. Its statuses and
// bands take sequence numbers from the ticks' sequence, so a consumer sees
// one ordered stream. On a [ScaledClock] simulated time runs faster than
// real time while Rate stays per real second.
//
// # Sources and the NATS engine
//
// A [Source] is what a server's hub is fed from. The [Simulator] is the
// default, in memory, in the same process. For more than one server, one
// process runs the simulator into a [NATSPublisher], which stores every
// tick (and, of a market, every status and bands, on [StatusSubject] and
// [BandsSubject]) in the JetStream stream TICKS on its symbol's subject ([Subject]:
// ticks.AAPL, ticks.NASDAQ_3AAAPL; the tick's JSON, with a message id, so
// that a retry is stored once), with a bounded window of acknowledgements
// in flight and in the order the ticks were made, and every replica reads
// that stream in batches through a [NATSSource], in stream order. The source hands each tick on with Seq replaced by its
// stream sequence, which is therefore the same on every replica: a client
// can resume on any of them. A starting source first reads recent ticks
// back from the stream, then follows it live, and after losing the bus it
// resumes after the last sequence it handed on. Bar events, which the
// publisher's caller decides once for every replica, travel in a header
// of the event they come before ([BarsHeader], [BarCarrier],
// [BarEvents]), so they take no sequence number of their own.
//
// # Ticks from outside
//
// The NDJSON tick format ([ParseTickLine]) and the CSV one with its header
// ([CSVHeader]), read by a [TickReader] a line at a time, are what a
// publisher posts, what a [Replay] plays and what a [TickWriter] records.
// A Replay reads its whole file once when it is made, refusing it with the
// line or the gzip byte offset at fault, then plays it with its spacing
// scaled, on a Clock, the same way every time.
//
// # What this package must never do
//
// Only the NATS engine touches the network, and only the bus it is given.
// The package never touches the default Prometheus registry or any
// package-level mutable state, and it never starts a goroutine that outlives
// the call that started it: [Simulator.Run], [NATSSource.Run],
// [NATSPublisher.Run] and [Replay.Run] return only when their ticks have
// stopped. Files are read or written only where named: a symbols file
// (@PATH), a Replay's file and a TickWriter's.
package feed
