// Command matrix runs tickerd's benchmark matrix and writes BENCHMARKS.md.
//
// For every scenario it runs the r3labs/sse baseline (bench/baseline), the
// ceiling peer (bench/ceiling: tickerd's design with no features) and
// tickerd in the same session, interleaved, -reps times each, measuring
// each with tickload, and reports medians, the spread and the ratios of
// tickerd to each peer. With -before REV a build of tickerd at that git
// revision runs beside them, so a change is measured against what it
// changes in the same run.
// The transport scenarios (TA, TC, TD, TL) measure tickerd the same way
// over each of its transports in turn: SSE, WebSocket, long polling and
// polling every second.
//
//	go run ./bench/matrix                            # the whole matrix, about 40 minutes
//	go run ./bench/matrix -scenarios A -reps 1       # one scenario, once
//	go run ./bench/matrix -scenarios TA,TC,TD,TL     # the transports
//	go run ./bench/matrix -scenarios A,C -before main # tickerd now and at main
//
// Servers and load run on this machine, on 127.0.0.1 only, and every run
// ends by itself.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tickerd/tickerd/bench/internal/benchkit"
)

func main() {
	benchkit.Main("matrix", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

// scenario is one row of the matrix.
type scenario struct {
	Name, Title  string
	Rate         float64   // ticks per second
	Clients      int       // connections
	Ramp         string    // tickload -ramp
	Load         []string  // more tickload flags
	Server       []string  // more tickerd flags
	WithBaseline bool      // also measure the baseline and the ceiling peer
	Variants     []variant // the ways to measure it, interleaved; none: tickerd over SSE (and the baseline)
	Extra        []variant // measured after the default servers, interleaved with them
	Expected     float64   // deliveries per second if every client gets everything it subscribed to
}

// variant is one way a scenario is served and loaded: a server, and the
// transport tickload's clients use.
type variant struct {
	Key       string   // in -raw lines and profile names; empty for tickerd and the baseline over SSE
	Label     string   // the column of the table
	Server    string   // tickerd, before (tickerd at -before), baseline or ceiling
	Transport string   // tickload -transport
	Load      []string // more tickload flags
	Args      []string // more server flags
}

// The transports of tickerd, as variants of the transport scenarios.
var (
	overSSE       = variant{Key: "sse", Label: "SSE", Server: "tickerd", Transport: "sse"}
	overWebSocket = variant{Key: "ws", Label: "WebSocket", Server: "tickerd", Transport: "ws"}
	longPolling   = variant{Key: "longpoll", Label: "long polling 25s", Server: "tickerd", Transport: "poll", Load: []string{"-poll-wait", "25s"}}
	pollingEach1s = variant{Key: "poll1s", Label: "polling every 1s", Server: "tickerd", Transport: "poll", Load: []string{"-poll-interval", "1s"}}
	transports    = []variant{overSSE, overWebSocket, longPolling, pollingEach1s}
	streams       = []variant{overSSE, overWebSocket}
)

// The servers of the scenarios without variants, over SSE.
var (
	tickerdSSE = variant{Label: "tickerd", Server: "tickerd", Transport: "sse"}
	beforeSSE  = variant{Label: "tickerd before", Server: "before", Transport: "sse"}
	baseline   = variant{Label: "baseline", Server: "baseline", Transport: "sse"}
	ceiling    = variant{Label: "ceiling", Server: "ceiling", Transport: "sse"}
	// ceilingAtOnce is the ceiling peer gathering ticks for 100 µs instead
	// of 5 ms: at A's 100 ticks/s it writes every tick on its own as soon
	// as it is made, which is what the feature-less design can do with no
	// batching wait at all, the floor that tickerd's write-at-once aims at.
	ceilingAtOnce = variant{Key: "ceiling-at-once", Label: "ceiling at once", Server: "ceiling", Transport: "sse",
		Args: []string{"-flush-interval", "100us"}}
	// replayOff shows what the replay ring, which fills at the tick rate
	// whatever the number of streams, adds to the memory figures.
	replayOff = variant{Key: "noreplay", Label: "tickerd -replay 0", Server: "tickerd", Transport: "sse", Args: []string{"-replay", "0"}}
	// replayOffGC100 is replayOff with Go's default collector target, to
	// show what -gc-percent's default saves.
	replayOffGC100 = variant{Key: "noreplay-gc100", Label: "tickerd -replay 0 -gc-percent 100", Server: "tickerd", Transport: "sse",
		Args: []string{"-replay", "0", "-gc-percent", "100"}}
)

// variants returns the ways sc is measured, in the order of its columns;
// withBefore adds tickerd at the -before revision.
func (sc scenario) variants(withBefore bool) []variant {
	if len(sc.Variants) > 0 {
		return sc.Variants
	}
	vs := []variant{tickerdSSE}
	if sc.WithBaseline {
		vs = []variant{baseline, ceiling, tickerdSSE}
	}
	if withBefore {
		vs = append(vs, beforeSSE)
	}
	return append(vs, sc.Extra...)
}

// ratios names the pairs of columns whose quotients the table shows.
func (sc scenario) ratios(withBefore bool) [][2]string {
	if len(sc.Variants) > 0 {
		return [][2]string{{overWebSocket.Label, overSSE.Label}}
	}
	var rs [][2]string
	if sc.WithBaseline {
		rs = append(rs, [2]string{"tickerd", "baseline"}, [2]string{"tickerd", "ceiling"})
	}
	if withBefore {
		rs = append(rs, [2]string{"tickerd", beforeSSE.Label})
	}
	for _, v := range sc.Extra {
		if v.Server == "ceiling" {
			rs = append(rs, [2]string{"tickerd", v.Label})
		}
	}
	return rs
}

var scenarios = []scenario{
	{Name: "A", Title: "1,000 firehose clients at 100 ticks/s", Rate: 100, Clients: 1000, Ramp: "5s", WithBaseline: true, Expected: 100 * 1000,
		Extra: []variant{ceilingAtOnce}},
	{Name: "B", Title: "5,000 firehose clients at 100 ticks/s", Rate: 100, Clients: 5000, Ramp: "10s", Load: []string{"-bufsize", "8192"}, WithBaseline: true, Expected: 100 * 5000},
	{Name: "C", Title: "1,000 firehose clients at 1,000 ticks/s", Rate: 1000, Clients: 1000, Ramp: "5s", WithBaseline: true, Expected: 1000 * 1000,
		Extra: []variant{replayOff, replayOffGC100}},
	// C2 is C with half the clients: what C's figures owe to the number of
	// streams is the difference between the two, what stays is the hub's.
	{Name: "C2", Title: "500 firehose clients at 1,000 ticks/s (C with half the streams)", Rate: 1000, Clients: 500, Ramp: "5s", WithBaseline: true, Expected: 1000 * 500},
	{Name: "D", Title: "10,000 idle clients at 1 tick/s", Rate: 1, Clients: 10000, Ramp: "20s",
		Load: []string{"-sample", "100%", "-bufsize", "4096", "-connect-timeout", "30s"}, WithBaseline: true, Expected: 1 * 10000},
	{Name: "E", Title: "19,000 firehose clients at 1 tick/s, dialled from four loopback addresses", Rate: 1, Clients: 19000, Ramp: "10s",
		Load:   []string{"-sample", "100%", "-bufsize", "4096", "-connect-timeout", "30s", "-sources", "4"},
		Server: []string{"-max-streams", "19000", "-max-streams-per-addr", "19000"}, WithBaseline: true, Expected: 1 * 19000},
	{Name: "S", Title: "A plus one client that never reads", Rate: 100, Clients: 1001, Ramp: "5s",
		Load: []string{"-stall", "0.001", "-stall-rcvbuf", "2048"}, Expected: 100 * 1000},
	{Name: "R", Title: "1,000 clients on a random 5 of 50 symbols at 1,000 ticks/s", Rate: 1000, Clients: 1000, Ramp: "5s",
		Load: []string{"-mode", "random", "-k", "5", "-symbols", fiftySymbols}, Server: []string{"-symbols", fiftySymbols}, Expected: 1000 * 1000 * 5 / 50},
	{Name: "TA", Title: "A by transport: 1,000 firehose clients at 100 ticks/s", Rate: 100, Clients: 1000, Ramp: "5s",
		Variants: transports, Expected: 100 * 1000},
	{Name: "TC", Title: "C by transport: 1,000 firehose clients at 1,000 ticks/s", Rate: 1000, Clients: 1000, Ramp: "5s",
		Variants: streams, Expected: 1000 * 1000},
	{Name: "TD", Title: "D by transport: 10,000 idle clients at 1 tick/s", Rate: 1, Clients: 10000, Ramp: "20s",
		Load: []string{"-sample", "100%", "-bufsize", "4096", "-connect-timeout", "30s"}, Variants: streams, Expected: 1 * 10000},
	{Name: "TL", Title: "1,000 firehose clients at 10 ticks/s by transport", Rate: 10, Clients: 1000, Ramp: "5s",
		Variants: transports, Expected: 10 * 1000},
}

// fiftySymbols are the first 50 of tickerd's default universe.
const fiftySymbols = "AAPL,MSFT,NVDA,AMZN,GOOGL,META,TSLA,BRK.B,JPM,V,MA,UNH,XOM,JNJ,PG,HD,AVGO,LLY,COST,WMT,KO,PEP,MRK,ABBV,CVX,BAC,ORCL,CRM,ADBE,AMD,NFLX,INTC,CSCO,QCOM,TXN,DIS,NKE,MCD,PFE,T,VZ,IBM,GS,MS,WFC,C,BA,CAT,UBER,PYPL"

// measurement is one tickload run against one server over one transport.
type measurement struct {
	Server  string   `json:"server"`
	Variant string   `json:"variant,omitempty"`
	Label   string   `json:"-"`
	Rep     int      `json:"rep"`
	LoadAvg float64  `json:"loadavg_1m"` // the machine's, as the run began
	Report  tlReport `json:"report"`
}

// tlReport is the part of tickload's JSON line the matrix uses.
type tlReport struct {
	Transport      string  `json:"transport"`
	Clients        int     `json:"clients"`
	Stalled        int     `json:"stalled_clients"`
	ConnectSeconds float64 `json:"all_attempted_s"`
	TicksPerSecond float64 `json:"ticks_per_s"`
	MinClient      float64 `json:"min_client_ticks_per_s"`
	Offered        float64 `json:"offered_ticks_per_s"` // firehose: ticks produced per second, per client
	SampledOK      float64 `json:"sampled_complete"`
	Latency        struct {
		Count uint64  `json:"count"`
		P50   float64 `json:"p50"`
		P90   float64 `json:"p90"`
		P99   float64 `json:"p99"`
		Max   float64 `json:"max"`
	} `json:"latency_ms"`
	RequestsPerSecond float64 `json:"requests_per_s"`
	BytesPerTick      float64 `json:"bytes_per_tick"` // in and out, per delivered tick
	ConnectFailures   uint64  `json:"connect_failures"`
	Disconnects       uint64  `json:"disconnects"`
	Server            *struct {
		CPUPercent      float64 `json:"cpu_pct"`
		RSSBytes        int64   `json:"rss_bytes"`
		RSSPerConnBytes int64   `json:"rss_per_conn_bytes"`
	} `json:"server"`
	SelfCPU float64 `json:"tickload_cpu_pct"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "BENCHMARKS.md", "file to write; the part between the matrix markers is replaced if they are present")
	only := fs.String("scenarios", "A,B,C,C2,D,E,S,R,TA,TC,TD,TL", "scenarios to run")
	reps := fs.Int("reps", 3, "runs of each server per scenario")
	duration := fs.Duration("duration", 20*time.Second, "measured window of each run")
	warmup := fs.Duration("warmup", 5*time.Second, "warm-up after the ramp")
	raw := fs.String("raw", "", "also write every measurement as JSON lines to this file")
	goBench := fs.Bool("gobench", true, "also run the Go micro-benchmarks of feed and stream")
	profiles := fs.String("profile", "", "write a CPU profile of tickerd's first run of each scenario to this directory")
	before := fs.String("before", "", "also measure tickerd built at this git revision (e.g. main), beside the other servers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *reps < 1 {
		return errors.New("-reps must be at least 1")
	}
	if *profiles != "" {
		if err := os.MkdirAll(*profiles, 0o755); err != nil {
			return fmt.Errorf("-profile: %w", err)
		}
	}
	for _, name := range strings.Split(*only, ",") {
		if !slices.ContainsFunc(scenarios, func(sc scenario) bool { return sc.Name == name }) {
			return fmt.Errorf("-scenarios: no scenario %q", name)
		}
	}
	dir, err := os.MkdirTemp("", "tickerd-matrix")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bins := map[string]string{}
	for name, pkg := range map[string]string{"tickerd": "./cmd/tickerd", "baseline": "./bench/baseline", "ceiling": "./bench/ceiling", "tickload": "./cmd/tickload"} {
		bins[name] = filepath.Join(dir, name)
		if err := goBuild(ctx, "", bins[name], pkg, stderr); err != nil {
			return err
		}
	}
	if *before != "" {
		hash, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", *before).Output()
		if err != nil {
			return fmt.Errorf("-before %s: %w", *before, err)
		}
		*before = strings.TrimSpace(string(hash))
		bins["before"] = filepath.Join(dir, "tickerd-before")
		if err := buildAt(ctx, *before, filepath.Join(dir, "before-src"), bins["before"], stderr); err != nil {
			return err
		}
	}

	started := time.Now()
	results := map[string][]measurement{}
	var rawOut io.Writer = io.Discard
	if *raw != "" {
		f, err := os.Create(*raw)
		if err != nil {
			return err
		}
		defer f.Close()
		rawOut = f
	}
	for _, sc := range scenarios {
		if !slices.Contains(strings.Split(*only, ","), sc.Name) {
			continue
		}
		variants := sc.variants(*before != "")
		for rep := 1; rep <= *reps; rep++ {
			// Each rep starts one variant later, so that every variant
			// runs in every place of the order as often as the others.
			for i := range variants {
				v := variants[(i+rep-1)%len(variants)]
				fmt.Fprintf(stderr, "== %s rep %d/%d: %s (%s)\n", sc.Name, rep, *reps, v.Label, sc.Title)
				profile := ""
				if *profiles != "" && v.Server == "tickerd" && rep == 1 {
					name := sc.Name
					if v.Key != "" {
						name += "-" + v.Key
					}
					profile = filepath.Join(*profiles, name+".pprof")
				}
				load := benchkit.LoadAverage()
				r, err := measure(ctx, bins, v, sc, *duration, *warmup, profile, stderr)
				if err != nil {
					return fmt.Errorf("scenario %s, %s: %w", sc.Name, v.Label, err)
				}
				m := measurement{Server: v.Server, Variant: v.Key, Label: v.Label, Rep: rep, LoadAvg: load, Report: r}
				results[sc.Name] = append(results[sc.Name], m)
				line, _ := json.Marshal(struct {
					Scenario string `json:"scenario"`
					measurement
				}{sc.Name, m})
				fmt.Fprintf(rawOut, "%s\n", line)
				fmt.Fprintf(stderr, "   delivered %.2f%%, p50 %.1f ms, p99 %.1f ms, cpu %.0f%%, %.1f KiB per connection, %.0f requests/s, %.0f bytes per tick, load %.2f\n",
					delivered(sc, r), r.Latency.P50, r.Latency.P99, serverCPU(r), rssPerConn(r)/1024, r.RequestsPerSecond, r.BytesPerTick, load)
			}
		}
	}
	doc := render(results, runInfo{only: *only, reps: *reps, duration: *duration, before: *before, started: started, took: time.Since(started)})
	if *goBench {
		fmt.Fprintln(stderr, "== go test -bench ./feed/ ./stream/")
		bench := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1", "./feed/", "./stream/")
		var out bytes.Buffer
		bench.Stdout, bench.Stderr = &out, stderr
		if err := bench.Run(); err != nil {
			return fmt.Errorf("go test -bench: %w", err)
		}
		doc += "### Go micro-benchmarks\n\n`go test -run '^$' -bench . -benchmem ./feed/ ./stream/`\n\n```\n"
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "cpu:") {
				doc += line + "\n"
			}
		}
		doc += "```\n\n"
	}
	return benchkit.WriteSection(*out, "matrix", "Benchmarks", doc)
}

