//go:build unix

// Command ceiling is the ceiling peer of tickerd's benchmarks: a broadcaster
// of the same design as tickerd's engine with every feature taken out. It
// serves the same simulated ticks in the same SSE wire format
// (stream/sse.Framing) on /events, takes each connection over from net/http,
// encodes every tick once, gathers the ticks of each -flush-interval into
// one shared batch and makes one non-blocking vectored write (a client's
// unwritten backlog, then the batch) per client per batch, from one writer
// goroutine per core.
//
// It has no subscriptions, snapshots, replay, resumption, conflation,
// heartbeats, limits or metrics: what tickerd costs beyond it is what those
// cost. A client whose backlog passes -backlog bytes is disconnected.
//
// It must stay minimal: a feature added here is one that tickerd's figures
// are no longer measured against.
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
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/tickerd/tickerd/bench/internal/benchkit"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/stream"
	"github.com/tickerd/tickerd/stream/sse"
)

func main() {
	benchkit.Main("ceiling", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stderr) })
}

// run serves ticks until ctx is done. It logs its listen address to stderr
// as "ceiling: listening on http://ADDR/events".
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9092", "listen address")
	rate := fs.Float64("rate", 100, "total ticks per second across all symbols")
	seed := fs.Uint64("seed", 0, "random seed of the simulated market; 0 picks one from the clock")
	firstSeq := fs.Uint64("first-seq", 0, "sequence number of the first tick; 0: the time in microseconds, as tickerd, so ids are as long as its")
	interval := fs.Duration("flush-interval", stream.DefaultFlushInterval, "how long ticks are gathered before one write per client")
	backlog := fs.Int("backlog", 1<<20, "unwritten bytes past which a client is disconnected")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case *interval <= 0:
		return fmt.Errorf("-flush-interval must be above 0, got %v", *interval)
	case *backlog < 1:
		return fmt.Errorf("-backlog must be at least 1 byte, got %d", *backlog)
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	if *firstSeq == 0 {
		*firstSeq = uint64(time.Now().UnixMicro())
	}
	sim, err := feed.NewSimulator(feed.SimulatorConfig{
		Symbols: feed.DefaultUniverse(), Rate: *rate, Seed: *seed, FirstSeq: *firstSeq, Clock: feed.SystemClock{},
	})
	if err != nil {
		return fmt.Errorf("-rate: %w", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	b := newBroadcaster(runtime.GOMAXPROCS(0), *backlog)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /events", b.serveEvents)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "ceiling: listening on http://%s/events (rate %v/s, seed %d, pid %d)\n", ln.Addr(), *rate, *seed, os.Getpid())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	serveErr := make(chan error, 1)
	wg.Go(func() { serveErr <- server.Serve(ln) })
	wg.Go(func() { b.run(ctx, *interval) })
	var body []byte
	simErr := sim.Run(ctx, func(t feed.Tick) {
		body = t.AppendJSON(body[:0])
		b.publish(t.Seq, body)
	})
	cancel()
	_ = server.Close()
	wg.Wait()
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return simErr
}

// head is the answer to every stream request: tickerd's SSE head and
// retry hint.
var head = []byte("HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nConnection: close\r\n" +
	"Content-Type: text/event-stream; charset=utf-8\r\nX-Accel-Buffering: no\r\n\r\nretry: 2000\n\n")

// broadcaster gathers encoded ticks and hands each batch to its writers.
type broadcaster struct {
	writers []*writer
	limit   int

	mu      sync.Mutex
	pending []byte
	joining []*peer
	spare   []byte // the previous batch's buffer, free once it is written
	stopped bool
}

func newBroadcaster(writers, limit int) *broadcaster {
	b := &broadcaster{limit: limit}
	for range writers {
		b.writers = append(b.writers, &writer{batches: make(chan []byte), finished: make(chan struct{})})
	}
	return b
}

// publish encodes one tick into the pending batch.
func (b *broadcaster) publish(seq uint64, body []byte) {
	b.mu.Lock()
	b.pending = sse.Framing{}.AppendEvent(b.pending, stream.KindTick, seq, body)
	b.mu.Unlock()
}

// serveEvents takes the connection over and queues it to join at the next batch.
func (b *broadcaster) serveEvents(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "event streams are served over HTTP/1.1", http.StatusHTTPVersionNotSupported)
		return
	}
	_ = conn.SetDeadline(time.Time{})
	p, err := newPeer(conn)
	if err != nil {
		_ = conn.Close()
		return
	}
	p.backlog = append(p.backlog, head...)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		_ = conn.Close()
		return
	}
	b.joining = append(b.joining, p)
}

