package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	coder "github.com/coder/websocket"
	gobwas "github.com/gobwas/ws"
	"github.com/gorilla/websocket"
	"github.com/lxzan/gws"
)

// library is one WebSocket library serving GET /ws the way its README
// shows for a server that broadcasts.
type library interface {
	http.Handler
	// Count reports how many connections have been upgraded.
	Count() int
	// Broadcast sends payload as one text message to every connection and
	// returns once it has been handed to the library (gws writes later, on
	// goroutines of its own).
	Broadcast(payload []byte)
	// Close ends what the library runs besides the connections.
	Close()
}

// libraries are the candidates, by the name -lib takes, with the module
// each comes from.
var libraries = []struct {
	name, module string
	new          func() (library, error)
}{
	{"gobwas", "github.com/gobwas/ws", newGobwas},
	{"gws", "github.com/lxzan/gws", newGws},
	{"coder", "github.com/coder/websocket", newCoder},
	{"gorilla", "github.com/gorilla/websocket", newGorilla},
}

// writeWait bounds each write where the library's examples set a deadline
// (gorilla's and coder's chat examples): a broadcaster that writes with
// blocking calls needs one, or a client that stops reading stops it.
const writeWait = 10 * time.Second

// registry holds the upgraded connections.
type registry[T any] struct {
	mu    sync.Mutex
	conns []T
}

func (r *registry[T]) add(c T) {
	r.mu.Lock()
	r.conns = append(r.conns, c)
	r.mu.Unlock()
}

func (r *registry[T]) snapshot() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns[:len(r.conns):len(r.conns)]
}

func (r *registry[T]) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

// inParallel calls write for every connection from one goroutine per core,
// each with its own contiguous share, as tickerd's engine runs one writer
// per core; it returns when every call has.
func inParallel[T any](conns []T, write func(T)) {
	inShares(conns, func(part []T) {
		for _, c := range part {
			write(c)
		}
	})
}

// inShares splits conns into one contiguous share per core and calls
// each on a goroutine of its own; it returns when every call has.
func inShares[T any](conns []T, each func([]T)) {
	w := runtime.GOMAXPROCS(0)
	share := max((len(conns)+w-1)/w, 1)
	var wg sync.WaitGroup
	for start := 0; start < len(conns); start += share {
		part := conns[start:min(start+share, len(conns))]
		wg.Go(func() { each(part) })
	}
	wg.Wait()
}

// gorilla: a reading goroutine per connection, which its examples need
// to handle control frames; a broadcast is a PreparedMessage (framed once)
// written to each connection with a deadline.
type gorillaServer struct {
	registry[*websocket.Conn]
	upgrader websocket.Upgrader
}

func newGorilla() (library, error) { return &gorillaServer{}, nil }

func (s *gorillaServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.add(c)
	go func() {
		defer c.Close()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
}

func (s *gorillaServer) Broadcast(payload []byte) {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, payload)
	if err != nil {
		panic(err)
	}
	inParallel(s.snapshot(), func(c *websocket.Conn) {
		_ = c.SetWriteDeadline(time.Now().Add(writeWait))
		_ = c.WritePreparedMessage(pm)
	})
}

func (s *gorillaServer) Close() {}

// coder: a reading goroutine per connection (Read must be called for
// control frames to be handled); a broadcast is a Write to each
// connection, with a timeout context as its chat example has. It has no
// prepared message: each Write frames the payload again.
type coderServer struct {
	registry[*coder.Conn]
	ctx    context.Context
	cancel context.CancelFunc
}

func newCoder() (library, error) {
	ctx, cancel := context.WithCancel(context.Background())
	return &coderServer{ctx: ctx, cancel: cancel}, nil
}

func (s *coderServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := coder.Accept(w, r, nil)
	if err != nil {
		return
	}
	s.add(c)
	go func() {
		defer c.CloseNow()
		for {
			if _, _, err := c.Read(s.ctx); err != nil {
				return
			}
		}
	}()
}

func (s *coderServer) Broadcast(payload []byte) {
	inParallel(s.snapshot(), func(c *coder.Conn) {
		ctx, cancel := context.WithTimeout(s.ctx, writeWait)
		_ = c.Write(ctx, coder.MessageText, payload)
		cancel()
	})
}

func (s *coderServer) Close() { s.cancel() }

