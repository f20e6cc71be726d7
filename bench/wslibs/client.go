package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// clientConfig is what the client process of a run takes.
type clientConfig struct {
	addr    string
	conns   int
	rounds  int
	warmup  int
	size    int
	timeout time.Duration
}

// client is the client process of a run: it opens cfg.conns WebSocket
// connections to cfg.addr with raw sockets, says "ready", and then says
// "got K T" when every connection has received message K whole, T being
// the monotonic clock then. Told "quit" (or at the end of its input) it
// says "cpu NS", the CPU it used over the measured rounds, and ends.
//
// Its reading costs as little as it can, so the server's figures are the
// server's: one epoll goroutine per core, each over a share of the sockets,
// and no goroutine or runtime poller entry per connection.
func client(ctx context.Context, cfg clientConfig, stdin io.Reader, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	say := func(format string, args ...any) { fmt.Fprintf(stdout, format+"\n", args...) }

	conns, err := dialAll(cfg)
	if err != nil {
		say("error %v", err)
		return err
	}
	defer func() {
		for _, c := range conns {
			_ = syscall.Close(c.fd)
		}
	}()

	total := cfg.warmup + cfg.rounds
	rounds := &roundBook{want: int32(cfg.conns), done: make([]atomic.Int32, total), whole: make(chan roundDone, total)}
	readers := runtime.GOMAXPROCS(0)
	failed := make(chan error, readers)
	readCtx, stopReading := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopReading()
	for r := range readers {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return err
		}
		var share []*clientConn
		for i := r; i < len(conns); i += readers {
			ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(len(share))}
			if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, conns[i].fd, &ev); err != nil {
				return err
			}
			share = append(share, conns[i])
		}
		wg.Go(func() {
			defer syscall.Close(epfd)
			if err := readShare(readCtx, epfd, share, cfg.size, rounds); err != nil {
				failed <- err
			}
		})
	}

	quit := make(chan struct{})
	go func() { // ends with the process: stdin closes when the server ends
		sc := bufio.NewScanner(stdin)
		for sc.Scan() && sc.Text() != "quit" {
		}
		close(quit)
	}()
	say("ready")
	cpuFrom, cpuTo := clock(clockProcessCPU), int64(0)
	for {
		select {
		case d := <-rounds.whole:
			say("got %d %d", d.round, d.at)
			switch d.round {
			case cfg.warmup - 1:
				cpuFrom = clock(clockProcessCPU)
			case total - 1:
				cpuTo = clock(clockProcessCPU)
			}
		case err := <-failed:
			say("error %v", err)
			return err
		case <-quit:
			if cpuTo == 0 {
				cpuTo = clock(clockProcessCPU)
			}
			say("cpu %d", cpuTo-cpuFrom)
			return nil
		case <-ctx.Done():
			say("error %v", ctx.Err())
			return ctx.Err()
		}
	}
}

// roundBook counts, for each message, the connections that have it whole.
type roundBook struct {
	want  int32
	done  []atomic.Int32
	whole chan roundDone
}

type roundDone struct {
	round int
	at    int64
}

// delivered records that one more connection has message k.
func (b *roundBook) delivered(k int) {
	if b.done[k].Add(1) == b.want {
		b.whole <- roundDone{k, clock(clockMonotonic)}
	}
}

// clientConn is one connection and what it has read of the frame under
// way.
type clientConn struct {
	fd       int
	messages int      // whole messages so far
	head     [10]byte // the frame header so far
	headLen  int
	left     int // payload bytes still to come; 0 with headLen 0: between frames
	pos      int // payload bytes of this frame so far
	inFrame  bool
	seq      [8]byte // the payload's number
}

// wsKey is a valid Sec-WebSocket-Key; every connection may send the same.
const wsKey = "dGhlIHNhbXBsZSBub25jZQ=="

