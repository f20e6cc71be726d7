package sse

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/stream"
)

// tcpStat reads one figure of the kernel's TCP sockets from
// /proc/net/sockstat ("TCP: inuse 5 orphan 0 tw 0 alloc 7 mem 3"): mem is
// their memory in pages, orphan the sockets closed with bytes still to send.
func tcpStat(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "TCP:" {
			continue
		}
		for i := 1; i+1 < len(f); i += 2 {
			if f[i] == name {
				n, err := strconv.Atoi(f[i+1])
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
		}
	}
	t.Fatalf("no TCP %s in /proc/net/sockstat: %q", name, b)
	return 0
}

// procNetAddr is addr as /proc/net/tcp writes an IPv4 address: the
// address as a little-endian 32-bit word, a colon, the port, in hex.
func procNetAddr(addr *net.TCPAddr) string {
	ip := addr.IP.To4()
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], addr.Port)
}

// serverSendQueue sums, over the TCP sockets of the server's address whose
// peer is one of peers (as procNetAddr writes them), the bytes the kernel
// holds to send (tx_queue in /proc/net/tcp), and counts those sockets:
// the server's ends of the test's streams, orphans that a graceful close
// would leave behind included. The file is read a page at a time while
// the machine's sockets come and go, so a socket may be missed: the
// counts are at most the truth.
func serverSendQueue(t *testing.T, server *net.TCPAddr, peers map[string]bool) (sockets, bytes int) {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	local := procNetAddr(server)
	// A socket may also be listed twice; each peer has one here.
	queued := map[string]int{}
	for line := range strings.Lines(string(b)) {
		// sl local_address rem_address st tx_queue:rx_queue ...
		f := strings.Fields(line)
		if len(f) < 5 || f[1] != local || !peers[f[2]] {
			continue
		}
		tx, _, _ := strings.Cut(f[4], ":")
		n, _ := strconv.ParseInt(tx, 16, 64)
		queued[f[2]] = int(n)
	}
	for _, n := range queued {
		bytes += n
	}
	return len(queued), bytes
}

// neverReaders opens n streams of every symbol from sockets with tiny
// receive windows that never read, and returns their addresses as
// procNetAddr writes them, the connections, and when each was connected.
func (th *testHub) neverReaders(t *testing.T, n int) (addrs map[string]bool, conns []net.Conn, connected []time.Time) {
	t.Helper()
	addrs = map[string]bool{}
	for range n {
		c := th.dialSmallWindow(t)
		connected = append(connected, time.Now())
		addrs[procNetAddr(c.conn.LocalAddr().(*net.TCPAddr))] = true
		conns = append(conns, c.conn)
	}
	waitFor(t, "every client attached", func() bool { return th.Status().Clients == n })
	return addrs, conns, connected
}

// wasReset reports, without reading, whether conn's peer has reset it: a
// reset leaves ECONNRESET pending on the socket (SO_ERROR).
func wasReset(t *testing.T, conn net.Conn) bool {
	t.Helper()
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	reset := false
	if err := raw.Control(func(fd uintptr) {
		v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		reset = err == nil && syscall.Errno(v) == syscall.ECONNRESET
	}); err != nil {
		t.Fatal(err)
	}
	return reset
}

