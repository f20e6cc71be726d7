// Command storm measures a reconnect storm: browser-like SSE clients, each
// reconnecting exactly after the retry: delay it was given and resuming
// with Last-Event-ID, across a restart of tickerd and across the stop of a
// replica behind nginx. For each it reports the time until 99% of the
// clients that lost their stream have one again, the peak CPU and RSS of
// the process that receives them, and the tick-to-client latency (p99) of
// the clients it serves meanwhile, for every configuration in the same
// run, interleaved.
//
//	go build -o /tmp/tickerd ./cmd/tickerd
//	go run ./bench/storm -tickerd /tmp/tickerd                 # both scenarios, every default configuration
//	go run ./bench/storm -tickerd /tmp/tickerd -before /tmp/tickerd-old   # and an older build, with its defaults
//	go run ./bench/storm -tickerd /tmp/tickerd -scenarios restart -clients 1000 \
//	    -config 'before=-drain-window 0' -config 'drain=-drain-window 10s'
//
// It runs from the repository's root, where it reads deploy/nginx/nginx.conf.
//
// Every process it starts listens on 127.0.0.1, gets a bounded run, and
// is stopped by its PID at the end; nothing outlives the command.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tickerd/tickerd/bench/internal/benchkit"
)

func main() {
	benchkit.Main("storm", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

// options are the command line.
type options struct {
	tickerd, natsServer, nginx string
	clients                    int
	symbols                    int // symbols each client subscribes to
	rate                       float64
	ramp                       float64 // new clients per second while connecting
	settle                     time.Duration
	timeout                    time.Duration // longest wait for 99% back
	scenarios                  []string
	configs                    []config
}

// config is one way of running tickerd, measured in every scenario: a
// binary (-tickerd's, or -before's) and its flags.
type config struct {
	name   string
	binary string
	args   []string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("storm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.tickerd, "tickerd", "", "the tickerd binary (go build -o /tmp/tickerd ./cmd/tickerd); required")
	before := fs.String("before", "", "also measure this tickerd binary with its own defaults, as the configuration \"before\" (e.g. one built from an older commit); it runs every process of a scenario, the publisher too")
	fs.StringVar(&o.natsServer, "nats-server", "nats-server", "the nats-server binary, for the failover scenario")
	fs.StringVar(&o.nginx, "nginx", "nginx", "the nginx binary, for the failover scenario")
	fs.IntVar(&o.clients, "clients", 5000, "browser-like clients")
	fs.IntVar(&o.symbols, "symbols", 5, "symbols each client subscribes to")
	fs.Float64Var(&o.rate, "rate", 100, "ticks per second of the market")
	fs.Float64Var(&o.ramp, "ramp", 1000, "clients connected per second before the storm")
	fs.DurationVar(&o.settle, "settle", 3*time.Second, "time with every client connected before the stop")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "longest wait for 99% of the clients to be back")
	scenarios := fs.String("scenarios", "restart,failover", "comma list: restart (one tickerd, stopped and started again on its port), failover (two replicas behind nginx, one stopped)")
	var configs configList
	fs.Var(&configs, "config", "a configuration to measure, as name=tickerd flags; repeat it for more, measured in turn in every scenario (default: "+
		strings.Join(defaultConfigs, "; ")+")")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.tickerd == "" {
		return o, errors.New("-tickerd: want the path of a tickerd binary")
	}
	if o.clients < 100 || o.symbols < 1 || o.rate <= 0 || o.ramp <= 0 {
		return o, errors.New("want -clients of at least 100, -symbols and -ramp of at least 1, and a positive -rate")
	}
	o.scenarios = strings.Split(*scenarios, ",")
	for _, s := range o.scenarios {
		if s != "restart" && s != "failover" {
			return o, fmt.Errorf("-scenarios: %q is neither restart nor failover", s)
		}
	}
	if len(configs) == 0 {
		for _, c := range defaultConfigs {
			_ = configs.Set(c)
		}
	}
	for i := range configs {
		configs[i].binary = o.tickerd
	}
	if *before != "" {
		configs = append([]config{{name: "before", binary: *before}}, configs...)
	}
	o.configs = configs
	return o, nil
}

// defaultConfigs are the configurations of -tickerd measured unless
// -config is given: its defaults (the drain over its default window and
// the jittered retry, no connection-rate limit), without the drain, with
// the bucket per address, and with both buckets.
var defaultConfigs = []string{
	"defaults=",
	"no drain=-drain-window 0",
	"bucket per address=-stream-rate-per-addr 1 -stream-burst-per-addr 5",
	"both buckets=-stream-rate 1000 -stream-burst 500 -stream-rate-per-addr 1 -stream-burst-per-addr 5",
}

// configList is the -config flag.
type configList []config

func (l *configList) String() string { return fmt.Sprint(len(*l), " configurations") }

func (l *configList) Set(v string) error {
	name, flags, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q: want name=tickerd flags", v)
	}
	*l = append(*l, config{name: name, args: strings.Fields(flags)})
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	var results []result
	for _, scenario := range o.scenarios {
		for _, cfg := range o.configs {
			fmt.Fprintf(stderr, "storm: %s, %s (%s)\n", scenario, cfg.name, strings.Join(cfg.args, " "))
			var r result
			var err error
			if scenario == "restart" {
				r, err = restart(ctx, o, cfg, stderr)
			} else {
				r, err = failover(ctx, o, cfg, stderr)
			}
			if err != nil {
				return fmt.Errorf("%s, %s: %w", scenario, cfg.name, err)
			}
			r.scenario, r.config = scenario, cfg
			r.load += " → " + fmt.Sprintf("%.2f", benchkit.LoadAverage())
			results = append(results, r)
			fmt.Fprintln(stderr, "storm:", r.line())
		}
	}
	writeTable(stdout, o, results)
	return nil
}

// result is what one storm measured.
type result struct {
	scenario       string
	config         config
	lost, notBack  int
	back99         time.Duration // from the stop until 99% of the lost clients were back
	back99Listen   time.Duration // the same, from when the receiving process took connections (restart)
	refused        int64         // answers other than 200 the clients got meanwhile
	refusedBy      string        // the same by status
	peakCPU        float64       // cores, over 250 ms windows
	peakRSS        int64         // bytes
	p99Before      time.Duration // tick latency of the clients that stayed, before the stop
	p99During      time.Duration // and from the stop until 99% were back
	p99DuringGroup string        // whose latency p99During is
	load           string        // the machine's load average (1 min) at the stop and at the end
}

func (r result) line() string {
	return fmt.Sprintf("%s %s (load %s): %d lost, 99%% back in %v (%d not back), %d refusals (%s), peak CPU %.2f cores, peak RSS %.0f MiB, p99 %v before, %v during (%s)",
		r.scenario, r.config.name, r.load, r.lost, r.back99.Round(time.Millisecond), r.notBack, r.refused, r.refusedBy, r.peakCPU,
		float64(r.peakRSS)/(1<<20), r.p99Before.Round(100*time.Microsecond), r.p99During.Round(100*time.Microsecond), r.p99DuringGroup)
}

func writeTable(w io.Writer, o options, results []result) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "Reconnect storm: %d browser-like SSE clients, %d symbols each, %.0f ticks/s; %s, %d cores (%s/%s), host %s.\n\n",
		o.clients, o.symbols, o.rate, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, host)
	for _, cfg := range o.configs {
		switch {
		case cfg.binary != o.tickerd:
			fmt.Fprintf(w, "- %s: `%s` with its defaults\n", cfg.name, cfg.binary)
		case len(cfg.args) == 0:
			fmt.Fprintf(w, "- %s: tickerd's defaults\n", cfg.name)
		default:
			fmt.Fprintf(w, "- %s: `%s`\n", cfg.name, strings.Join(cfg.args, " "))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | config | load (1 min) | clients lost | 99% back after the stop | not back | answers other than 200 | receiver peak CPU | receiver peak RSS | p99 tick latency before | p99 during the storm |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		back := fmtDur(r.back99)
		if r.back99Listen > 0 {
			back += fmt.Sprintf(" (%s after it listened)", fmtDur(r.back99Listen))
		}
		refused := strconv.FormatInt(r.refused, 10)
		if r.refusedBy != "" {
			refused += " (" + r.refusedBy + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d | %s | %d | %s | %.2f cores | %.0f MiB | %s | %s (%s) |\n",
			r.scenario, r.config.name, r.load, r.lost, back, r.notBack, refused, r.peakCPU, float64(r.peakRSS)/(1<<20),
			fmtDur(r.p99Before), fmtDur(r.p99During), r.p99DuringGroup)
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
}

// restart runs one tickerd with the clients, stops it with SIGTERM, starts
// a new one on the same port once it has exited, and waits for the
// clients to come back to it.
func restart(ctx context.Context, o options, cfg config, stderr io.Writer) (result, error) {
	port, err := freePort()
	if err != nil {
		return result{}, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{"-addr", addr, "-rate", fmt.Sprint(o.rate), "-max-streams-per-addr", "100000",
		"-trust-proxies", "127.0.0.1", "-log-level", "warn"}, cfg.args...)
	old, err := startProcess(cfg.binary, args, stderr)
	if err != nil {
		return result{}, err
	}
	defer old.stop()
	if err := waitReady(ctx, "http://"+addr); err != nil {
		return result{}, err
	}
	st := newStorm(o, addr)
	defer st.stop()
	if err := st.connectAll(ctx); err != nil {
		return result{}, err
	}
	sleep(ctx, o.settle)

	st.markStop()
	old.signal()
	if err := old.wait(2 * time.Minute); err != nil {
		return result{}, fmt.Errorf("the first tickerd: %w", err)
	}
	// The new process takes the port once the old one has let it go.
	next, err := startProcess(cfg.binary, args, stderr)
	if err != nil {
		return result{}, err
	}
	defer next.stop()
	sampler := sample(next.cmd.Process.Pid)
	if err := waitReady(ctx, "http://"+addr); err != nil {
		return result{}, fmt.Errorf("the second tickerd: %w", err)
	}
	listened := time.Now()
	r := st.await(ctx, old.exited)
	cpu, rss := sampler.stop(st.stopAt, time.Now())
	r.peakCPU, r.peakRSS = cpu, rss
	if r.back99 > 0 {
		r.back99Listen = st.stopAt.Add(r.back99).Sub(listened)
	}
	r.p99DuringGroup = "clients back on the new process"
	r.p99During = st.latency.quantile(groupReturned, st.stopAt, st.stopAt.Add(r.back99), 0.99)
	return r, nil
}

// failover runs NATS, the publisher, two replicas and nginx in front of
// them, spreads the clients over both through nginx, stops one replica and
// waits for its clients to come back through nginx to the other.
func failover(ctx context.Context, o options, cfg config, stderr io.Writer) (result, error) {
	dir, err := os.MkdirTemp("", "storm-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	ports, err := freePorts(5)
	if err != nil {
		return result{}, err
	}
	natsPort, pubAddr, aAddr, bAddr, nginxAddr := ports[0], "127.0.0.1:"+strconv.Itoa(ports[1]),
		"127.0.0.1:"+strconv.Itoa(ports[2]), "127.0.0.1:"+strconv.Itoa(ports[3]), "127.0.0.1:"+strconv.Itoa(ports[4])
	natsURL := "nats://127.0.0.1:" + strconv.Itoa(natsPort)
	nats, err := startProcess(o.natsServer, []string{"-js", "-a", "127.0.0.1", "-p", strconv.Itoa(natsPort), "-sd", filepath.Join(dir, "js")}, io.Discard)
	if err != nil {
		return result{}, err
	}
	defer nats.stop()
	pub, err := startProcess(cfg.binary, []string{"publish", "-addr", pubAddr, "-nats-url", natsURL, "-rate", fmt.Sprint(o.rate), "-log-level", "warn"}, stderr)
	if err != nil {
		return result{}, err
	}
	defer pub.stop()
	if err := waitReady(ctx, "http://"+pubAddr); err != nil {
		return result{}, fmt.Errorf("publisher: %w", err)
	}
	replica := func(addr string) (*process, error) {
		args := append([]string{"-feed", "nats", "-nats-url", natsURL, "-addr", addr, "-max-streams-per-addr", "100000",
			"-trust-proxies", "127.0.0.1", "-log-level", "warn"}, cfg.args...)
		p, err := startProcess(cfg.binary, args, stderr)
		if err != nil {
			return nil, err
		}
		if err := waitReady(ctx, "http://"+addr); err != nil {
			p.stop()
			return nil, fmt.Errorf("replica %s: %w", addr, err)
		}
		return p, nil
	}
	a, err := replica(aAddr)
	if err != nil {
		return result{}, err
	}
	defer a.stop()
	b, err := replica(bAddr)
	if err != nil {
		return result{}, err
	}
	defer b.stop()
	confDir, err := nginxConfig(dir, nginxAddr, aAddr, bAddr)
	if err != nil {
		return result{}, err
	}
	ngx, err := startProcess(o.nginx, []string{"-p", confDir, "-c", filepath.Join(confDir, "nginx.conf"), "-e", "stderr",
		"-g", "pid " + filepath.Join(confDir, "nginx.pid") + "; daemon off;"}, io.Discard)
	if err != nil {
		return result{}, err
	}
	defer ngx.stop()
	if err := waitReady(ctx, "http://"+nginxAddr); err != nil {
		return result{}, fmt.Errorf("nginx: %w", err)
	}

	st := newStorm(o, nginxAddr)
	defer st.stop()
	if err := st.connectAll(ctx); err != nil {
		return result{}, err
	}
	sleep(ctx, o.settle)
	sampler := sample(b.cmd.Process.Pid)
	st.markStop()
	a.signal()
	r := st.await(ctx, a.exited)
	cpu, rss := sampler.stop(st.stopAt, time.Now())
	r.peakCPU, r.peakRSS = cpu, rss
	r.p99DuringGroup = "clients that stayed on the other replica"
	r.p99During = st.latency.quantile(groupStayed, st.stopAt, st.stopAt.Add(r.back99), 0.99)
	if err := a.wait(time.Minute); err != nil {
		return result{}, fmt.Errorf("the stopped replica: %w", err)
	}
	return r, nil
}

// nginxConfig writes deploy/nginx/nginx.conf with its listen address, an
// upstream.conf of the two replicas as the shipped one lists them, and
// worker connections for this many streams (each holds two: the client's
// and the upstream's) into dir.
func nginxConfig(dir, listen string, replicas ...string) (string, error) {
	conf, err := os.ReadFile(filepath.Join("deploy", "nginx", "nginx.conf"))
	if err != nil {
		return "", fmt.Errorf("run storm from the repository's root: %w", err)
	}
	if !bytes.Contains(conf, []byte("listen 8080;")) || !bytes.Contains(conf, []byte("worker_connections 4096;")) {
		return "", errors.New("deploy/nginx/nginx.conf: no `listen 8080;` or `worker_connections 4096;` to replace")
	}
	conf = bytes.Replace(conf, []byte("listen 8080;"), []byte("listen "+listen+";"), 1)
	conf = bytes.Replace(conf, []byte("worker_connections 4096;"), []byte("worker_connections 16384;"), 1)
	conf = bytes.Replace(conf, []byte("access_log /dev/stdout;"), []byte("access_log off;"), 1)
	var upstream strings.Builder
	for _, r := range replicas {
		fmt.Fprintf(&upstream, "server %s max_fails=1 fail_timeout=5s;\n", r)
	}
	out := filepath.Join(dir, "nginx")
	if err := os.MkdirAll(filepath.Join(out, "logs"), 0o755); err != nil {
		return "", err
	}
	for name, b := range map[string][]byte{"nginx.conf": conf, "upstream.conf": []byte(upstream.String())} {
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			return "", err
		}
	}
	return out, nil
}

// process is a child this command started and stops by its PID.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once it has exited
	err    error         // what Wait returned
	once   sync.Once
}

