// Command baseline is the benchmark baseline for tickerd: the same simulated
// ticks, served over SSE by github.com/r3labs/sse/v2 used the way its README
// shows (sse.New, one stream, server.ServeHTTP on /events), with AutoReplay
// off so its event log does not grow without bound.
//
// Clients connect to /events?stream=ticks and receive every tick as
//
//	id: <seq>
//	data: <tick JSON>
//	event: tick
//
// It must stay a plain use of the library: it never works around the
// library's fan-out, replay or slow-client behaviour, since that behaviour
// is what the baseline measures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/tickerd/tickerd/bench/internal/benchkit"

	"github.com/r3labs/sse/v2"

	"github.com/tickerd/tickerd/feed"
)

// streamName is the one stream every client subscribes to.
const streamName = "ticks"

func main() {
	benchkit.Main("baseline", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

// run serves ticks until ctx is done. It logs its listen address to stderr
// as "baseline: listening on http://ADDR/events?stream=ticks".
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9091", "listen address")
	rate := fs.Float64("rate", 100, "total ticks per second across all symbols")
	seed := fs.Uint64("seed", 0, "random seed of the simulated market; 0 picks one from the clock")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	sim, err := feed.NewSimulator(feed.SimulatorConfig{
		Symbols: feed.DefaultUniverse(),
		Rate:    *rate,
		Seed:    *seed,
		Clock:   feed.SystemClock{},
	})
	if err != nil {
		return fmt.Errorf("-rate: %w", err)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}

	server := sse.New()
	server.AutoReplay = false
	server.CreateStream(streamName)

	mux := http.NewServeMux()
	mux.HandleFunc("/events", server.ServeHTTP)

	fmt.Fprintf(stderr, "baseline: listening on http://%s/events?stream=%s (rate %v/s, seed %d, pid %d)\n",
		ln.Addr(), streamName, *rate, *seed, os.Getpid())

	// conns counts open connections, so shutdown can close the library's
	// streams after every handler has unsubscribed: closing them first
	// would leave the handlers blocked in the library's unsubscribe.
	var conns sync.WaitGroup
	httpServer := &http.Server{Handler: mux, ConnState: func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			conns.Done()
		}
	}}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(ln) }()

	// Closing the server when ctx ends drops every connection, which
	// unblocks a Publish stuck behind a client that does not read; the
	// library then unsubscribes each handler, and only after that can its
	// streams be closed.
	closed := make(chan struct{})
	stopClose := context.AfterFunc(ctx, func() {
		defer close(closed)
		httpServer.Close()
	})
	simErr := sim.Run(ctx, func(t feed.Tick) {
		server.Publish(streamName, &sse.Event{
			ID:    strconv.AppendUint(nil, t.Seq, 10),
			Event: []byte("tick"),
			Data:  t.AppendJSON(nil),
		})
	})
	if stopClose() {
		httpServer.Close()
		close(closed)
	}
	<-closed
	err = <-serveErr
	conns.Wait()
	server.Close()
	if !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return simErr
}