// dialAll opens and upgrades cfg.conns connections, 16 at a time.
func dialAll(cfg clientConfig) ([]*clientConn, error) {
	host, portText, err := net.SplitHostPort(cfg.addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portText)
	ip := net.ParseIP(host).To4()
	if err != nil || ip == nil {
		return nil, fmt.Errorf("want an IPv4 address and port, got %q", cfg.addr)
	}
	sa := syscall.SockaddrInet4{Port: port, Addr: [4]byte(ip)}
	req := []byte("GET /ws HTTP/1.1\r\nHost: " + cfg.addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + wsKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n")
	conns := make([]*clientConn, cfg.conns)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for w := range errs {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(conns) && errs[w] == nil; i = int(next.Add(1) - 1) {
				conns[i], errs[w] = dial(sa, req)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, c := range conns {
			if c != nil {
				_ = syscall.Close(c.fd)
			}
		}
		return nil, err
	}
	return conns, nil
}

// dial opens one connection with blocking calls bounded by socket
// timeouts, upgrades it and leaves it non-blocking. sa is a copy: Connect
// writes into it.
func dial(sa syscall.SockaddrInet4, req []byte) (*clientConn, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	c := &clientConn{fd: fd}
	fail := func(what string, err error) (*clientConn, error) {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	tv := syscall.Timeval{Sec: 10}
	_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv)
	for deadline := time.Now().Add(10 * time.Second); ; {
		err = syscall.Connect(fd, &sa)
		if err == syscall.EISCONN {
			err = nil
		}
		if (err == syscall.EINTR || err == syscall.EALREADY || err == syscall.EINPROGRESS) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // interrupted: the connection goes on; ask again
			continue
		}
		break
	}
	if err != nil {
		return fail("connect", err)
	}
	for sent := 0; sent < len(req); {
		n, err := syscall.Write(fd, req[sent:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fail("send the handshake", err)
		}
		sent += n
	}
	var resp []byte
	buf := make([]byte, 1024)
	for !bytes.Contains(resp, []byte("\r\n\r\n")) {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return fail("read the handshake's answer", cmpErr(err, io.ErrUnexpectedEOF))
		}
		resp = append(resp, buf[:n]...)
	}
	if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101 ")) {
		line, _, _ := bytes.Cut(resp, []byte("\r\n"))
		return fail("upgrade", fmt.Errorf("server answered %q", line))
	}
	if end := bytes.Index(resp, []byte("\r\n\r\n")) + 4; end < len(resp) {
		return fail("upgrade", errors.New("bytes after the handshake before any broadcast"))
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		return fail("non-blocking", err)
	}
	return c, nil
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// readShare reads the sockets of share that have bytes until ctx is done.
func readShare(ctx context.Context, epfd int, share []*clientConn, size int, rounds *roundBook) error {
	events := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	for ctx.Err() == nil {
		n, err := syscall.EpollWait(epfd, events, 100)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("epoll wait: %w", err)
		}
		for _, ev := range events[:n] {
			c := share[ev.Fd]
			for {
				m, err := syscall.Read(c.fd, buf)
				if err == syscall.EINTR {
					continue
				}
				if err == syscall.EAGAIN {
					break
				}
				if err != nil || m == 0 {
					return fmt.Errorf("a connection ended after %d messages: %v", c.messages, cmpErr(err, io.EOF))
				}
				if err := c.consume(buf[:m], size, rounds); err != nil {
					return err
				}
				if m < len(buf) {
					break
				}
			}
		}
	}
	return nil
}

// consume parses data, the next bytes of the connection: text frames of
// size bytes, each the next message in order.
func (c *clientConn) consume(data []byte, size int, rounds *roundBook) error {
	for len(data) > 0 {
		if !c.inFrame {
			c.head[c.headLen] = data[0]
			c.headLen++
			data = data[1:]
			need := 2
			if c.headLen >= 2 {
				switch c.head[1] & 0x7F {
				case 126:
					need = 4
				case 127:
					need = 10
				}
			}
			if c.headLen < need {
				continue
			}
			length := int(c.head[1] & 0x7F)
			switch need {
			case 4:
				length = int(binary.BigEndian.Uint16(c.head[2:]))
			case 10:
				length = int(binary.BigEndian.Uint64(c.head[2:]))
			}
			switch {
			case c.head[0] != 0x81:
				return fmt.Errorf("want a whole text frame, got first byte %#x", c.head[0])
			case c.head[1]&0x80 != 0:
				return errors.New("a masked frame from the server")
			case length != size:
				return fmt.Errorf("want a %d-byte message, got %d bytes", size, length)
			case c.messages >= len(rounds.done):
				return errors.New("more messages than were sent")
			}
			c.headLen, c.inFrame, c.left, c.pos = 0, true, length, 0
			continue
		}
		take := min(len(data), c.left)
		lo, hi := max(c.pos, len(seqPrefix)), min(c.pos+take, len(seqPrefix)+len(c.seq))
		if lo < hi {
			copy(c.seq[lo-len(seqPrefix):hi-len(seqPrefix)], data[lo-c.pos:hi-c.pos])
		}
		c.pos += take
		c.left -= take
		data = data[take:]
		if c.left > 0 {
			continue
		}
		c.inFrame = false
		if seq, err := strconv.Atoi(string(c.seq[:])); err != nil || seq != c.messages {
			return fmt.Errorf("want message %d, got %q", c.messages, c.seq[:])
		}
		rounds.delivered(c.messages)
		c.messages++
	}
	return nil
}
