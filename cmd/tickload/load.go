package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadRun is one run of the load: the clients and what they share.
type loadRun struct {
	cfg     *config
	clients []*client
	latency histogram

	measuring       atomic.Bool  // inside the measured window: record latency
	connected       atomic.Int64 // connections open now
	attempts        atomic.Int64 // clients past their first connection attempt
	allAttempted    chan struct{}
	connectFailures atomic.Uint64
	disconnects     atomic.Uint64
	reconnects      atomic.Uint64
	pongs           atomic.Uint64 // WebSocket pings answered

	mu        sync.Mutex
	lastError string
}

// attempted records that a client has finished its first connection attempt.
func (l *loadRun) attempted() {
	if l.attempts.Add(1) == int64(len(l.clients)) {
		close(l.allAttempted)
	}
}

func (l *loadRun) noteError(err error) {
	l.mu.Lock()
	l.lastError = err.Error()
	l.mu.Unlock()
}

// newLoadRun builds the clients: their roles (stalled, sampled, plain),
// their subscriptions and their requests, all drawn from cfg.seed.
func newLoadRun(cfg *config) *loadRun {
	l := &loadRun{cfg: cfg, allAttempted: make(chan struct{})}
	rng := rand.New(rand.NewPCG(cfg.seed, 0x7469636b6c6f6164))
	roles := rng.Perm(cfg.clients) // first stall, then sample
	l.clients = make([]*client, cfg.clients)
	for i := range l.clients {
		c := &client{
			target: buildTarget(cfg.url, clientSymbols(cfg, i, rng)),
			buf:    make([]byte, cfg.bufSize),
			rng:    rand.New(rand.NewPCG(cfg.seed, uint64(i))),
		}
		if len(cfg.sources) > 0 {
			c.source = cfg.sources[i%len(cfg.sources)]
		}
		c.session = newSession(cfg, c)
		l.clients[i] = c
	}
	for i, r := range roles {
		switch {
		case i < cfg.stall:
			l.clients[r].stalled = true
		case i < cfg.stall+cfg.sample:
			l.clients[r].sampled = true
		}
	}
	return l
}

// clientSymbols returns the symbols client i subscribes to; nil is all.
func clientSymbols(cfg *config, i int, rng *rand.Rand) []string {
	switch cfg.mode {
	case modeOne:
		return []string{cfg.symbols[i%len(cfg.symbols)]}
	case modeRandom:
		syms := make([]string, cfg.k)
		for j, p := range rng.Perm(len(cfg.symbols))[:cfg.k] {
			syms[j] = cfg.symbols[p]
		}
		return syms
	}
	return nil
}

// buildTarget returns the request target of u (its path and query) with
// the symbols parameter set to syms, when any.
func buildTarget(u *url.URL, syms []string) string {
	target := u.EscapedPath()
	query := u.RawQuery
	if len(syms) > 0 {
		if query != "" {
			query += "&"
		}
		query += "symbols=" + strings.Join(syms, ",") // symbols are [A-Z0-9.:-], safe in a query
	}
	if query != "" {
		target += "?" + query
	}
	return target
}

// newSession returns the session of client c over cfg's transport.
func newSession(cfg *config, c *client) session {
	switch cfg.transport {
	case transportWS:
		return newWSSession(cfg.url.Host, c.target, c.rng.Uint32)
	case transportPoll:
		return newPollSession(cfg.url.Host, c.target, cfg.pollWait, cfg.pollInterval)
	}
	return newSSESession(cfg.url.Host, c.target)
}

// latencyRecorder returns the function that records a latency, or nil
// outside the measured window.
func (l *loadRun) latencyRecorder() func(int64) {
	if l.measuring.Load() {
		return l.latency.Record
	}
	return nil
}

// pace pauses a counting client for -read-every after a read, so that
// events gather in its socket buffer: fewer, larger reads. Sampled clients
// read at once; their receive times are the latency.
func (l *loadRun) pace(c *client) {
	if d := l.cfg.readEvery; d > 0 && !c.sampled {
		time.Sleep(d)
	}
}