// paths are tickerd's endpoints by transport.
var paths = map[string]string{"sse": "/events", "ws": "/ws", "poll": "/api/ticks"}

// measure starts one server, loads it with tickload over the variant's
// transport and stops it.
func measure(ctx context.Context, bins map[string]string, v variant, sc scenario, duration, warmup time.Duration, profile string, stderr io.Writer) (tlReport, error) {
	addr, err := benchkit.FreeAddr()
	if err != nil {
		return tlReport{}, err
	}
	rate := fmt.Sprint(sc.Rate)
	var cmd *exec.Cmd
	var url string
	switch v.Server {
	case "tickerd", "before":
		// Every load connection comes from 127.0.0.1, so the per-address
		// limit is lifted to the whole load. WebSockets and held polls
		// count against both limits as streams do.
		args := []string{"-addr", addr, "-rate", rate, "-seed", "42", "-log-level", "warn",
			"-max-streams", "20000", "-max-streams-per-addr", "20000"}
		if profile != "" {
			debugAddr, err := benchkit.FreeAddr()
			if err != nil {
				return tlReport{}, err
			}
			args = append(args, "-debug-addr", debugAddr)
			ramp, _ := time.ParseDuration(sc.Ramp)
			go captureProfile(ctx, debugAddr, ramp+warmup+time.Second, duration/2, profile, stderr)
		}
		cmd = exec.Command(bins[v.Server], slices.Concat(args, sc.Server, v.Args)...)
		url = "http://" + addr + paths[v.Transport]
	case "ceiling":
		cmd = exec.Command(bins["ceiling"], append([]string{"-addr", addr, "-rate", rate, "-seed", "42"}, v.Args...)...)
		url = "http://" + addr + "/events"
	default:
		cmd = exec.Command(bins["baseline"], "-addr", addr, "-rate", rate, "-seed", "42")
		url = "http://" + addr + "/events?stream=ticks"
	}
	var serverLog bytes.Buffer
	cmd.Stdout, cmd.Stderr = &serverLog, &serverLog
	if err := cmd.Start(); err != nil {
		return tlReport{}, err
	}
	defer benchkit.Stop(cmd, 15*time.Second)
	if err := waitListening(ctx, addr); err != nil {
		return tlReport{}, fmt.Errorf("%w\n%s", err, serverLog.String())
	}
	args := []string{"-transport", v.Transport, "-url", url, "-clients", fmt.Sprint(sc.Clients), "-ramp", sc.Ramp,
		"-warmup", warmup.String(), "-duration", duration.String(), "-pid", fmt.Sprint(cmd.Process.Pid), "-json"}
	args = append(append(args, sc.Load...), v.Load...)
	load := exec.CommandContext(ctx, bins["tickload"], args...)
	var out bytes.Buffer
	load.Stdout, load.Stderr = &out, stderr
	if err := load.Run(); err != nil {
		return tlReport{}, fmt.Errorf("tickload: %w", err)
	}
	var r tlReport
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		return tlReport{}, fmt.Errorf("tickload output %q: %w", out.String(), err)
	}
	return r, nil
}

