package sse

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
)

// churnKinds are the ways a churn client behaves; each is a function of
// the client's connection and a reader over it.
var churnKinds = []string{
	"reads a little", "resets mid-write", "never reads", "bad token", "expired token",
	"unentitled", "hangs up before the answer", "over its address's limit", "HEAD",
}

// TestChurnLeavesNoTrace connects and disconnects thousands of clients of
// every kind while ticks flow, then checks that goroutines and heap are
// back at their baseline and that a client reading all along missed no
// tick.
func TestChurnLeavesNoTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of connections")
	}
	const (
		workers    = 16
		perWorker  = 250
		tickEvery  = 2 * time.Millisecond
		ticksEach  = 10
		maxPerAddr = 4
	)
	th := startHub(t, testConfig{
		Auth:              newVerifier(t),
		ReplaySize:        4096,
		WriteTimeout:      500 * time.Millisecond,
		Heartbeat:         2 * time.Second,
		MaxStreamsPerAddr: maxPerAddr,
		TrustedProxies:    []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	hour := time.Now().Add(time.Hour)
	good := token(t, hour, "*")
	partial := token(t, hour, "AAPL")
	expired := token(t, time.Now().Add(-time.Hour), "*")

	// Ticks flow from start to end.
	var published atomic.Uint64
	pubCtx, stopPublishing := context.WithCancel(context.Background())
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		syms := th.Symbols()
		tick := time.NewTicker(tickEvery)
		defer tick.Stop()
		for seq := uint64(1); ; {
			select {
			case <-pubCtx.Done():
				return
			case <-tick.C:
			}
			for range ticksEach {
				px := 100 + float64(seq%50)/100
				_ = th.Publish(feed.Tick{Seq: seq, Symbol: syms[seq%uint64(len(syms))], Price: px, Bid: px - 0.01, Ask: px + 0.01, Size: 1, Time: time.Now()})
				published.Store(seq)
				seq++
			}
		}
	}()
	defer func() { stopPublishing(); <-pubDone }()

	// The keeper reads every tick from before the churn to after it.
	keeper := th.dial(t, "", bearer(good))
	keeper.mustNext()
	keeper.mustNext()
	_ = keeper.conn.SetReadDeadline(time.Time{})
	var keeperLast atomic.Uint64
	keeperErr := make(chan error, 1)
	go func() {
		var last uint64
		for {
			ev, err := keeper.next()
			if err != nil {
				keeperErr <- fmt.Errorf("keeper after tick %d: %w", last, err)
				return
			}
			if ev.name != "tick" {
				continue
			}
			seq, err := strconv.ParseUint(ev.id, 10, 64)
			if err != nil || (last != 0 && seq != last+1) {
				keeperErr <- fmt.Errorf("keeper: tick %q after %d", ev.id, last)
				return
			}
			last = seq
			keeperLast.Store(seq)
		}
	}()

	addr := th.srv.Listener.Addr().String()
	churn := func(worker, n int) (counts []int) {
		counts = make([]int, len(churnKinds))
		for i := range n {
			kind := (worker + i) % len(churnKinds)
			counts[kind]++
			if err := churnOnce(addr, kind, worker, good, partial, expired); err != nil {
				t.Errorf("%s: %v", churnKinds[kind], err)
				return counts
			}
		}
		return counts
	}
	runChurn := func(n int) []int {
		var mu sync.Mutex
		total := make([]int, len(churnKinds))
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				counts := churn(w, n)
				mu.Lock()
				for k, c := range counts {
					total[k] += c
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		return total
	}
	settled := func() bool {
		streams, addrs := th.streams.Counts()
		return th.Status().Clients == 1 && streams == 1 && addrs == 1
	}

	// A first round warms up what lasts (buffers, the ring, the server),
	// then the baseline is taken.
	warm := runChurn(10)
	waitFor(t, "warm-up streams closed", settled)
	waitFor(t, "ring full", func() bool { return published.Load() > 8192 })
	goroutines0, heap0 := runtime.NumGoroutine(), heapAlloc()

	start := time.Now()
	counts := runChurn(perWorker)
	churnTime := time.Since(start)
	waitFor(t, "every churned stream closed", settled)
	t.Logf("%d connections (after %d to warm up) in %v by %d workers while %d ticks were published", workers*perWorker, workers*10, churnTime.Round(time.Millisecond), workers, published.Load())
	for k, c := range counts {
		t.Logf("  %-28s %d", churnKinds[k], c+warm[k])
	}

	// Every refusal was counted, and every stream opened was closed.
	for k := range counts {
		counts[k] += warm[k]
	}
	rejected := func(reason string) int { return int(th.metric(t, "tickerd_streams_rejected_total", reason)) }
	if got, want := rejected("unauthorized"), counts[3]+counts[4]; got != want {
		t.Errorf("rejected{unauthorized} = %d, want %d", got, want)
	}
	if got, want := rejected("forbidden"), counts[5]; got != want {
		t.Errorf("rejected{forbidden} = %d, want %d", got, want)
	}
	// A writer counts its closes at the end of its cycle, after it has
	// released the stream, so the last ones may still be on their way.
	var opened, closed float64
	countOpenAndClosed := func() bool {
		opened, closed = th.metric(t, "tickerd_streams_opened_total"), 0
		for _, r := range []string{"normal", "slow", "write_error", "shutdown", "over_limit", "token_expired", "protocol"} {
			closed += th.metric(t, "tickerd_streams_closed_total", r)
		}
		return opened-closed == 1
	}
	if !eventually(countOpenAndClosed) {
		t.Errorf("%v streams opened, %v closed; only the keeper should be open", opened, closed)
	}
	if th.metric(t, "tickerd_events_dropped_total", "disconnected") == 0 {
		t.Error("no stream was closed with ticks still queued: nothing was reset mid-write")
	}
	t.Logf("  answered 429: %d; closed normal %v, slow %v, write_error %v; ticks dropped on disconnect %v",
		rejected("over_client_limit"),
		th.metric(t, "tickerd_streams_closed_total", "normal"),
		th.metric(t, "tickerd_streams_closed_total", "slow"),
		th.metric(t, "tickerd_streams_closed_total", "write_error"),
		th.metric(t, "tickerd_events_dropped_total", "disconnected"))

	// The keeper missed nothing: it catches up with the last published tick.
	stopPublishing()
	<-pubDone
	last := published.Load()
	deadline := time.Now().Add(10 * time.Second)
	for keeperLast.Load() < last {
		select {
		case err := <-keeperErr:
			t.Fatal(err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("keeper at tick %d of %d", keeperLast.Load(), last)
		}
		time.Sleep(time.Millisecond)
	}

	// Goroutines and heap come back to the baseline.
	var goroutines int
	waitFor(t, "goroutines back at the baseline", func() bool {
		goroutines = runtime.NumGoroutine()
		return goroutines <= goroutines0+2
	})
	heap := heapAlloc()
	t.Logf("keeper read ticks 1..%d without a gap; goroutines %d → %d; heap %.1f → %.1f MiB",
		last, goroutines0, goroutines, float64(heap0)/(1<<20), float64(heap)/(1<<20))
	if limit := heap0 + heap0/2 + 2<<20; heap > limit {
		t.Errorf("heap %d bytes after the churn, baseline %d (limit %d)", heap, heap0, limit)
	}
}

func heapAlloc() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// churnOnce makes one connection behave as churnKinds[kind] and checks the
// answer it gets.
func churnOnce(addr string, kind, worker int, good, partial, expired string) error {
	small := kind == 1 || kind == 2
	d := net.Dialer{Timeout: 5 * time.Second}
	if small {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	method, query, tok := "GET", "", good
	from := fmt.Sprintf("198.51.100.%d", worker) // each worker is one client address
	switch kind {
	case 3:
		tok = "not.a.token"
	case 4:
		tok = expired
	case 5:
		query, tok = "?symbols=AAPL,MSFT", partial
	case 7:
		from = "203.0.113.1" // every worker at once: the address's limit is hit
	case 8:
		method = "HEAD"
	}
	req := method + " /events" + query + " HTTP/1.1\r\nHost: churn\r\nAuthorization: Bearer " + tok +
		"\r\nX-Forwarded-For: " + from + "\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		return err
	}
	if kind == 6 {
		return nil // hangs up before reading a byte
	}
	r := bufio.NewReader(conn)
	if kind == 2 {
		// Never reads; holds the stream a while, then leaves with its
		// receive buffer full.
		time.Sleep(time.Duration(worker%5) * 20 * time.Millisecond)
		return nil
	}
	resp, err := http.ReadResponse(r, &http.Request{Method: method})
	if err != nil {
		return err
	}
	want := map[int]int{3: 401, 4: 401, 5: 403, 8: 200}[kind]
	switch {
	case kind == 7 && resp.StatusCode != 200 && resp.StatusCode != 429:
		return fmt.Errorf("status %d, want 200 or 429", resp.StatusCode)
	case want != 0 && resp.StatusCode != want:
		return fmt.Errorf("status %d, want %d", resp.StatusCode, want)
	case want == 0 && kind != 7 && resp.StatusCode != 200:
		return fmt.Errorf("status %d, want 200", resp.StatusCode)
	}
	if resp.StatusCode != 200 || method == "HEAD" {
		_, err := io.Copy(io.Discard, resp.Body)
		return err
	}
	if kind == 1 {
		// Reads its head, lets ticks pile up against its tiny window, and
		// resets the connection with bytes in flight.
		time.Sleep(30 * time.Millisecond)
		_ = conn.(*net.TCPConn).SetLinger(0)
		return nil
	}
	// Reads the retry hint, the snapshot and a tick or two, then leaves.
	buf := make([]byte, 4096)
	for n := 0; n < 2048; {
		m, err := resp.Body.Read(buf)
		if err != nil {
			return err
		}
		n += m
	}
	return nil
}
