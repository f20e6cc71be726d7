//go:build !linux

package stream

// unsent is how many bytes the kernel holds for s that it has not sent
// yet: -1, as only Linux tells here. A stream then closes abortively only
// when its own backlog is not all written.
func (s *socket) unsent() int { return -1 }