// captureProfile fetches a CPU profile of length d from tickerd's debug
// listener after a delay, into path.
func captureProfile(ctx context.Context, addr string, after, d time.Duration, path string, stderr io.Writer) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(after):
	}
	url := "http://" + addr + "/debug/pprof/profile"
	if err := benchkit.FetchProfile(url, int(d.Seconds()), path); err != nil {
		fmt.Fprintln(stderr, "profile:", err)
	}
}

func waitListening(ctx context.Context, addr string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("server on %s did not answer in 15s", addr)
}

func serverCPU(r tlReport) float64 {
	if r.Server == nil {
		return 0
	}
	return r.Server.CPUPercent
}

// delivered is the share of the ticks the reading clients should have got
// that they got: against what the server produced in the window where the
// sampled clients can tell (firehose), else against the configured rate.
func delivered(sc scenario, r tlReport) float64 {
	if r.Offered > 0 {
		return 100 * r.TicksPerSecond / (float64(r.Clients-r.Stalled) * r.Offered)
	}
	return 100 * r.TicksPerSecond / sc.Expected
}

// stat extracts one figure from a measurement.
type stat struct {
	name  string
	verb  string // how the number is printed
	unit  string // what follows it
	value func(sc scenario, m measurement) float64
}

func report(f func(sc scenario, r tlReport) float64) func(scenario, measurement) float64 {
	return func(sc scenario, m measurement) float64 { return f(sc, m.Report) }
}

