package stream

import (
	"syscall"
	"unsafe"
)

// siocOutqNSD is Linux's SIOCOUTQNSD ioctl: the bytes of a socket's send
// queue that the kernel has not sent yet.
const siocOutqNSD = 0x894B

// unsent is how many bytes the kernel holds for s that it has not sent
// yet, or -1 when it cannot tell. Bytes sent and not yet acknowledged are
// not counted: a graceful close still delivers them, by retransmission if
// need be, whereas unsent bytes wait on the client's window.
func (s *socket) unsent() int {
	if s.fd < 0 {
		return -1
	}
	var n int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(s.fd), siocOutqNSD, uintptr(unsafe.Pointer(&n))); errno != 0 {
		return -1
	}
	return int(n)
}
