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
// beyond that, or once its socket has taken nothing for a second (at most
// half of WriteTimeout), it is conflated (only the latest tick per symbol
// is kept, and the stream is told how many ticks it skipped with a
// conflated event); a stream whose socket accepts nothing for
// Config.WriteTimeout is closed, abortively, so that the kernel frees at
// once what it held for the client. The socket's send buffer is
// Config.SendBuffer, grown to a quarter second of the stream while its
// client reads, so a client that stops reading fills it soon: for a
// stream sent R bytes a second to a client with a receive window of W, the
// socket stops taking bytes about (W + 1.5 B)/R after the client stopped
// reading, B being the larger of SendBuffer and R/4, and conflation and
// the write timeout count from there.
// On Linux the hub also watches every stream's socket for its client's
// hang-up (an epoll set, hang-ups only), so a stream whose client has gone
// ends at the next batch and its transport's OnClose releases its place
// in the stream limits at once.
// Nothing a client does can block the hub, a writer or another stream, and
// memory is bounded by the ring, the universe and the per-stream queue.
//
// Every event that has an id (a tick, a status, bands) takes it in one
// place, under the hub lock: the events' own numbers, each above the one
// before, when the source numbers (a replica's are the bus's sequence);
// or, with Config.FirstSeq, the hub's next number whatever they came
// with, so that ticks of several publishers and the simulated market's
// statuses and bands beside them share one increasing order. Either way a
// rejected event uses no number.
//
// Bar events are made for the intervals someone asks for: the streams
// that subscribed to them, and the polls (AppendSince) that name them,
// for as long as a poll is held and PollBarGrace after its answer, so
// that a client that keeps polling finds, in the replay ring, every bar
// that closed since its last poll. The grace is a time per interval that
// the next closing bar reads: no goroutine, nothing per poller.
//
// Package stream must never import net/http or know a transport's syntax
// (its Framing does), block on a client socket, hold the hub lock while
// writing, or learn where ticks come from: the source is the caller's
// business.
package stream