var stats = []stat{
	{"delivered", "%.2f", "%", report(delivered)},
	{"slowest client", "%.1f", "/s", report(func(_ scenario, r tlReport) float64 { return r.MinClient })},
	{"p50", "%.1f", " ms", report(func(_ scenario, r tlReport) float64 { return r.Latency.P50 })},
	{"p99", "%.1f", " ms", report(func(_ scenario, r tlReport) float64 { return r.Latency.P99 })},
	{"max", "%.1f", " ms", report(func(_ scenario, r tlReport) float64 { return r.Latency.Max })},
	{"server CPU", "%.0f", "%", report(func(_ scenario, r tlReport) float64 { return serverCPU(r) })},
	{"server RSS", "%.0f", " MiB", report(func(_ scenario, r tlReport) float64 {
		if r.Server == nil {
			return 0
		}
		return float64(r.Server.RSSBytes) / (1 << 20)
	})},
	{"RSS per connection", "%.1f", " KiB", report(func(_ scenario, r tlReport) float64 { return rssPerConn(r) / 1024 })},
	{"connections opened per second", "%.0f", "/s", report(func(_ scenario, r tlReport) float64 {
		if r.ConnectSeconds <= 0 {
			return 0
		}
		return float64(r.Clients) / r.ConnectSeconds
	})},
	{"requests per second", "%.0f", "/s", report(func(_ scenario, r tlReport) float64 { return r.RequestsPerSecond })},
	{"bytes on the wire per tick", "%.0f", " B", report(func(_ scenario, r tlReport) float64 { return r.BytesPerTick })},
	{"tickload CPU", "%.0f", "%", report(func(_ scenario, r tlReport) float64 { return r.SelfCPU })},
	{"disconnects", "%.0f", "", report(func(_ scenario, r tlReport) float64 { return float64(r.Disconnects) })},
	{"machine load (1 min) at start", "%.1f", "", func(_ scenario, m measurement) float64 { return m.LoadAvg }},
}