// run hands a batch to every writer each interval until ctx is done, then
// closes every client.
func (b *broadcaster) run(ctx context.Context, interval time.Duration) {
	var wg sync.WaitGroup
	for _, w := range b.writers {
		wg.Go(func() { w.run(b.limit) })
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	next := 0
	for {
		select {
		case <-ctx.Done():
			b.mu.Lock()
			b.stopped = true
			for _, p := range b.joining {
				_ = p.conn.Close()
			}
			b.mu.Unlock()
			for _, w := range b.writers {
				close(w.batches)
			}
			wg.Wait()
			return
		case <-ticker.C:
		}
		b.mu.Lock()
		batch, joins := b.pending, b.joining
		b.pending, b.joining = b.spare[:0], nil
		b.mu.Unlock()
		if len(batch) == 0 && len(joins) == 0 {
			b.spare = batch
			continue
		}
		for _, p := range joins {
			w := b.writers[next%len(b.writers)]
			next++
			w.peers = append(w.peers, p)
		}
		for _, w := range b.writers {
			w.batches <- batch
		}
		for _, w := range b.writers {
			<-w.done()
		}
		b.spare = batch
	}
}

// writer owns a share of the clients and writes each batch to them.
type writer struct {
	batches  chan []byte
	finished chan struct{}
	peers    []*peer
	iov      []syscall.Iovec
}

func (w *writer) done() <-chan struct{} { return w.finished }

func (w *writer) run(limit int) {
	for batch := range w.batches {
		kept := w.peers[:0]
		for _, p := range w.peers {
			if w.write(p, batch) && len(p.backlog) <= limit {
				kept = append(kept, p)
				continue
			}
			_ = p.conn.Close()
		}
		clear(w.peers[len(kept):])
		w.peers = kept
		w.finished <- struct{}{}
	}
	for _, p := range w.peers {
		_ = p.conn.Close()
	}
}

// write makes one non-blocking vectored write of p's backlog and batch,
// keeping what the socket did not take; it reports false if p is gone.
func (w *writer) write(p *peer, batch []byte) bool {
	w.iov = w.iov[:0]
	for _, s := range [2][]byte{p.backlog, batch} {
		if len(s) > 0 {
			iov := syscall.Iovec{Base: &s[0]}
			iov.SetLen(len(s))
			w.iov = append(w.iov, iov)
		}
	}
	if len(w.iov) == 0 {
		return true
	}
	n, err := writev(p.fd, w.iov)
	if err != nil {
		return false
	}
	if n < len(p.backlog) {
		p.backlog = append(p.backlog[:copy(p.backlog, p.backlog[n:])], batch...)
		return true
	}
	n -= len(p.backlog)
	p.backlog = append(p.backlog[:0], batch[n:]...)
	if len(p.backlog) == 0 && cap(p.backlog) > 0 {
		p.backlog = nil // an idle client holds no buffer
	}
	return true
}

// peer is one client: its connection, its descriptor and what it has not
// taken yet.
type peer struct {
	conn    net.Conn
	fd      int
	backlog []byte
}

func newPeer(conn net.Conn) (*peer, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("not a socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	p := &peer{conn: conn, fd: -1}
	if err := raw.Control(func(fd uintptr) { p.fd = int(fd) }); err != nil {
		return nil, err
	}
	return p, nil
}

// writev writes iov to the non-blocking descriptor fd once; a full socket
// writes 0 bytes and is not an error.
func writev(fd int, iov []syscall.Iovec) (int, error) {
	for {
		n, _, errno := syscall.Syscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		switch errno {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, nil
		}
		return 0, errno
	}
}
