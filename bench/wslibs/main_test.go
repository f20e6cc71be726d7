package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestPayload(t *testing.T) {
	for _, size := range []int{150, 200, 1000} {
		p := payload(42, size)
		if len(p) != size {
			t.Errorf("payload(42, %d) has %d bytes", size, len(p))
		}
		if !strings.HasPrefix(string(p), seqPrefix+"00000042,") || !strings.HasSuffix(string(p), `"}`) {
			t.Errorf("payload(42, %d) = %s", size, p)
		}
	}
}

// frame is a server's text frame of p.
func frame(p []byte) []byte {
	if len(p) <= 125 {
		return append([]byte{0x81, byte(len(p))}, p...)
	}
	return append([]byte{0x81, 126, byte(len(p) >> 8), byte(len(p))}, p...)
}

func TestConsumeCountsMessagesSplitAnywhere(t *testing.T) {
	const size = 200
	var wire []byte
	for k := range 3 {
		wire = append(wire, frame(payload(k, size))...)
	}
	for cut := 1; cut < len(wire); cut++ {
		book := &roundBook{want: 1, done: make([]atomic.Int32, 3), whole: make(chan roundDone, 3)}
		c := &clientConn{}
		for _, part := range [][]byte{wire[:cut], wire[cut:]} {
			if err := c.consume(part, size, book); err != nil {
				t.Fatalf("cut at %d: %v", cut, err)
			}
		}
		if c.messages != 3 || len(book.whole) != 3 {
			t.Fatalf("cut at %d: %d messages, %d rounds whole; want 3 and 3", cut, c.messages, len(book.whole))
		}
		for k := range 3 {
			if d := <-book.whole; d.round != k {
				t.Fatalf("cut at %d: round %d whole where %d was due", cut, d.round, k)
			}
		}
	}
}

func TestConsumeRefuses(t *testing.T) {
	const size = 200
	binary := frame(payload(0, size))
	binary[0] = 0x82
	short := frame(payload(0, 150))
	for _, tc := range []struct {
		name string
		wire []byte
		want string
	}{
		{"a message out of order", frame(payload(1, size)), "want message 0"},
		{"a binary frame", binary, "text frame"},
		{"a message of another size", short, "200-byte message"},
		{"more messages than sent", append(frame(payload(0, size)), frame(payload(1, size))...), "more messages"},
	} {
		book := &roundBook{want: 1, done: make([]atomic.Int32, 1), whole: make(chan roundDone, 1)}
		err := (&clientConn{}).consume(tc.wire, size, book)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

// TestLibrariesDeliver has each library broadcast three messages to ten
// connections of the benchmark's client, in this process.
func TestLibrariesDeliver(t *testing.T) {
	const conns, rounds, size = 10, 3, 200
	for _, l := range libraries {
		t.Run(l.name, func(t *testing.T) {
			lib, err := l.new()
			if err != nil {
				t.Fatal(err)
			}
			defer lib.Close()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: lib}
			go srv.Serve(ln)
			defer srv.Close()

			cs, err := dialAll(clientConfig{addr: ln.Addr().String(), conns: conns})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				for _, c := range cs {
					_ = syscall.Close(c.fd)
				}
			}()
			epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range cs {
				ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(i)}
				if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
					t.Fatal(err)
				}
			}
			book := &roundBook{want: conns, done: make([]atomic.Int32, rounds), whole: make(chan roundDone, rounds)}
			ctx, cancel := context.WithCancel(context.Background())
			readErr := make(chan error, 1)
			var wg sync.WaitGroup
			wg.Go(func() {
				defer syscall.Close(epfd)
				readErr <- readShare(ctx, epfd, cs, size, book)
			})
			defer wg.Wait()
			defer cancel()

			for deadline := time.Now().Add(5 * time.Second); lib.Count() < conns; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d connections upgraded", lib.Count(), conns)
				}
			}
			for k := range rounds {
				lib.Broadcast(payload(k, size))
				select {
				case d := <-book.whole:
					if d.round != k {
						t.Fatalf("round %d whole where %d was due", d.round, k)
					}
				case err := <-readErr:
					t.Fatalf("round %d: the client stopped reading: %v", k, err)
				case <-time.After(5 * time.Second):
					t.Fatalf("round %d: %d of %d connections have it after 5s", k, book.done[k].Load(), conns)
				}
			}
		})
	}
}
