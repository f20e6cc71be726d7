package stream

import (
	"sync"
	"syscall"
)

// departures learns, as soon as the kernel does, that the client of a
// stream has gone (closed its end, or reset the connection): one epoll set
// of every stream's socket, waiting for the peer's hang-up only, never for
// bytes, so it costs no read, no buffer and no goroutine per stream. The
// hub then ends the stream at its next batch, which releases its slot in
// the stream limits at once rather than at the next write that fails.
// Each socket is armed once (EPOLLONESHOT): a departure is told once.
type departures struct {
	hub  *Hub
	epfd int // -1: departures are noticed by writes and housekeeping only
	wake [2]int

	mu      sync.Mutex
	clients map[uint64]*client
	next    uint64
	closed  bool // run has ended; epfd is closed
}

func newDepartures(h *Hub) *departures {
	return &departures{hub: h, epfd: -1, clients: make(map[uint64]*client)}
}

// open makes the epoll set, before Run serves streams; without one (the
// kernel refused it) departures are noticed as elsewhere.
func (d *departures) open() {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return
	}
	if err := syscall.Pipe2(d.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, d.wake[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(d.wake[0])
		syscall.Close(d.wake[1])
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.epfd = epfd
}

// watch starts watching c's socket for its client's departure.
func (d *departures) watch(c *client) {
	if c.sock.fd < 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.epfd < 0 || d.closed {
		return
	}
	d.next++
	id := d.next
	ev := syscall.EpollEvent{Events: syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(id), Pad: int32(id >> 32)}
	err := syscall.EpollCtl(d.epfd, syscall.EPOLL_CTL_ADD, c.sock.fd, &ev)
	if err == syscall.EEXIST { // the number of a closed socket not yet dropped from the set
		err = syscall.EpollCtl(d.epfd, syscall.EPOLL_CTL_MOD, c.sock.fd, &ev)
	}
	if err != nil {
		return
	}
	c.departID = id
	d.clients[id] = c
}

// forget stops watching c, whose writer is closing its socket (which
// drops it from the epoll set).
func (d *departures) forget(c *client) {
	if c.departID == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.clients, c.departID)
}

// run waits for departures until stop is called, and asks the hub to end
// each departed client's stream.
func (d *departures) run() {
	d.mu.Lock()
	epfd := d.epfd
	d.mu.Unlock()
	if epfd < 0 {
		return
	}
	defer func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.closed = true
		syscall.Close(d.epfd)
		syscall.Close(d.wake[0])
		syscall.Close(d.wake[1])
	}()
	events := make([]syscall.EpollEvent, 256)
	var gone []*client
	for {
		n, err := syscall.EpollWait(epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return
		}
		gone = gone[:0]
		d.mu.Lock()
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if id == 0 { // the wake pipe
				d.mu.Unlock()
				return
			}
			if c, ok := d.clients[id]; ok {
				delete(d.clients, id)
				gone = append(gone, c)
			}
		}
		d.mu.Unlock()
		for _, c := range gone {
			d.hub.addControl(control{c: c, kind: controlClose, reason: CloseNormal})
		}
	}
}

// stop ends run.
func (d *departures) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.epfd >= 0 && !d.closed {
		_, _ = syscall.Write(d.wake[1], []byte{0})
	}
}
