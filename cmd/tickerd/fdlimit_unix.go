//go:build unix

package main

import (
	"fmt"
	"log/slog"
	"os"
	"syscall"
)

// descriptorStreams raises the soft open-file limit to the hard one, as
// servers do (the Go runtime does it too when it starts), says so in the
// log, and returns how many streams the limit can hold with reserve
// descriptors to spare beyond those open now (listeners, the bus, logs).
// When that is below maxStreams it warns that fewer are taken; when it
// leaves no stream at all it is an error.
func descriptorStreams(maxStreams, reserve int, log *slog.Logger) (int, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("read the open-file limit: %w", err)
	}
	soft := lim.Cur
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = raised.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			log.Warn("cannot raise the open-file limit to its hard limit", "soft", lim.Cur, "hard", lim.Max, "err", err)
		} else {
			lim = raised
		}
	}
	open := openDescriptors()
	log.Info("open-file limit", "limit", lim.Cur, "hard", lim.Max, "raised_from", soft, "open", open, "fd_reserve", reserve)
	room := int64(min(lim.Cur, 1<<31)) - int64(open) - int64(reserve)
	if room < 1 {
		return 0, usageError{fmt.Errorf("-fd-reserve %d: the open-file limit %d, with %d open, leaves no descriptor for a stream; raise the limit (ulimit -n, LimitNOFILE=, the container's nofile) or lower -fd-reserve", reserve, lim.Cur, open)}
	}
	if room < int64(maxStreams) {
		log.Warn("the open-file limit cannot hold -max-streams and -fd-reserve: taking fewer streams; more are answered 503",
			"limit", lim.Cur, "open", open, "fd_reserve", reserve, "max_streams", maxStreams, "streams", room)
	}
	return int(room), nil
}

// openDescriptors counts the process's open descriptors, or returns 0
// where the system does not list them.
func openDescriptors() int {
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		if entries, err := os.ReadDir(dir); err == nil {
			return max(0, len(entries)-1) // the listing's own descriptor
		}
	}
	return 0
}
