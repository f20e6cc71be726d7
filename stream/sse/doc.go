// Package sse is the Server-Sent Events edge of the engine: GET /events.
//
// A request flows through it in one direction: parse (request.go: the
// query, the symbols, maxfreq and the resume point), authorize
// (authorize.go: credentials and entitlements), admit (the stream limits
// of guard.Streams, shared with every transport) and attach (handler.go:
// the response head, the connection taken over from net/http, and the
// stream handed to the engine with this package's Framing). From then on
// the engine writes to the socket; an idle stream costs a small struct and
// its socket: no goroutine, no buffer.
//
// Package sse must never write to a stream after attaching it, nor keep
// state of its own per stream: the engine owns both.
//
// # Why not the SSE server of github.com/r3labs/sse/v2
//
// Its Client is used (tickerd watch, tests); its Server cannot carry this
// broadcast. Measured on v2.10.0, 2 cores, loopback:
//
//   - fan-out does a blocking send into each subscriber's 64-slot channel: one
//     client with a 2 KiB receive buffer that stopped reading froze a fast
//     client at 9,849 of 40,000 events, and new clients got no headers;
//   - with AutoReplay (the default) it keeps every event forever: 1M ticks of
//     200 B took 360 MB of heap; EventTTL removes nothing;
//   - it overwrites event ids with its own per-process index, answers a
//     non-numeric Last-Event-ID with 400 (EventSource then gives up for good)
//     and replays the last-seen event again (>=);
//   - one connection carries one stream, and a missing stream is a 500;
//   - it formats and flushes each event per client, one syscall each, and
//     Close leaks a goroutine per connected client.
//
// The engine therefore owns fan-out, replay and slow-client policy, and
// writes to sockets itself. Measured against that server as its README
// uses it, in the same session (BENCHMARKS.md): with 1,000 clients at
// 1,000 ticks/s it delivered with a median latency of 2.4 s at 132% CPU,
// tickerd in 5.1 ms at 66%; with 5,000 clients at 100 ticks/s, p99 381 ms
// against 65 ms; idle connections cost 31.9 KiB each against 3.2 KiB.
package sse
