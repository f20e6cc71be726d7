package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// runConfig is what one measured run of one library takes.
type runConfig struct {
	lib     string
	conns   int
	rounds  int // measured broadcasts
	warmup  int // broadcasts before them, not measured
	size    int // payload bytes
	gap     time.Duration
	timeout time.Duration
}

func (c runConfig) args() []string {
	return []string{"-lib", c.lib, "-conns", strconv.Itoa(c.conns), "-rounds", strconv.Itoa(c.rounds),
		"-warmup", strconv.Itoa(c.warmup), "-size", strconv.Itoa(c.size), "-gap", c.gap.String(),
		"-timeout", c.timeout.String()}
}

// result is what one run measured, printed as one JSON line by the
// server process.
type result struct {
	Lib     string `json:"lib"`
	Version string `json:"version"`
	Conns   int    `json:"conns"`
	Rounds  int    `json:"rounds"`

	// Idle, after every connection is upgraded, and again after the
	// broadcasts: deltas over the server before any connection, divided
	// by Conns, after a GC that returns freed memory to the OS.
	RSSPerConn        float64 `json:"rss_per_conn_bytes"`
	HeapStackPerConn  float64 `json:"heap_stack_per_conn_bytes"`
	StackPerConn      float64 `json:"stack_per_conn_bytes"` // of HeapStackPerConn, goroutine stacks
	GoroutinesPerConn float64 `json:"goroutines_per_conn"`
	RSSPerConnAfter   float64 `json:"rss_per_conn_after_bytes"`

	// Time from the start of a broadcast until the last client has the
	// whole message, over the measured rounds.
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`

	// CPU of the server process (every thread, user and system) from the
	// start of each broadcast to the last client's receipt, and of the
	// client process over the measured rounds, per delivered message.
	ServerCPUPerMessage float64 `json:"server_cpu_per_message_ns"`
	ClientCPUPerMessage float64 `json:"client_cpu_per_message_ns"`
	// ServerKernelShare is the part of the server's CPU over the measured
	// rounds spent in the kernel (getrusage's system time).
	ServerKernelShare float64 `json:"server_kernel_share"`

	// LoadAverage is the machine's one-minute load average when the run
	// started: the machine is shared.
	LoadAverage float64 `json:"load_average"`
}

// serve is the server process of one run: it serves cfg.conns idle
// connections of one library to a client process it starts, measures
// memory, then broadcasts cfg.warmup+cfg.rounds messages one at a time.
func serve(ctx context.Context, cfg runConfig, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	var lib library
	var module string
	for _, l := range libraries {
		if l.name == cfg.lib {
			var err error
			if lib, err = l.new(); err != nil {
				return err
			}
			module = l.module
		}
	}
	if lib == nil {
		return fmt.Errorf("unknown library %q", cfg.lib)
	}
	defer lib.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: lib, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	load := loadAverage()
	before := measureMemory()

	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self, "-role", "client", "-addr", ln.Addr().String(),
		"-conns", strconv.Itoa(cfg.conns), "-rounds", strconv.Itoa(cfg.rounds), "-warmup", strconv.Itoa(cfg.warmup),
		"-size", strconv.Itoa(cfg.size), "-timeout", cfg.timeout.String())
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	toClient, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	fromClient, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Wait()
	defer toClient.Close()
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(fromClient)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(wait time.Duration) ([]string, error) {
		select {
		case line, ok := <-lines:
			if !ok {
				return nil, errors.New("the client process ended early")
			}
			f := strings.Fields(line)
			if len(f) == 0 || f[0] == "error" {
				return nil, fmt.Errorf("client: %s", line)
			}
			return f, nil
		case <-time.After(wait):
			return nil, fmt.Errorf("no word from the client in %v", wait)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}

	if f, err := next(2 * time.Minute); err != nil {
		return err
	} else if f[0] != "ready" {
		return fmt.Errorf("client: want ready, got %q", f)
	}
	for deadline := time.Now().Add(10 * time.Second); lib.Count() < cfg.conns; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d connections upgraded", lib.Count(), cfg.conns)
		}
	}
	time.Sleep(time.Second) // the HTTP server's goroutines of the last handshakes end
	idle := measureMemory()

	var took, cpu []int64
	var user, system time.Duration
	for k := range cfg.warmup + cfg.rounds {
		msg := payload(k, cfg.size)
		u0, s0 := rusage()
		start, cpu0 := clock(clockMonotonic), clock(clockProcessCPU)
		lib.Broadcast(msg)
		f, err := next(30 * time.Second)
		if err != nil {
			return fmt.Errorf("round %d: %w", k, err)
		}
		cpu1 := clock(clockProcessCPU)
		u1, s1 := rusage()
		if len(f) != 3 || f[0] != "got" || f[1] != strconv.Itoa(k) {
			return fmt.Errorf("round %d: client said %q", k, f)
		}
		at, _ := strconv.ParseInt(f[2], 10, 64)
		if k >= cfg.warmup {
			took, cpu = append(took, at-start), append(cpu, cpu1-cpu0)
			user, system = user+u1-u0, system+s1-s0
		}
		time.Sleep(cfg.gap)
	}
	time.Sleep(time.Second)
	after := measureMemory()

	_, _ = io.WriteString(toClient, "quit\n")
	f, err := next(10 * time.Second)
	if err != nil {
		return err
	}
	if len(f) != 2 || f[0] != "cpu" {
		return fmt.Errorf("client: want its cpu, got %q", f)
	}
	clientCPU, _ := strconv.ParseFloat(f[1], 64)

	n := float64(cfg.conns)
	slices.Sort(took)
	var cpuSum int64
	for _, c := range cpu {
		cpuSum += c
	}
	delivered := float64(cfg.rounds) * n
	r := result{
		Lib: cfg.lib, Version: moduleVersion(module), Conns: cfg.conns, Rounds: cfg.rounds,
		RSSPerConn:          float64(idle.rss-before.rss) / n,
		HeapStackPerConn:    float64(idle.heapStack-before.heapStack) / n,
		StackPerConn:        float64(idle.stack-before.stack) / n,
		GoroutinesPerConn:   float64(idle.goroutines-before.goroutines) / n,
		RSSPerConnAfter:     float64(after.rss-before.rss) / n,
		P50:                 ms(percentile(took, 50)),
		P99:                 ms(percentile(took, 99)),
		Max:                 ms(took[len(took)-1]),
		ServerCPUPerMessage: float64(cpuSum) / delivered,
		ClientCPUPerMessage: clientCPU / delivered,
		ServerKernelShare:   float64(system) / float64(max(user+system, 1)),
		LoadAverage:         load,
	}
	return json.NewEncoder(stdout).Encode(r)
}

// payload is a tick of size bytes (at least 150) as tickerd frames one,
// numbered seq so that the client can check it has the right message.
func payload(seq, size int) []byte {
	b := fmt.Appendf(make([]byte, 0, size), `{"type":"tick","seq":%08d,"sym":"AAPL","price":189.42,"bid":189.41,"ask":189.43,"size":100,"ts":1764028800000,"pad":"`, seq)
	for len(b) < size-2 {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}

// seqPrefix is what precedes a payload's number.
const seqPrefix = `{"type":"tick","seq":`

// memory is what the server process holds.
type memory struct {
	rss        int64 // resident set, bytes
	heapStack  int64 // live heap and goroutine stacks, bytes
	stack      int64 // goroutine stacks, bytes
	goroutines int
}

// measureMemory collects garbage, returns what it can to the OS and reads
// what is left.
func measureMemory() memory {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := memory{heapStack: int64(ms.HeapAlloc + ms.StackInuse), stack: int64(ms.StackInuse), goroutines: runtime.NumGoroutine()}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				m.rss = kb << 10
			}
		}
	}
	return m
}

// rusage is the user and system CPU the process has used.
func rusage() (user, system time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// loadAverage is the machine's one-minute load average.
func loadAverage() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// moduleVersion is the version of module this program was built with.
func moduleVersion(module string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == module {
				return d.Version
			}
		}
	}
	return "unknown"
}

// percentile is the nearest-rank p-th percentile of sorted xs.
func percentile(sorted []int64, p float64) int64 {
	i := int(math.Ceil(float64(len(sorted))*p/100)) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

// Clocks of clock_gettime(2): the monotonic one is the same for both
// processes of a run, so the client's time of receipt and the server's
// time of sending compare.
const (
	clockMonotonic  = 1
	clockProcessCPU = 2
)

func clock(id int) int64 {
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, uintptr(id), uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		panic(errno)
	}
	return ts.Nano()
}
