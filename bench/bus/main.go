// Command bus measures tickerd's NATS bus end to end: a nats-server with
// JetStream, `tickerd publish` at a given rate, one replica
// (`tickerd -feed nats`) and tickload reading the replica's firehose over
// SSE. For each rate it runs every publisher peer in the same session,
// interleaved, and reports the ticks per second stored and delivered, the
// tick-to-client latency and the CPU of each process.
//
//	go run ./bench/bus                                         # this tree's publisher, window 1 and the default
//	go run ./bench/bus -before /tmp/tickerd-main               # and an older tickerd (publisher and replica) beside them
//	go run ./bench/bus -rates 20000,50000 -reps 3 -out BENCHMARKS.md
//
// A peer is "before" (the -before binary as it is, as publisher and
// replica), or "window=N" (this tree's tickerd with -nats-publish-window N). Every process runs on this
// machine, on 127.0.0.1 only, is started by this program and stopped by
// it, by its process id, when its run ends.
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
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tickerd/tickerd/bench/internal/benchkit"
)

func main() {
	benchkit.Main("bus", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

// options are the command line.
type options struct {
	rates      []int
	peers      []peer
	reps       int
	clients    int
	sendBuffer int
	duration   time.Duration
	warmup     time.Duration
	natsServer string
	profiles   string
	out        string
}

// peer is one publisher to compare.
type peer struct {
	Label  string
	Bin    string // tickerd binary, of the publisher and the replica
	Window int    // -nats-publish-window; 0: the binary has no such flag
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bus", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rates := fs.String("rates", "20000,50000,80000", "comma list of publisher rates, ticks per second")
	windows := fs.String("windows", "1,1024", "comma list of -nats-publish-window values of this tree's publisher")
	before := fs.String("before", "", "also run this tickerd binary as it is, as publisher and replica (e.g. one built from an older commit)")
	var o options
	fs.IntVar(&o.reps, "reps", 1, "runs of each peer at each rate")
	fs.IntVar(&o.clients, "clients", 4, "firehose SSE clients reading the replica, each sampled for latency")
	// A firehose of 50,000 ticks/s is 7.5 MB/s per client, more than the
	// replica's default 4 KiB send buffer carries per round trip and cycle
	// (see stream.Config.SendBuffer): with it the clients, not the bus,
	// would be what is measured.
	fs.IntVar(&o.sendBuffer, "send-buffer", 0, "the replica's -send-buffer: kernel send buffer of each client's socket in bytes, 0 the kernel's default")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured window of each run")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "wait after the clients connected before measuring")
	fs.StringVar(&o.natsServer, "nats-server", "", "nats-server program; empty: build the version go.mod requires (the one the tests embed)")
	fs.StringVar(&o.profiles, "profile", "", "write CPU profiles of the replica, of nats-server and of this tree's publisher over each peer's first run to this directory")
	fs.StringVar(&o.out, "out", "", "also put the report between the bus markers of this file (e.g. BENCHMARKS.md)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.rates, err = positiveInts("-rates", *rates); err != nil {
		return o, err
	}
	ws, err := positiveInts("-windows", *windows)
	if err != nil {
		return o, err
	}
	if *before != "" {
		o.peers = append(o.peers, peer{Label: "before", Bin: *before})
	}
	for _, w := range ws {
		o.peers = append(o.peers, peer{Label: "window=" + strconv.Itoa(w), Window: w})
	}
	if o.reps < 1 || o.clients < 1 || o.duration <= 0 || o.warmup < 0 || o.sendBuffer < 0 {
		return o, errors.New("-reps and -clients want at least 1, -duration a positive duration, -warmup and -send-buffer 0 or more")
	}
	return o, nil
}

func positiveInts(flagName, list string) ([]int, error) {
	var xs []int
	for f := range strings.SplitSeq(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q is not a positive whole number", flagName, f)
		}
		xs = append(xs, n)
	}
	if len(xs) == 0 {
		return nil, fmt.Errorf("%s: empty", flagName)
	}
	return xs, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	if o.natsServer != "" {
		if _, err := exec.LookPath(o.natsServer); err != nil {
			return fmt.Errorf("-nats-server: %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "tickerd-bus")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bins := map[string]string{}
	pkgs := map[string]string{"tickerd": "./cmd/tickerd", "tickload": "./cmd/tickload"}
	if o.natsServer == "" {
		pkgs["nats-server"] = "github.com/nats-io/nats-server/v2"
	}
	for name, pkg := range pkgs {
		bins[name] = filepath.Join(dir, name)
		build := exec.CommandContext(ctx, "go", "build", "-o", bins[name], pkg)
		build.Stderr = stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build %s: %w", pkg, err)
		}
	}
	if o.natsServer == "" {
		o.natsServer = bins["nats-server"]
	}
	for i := range o.peers {
		if o.peers[i].Bin == "" {
			o.peers[i].Bin = bins["tickerd"]
		}
	}

	started := time.Now()
	var results []result
	for _, rate := range o.rates {
		for rep := 1; rep <= o.reps; rep++ {
			// Each rep starts one peer later, so every peer runs in every
			// place of the order as often as the others.
			for i := range o.peers {
				p := o.peers[(i+rep-1)%len(o.peers)]
				fmt.Fprintf(stderr, "== %d ticks/s, rep %d/%d: %s\n", rate, rep, o.reps, p.Label)
				profile := ""
				if o.profiles != "" && rep == 1 {
					profile = filepath.Join(o.profiles, fmt.Sprintf("%d-%s", rate, strings.ReplaceAll(p.Label, "=", "")))
				}
				// A port picked free may be taken before a process binds it
				// on this busy machine: such a run is tried again.
				var r result
				for attempt := 1; ; attempt++ {
					r, err = measure(ctx, o, bins, p, rate, filepath.Join(dir, "js"), profile, stderr)
					if err == nil || attempt == 3 || ctx.Err() != nil {
						break
					}
					fmt.Fprintf(stderr, "   failed (%v); trying again\n", err)
				}
				if err != nil {
					return fmt.Errorf("%d ticks/s, %s: %w", rate, p.Label, err)
				}
				r.Rate, r.Peer, r.Rep = rate, p.Label, rep
				fmt.Fprintf(stderr, "   load %.1f; stored %.0f/s, delivered %.0f/s per client (%.2f%% complete), p50 %.1f ms, p99 %.1f ms; cpu: publisher %.0f%%, nats-server %.0f%%, replica %.0f%%, tickload %.0f%%; %.1f µs per tick\n",
					r.Load, r.StoredPerSec, r.DeliveredPerSec, 100*r.Complete, r.P50, r.P99, r.CPU.Publisher, r.CPU.NATS, r.CPU.Replica, r.CPU.Tickload, r.cpuPerTick())
				results = append(results, r)
			}
		}
	}
	doc := render(o, results, started, time.Since(started))
	fmt.Fprint(stdout, doc)
	if o.out != "" {
		return benchkit.WriteSection(o.out, "bus", "Benchmarks", doc)
	}
	return nil
}

// result is one run of one peer at one rate.
type result struct {
	Rate            int
	Peer            string
	Rep             int
	StoredPerSec    float64 // acknowledged by JetStream, from the publisher's metrics
	DeliveredPerSec float64 // received by the slowest client
	Complete        float64 // share of the window's ids the sampled clients received
	P50, P99, Max   float64 // tick-to-client latency, ms
	Retries         float64 // publications the publisher sent again, whole run
	Load            float64 // the machine's 1-minute load average at the window's end
	CPU             struct{ Publisher, NATS, Replica, Tickload float64 }
}

// cpuPerTick is the CPU time the publisher, nats-server and the replica
// spent per tick stored, in microseconds.
func (r result) cpuPerTick() float64 {
	if r.StoredPerSec == 0 {
		return 0
	}
	return (r.CPU.Publisher + r.CPU.NATS + r.CPU.Replica) / 100 / r.StoredPerSec * 1e6
}

// proc is a process this program started.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  bytes.Buffer
	done chan struct{}
}

func start(name string, env []string, bin string, args ...string) (*proc, error) {
	p := &proc{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	return p, nil
}

// stop ends the process by its id: SIGTERM, then SIGKILL after 15s.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// measure runs nats-server, a replica and peer's publisher at rate, loads
// the replica with tickload and stops them all.
func measure(ctx context.Context, o options, bins map[string]string, pr peer, rate int, store, profile string, stderr io.Writer) (result, error) {
	var r result
	if err := os.RemoveAll(store); err != nil {
		return r, err
	}
	addrs := map[string]string{}
	for _, name := range []string{"nats", "natsprof", "replica", "replicadebug", "publisher", "publisherdebug"} {
		a, err := benchkit.FreeAddr()
		if err != nil {
			return r, err
		}
		addrs[name] = a
	}
	natsHost, natsPort, _ := net.SplitHostPort(addrs["nats"])
	_, profPort, _ := net.SplitHostPort(addrs["natsprof"])
	natsURL := "nats://" + addrs["nats"]
	var procs []*proc
	defer func() {
		// Publisher first, then the replica, then the bus.
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop()
		}
	}()
	launch := func(name string, env []string, bin string, args ...string) (*proc, error) {
		p, err := start(name, env, bin, args...)
		if err == nil {
			procs = append(procs, p)
		}
		return p, err
	}
	failed := func(err error) (result, error) {
		for _, p := range procs {
			fmt.Fprintf(stderr, "--- %s:\n%s\n", p.name, tail(p.log.String(), 2000))
		}
		return r, err
	}

	natsArgs := []string{"-a", natsHost, "-p", natsPort, "-js", "-sd", store}
	if profile != "" {
		// Not in measured runs without profiles: it turns on block profiling.
		natsArgs = append(natsArgs, "--profile", profPort)
	}
	ns, err := launch("nats-server", nil, o.natsServer, natsArgs...)
	if err != nil {
		return failed(err)
	}
	listening := func() bool {
		c, err := net.Dial("tcp", addrs["nats"])
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	if err := waitFor(ctx, listening); err != nil {
		return failed(fmt.Errorf("nats-server: %w", err))
	}
	// The publisher first, so the stream exists when the replica starts.
	var env []string
	if pr.Window > 0 {
		env = append(env, "TICKERD_NATS_PUBLISH_WINDOW="+strconv.Itoa(pr.Window))
	}
	pubArgs := []string{"publish", "-addr", addrs["publisher"], "-nats-url", natsURL,
		"-rate", strconv.Itoa(rate), "-seed", "42", "-log-level", "warn"}
	if profile != "" && pr.Label != "before" {
		pubArgs = append(pubArgs, "-debug-addr", addrs["publisherdebug"])
	}
	pub, err := launch("publisher", env, pr.Bin, pubArgs...)
	if err != nil {
		return failed(err)
	}
	if err := waitReady(ctx, addrs["publisher"]); err != nil {
		return failed(fmt.Errorf("publisher: %w", err))
	}
	repArgs := []string{"-addr", addrs["replica"], "-feed", "nats", "-nats-url", natsURL, "-log-level", "warn", "-max-streams-per-addr", "1000",
		"-send-buffer", strconv.Itoa(o.sendBuffer)}
	if profile != "" {
		repArgs = append(repArgs, "-debug-addr", addrs["replicadebug"])
	}
	rep, err := launch("replica", nil, pr.Bin, repArgs...)
	if err != nil {
		return failed(err)
	}
	if err := waitReady(ctx, addrs["replica"]); err != nil {
		return failed(fmt.Errorf("replica: %w", err))
	}

	// The window opens once every client has connected (ramp 100ms) and
	// the warm-up is over; the publisher's and the bus's figures are taken
	// over the same window.
	ramp := 100 * time.Millisecond
	type sample struct {
		cpu    map[string]float64
		stored float64
	}
	take := func() sample {
		return sample{
			cpu:    map[string]float64{"publisher": cpuSeconds(pub.pid()), "nats": cpuSeconds(ns.pid())},
			stored: metric(addrs["publisher"], "tickerd_bus_published_total"),
		}
	}
	samples := make(chan sample, 2)
	go func() {
		time.Sleep(ramp + o.warmup)
		samples <- take()
		if profile != "" {
			go fetchProfile("http://"+addrs["replicadebug"]+"/debug/pprof/profile", o.duration, profile+"-replica.pprof", stderr)
			go fetchProfile("http://"+addrs["natsprof"]+"/debug/pprof/profile", o.duration, profile+"-nats-server.pprof", stderr)
			if pr.Label != "before" {
				go fetchProfile("http://"+addrs["publisherdebug"]+"/debug/pprof/profile", o.duration, profile+"-publisher.pprof", stderr)
			}
		}
		time.Sleep(o.duration)
		samples <- take()
	}()
	load := exec.CommandContext(ctx, bins["tickload"], "-url", "http://"+addrs["replica"]+"/events",
		"-clients", strconv.Itoa(o.clients), "-sample", strconv.Itoa(o.clients), "-ramp", ramp.String(),
		"-warmup", o.warmup.String(), "-duration", o.duration.String(), "-pid", strconv.Itoa(rep.pid()), "-json")
	var out bytes.Buffer
	load.Stdout, load.Stderr = &out, stderr
	if err := load.Run(); err != nil {
		return failed(fmt.Errorf("tickload: %w", err))
	}
	first, last := <-samples, <-samples
	r.Retries = metric(addrs["publisher"], "tickerd_bus_publish_retries_total")
	r.Load = benchkit.LoadAverage()
	var tl struct {
		MinClientPerSecond float64                         `json:"min_client_ticks_per_s"`
		Complete           float64                         `json:"sampled_complete"`
		Latency            struct{ P50, P99, Max float64 } `json:"latency_ms"`
		Server             struct {
			CPU float64 `json:"cpu_pct"`
		} `json:"server"`
		SelfCPU float64 `json:"tickload_cpu_pct"`
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &tl); err != nil {
		return failed(fmt.Errorf("tickload output %q: %w", out.String(), err))
	}
	secs := o.duration.Seconds()
	r.StoredPerSec = (last.stored - first.stored) / secs
	r.DeliveredPerSec, r.Complete = tl.MinClientPerSecond, tl.Complete
	r.P50, r.P99, r.Max = tl.Latency.P50, tl.Latency.P99, tl.Latency.Max
	r.CPU.Publisher = 100 * (last.cpu["publisher"] - first.cpu["publisher"]) / secs
	r.CPU.NATS = 100 * (last.cpu["nats"] - first.cpu["nats"]) / secs
	r.CPU.Replica, r.CPU.Tickload = tl.Server.CPU, tl.SelfCPU
	return r, nil
}

// cpuSeconds is the user and system CPU time process pid has used.
func cpuSeconds(pid int) float64 {
	cpu, _, err := benchkit.ReadProc(pid)
	if err != nil {
		return 0
	}
	return cpu.Seconds()
}

// metric reads the value of an unlabelled metric from tickerd's /metrics.
func metric(addr, name string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

func fetchProfile(url string, d time.Duration, path string, stderr io.Writer) {
	if err := benchkit.FetchProfile(url, int(d.Seconds())-1, path); err != nil {
		fmt.Fprintln(stderr, "profile:", err)
	}
}

// waitFor polls cond until it holds, for at most 15 seconds.
func waitFor(ctx context.Context, cond func() bool) error {
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("not ready within 15s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// waitReady waits until tickerd on addr answers /readyz with 200.
func waitReady(ctx context.Context, addr string) error {
	return waitFor(ctx, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// render writes the report: per rate, the median of each peer's runs.
func render(o options, results []result, started time.Time, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run %s, %s, by `go run ./bench/bus %s`: %s. nats-server %s with JetStream file storage, `tickerd publish` (simulated market, default universe) at each rate, one replica (`tickerd -feed nats -send-buffer %d`), %d firehose SSE clients (tickload, every client sampled for latency); %s measured after %s of warm-up, median of %d run(s) per cell. Peers of one rate ran interleaved.\n\n",
		started.UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second), strings.Join(os.Args[1:], " "), machine(), natsVersion(o.natsServer),
		o.sendBuffer, o.clients, o.duration, o.warmup, o.reps)
	b.WriteString("| rate | publisher | stored/s | delivered/s per client | complete | p50 | p99 | max | CPU publisher | CPU nats-server | CPU replica | CPU tickload | CPU µs per tick | retries | load |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, rate := range o.rates {
		for _, p := range o.peers {
			var runs []result
			for _, r := range results {
				if r.Rate == rate && r.Peer == p.Label {
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
				return benchkit.Median(xs)
			}
			fmt.Fprintf(&b, "| %d | %s | %.0f | %.0f | %.2f%% | %.1f ms | %.1f ms | %.1f ms | %.0f%% | %.0f%% | %.0f%% | %.0f%% | %.1f | %.0f | %.1f |\n",
				rate, p.Label, med(func(r result) float64 { return r.StoredPerSec }), med(func(r result) float64 { return r.DeliveredPerSec }),
				100*med(func(r result) float64 { return r.Complete }),
				med(func(r result) float64 { return r.P50 }), med(func(r result) float64 { return r.P99 }), med(func(r result) float64 { return r.Max }),
				med(func(r result) float64 { return r.CPU.Publisher }), med(func(r result) float64 { return r.CPU.NATS }),
				med(func(r result) float64 { return r.CPU.Replica }), med(func(r result) float64 { return r.CPU.Tickload }),
				med(result.cpuPerTick), med(func(r result) float64 { return r.Retries }), med(func(r result) float64 { return r.Load }))
		}
	}
	b.WriteString("\n")
	return b.String()
}

func natsVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "(unknown version)"
	}
	v := strings.TrimSpace(string(out))
	return strings.TrimPrefix(v, "nats-server: ")
}

func machine() string {
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = ", load average " + strings.Join(strings.Fields(string(b))[:3], " ") + " at the end"
	}
	return benchkit.Machine("every process on this machine over loopback" + load)
}