// sample is the state of the load at one instant.
type sample struct {
	at        time.Time
	delivered []uint64
	lastSeq   []uint64 // per client: id of the last event a sampled client dispatched
	connected int64
	requests  uint64 // all clients, since the start
	bytesIn   uint64
	bytesOut  uint64
	selfCPU   time.Duration
	serverCPU time.Duration
	serverRSS int64
}

func (l *loadRun) sample() (sample, error) {
	s := sample{
		at:        time.Now(),
		delivered: make([]uint64, len(l.clients)),
		lastSeq:   make([]uint64, len(l.clients)),
		connected: l.connected.Load(),
		selfCPU:   selfCPU(),
	}
	for i, c := range l.clients {
		s.delivered[i], s.lastSeq[i] = c.progress()
		s.requests += c.requests.Load()
		s.bytesIn += c.bytesIn.Load()
		s.bytesOut += c.bytesOut.Load()
	}
	if l.cfg.pid > 0 {
		var err error
		if s.serverCPU, err = processCPU(l.cfg.pid); err != nil {
			return s, err
		}
		if s.serverRSS, err = processRSS(l.cfg.pid); err != nil {
			return s, err
		}
	}
	return s, nil
}

// phases are the times the run took to reach each stage.
type phases struct {
	connected time.Duration // start until every client had its first answer
	start     sample        // the measured window
	end       sample
	baseRSS   int64 // server RSS before the first connection
}

// execute runs the load: ramp, wait for every client's first attempt,
// warm-up, the measured window; then it stops every client and waits for
// them. Progress goes to logw.
func (l *loadRun) execute(ctx context.Context, logw io.Writer) (phases, error) {
	var ph phases
	cfg := l.cfg
	if cfg.pid > 0 {
		var err error
		if ph.baseRSS, err = processRSS(cfg.pid); err != nil {
			return ph, err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	fmt.Fprintf(logw, "tickload: opening %d %s connections to %s over %v (%d sampled for latency, %d stalled)\n",
		len(l.clients), cfg.transport, cfg.url, cfg.ramp, cfg.sample, cfg.stall)
	begin := time.Now()
	for i, c := range l.clients {
		at := begin.Add(cfg.ramp * time.Duration(i) / time.Duration(len(l.clients)))
		if err := waitUntil(ctx, at); err != nil {
			return ph, err
		}
		wg.Go(func() { c.run(ctx, l) })
	}
	select {
	case <-l.allAttempted:
	case <-ctx.Done():
		return ph, fmt.Errorf("interrupted while connecting: %w", context.Cause(ctx))
	}
	ph.connected = time.Since(begin)
	fmt.Fprintf(logw, "tickload: %d of %d connected after %.2fs (%d connect failures); warming up for %v\n",
		l.connected.Load(), len(l.clients), ph.connected.Seconds(), l.connectFailures.Load(), cfg.warmup)
	if err := waitUntil(ctx, time.Now().Add(cfg.warmup)); err != nil {
		return ph, err
	}

	var err error
	l.measuring.Store(true)
	if ph.start, err = l.sample(); err != nil {
		return ph, err
	}
	fmt.Fprintf(logw, "tickload: measuring for %v\n", cfg.duration)
	stopProfile, err := startCPUProfile(cfg.cpuProfile)
	if err != nil {
		return ph, err
	}
	err = waitUntil(ctx, ph.start.at.Add(cfg.duration))
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return ph, err
	}
	ph.end, err = l.sample()
	l.measuring.Store(false)
	if err != nil {
		return ph, err
	}
	cancel()
	wg.Wait()
	fmt.Fprintf(logw, "tickload: done\n")
	return ph, nil
}

// waitUntil waits for t; it returns an error if ctx ends first.
func waitUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("interrupted: %w", context.Cause(ctx))
	case <-timer.C:
		return nil
	}
}

// startCPUProfile starts profiling this process into path, if not empty,
// and returns the function that stops it and closes the file.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
