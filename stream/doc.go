// Package stream is the engine: it takes ticks in at one place and fans
// them out to every attached stream, whatever transport carries it.
//
// Hub.Publish is where every tick enters, whatever its source (the
// simulator, NATS): it checks the tick (the feed hygiene), folds it into
// the symbol's bars and encodes it once per transport's Framing. Every
// FlushInterval, Run moves what was published into the quotes and the
// replay ring and hands the batch to a few writer goroutines, one per
// core. Each writer makes one non-blocking vectored write per stream per
// cycle, with only that stream's symbols in it. A transport (stream/sse)
// parses and authorizes a request, takes the connection over and attaches
// it with Hub.Attach, so an idle stream costs a small struct and its
// socket: no goroutine, no buffer.
//
// A stream whose client does not keep up queues at most Config.QueueBytes;
// beyond that it is conflated (only the latest tick per symbol is kept, and
// the stream is told how many ticks it skipped with a conflated event);
// a stream whose socket accepts nothing for Config.WriteTimeout is closed.
// Nothing a client does can block the hub, a writer or another stream, and
// memory is bounded by the ring, the universe and the per-stream queue.
//
// Package stream must never import net/http or know a transport's syntax
// (its Framing does), block on a client socket, hold the hub lock while
// writing, or learn where ticks come from: the source is the caller's
// business.
package stream