// gws: the README's ReadLoop goroutine per connection, and its
// Broadcaster, which frames a message once and queues its write on each
// connection's own write queue (a goroutine per connection while it
// writes).
type gwsServer struct {
	registry[*gws.Conn]
	upgrader *gws.Upgrader
}

type gwsHandler struct{ gws.BuiltinEventHandler }

func (gwsHandler) OnMessage(c *gws.Conn, m *gws.Message) { _ = m.Close() }

func newGws() (library, error) {
	return &gwsServer{upgrader: gws.NewUpgrader(gwsHandler{}, &gws.ServerOption{})}, nil
}

func (s *gwsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := s.upgrader.Upgrade(w, r)
	if err != nil {
		return
	}
	s.add(c)
	go c.ReadLoop()
}

func (s *gwsServer) Broadcast(payload []byte) {
	b := gws.NewBroadcaster(gws.OpcodeText, payload)
	for _, c := range s.snapshot() {
		_ = b.Broadcast(c)
	}
	_ = b.Close()
}

func (s *gwsServer) Close() {}

// gobwas: tickerd's way. gobwas/ws does the handshake on the hijacked
// connection and compiles the frame; the server keeps only the socket.
// One goroutine reads every socket that has bytes, from an epoll set; a
// broadcast frames the message once and writes it to each socket with one
// non-blocking writev, from one goroutine per core, and comes back to a
// socket that took only part of it.
type gobwasServer struct {
	registry[*rawConn]
	epfd int
	done chan struct{}
	wg   sync.WaitGroup
}

// rawConn is what the server keeps of a connection: the net.Conn, so that
// the runtime does not close the descriptor, and the descriptor.
type rawConn struct {
	conn net.Conn
	fd   int
}

func newGobwas() (library, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	s := &gobwasServer{epfd: epfd, done: make(chan struct{})}
	s.wg.Go(s.poll)
	return s, nil
}

func (s *gobwasServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, _, _, err := gobwas.HTTPUpgrader{}.Upgrade(r, w)
	if err != nil {
		return
	}
	c := &rawConn{conn: conn, fd: -1}
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			_ = raw.Control(func(fd uintptr) { c.fd = int(fd) })
		}
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(c.fd)}
	if c.fd < 0 || syscall.EpollCtl(s.epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev) != nil {
		_ = conn.Close()
		return
	}
	s.add(c)
}

// poll reads and drops what clients send (they send nothing here but a
// close), and stops watching a socket whose client has gone.
func (s *gobwasServer) poll() {
	events := make([]syscall.EpollEvent, 256)
	scratch := make([]byte, 16<<10)
	for {
		select {
		case <-s.done:
			return
		default:
		}
		n, err := syscall.EpollWait(s.epfd, events, 200)
		if err != nil && err != syscall.EINTR {
			return
		}
		for _, ev := range events[:max(n, 0)] {
			fd := int(ev.Fd)
			if m, err := syscall.Read(fd, scratch); m == 0 || err != nil && err != syscall.EAGAIN {
				_ = syscall.EpollCtl(s.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
			}
		}
	}
}

func (s *gobwasServer) Broadcast(payload []byte) {
	frame := gobwas.MustCompileFrame(gobwas.NewTextFrame(payload))
	inShares(s.snapshot(), func(part []*rawConn) {
		iov := make([]syscall.Iovec, 1) // one writer's scratch, as in tickerd's vectorWriter
		var partial []*rawConn
		var offsets []int
		for _, c := range part {
			n, err := writev(c.fd, iov, frame)
			if err == nil && n < len(frame) {
				partial, offsets = append(partial, c), append(offsets, n)
			}
		}
		// A socket that took only part of the frame: tickerd's writer
		// comes back to it the next cycle; here, until it has all.
		for i, c := range partial {
			for off := offsets[i]; off < len(frame); {
				n, err := writev(c.fd, iov, frame[off:])
				if err != nil {
					break
				}
				if off += n; n == 0 {
					time.Sleep(100 * time.Microsecond)
				}
			}
		}
	})
}

func (s *gobwasServer) Close() {
	close(s.done)
	s.wg.Wait()
	_ = syscall.Close(s.epfd)
}

// writev makes one non-blocking vectored write of b, through iov, as
// tickerd's engine writes a client's share of a cycle; a full socket
// takes 0 bytes.
func writev(fd int, iov []syscall.Iovec, b []byte) (int, error) {
	iov[0] = syscall.Iovec{Base: &b[0]}
	iov[0].SetLen(len(b))
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
