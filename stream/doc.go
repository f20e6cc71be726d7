// Package stream is where ticks go: the hub that fans them out to
// Server-Sent Events streams, and tickerd's HTTP API over it.
//
// The Hub accepts ticks (Publish), encodes each once as SSE bytes, keeps the
// latest quote per symbol and a bounded replay ring, and every
// FlushInterval hands the batch to a few writer goroutines, one per core.
// Each writer makes one non-blocking vectored write per stream per cycle,
// with only that stream's symbols in it. The events handler takes the
// connection over from net/http once the request is validated, so an idle
// stream costs a small struct and its socket: no goroutine, no buffer.
//
// A stream whose client does not keep up queues at most Config.QueueBytes;
// beyond that it is conflated (only the latest tick per symbol is kept, and
// the stream is told how many ticks it skipped with a "conflated" event);
// a stream whose socket accepts nothing for Config.WriteTimeout is closed.
// Nothing a client does can block the hub, a writer or another stream, and
// memory is bounded by the ring, the universe and the per-stream queue.
//
// Stream must never block on a client socket, hold the hub lock while
// writing, or learn where ticks come from: the feed (simulated or NATS) is
// the caller's business.
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
// The hub therefore owns fan-out, replay and slow-client policy, and writes
// to sockets itself. Measured against that server as its README uses it, in
// the same session (BENCHMARKS.md): with 1,000 clients at 1,000 ticks/s it
// delivered with a median latency of 2.4 s at 132% CPU, the hub in 5.1 ms at
// 66%; with 5,000 clients at 100 ticks/s, p99 381 ms against 65 ms; idle
// connections cost 31.9 KiB each against 3.2 KiB.
package stream
