//go:build !linux

package ws

import (
	"context"
	"sync"
	"syscall"
	"time"
)

// poller reads every WebSocket connection where epoll is not there: one
// goroutine per connection, waiting in the runtime's poller until its
// socket has bytes. It costs a goroutine and a buffer per connection that
// Linux's poller does not; Run owns the goroutines and waits for them.
type poller struct {
	mu      sync.Mutex
	conns   map[uint64]*conn
	nextID  uint64
	h       *Handler
	ctx     context.Context
	started chan struct{} // closed when run has set h and ctx
	readers sync.WaitGroup
}

func newPoller() (*poller, error) {
	return &poller{conns: make(map[uint64]*conn), started: make(chan struct{})}, nil
}

// watch starts reading c, unless its stream has ended already.
func (p *poller) watch(c *conn) error {
	<-p.started
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.gone.Load() || p.ctx.Err() != nil {
		return nil
	}
	p.nextID++
	c.id = p.nextID
	p.conns[c.id] = c
	p.readers.Go(func() { p.read(c) })
	return nil
}

// read waits for c's bytes until its socket is closed.
func (p *poller) read(c *conn) {
	scratch := make([]byte, 4096)
	for !c.gone.Load() && !c.done {
		ready := false
		err := c.raw.Read(func(fd uintptr) bool {
			var buf [1]byte
			n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK)
			ready = err != syscall.EAGAIN || n > 0
			return ready
		})
		if err != nil {
			return
		}
		p.mu.Lock()
		p.h.readable(c, scratch, time.Now().UnixNano())
		p.mu.Unlock()
	}
}

// remove stops reading c; the engine calls it once it has closed c's socket.
func (p *poller) remove(c *conn) {
	c.gone.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c.id)
}

// run sweeps the connections for keepalive every second until ctx is
// done, then waits for the readers, which end as the engine closes their
// sockets.
func (p *poller) run(ctx context.Context, h *Handler) error {
	p.h, p.ctx = h, ctx
	close(p.started)
	defer p.readers.Wait()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			p.mu.Lock()
			for _, c := range p.conns {
				h.keepalive(c, now)
			}
			p.mu.Unlock()
		}
	}
}