// market publishes ticks of symbols at rate a second until the returned
// function is called, paced by the clock rather than by a ticker that a
// busy machine would slow down.
func (th *testHub) market(t *testing.T, rate float64) (stop func()) {
	t.Helper()
	symbols := th.Symbols()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		start, sent := time.Now(), 0
		pace := time.NewTicker(5 * time.Millisecond)
		defer pace.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-pace.C:
				due := int(now.Sub(start).Seconds() * rate)
				sent = max(sent, due-int(rate/10)) // a machine too busy to keep up skips, rather than catching up for ever
				for ; sent < due; sent++ {
					th.seq++
					px := 100 + float64(th.seq%100)/100
					tick := feed.Tick{Seq: th.seq, Symbol: symbols[int(th.seq)%len(symbols)], Price: px, Bid: px - 0.01, Ask: px + 0.01, Size: 100, Time: now}
					if err := th.Publish(tick); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}
	})
	var once sync.Once
	stop = func() { once.Do(func() { close(done); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// TestClientsThatNeverReadAreConflatedAndClosedInSeconds opens streams of
// the whole default universe from sockets with tiny receive windows that
// never read, at the default rate (100 ticks a second) and send buffer,
// and checks their promise: each stream is conflated within 2 s and closed
// as slow within -write-timeout + 1 s of connecting (its client's last
// read), abortively: no socket of the server is left holding its bytes,
// and the kernel's TCP memory (/proc/net/sockstat) held for them is given
// back at their close. There are enough of them that what their sockets
// hold (a few pages each) stands well above the steps of 256 pages a CPU
// in which the kernel moves its count.
func TestClientsThatNeverReadAreConflatedAndClosedInSeconds(t *testing.T) {
	const (
		clients      = 400
		writeTimeout = 3 * time.Second
	)
	var symbols []string
	for _, s := range feed.DefaultUniverse() {
		symbols = append(symbols, s.Name)
	}
	th := startHub(t, testConfig{Symbols: symbols, WriteTimeout: writeTimeout, FlushInterval: stream.DefaultFlushInterval,
		MaxStreamsPerAddr: clients})
	th.market(t, 100)

	orphans, before := tcpStat(t, "orphan"), tcpStat(t, "mem")
	start := time.Now()
	peers, conns, connected := th.neverReaders(t, clients)
	waitFor(t, "every client conflated", func() bool { return th.metric(t, "tickerd_clients_conflated") == clients })
	conflated := time.Since(start)
	sockets, queued := serverSendQueue(t, th.addr(), peers)
	// Each client learns of its close from the reset, which it sees
	// without reading; it is when the server closed the stream, measured
	// from the client's connection (its last read). The kernel's TCP
	// memory is the whole machine's: take the most it shows while the
	// clients are stalled, before the first reset.
	var first, last time.Duration // shortest and longest time from a connection to its reset
	held := tcpStat(t, "mem")
	reset := make([]bool, clients)
	allReset := eventually(func() bool {
		n := 0
		for i, c := range conns {
			if !reset[i] && wasReset(t, c) {
				reset[i] = true
				d := time.Since(connected[i])
				if first == 0 || d < first {
					first = d
				}
				last = max(last, d)
			}
			if reset[i] {
				n++
			}
		}
		if first == 0 {
			held = max(held, tcpStat(t, "mem"))
		}
		return n == clients
	})
	// A writer counts its closes at the end of its cycle, after the
	// resets, so the last ones may still be on their way.
	var closedSlow float64
	if !eventually(func() bool {
		closedSlow = th.metric(t, "tickerd_streams_closed_total", "slow")
		return closedSlow == clients
	}) {
		t.Errorf("closed{slow} = %v, want %d", closedSlow, clients)
	}
	orphaned := tcpStat(t, "orphan") - orphans
	var left, leftBytes int
	gone := eventually(func() bool { left, leftBytes = serverSendQueue(t, th.addr(), peers); return left == 0 })
	// A third of the pages of the bytes the server's sockets held must
	// come back: the kernel's count moves in steps of up to 256 pages a
	// CPU, which may hide part of what did, and the clients' own sockets,
	// still open, keep what they received.
	want := queued / 4096 / 3
	after := tcpStat(t, "mem")
	freed := eventually(func() bool { after = min(after, tcpStat(t, "mem")); return held-after >= want })
	t.Logf("%d clients conflated %v after the first connected, each closed %v to %v after it connected; before the close the server's sockets held %d bytes for %d of them (as listed); %d new orphaned sockets; TCP memory %d pages before the clients, %d while they were stalled, %d after their close",
		clients, conflated.Round(time.Millisecond), first.Round(time.Millisecond), last.Round(time.Millisecond), queued, sockets, orphaned, before, held, after)

	if conflated > 2*time.Second {
		t.Errorf("conflated %v after connecting, want within 2s", conflated.Round(time.Millisecond))
	}
	if !allReset {
		t.Errorf("%d of %d clients saw no reset: their close was not abortive", clients-count(reset), clients)
	} else if first < writeTimeout || last > writeTimeout+time.Second {
		t.Errorf("closed %v to %v after connecting, want after %v and within %v", first.Round(time.Millisecond), last.Round(time.Millisecond), writeTimeout, writeTimeout+time.Second)
	}
	if queued == 0 {
		t.Errorf("before the close the server's sockets held nothing for the clients")
	}
	// A graceful close leaves each stalled socket orphaned with its bytes.
	if !gone || orphaned >= clients/2 {
		t.Errorf("after the close %d server sockets still hold %d bytes, and %d more sockets are orphaned: the close was not abortive", left, leftBytes, orphaned)
	}
	if !freed {
		t.Errorf("TCP memory %d pages before the clients, %d while they were stalled and %d after their close: want at least %d pages given back", before, held, after, want)
	}
}

func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// TestASlowStreamsCloseGivesItsKernelMemoryBack fills large send buffers
// of clients that never read, then checks that closing them as slow gives
// the kernel's TCP memory (/proc/net/sockstat) back at once: at least half
// the pages of the bytes their sockets held. A graceful close would keep
// nearly all of it in orphaned sockets, for minutes. The buffers are large
// so that what they hold (tens of MiB) stands far above the kernel's
// per-CPU accounting slack (1 MiB a CPU) and the other sockets of a busy
// machine.
func TestASlowStreamsCloseGivesItsKernelMemoryBack(t *testing.T) {
	const (
		clients    = 32
		sendBuffer = 1 << 20
	)
	th := startHub(t, testConfig{SendBuffer: sendBuffer, WriteTimeout: 4 * time.Second, MaxStreamsPerAddr: clients})
	peers, _, _ := th.neverReaders(t, clients)
	conflated := func() bool { return th.metric(t, "tickerd_clients_conflated") == clients }
	for !conflated() {
		if th.seq >= 2_000_000 {
			t.Fatal("the clients were never all conflated")
		}
		th.publish(t, 1000)
		waitFor(t, "the flush", func() bool { _, seq := th.Quotes(); return seq == th.seq })
	}
	sockets, queued := serverSendQueue(t, th.addr(), peers)
	// The counter is the whole machine's: take the most it shows while the
	// clients are stalled and the least after their close.
	held := 0
	waitFor(t, "every client closed as slow", func() bool {
		held = max(held, tcpStat(t, "mem"))
		return th.metric(t, "tickerd_streams_closed_total", "slow") == clients
	})
	// Each socket holds at least its send buffer's worth of bytes (the
	// kernel doubles SO_SNDBUF for its accounting); half of that, in pages.
	const want = clients * sendBuffer / 4096 / 2
	after := tcpStat(t, "mem")
	freed := eventually(func() bool { after = min(after, tcpStat(t, "mem")); return held-after >= want })
	t.Logf("the server's sockets held %d bytes for %d of the %d clients (as listed); TCP memory %d pages while they were stalled, %d after their close",
		queued, sockets, clients, held, after)
	if !freed {
		t.Errorf("TCP memory %d pages while the clients were stalled and %d after their close: want at least %d pages given back", held, after, want)
	}
}

func (th *testHub) addr() *net.TCPAddr { return th.srv.Listener.Addr().(*net.TCPAddr) }

// TestAClientThatStopsReadingIsConflatedAndClosedInSeconds reads a stream
// of the whole default universe at the default rate and send buffer from a
// socket with a tiny receive window for a while, then stops reading: the
// stream must be conflated within 2 s of the client's last successful read
// and closed as slow, abortively, within -write-timeout + 1 s of it. Its
// kernel buffers fill from the live ticks alone, not from a snapshot, so
// this is the time a real client that stalls gets.
func TestAClientThatStopsReadingIsConflatedAndClosedInSeconds(t *testing.T) {
	const writeTimeout = 3 * time.Second
	var symbols []string
	for _, s := range feed.DefaultUniverse() {
		symbols = append(symbols, s.Name)
	}
	th := startHub(t, testConfig{Symbols: symbols, WriteTimeout: writeTimeout, FlushInterval: stream.DefaultFlushInterval})
	th.market(t, 100)

	c := th.dialSmallWindow(t)
	waitFor(t, "the client attached", func() bool { return th.Status().Clients == 1 })
	// Read everything that comes for a second, then stop.
	var lastRead time.Time
	got := 0
	buf := make([]byte, 4096)
	stop := time.Now().Add(time.Second)
	_ = c.conn.SetReadDeadline(stop)
	for {
		n, err := c.conn.Read(buf)
		if n > 0 {
			lastRead, got = time.Now(), got+n
		}
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal(err)
			}
			break
		}
	}
	if th.metric(t, "tickerd_clients_conflated") != 0 {
		t.Fatalf("conflated while it read")
	}
	waitFor(t, "the client conflated", func() bool { return th.metric(t, "tickerd_clients_conflated") == 1 })
	conflated := time.Since(lastRead)
	waitFor(t, "the client reset", func() bool { return wasReset(t, c.conn) })
	closed := time.Since(lastRead)
	waitFor(t, "the close counted", func() bool { return th.metric(t, "tickerd_streams_closed_total", "slow") == 1 })
	t.Logf("read %d bytes over a second; conflated %v and closed %v after its last read", got, conflated.Round(time.Millisecond), closed.Round(time.Millisecond))
	if conflated > 2*time.Second {
		t.Errorf("conflated %v after its last read, want within 2s", conflated.Round(time.Millisecond))
	}
	if closed < writeTimeout || closed > writeTimeout+time.Second {
		t.Errorf("closed %v after its last read, want after %v and within %v", closed.Round(time.Millisecond), writeTimeout, writeTimeout+time.Second)
	}
}

// TestAStalledStreamIsResetWhateverEndsIt ends, for another reason than
// slowness, a stream whose client has stopped reading and one whose client
// reads: the stalled one must be closed abortively (its client sees a
// reset and no socket of the server keeps its bytes), the other gracefully
// (its client reads to the end of the stream, with no reset).
func TestAStalledStreamIsResetWhateverEndsIt(t *testing.T) {
	const writeTimeout = 6 * time.Second // far beyond the end of each case: the stalled stream is never closed as slow
	var symbols []string
	for _, s := range feed.DefaultUniverse() {
		symbols = append(symbols, s.Name)
	}
	for _, tc := range []struct {
		name   string
		reason string
		drain  time.Duration
		token  bool // both streams' token expires 2 to 3 s after they open
	}{
		{name: "shutdown", reason: "shutdown"},
		{name: "drain", reason: "shutdown", drain: 500 * time.Millisecond},
		{name: "token expiry", reason: "token_expired", token: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig{Symbols: symbols, WriteTimeout: writeTimeout, FlushInterval: stream.DefaultFlushInterval, DrainWindow: tc.drain}
			var header map[string]string
			if tc.token {
				cfg.Auth = newVerifier(t)
				header = bearer(token(t, time.Now().Add(3*time.Second), "*"))
			}
			th := startHub(t, cfg)
			stopMarket := th.market(t, 100)

			healthy := th.dial(t, "", header)
			if healthy.status != 200 {
				t.Fatalf("status %d", healthy.status)
			}
			_ = healthy.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			read := make(chan error, 1)
			go func() { _, err := io.Copy(io.Discard, healthy.r); read <- err }()
			stalled := th.dialSmallWindowWith(t, header)
			peer := map[string]bool{procNetAddr(stalled.conn.LocalAddr().(*net.TCPAddr)): true}
			waitFor(t, "both attached", func() bool { return th.Status().Clients == 2 })
			waitFor(t, "the stalled stream conflated", func() bool { return th.metric(t, "tickerd_clients_conflated") == 1 })
			if _, queued := serverSendQueue(t, th.addr(), peer); queued == 0 {
				t.Errorf("the server's socket holds nothing for the stalled client")
			}

			if tc.token {
				waitFor(t, "both tokens expired", func() bool { return th.metric(t, "tickerd_streams_closed_total", tc.reason) == 2 })
			} else {
				stopMarket()
				th.stop()
			}
			if err := <-read; err != nil {
				t.Errorf("the reading client's stream ended with %v, want its end", err)
			}
			if !eventually(func() bool { return wasReset(t, stalled.conn) }) {
				t.Errorf("the stalled client saw no reset")
			}
			var left, leftBytes int
			if !eventually(func() bool { left, leftBytes = serverSendQueue(t, th.addr(), peer); return left == 0 }) {
				t.Errorf("after the close %d server socket still holds %d bytes for the stalled client: the close was not abortive", left, leftBytes)
			}
			if n := th.metric(t, "tickerd_streams_closed_total", tc.reason); n != 2 {
				t.Errorf("closed{%s} = %v, want 2", tc.reason, n)
			}
		})
	}
}
