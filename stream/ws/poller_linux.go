package ws

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"
)

// poller reads every WebSocket connection from one goroutine: an epoll set
// of their sockets says which have bytes, so a connection that sends
// nothing costs no goroutine, no buffer and no system call. The engine
// keeps writing to the same sockets; reads go through each connection's
// RawConn, so a socket the engine has closed is never read (its
// descriptor may already serve another connection).
type poller struct {
	epfd int

	mu     sync.Mutex
	conns  map[uint64]*conn
	nextID uint64
}

func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	return &poller{epfd: epfd, conns: make(map[uint64]*conn)}, nil
}

// watch starts reading c, unless its stream has ended already.
func (p *poller) watch(c *conn) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.gone.Load() {
		return nil
	}
	p.nextID++
	c.id = p.nextID
	var ctlErr error
	err := c.raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(c.id), Pad: int32(c.id >> 32)}
		ctlErr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
		if ctlErr == syscall.EEXIST { // a descriptor number of a closed connection, not yet dropped
			ctlErr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
		}
	})
	if err == nil {
		err = ctlErr
	}
	if err != nil {
		return err
	}
	p.conns[c.id] = c
	return nil
}

// remove stops reading c; the engine calls it, through the sink's
// OnClose, once it has closed c's socket, which drops the socket from the
// epoll set.
func (p *poller) remove(c *conn) {
	c.gone.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c.id)
}

// pollWait bounds one wait, so that the keepalive sweep and the end of
// ctx are noticed.
const pollWait = 200 * time.Millisecond

// run reads the connections that have bytes until ctx is done, sweeping
// them for keepalive every second.
func (p *poller) run(ctx context.Context, h *Handler) error {
	defer syscall.Close(p.epfd)
	events := make([]syscall.EpollEvent, 256)
	scratch := make([]byte, 16<<10)
	var ready []*conn
	lastSweep := time.Now()
	for ctx.Err() == nil {
		n, err := syscall.EpollWait(p.epfd, events, int(pollWait/time.Millisecond))
		if err != nil && err != syscall.EINTR {
			return fmt.Errorf("epoll wait: %w", err)
		}
		now := time.Now()
		ready = ready[:0]
		p.mu.Lock()
		for _, ev := range events[:max(n, 0)] {
			if c, ok := p.conns[uint64(uint32(ev.Fd))|uint64(uint32(ev.Pad))<<32]; ok {
				ready = append(ready, c)
			}
		}
		p.mu.Unlock()
		for _, c := range ready {
			if !c.gone.Load() {
				h.readable(c, scratch, now.UnixNano())
			}
		}
		if now.Sub(lastSweep) >= time.Second {
			lastSweep = now
			p.mu.Lock()
			ready = ready[:0]
			for _, c := range p.conns {
				ready = append(ready, c)
			}
			p.mu.Unlock()
			for _, c := range ready {
				h.keepalive(c, now)
			}
		}
	}
	return nil
}
