// Command wslibs measures what each WebSocket library tickerd could use
// costs for tickerd's traffic: memory per idle connection, and the time and
// CPU to send one small text message to every connection.
//
//	go run . -lib gorilla -conns 5000 -reps 1   # one library, once
//	go run . -out RESULTS.md                    # every library, 1,000 and 10,000 connections, 3 runs each
//
// Each run is two fresh processes: a server serving one library the way
// its README shows for a broadcast server, and a client holding the
// connections over 127.0.0.1 with raw sockets and one epoll goroutine per
// core. Runs of different libraries are interleaved. Everything stays on
// this machine and every run ends by itself. Linux only.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wslibs:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wslibs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var names []string
	for _, l := range libraries {
		names = append(names, l.name)
	}
	libs := fs.String("lib", strings.Join(names, ","), "libraries to measure, comma-separated")
	connsList := fs.String("conns", "1000,10000", "connection counts, comma-separated (each process may hold 20,000 descriptors)")
	reps := fs.Int("reps", 3, "runs of each library at each count, interleaved")
	rounds := fs.Int("rounds", 100, "measured broadcasts per run")
	warmup := fs.Int("warmup", 5, "broadcasts before the measured ones")
	size := fs.Int("size", 200, "payload bytes of a message (at least 150)")
	gap := fs.Duration("gap", 20*time.Millisecond, "pause between broadcasts")
	timeout := fs.Duration("timeout", 5*time.Minute, "longest a run may take")
	out := fs.String("out", "", "also write the results to this markdown file, between its markers")
	role := fs.String("role", "", "internal: server or client, the two processes of one run")
	addr := fs.String("addr", "", "internal: the server's address, for the client")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *size < 150 || *rounds < 1 || *warmup < 0 || *reps < 1 {
		return errors.New("want -size at least 150, -rounds and -reps at least 1, -warmup at least 0")
	}
	switch *role {
	case "client":
		return client(ctx, clientConfig{addr: *addr, conns: atoi(*connsList), rounds: *rounds, warmup: *warmup, size: *size, timeout: *timeout}, stdin, stdout)
	case "server":
		return serve(ctx, runConfig{lib: *libs, conns: atoi(*connsList), rounds: *rounds, warmup: *warmup, size: *size, gap: *gap, timeout: *timeout}, stdout, stderr)
	case "":
	default:
		return fmt.Errorf("unknown -role %q", *role)
	}

	var counts []int
	for f := range strings.SplitSeq(*connsList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 19000 {
			return fmt.Errorf("bad -conns %q: want counts from 1 to 19,000", f)
		}
		counts = append(counts, n)
	}
	var chosen []string
	for f := range strings.SplitSeq(*libs, ",") {
		if f = strings.TrimSpace(f); !slices.Contains(names, f) {
			return fmt.Errorf("unknown library %q: want some of %s", f, strings.Join(names, ", "))
		}
		chosen = append(chosen, f)
	}

	self, err := os.Executable()
	if err != nil {
		return err
	}
	started := time.Now()
	var results []result
	for rep := range *reps {
		for _, n := range counts {
			for i := range chosen {
				lib := chosen[(i+rep)%len(chosen)] // each run starts the round with another library
				cfg := runConfig{lib: lib, conns: n, rounds: *rounds, warmup: *warmup, size: *size, gap: *gap, timeout: *timeout}
				r, err := runOnce(ctx, self, cfg, stderr)
				if err != nil {
					return fmt.Errorf("%s with %d connections: %w", lib, n, err)
				}
				fmt.Fprintf(stderr, "run %d, %-7s %6d conns: RSS %5.1f KiB/conn, heap+stacks %5.1f KiB/conn, %.0f goroutines/conn; to the last client p50 %6.2f ms, p99 %6.2f ms; server CPU %5.2f µs/message\n",
					rep+1, lib, n, r.RSSPerConn/1024, r.HeapStackPerConn/1024, r.GoroutinesPerConn, r.P50, r.P99, r.ServerCPUPerMessage/1000)
				results = append(results, r)
				time.Sleep(2 * time.Second) // the last run's sockets close and its CPU settles
			}
		}
	}
	cmdline := "go run . " + strings.Join(args, " ")
	doc := render(results, chosen, counts, *reps, *rounds, *warmup, *size, started, time.Since(started), cmdline)
	fmt.Fprint(stdout, doc)
	if *out != "" {
		return writeSection(*out, doc)
	}
	return nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// runOnce runs one server process (which starts its client) and reads its
