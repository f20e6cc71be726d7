//go:build unix

package stream

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// socket writes to a stream's connection without blocking. For a TCP or
// Unix connection it writes to the descriptor directly: the runtime keeps it
// in non-blocking mode, so a full send buffer answers EAGAIN at once and the
// writer moves on. Other connections (TLS, pipes in tests) get a write with
// a short deadline instead.
type socket struct {
	fd   int // -1: use conn
	conn net.Conn
}

func newSocket(conn net.Conn) socket {
	s := socket{fd: -1, conn: conn}
	switch conn := conn.(type) {
	case *net.TCPConn, *net.UnixConn:
		raw, err := conn.(syscall.Conn).SyscallConn()
		if err == nil {
			_ = raw.Control(func(fd uintptr) { s.fd = int(fd) })
		}
	}
	return s
}

// vectorWriter is a writer's scratch space for vectored writes.
type vectorWriter struct {
	iov     []syscall.Iovec
	scratch []byte
	discard []byte
}

// maxIovecs stays below every platform's IOV_MAX.
const maxIovecs = 512

// fallbackWriteWait bounds a write on a connection without a descriptor.
const fallbackWriteWait = time.Millisecond

// write makes one non-blocking attempt to write segs back to back and
// returns how many bytes the socket took. A full socket is not an error.
func (v *vectorWriter) write(s *socket, segs [][]byte) (int, error) {
	if s.fd < 0 {
		return v.writeConn(s.conn, segs)
	}
	total := 0
	for len(segs) > 0 {
		batch := segs[:min(len(segs), maxIovecs)]
		segs = segs[len(batch):]
		v.iov = v.iov[:0]
		want := 0
		for _, b := range batch {
			if len(b) == 0 {
				continue
			}
			iov := syscall.Iovec{Base: &b[0]}
			iov.SetLen(len(b))
			v.iov = append(v.iov, iov)
			want += len(b)
		}
		if want == 0 {
			continue
		}
		n, err := writev(s.fd, v.iov)
		total += n
		if err != nil || n < want {
			return total, err
		}
	}
	return total, nil
}

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

func (v *vectorWriter) writeConn(conn net.Conn, segs [][]byte) (int, error) {
	v.scratch = v.scratch[:0]
	for _, b := range segs {
		v.scratch = append(v.scratch, b...)
	}
	if err := conn.SetWriteDeadline(time.Now().Add(fallbackWriteWait)); err != nil {
		return 0, err
	}
	n, err := conn.Write(v.scratch)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = nil
	}
	return n, err
}

// gone reports, without blocking, whether the client has closed its end.
// Whatever the client sent after its request is read and discarded.
func (v *vectorWriter) gone(s *socket) bool {
	if s.fd < 0 {
		return false
	}
	if v.discard == nil {
		v.discard = make([]byte, 512)
	}
	for range 8 {
		n, err := syscall.Read(s.fd, v.discard)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil || n == 0:
			return true
		case n < len(v.discard):
			return false
		}
	}
	return false
}

func isClosedErr(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, syscall.ENOTCONN)
}