func rssPerConn(r tlReport) float64 {
	if r.Server == nil {
		return 0
	}
	return float64(r.Server.RSSPerConnBytes)
}

// runInfo is what the document says about the run as a whole.
type runInfo struct {
	only     string
	reps     int
	duration time.Duration
	before   string // the git revision of "tickerd before"; empty: not measured
	started  time.Time
	took     time.Duration
}

// render writes one table per scenario: the median of each figure per
// server, with the lowest and highest run after it when there was more
// than one, and the ratios of the medians.
func render(results map[string][]measurement, info runInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s UTC, %d run(s) of each server (or transport) per scenario, interleaved, %v measured window each (the matrix took %v). "+
		"Each cell is the median, then the lowest and highest run in brackets.\n\n",
		info.started.UTC().Format("2006-01-02 15:04"), info.reps, info.duration, info.took.Round(time.Second))
	fmt.Fprintf(&b, "Machine: %s\n\n", benchkit.Machine("load generator and server on the same machine over loopback"))
	cmd := fmt.Sprintf("go run ./bench/matrix -scenarios %s -reps %d -duration %v", info.only, info.reps, info.duration)
	if info.before != "" {
		cmd += " -before " + info.before
		fmt.Fprintf(&b, "\"tickerd before\" is tickerd built at `%s`.\n\n", info.before)
	}
	fmt.Fprintf(&b, "Command: `%s`\n\n", cmd)
	for _, sc := range scenarios {
		ms := results[sc.Name]
		if len(ms) == 0 {
			continue
		}
		fmt.Fprintf(&b, "### %s: %s\n\n", sc.Name, sc.Title)
		var labels []string
		for _, v := range sc.variants(info.before != "") {
			labels = append(labels, v.Label)
		}
		ratios := sc.ratios(info.before != "")
		fmt.Fprintf(&b, "| median of %d | %s |", info.reps, strings.Join(labels, " | "))
		for _, r := range ratios {
			fmt.Fprintf(&b, " %s / %s |", r[0], r[1])
		}
		b.WriteString("\n|---|" + strings.Repeat("---|", len(labels)+len(ratios)) + "\n")
		for _, st := range stats {
			fmt.Fprintf(&b, "| %s |", st.name)
			meds := map[string]float64{}
			for _, label := range labels {
				var xs []float64
				for _, m := range ms {
					if m.Label == label {
						xs = append(xs, st.value(sc, m))
					}
				}
				meds[label] = benchkit.Median(xs)
				fmt.Fprintf(&b, " "+st.verb+"%s", meds[label], st.unit)
				if len(xs) > 1 {
					fmt.Fprintf(&b, " ["+st.verb+"–"+st.verb+"]", slices.Min(xs), slices.Max(xs))
				}
				b.WriteString(" |")
			}
			for _, r := range ratios {
				if meds[r[1]] != 0 {
					fmt.Fprintf(&b, " %s× |", ratio(meds[r[0]]/meds[r[1]]))
				} else {
					b.WriteString(" – |")
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// ratio prints r with two decimals, or two significant digits below 0.1.
func ratio(r float64) string {
	if r < 0.1 {
		return fmt.Sprintf("%.2g", r)
	}
	return fmt.Sprintf("%.2f", r)
}

// goBuild builds pkg into out, in dir ("" for this one).
func goBuild(ctx context.Context, dir, out, pkg string, stderr io.Writer) error {
	build := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	build.Dir, build.Stderr = dir, stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build %s: %w", pkg, err)
	}
	return nil
}

// buildAt builds tickerd as it was at the git revision rev: the tree of
// rev is exported into src and built there.
func buildAt(ctx context.Context, rev, src, out string, stderr io.Writer) error {
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	archive := exec.CommandContext(ctx, "git", "archive", "--format=tar", rev)
	archive.Stderr = stderr
	tar := exec.CommandContext(ctx, "tar", "-x", "-C", src)
	tar.Stderr = stderr
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	tar.Stdin = pipe
	if err := archive.Start(); err != nil {
		return fmt.Errorf("-before %s: git archive: %w", rev, err)
	}
	terr := tar.Run()
	if err := archive.Wait(); err != nil {
		return fmt.Errorf("-before %s: git archive: %w", rev, err)
	}
	if terr != nil {
		return fmt.Errorf("-before %s: tar: %w", rev, terr)
	}
	return goBuild(ctx, src, out, "./cmd/tickerd", stderr)
}