func startProcess(bin string, args []string, stderr io.Writer) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// signal sends SIGTERM.
func (p *process) signal() { _ = p.cmd.Process.Signal(syscall.SIGTERM) }

// wait waits for the process to exit, at most d.
func (p *process) wait(d time.Duration) error {
	select {
	case <-p.exited:
		return p.err
	case <-time.After(d):
		return fmt.Errorf("pid %d still running after %v", p.cmd.Process.Pid, d)
	}
}

// stop ends the process: SIGTERM, and SIGKILL if it is still there after
// 30 s.
func (p *process) stop() {
	p.once.Do(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		p.signal()
		if p.wait(30*time.Second) != nil {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func freePort() (int, error) {
	p, err := freePorts(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// waitReady waits up to 20 s for base/readyz to answer 200.
func waitReady(ctx context.Context, base string) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := client.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !sleep(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("%s/readyz did not answer 200 within 20s", base)
}

// sleep waits d or until ctx is done, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// sampler reads a process's CPU time and RSS from /proc every 250 ms.
type sampler struct {
	done    chan struct{}
	stopped chan struct{}
	mu      sync.Mutex
	samples []procSample
}

type procSample struct {
	at  time.Time
	cpu time.Duration
	rss int64
}

func sample(pid int) *sampler {
	s := &sampler{done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(s.stopped)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			if cpu, rss, err := benchkit.ReadProc(pid); err == nil {
				s.mu.Lock()
				s.samples = append(s.samples, procSample{time.Now(), cpu, rss})
				s.mu.Unlock()
			}
			select {
			case <-tick.C:
			case <-s.done:
				return
			}
		}
	}()
	return s
}

// cpuWindow is the shortest time CPU use is averaged over: the kernel
// counts it in 10 ms steps.
const cpuWindow = 250 * time.Millisecond

// stop ends the sampling and returns the peak CPU (cores, over windows of
// cpuWindow or a little more) and RSS between from and to.
func (s *sampler) stop(from, to time.Time) (cores float64, rss int64) {
	close(s.done)
	<-s.stopped
	s.mu.Lock()
	defer s.mu.Unlock()
	j := 0 // the latest sample at least a window before the i-th
	for i, x := range s.samples {
		for j+1 < i && x.at.Sub(s.samples[j+1].at) >= cpuWindow {
			j++
		}
		if x.at.Before(from) || x.at.After(to) {
			continue
		}
		rss = max(rss, x.rss)
		if prev := s.samples[j]; x.at.Sub(prev.at) >= cpuWindow {
			cores = max(cores, float64(x.cpu-prev.cpu)/float64(x.at.Sub(prev.at)))
		}
	}
	return cores, rss
}

// storm is the clients and what they saw.
type storm struct {
	o       options
	addr    string
	clients []*client
	latency *latencies
	refused atomic.Int64
	mu      sync.Mutex
	byCode  map[int]int64 // refusals by status since the stop

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	stopped atomic.Bool // the stop has happened
	stopAt  time.Time   // set before stopped
	load    string      // the load average at the stop
}

func newStorm(o options, addr string) *storm {
	ctx, cancel := context.WithCancel(context.Background())
	return &storm{o: o, addr: addr, latency: newLatencies(), ctx: ctx, cancel: cancel, byCode: map[int]int64{}}
}

// connectAll starts the clients at the ramp's pace and waits until every
// one has its first event.
func (s *storm) connectAll(ctx context.Context) error {
	universe := []string{"AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "AVGO", "JPM", "V", "UNH", "XOM", "MA", "JNJ", "PG", "HD", "COST", "ABBV", "MRK", "PEP"}
	interval := time.Duration(float64(time.Second) / s.o.ramp)
	next := time.Now()
	for i := range s.o.clients {
		syms := make([]string, s.o.symbols)
		for j := range syms {
			syms[j] = universe[(i+j*7)%len(universe)]
		}
		c := &client{s: s, path: "/events?symbols=" + strings.Join(slices.Compact(syms), ","),
			xff: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), retry: 3 * time.Second}
		s.clients = append(s.clients, c)
		s.wg.Go(c.run)
		next = next.Add(interval)
		if d := time.Until(next); d > 0 && !sleep(ctx, d) {
			return ctx.Err()
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		n := 0
		for _, c := range s.clients {
			if c.connected.Load() {
				n++
			}
		}
		if n == len(s.clients) {
			return nil
		}
		if !sleep(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
	return errors.New("not every client connected within 60s of the ramp")
}

func (s *storm) markStop() {
	s.load = fmt.Sprintf("%.2f", benchkit.LoadAverage())
	s.stopAt = time.Now()
	s.refused.Store(0)
	s.mu.Lock()
	clear(s.byCode)
	s.mu.Unlock()
	s.stopped.Store(true)
}

// await waits until the stopped process has exited and 99% of the
// clients that lost their stream since the stop have one again, or
// -timeout passes, and returns when that was.
func (s *storm) await(ctx context.Context, exited <-chan struct{}) result {
	deadline := s.stopAt.Add(s.o.timeout)
	var r result
	for {
		var back []time.Time
		r.lost = 0
		for _, c := range s.clients {
			if l, b := c.times(); !l.IsZero() {
				r.lost++
				if !b.IsZero() {
					back = append(back, b)
				}
			}
		}
		r.notBack = r.lost - len(back)
		gone := false
		select {
		case <-exited:
			gone = true
		default:
		}
		need := int(math.Ceil(0.99 * float64(r.lost)))
		if gone && r.lost > 0 && len(back) >= need {
			slices.SortFunc(back, time.Time.Compare)
			r.back99 = back[need-1].Sub(s.stopAt)
			break
		}
		if time.Now().After(deadline) || !sleep(ctx, 100*time.Millisecond) {
			r.back99 = s.o.timeout
			break
		}
	}
	r.refused = s.refused.Load()
	r.load = s.load
	s.mu.Lock()
	var codes []string
	for code, n := range s.byCode {
		codes = append(codes, fmt.Sprintf("%d×%d", n, code))
	}
	s.mu.Unlock()
	slices.Sort(codes)
	r.refusedBy = strings.Join(codes, ", ")
	r.p99Before = s.latency.quantile(groupStayed, s.stopAt.Add(-s.o.settle), s.stopAt, 0.99)
	return r
}

func (s *storm) stop() {
	s.cancel()
	s.wg.Wait()
}

// client is one browser-like EventSource: on a stream's end it waits the
// last retry: it was given and reconnects with Last-Event-ID; a refusal
// (503, 429) it retries after Retry-After or retry:, whichever is longer.
type client struct {
	s     *storm
	path  string
	xff   string
	retry time.Duration

	lastID    string
	connected atomic.Bool

	mu     sync.Mutex
	lostAt time.Time // first stream end after the stop
	backAt time.Time // first event of a stream after that
}

func (c *client) times() (lost, back time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lostAt, c.backAt
}

func (c *client) run() {
	ctx := c.s.ctx
	for ctx.Err() == nil {
		wait := c.stream(ctx)
		if !sleep(ctx, wait) {
			return
		}
	}
}

// stream makes one connection and reads it to its end; it returns how
// long to wait before the next.
func (c *client) stream(ctx context.Context) time.Duration {
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", c.s.addr)
	if err != nil {
		c.lost()
		return c.retry
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	req := "GET " + c.path + " HTTP/1.1\r\nHost: tickerd\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nX-Forwarded-For: " + c.xff + "\r\n"
	if c.lastID != "" {
		req += "Last-Event-ID: " + c.lastID + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		c.lost()
		return c.retry
	}
	br := bufio.NewReaderSize(conn, 8192)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.lost()
		return c.retry
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.lost()
		c.s.refused.Add(1)
		c.s.mu.Lock()
		c.s.byCode[resp.StatusCode]++
		c.s.mu.Unlock()
		wait := c.retry
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			wait = max(wait, time.Duration(ra)*time.Second)
		}
		return wait
	}
	c.read(bufio.NewReaderSize(resp.Body, 8192))
	c.lost()
	return c.retry
}

// read parses the event stream until it ends.
func (c *client) read(r *bufio.Reader) {
	var id, event, data []byte
	first := true
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > 0 {
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(field) {
			case "id":
				id = append(id[:0], value...)
			case "event":
				event = append(event[:0], value...)
			case "data":
				data = append(data[:0], value...)
			case "retry":
				if ms, err := strconv.Atoi(string(value)); err == nil {
					c.retry = time.Duration(ms) * time.Millisecond
				}
			}
			continue
		}
		if len(event) == 0 && len(data) == 0 {
			continue
		}
		now := time.Now()
		if len(id) > 0 {
			c.lastID = string(id)
		}
		if first {
			first = false
			c.connected.Store(true)
			c.mu.Lock()
			if !c.lostAt.IsZero() && c.backAt.IsZero() {
				c.backAt = now
			}
			c.mu.Unlock()
		}
		if string(event) == "tick" {
			if ts, ok := tickTime(data); ok {
				group := groupStayed
				if l, _ := c.times(); !l.IsZero() {
					group = groupReturned
				}
				c.s.latency.add(group, now, now.Sub(ts))
			}
		}
		event, data = event[:0], data[:0]
	}
}

// lost records the end of a stream, once, after the stop.
func (c *client) lost() {
	if !c.s.stopped.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lostAt.IsZero() {
		c.lostAt = time.Now()
	}
}

// tickTime reads the creation time of a tick event's JSON ("ts", Unix
// nanoseconds).
func tickTime(data []byte) (time.Time, bool) {
	i := bytes.Index(data, []byte(`"ts":`))
	if i < 0 {
		return time.Time{}, false
	}
	rest := data[i+5:]
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	ns, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// Groups of clients whose latencies are kept apart.
const (
	groupStayed   = iota // has not lost its stream since the stop
	groupReturned        // lost it and is back
	groups
)

// latencies is a histogram of tick latencies per group and per 100 ms of
// 250 ms of the run: log buckets of 4% from 10 µs.
type latencies struct {
	start time.Time
	slots [groups][]atomicBuckets
}

const (
	slotWidth  = 250 * time.Millisecond
	slotCount  = 1200 // five minutes
	bucketBase = 1.04
	bucketMin  = 10 * time.Microsecond
	bucketN    = 400 // up to a minute
)

type atomicBuckets [bucketN]atomic.Int64

func newLatencies() *latencies {
	l := &latencies{start: time.Now()}
	for g := range l.slots {
		l.slots[g] = make([]atomicBuckets, slotCount)
	}
	return l
}

func bucketOf(d time.Duration) int {
	if d <= bucketMin {
		return 0
	}
	return min(bucketN-1, int(math.Log(float64(d)/float64(bucketMin))/math.Log(bucketBase))+1)
}

func bucketUpper(i int) time.Duration {
	return time.Duration(float64(bucketMin) * math.Pow(bucketBase, float64(i)))
}

func (l *latencies) add(group int, at time.Time, d time.Duration) {
	slot := int(at.Sub(l.start) / slotWidth)
	if slot < 0 || slot >= slotCount {
		return
	}
	l.slots[group][slot][bucketOf(d)].Add(1)
}

// quantile returns the q-quantile of group's latencies between from and
// to (the upper bound of its bucket); 0 with none.
func (l *latencies) quantile(group int, from, to time.Time, q float64) time.Duration {
	var sum [bucketN]int64
	var total int64
	first := max(0, int(from.Sub(l.start)/slotWidth))
	last := min(slotCount-1, int(to.Sub(l.start)/slotWidth))
	for s := first; s <= last; s++ {
		for b := range bucketN {
			n := l.slots[group][s][b].Load()
			sum[b] += n
			total += n
		}
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for b, n := range sum {
		seen += n
		if seen >= rank {
			return bucketUpper(b)
		}
	}
	return bucketUpper(bucketN - 1)
}
