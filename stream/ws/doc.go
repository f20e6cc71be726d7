// Package ws is the WebSocket edge of the engine: GET /ws, two-way, so a
// client changes its subscription on an open connection.
//
// A handshake flows one way, as a stream request does over SSE: parse
// (the query), check the Origin (cross-site WebSocket hijacking: browsers
// send cookies on a handshake from any page), authorize (credentials,
// the URL's symbols), admit (the stream limits shared by every transport;
// over them the connection is closed at once with 1013), upgrade and
// attach the stream to the engine with this package's Framing. From then
// on the engine writes: one text frame per event, framed once for every
// client, one vectored write per client per cycle, as for SSE.
//
// The reading side costs no goroutine per connection: one poller
// goroutine (Handler.Run) waits on an epoll set of every socket and reads
// only those with bytes, without blocking, through each connection's
// RawConn. A client message ({"op":"subscribe","symbols":[...]},
// "unsubscribe", {"op":"maxfreq","n":4}) is answered in order with the
// events by {"type":"subscription",...} or {"type":"error",...}; newly
// added symbols get a snapshot of just them before their first tick.
//
// Close codes: 1000 answering a client's close; 1001 shutdown; 1002 a
// frame RFC 6455 forbids; 1003 a binary message; 1007 text that is not
// UTF-8; 1008 an expired token or a flood of messages; 1009 a message
// over the size limit; 1013 over the stream limits; 4000 a slow client
// evicted; 4001 no pong within the pong timeout.
//
// The handshake, the frame mask and close-frame checks are
// github.com/gobwas/ws's: it works on a hijacked net.Conn at the frame
// level and leaves reading and writing to the caller, so the engine frames
// a tick once for every client and an idle connection holds no goroutine
// and no buffer. bench/wslibs measured the candidates used as their READMEs
// show (its RESULTS.md; 10,000 idle connections, 2 cores): 1.1 KiB of RSS
// per connection this way, against 7.6 (lxzan/gws), 12.6 (gorilla/websocket)
// and 16.4 KiB (coder/websocket), which keep a goroutine and 4 KiB buffers
// per connection; a 200-byte tick cost 11.7 µs of CPU per client, against
// 13.4, 14.1 and 20.2 µs, nearly all of it the kernel's loopback write.
//
// Package ws must never write to a connection after attaching it, except
// through the engine, nor block the poller on a socket.
package ws