// result.
func runOnce(ctx context.Context, self string, cfg runConfig, stderr io.Writer) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, append([]string{"-role", "server"}, cfg.args()...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		return result{}, err
	}
	var r result
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &r); err == nil && r.Lib != "" {
			return r, nil
		}
	}
	return result{}, fmt.Errorf("no result in the server's output %q", out.String())
}

// render writes the medians of results as markdown, and every run's
// figures under them.
func render(results []result, libs []string, counts []int, reps, rounds, warmup, size int, started time.Time, took time.Duration, cmdline string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s, %d run(s) of each library at each count, interleaved (took %s).\n\n",
		started.UTC().Format("2006-01-02 15:04 UTC"), reps, took.Round(time.Second))
	fmt.Fprintf(&b, "Machine: %s\n\n", machine())
	fmt.Fprintf(&b, "Command (in bench/wslibs): `%s`\n\n", cmdline)
	fmt.Fprintf(&b, "A message is %d bytes of JSON text (a %d-byte frame); each run broadcasts %d, one at a time, after %d not measured.\n\n",
		size, size+4, rounds, warmup)
	b.WriteString("| library | conns | RSS / idle conn | heap+stacks / idle conn | of it stacks | goroutines / conn | RSS / conn after the broadcasts | to the last client, p50 | p99 | server CPU / delivered message | of it in the kernel | client CPU / message |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, n := range counts {
		for _, lib := range libs {
			var runs []result
			for _, r := range results {
				if r.Lib == lib && r.Conns == n {
					runs = append(runs, r)
				}
			}
			if len(runs) == 0 {
				continue
			}
			med := func(f func(result) float64) float64 {
				xs := make([]float64, len(runs))
				for i, r := range runs {
					xs[i] = f(r)
				}
				return median(xs)
			}
			fmt.Fprintf(&b, "| %s %s | %s | %.1f KiB | %.1f KiB | %.1f KiB | %.0f | %.1f KiB | %.2f ms | %.2f ms | %.2f µs | %.0f%% | %.2f µs |\n",
				lib, runs[0].Version, thousands(n),
				med(func(r result) float64 { return r.RSSPerConn / 1024 }),
				med(func(r result) float64 { return r.HeapStackPerConn / 1024 }),
				med(func(r result) float64 { return r.StackPerConn / 1024 }),
				med(func(r result) float64 { return r.GoroutinesPerConn }),
				med(func(r result) float64 { return r.RSSPerConnAfter / 1024 }),
				med(func(r result) float64 { return r.P50 }),
				med(func(r result) float64 { return r.P99 }),
				med(func(r result) float64 { return r.ServerCPUPerMessage / 1000 }),
				med(func(r result) float64 { return r.ServerKernelShare * 100 }),
				med(func(r result) float64 { return r.ClientCPUPerMessage / 1000 }))
		}
	}
	if reps > 1 {
		b.WriteString("\nMedians of the runs above; every run, in the order run:\n\n")
		b.WriteString("| library | conns | load average at start | RSS / idle conn | heap+stacks / idle conn | p50 | p99 | max | server CPU / message | client CPU / message |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range results {
			fmt.Fprintf(&b, "| %s | %s | %.2f | %.1f KiB | %.1f KiB | %.2f ms | %.2f ms | %.2f ms | %.2f µs | %.2f µs |\n",
				r.Lib, thousands(r.Conns), r.LoadAverage, r.RSSPerConn/1024, r.HeapStackPerConn/1024, r.P50, r.P99, r.Max,
				r.ServerCPUPerMessage/1000, r.ClientCPUPerMessage/1000)
		}
	}
	return b.String()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func machine() string {
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
		fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("nproc %d, %s%s%s, %s; server and client in two processes on this machine over 127.0.0.1",
		runtime.NumCPU(), model, mem, kernel, runtime.Version())
}

const (
	beginMarker = "<!-- wslibs:begin -->"
	endMarker   = "<!-- wslibs:end -->"
)

// writeSection puts doc between the markers of path, or writes a new file.
func writeSection(path, doc string) error {
	old, err := os.ReadFile(path)
	if err == nil {
		s := string(old)
		i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
		if i >= 0 && j > i {
			return os.WriteFile(path, []byte(s[:i+len(beginMarker)]+"\n"+doc+s[j:]), 0o644)
		}
	}
	return os.WriteFile(path, []byte("# WebSocket libraries\n\n"+beginMarker+"\n"+doc+endMarker+"\n"), 0o644)
}
