// Package benchkit is what the benchmark programs under bench/ share: the
// way a program starts and ends, the description of the machine a report
// names, the figures of a process read from /proc, and the section of a
// Markdown file a report rewrites.
package benchkit

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Main runs run until it returns or the program is interrupted, and exits
// as a command does: 2 for -h, 1 with "name: error" for an error.
func Main(name string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Machine describes this machine for a report: cores, CPU model, memory,
// kernel and Go version, then where, which says how the processes of the
// run shared it.
func Machine(where string) string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d × %s%s%s, %s; %s", runtime.NumCPU(), model, mem, kernel, runtime.Version(), where)
}

// LoadAverage is the machine's load average over the last minute; -1 when
// it cannot be read.
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, err := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	if err != nil {
		return -1
	}
	return f
}

// ReadProc returns the CPU time process pid has used and its resident
// memory in bytes, from /proc/PID/stat.
func ReadProc(pid int) (cpu time.Duration, rss int64, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The fields after the command name, which is in parentheses.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 22 {
		return 0, 0, errors.New("short /proc stat")
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	rssPages, _ := strconv.ParseInt(fields[21], 10, 64)
	const clockTick = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clockTick, rssPages * int64(os.Getpagesize()), nil
}

// FreeAddr returns a loopback address with a port no one listens on now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Median is the median of xs (0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Thousands writes n with commas between its groups of three digits.
func Thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

// WriteSection puts doc between the markers "<!-- name:begin -->" and
// "<!-- name:end -->" of the Markdown file path. A file that does not exist
// yet is written with the heading title and the section; one that exists
// without the markers is left as it is, with an error.
func WriteSection(path, name, title, doc string) error {
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return os.WriteFile(path, []byte("# "+title+"\n\n"+begin+"\n"+doc+end+"\n"), 0o644)
	}
	if err != nil {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s … %s markers", path, begin, end)
	}
	return os.WriteFile(path, []byte(s[:i+len(begin)]+"\n"+doc+s[j:]), 0o644)
}

// FetchProfile writes the CPU profile that the pprof endpoint url (…/debug/pprof/profile)
// takes over seconds seconds to the file path.
func FetchProfile(url string, seconds int, path string) error {
	resp, err := http.Get(fmt.Sprintf("%s?seconds=%d", url, max(1, seconds)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Stop ends a started command: SIGTERM, then SIGKILL if it has not exited
// within grace; it returns once the process is gone.
func Stop(cmd *exec.Cmd, grace time.Duration) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}

// ListenLog is a log writer (a program's stderr) that hands over, on URL,
// the first address the program logs as "listening on http://…".
type ListenLog struct {
	URL chan string // receives the address once; buffered

	mu   sync.Mutex
	buf  bytes.Buffer
	sent bool
}

// NewListenLog returns a ListenLog whose URL channel holds the address.
func NewListenLog() *ListenLog { return &ListenLog{URL: make(chan string, 1)} }

var listenRE = regexp.MustCompile(`listening on (http://\S+)`)

func (l *ListenLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if m := listenRE.FindStringSubmatch(l.buf.String()); m != nil && !l.sent {
		l.sent = true
		l.URL <- m[1]
	}
	return len(p), nil
}

// String is everything logged so far.
func (l *ListenLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
