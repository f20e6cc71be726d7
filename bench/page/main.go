// Command page measures the live page at size: tickerd runs a synthetic
// universe of each -sizes symbols at each -rates ticks per second, and a
// headless Chromium (fresh profile, the page tests' flags) opens the page
// and is measured over -window: frames per second (requestAnimationFrame
// counted per second), long tasks (a PerformanceObserver of 'longtask'),
// the JS heap, the bytes per second the browser received from the server,
// the rows in the DOM and, where the page reports it, how old each tick of
// a row on screen was when it arrived.
//
// With -before REV the page of that revision (static/ of it, from git) is
// measured in the same run, against the same server, interleaved with the
// page of the working tree, each point in alternating order. Both pages
// are served by the same small proxy in front of tickerd, which counts
// the bytes it passes to the browser.
//
//	go run ./bench/page -before a352886           # 3 sizes × 3 rates, both pages
//	go run ./bench/page -sizes 10000 -rates 20000 # one point, this page only
//
// Everything runs on 127.0.0.1 and ends by itself.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/bench/internal/benchkit"

	"github.com/chromedp/chromedp"

	"github.com/tickerd/tickerd/static"
)

func main() {
	benchkit.Main("page", func(ctx context.Context) error { return run(ctx, os.Args[1:], os.Stdout, os.Stderr) })
}

// point is one size of universe at one tick rate.
type point struct {
	Symbols int
	Rate    int
}

// result is one page measured at one point.
type result struct {
	Page        string
	Point       point
	FPSMedian   float64
	FPSMin      float64
	LongTasks   int
	LongestMS   float64
	LongMSPerS  float64
	HeapMB      float64
	BytesPerSec float64
	Rows        int
	AgeP50      float64 // ms; NaN when the page does not report tick ages
	AgeP99      float64
	AgeMax      float64
	BrowserCPU  float64 // CPU time of every Chromium process per second of the window, in percent of one CPU
	FilterMs    float64 // from a filter's input event to the end of the frame that shows it
	SortMs      float64 // the same for a sort by change %
	NotLive     bool    // the page never went live: nothing measured
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("page", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("sizes", "52,1000,10000", "universe sizes, comma-separated")
	rates := fs.String("rates", "100,2000,20000", "ticks per second, comma-separated")
	window := fs.Duration("window", 10*time.Second, "measured window of each page")
	warmup := fs.Duration("warmup", 3*time.Second, "wait after the page is live before measuring")
	before := fs.String("before", "", "also measure the page of this git revision")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var points []point
	for _, s := range strings.Split(*sizes, ",") {
		for _, r := range strings.Split(*rates, ",") {
			n, err1 := strconv.Atoi(s)
			rate, err2 := strconv.Atoi(r)
			if err1 != nil || err2 != nil || n <= 0 || rate <= 0 {
				return fmt.Errorf("-sizes %q and -rates %q must be positive integers", *sizes, *rates)
			}
			points = append(points, point{n, rate})
		}
	}
	chromium, err := findChromium()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "tickerd-bench-page")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "tickerd")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/tickerd")
	build.Stderr = stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build tickerd: %w", err)
	}
	pages := []page{{Name: "this page", Dir: "static"}}
	if *before != "" {
		old := filepath.Join(dir, "before")
		if err := extractStatic(ctx, *before, old); err != nil {
			return err
		}
		pages = append([]page{{Name: "page at " + *before, Dir: old}}, pages...)
	}

	started := time.Now()
	var results []result
	for i, pt := range points {
		order := slices.Clone(pages)
		if i%2 == 1 {
			slices.Reverse(order) // each page goes first as often as the other
		}
		rs, err := measurePoint(ctx, bin, chromium, pt, order, *window, *warmup, stderr)
		if err != nil {
			return fmt.Errorf("%d symbols at %d ticks/s: %w", pt.Symbols, pt.Rate, err)
		}
		results = append(results, rs...)
	}
	fmt.Fprint(stdout, render(results, pages, *window, started, time.Since(started)))
	return nil
}

// page is a version of the page: the directory its files are served from.
type page struct {
	Name string
	Dir  string
}

func findChromium() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium is not installed")
}

// extractStatic writes static/ of git revision rev into dir.
func extractStatic(ctx context.Context, rev, dir string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", "archive", "--format=tar", rev, "static")
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git archive %s static: %w", rev, err)
	}
	tr := tar.NewReader(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(h.Name, "static/")
		if h.Typeflag != tar.TypeReg || name == "" || strings.Contains(name, "..") {
			continue
		}
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, body, 0o644); err != nil {
			return err
		}
	}
}

// measurePoint starts tickerd at pt and measures each page against it in turn.
func measurePoint(ctx context.Context, bin, chromium string, pt point, pages []page, window, warmup time.Duration, stderr io.Writer) ([]result, error) {
	addr, err := benchkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-addr", addr, "-symbols", fmt.Sprintf("synthetic:%d", pt.Symbols),
		"-rate", strconv.Itoa(pt.Rate), "-seed", "42", "-log-level", "warn")
	var serverLog bytes.Buffer
	cmd.Stdout, cmd.Stderr = &serverLog, &serverLog
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer benchkit.Stop(cmd, 15*time.Second)
	if err := waitHealthy(ctx, addr); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, serverLog.String())
	}
	var out []result
	for _, pg := range pages {
		fmt.Fprintf(stderr, "== %d symbols at %d ticks/s: %s\n", pt.Symbols, pt.Rate, pg.Name)
		r, err := measurePage(ctx, chromium, addr, pg, window, warmup)
		if errors.Is(err, errNotLive) {
			// A page the server refuses at this size (the page before asks
			// for every symbol, which tickerd refuses past -firehose).
			fmt.Fprintf(stderr, "   %v\n", err)
			out = append(out, result{Page: pg.Name, Point: pt, NotLive: true})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pg.Name, err)
		}
		r.Point = pt
		fmt.Fprintf(stderr, "   %.0f fps median (min %.0f), %d long tasks (longest %.0f ms, %.0f ms/s), browser CPU %.0f%%, heap %.1f MB, %.1f KB/s, %d rows, tick age p99 %.0f ms, filter %.0f ms, sort %.0f ms\n",
			r.FPSMedian, r.FPSMin, r.LongTasks, r.LongestMS, r.LongMSPerS, r.BrowserCPU, r.HeapMB, r.BytesPerSec/1000, r.Rows, r.AgeP99, r.FilterMs, r.SortMs)
		out = append(out, r)
	}
	return out, nil
}

func waitHealthy(ctx context.Context, addr string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("tickerd did not answer /healthz within 60s")
}

// countingWriter counts the bytes of the answers it passes on.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n))
	return n, err
}

func (w countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// servePage serves pg's files, under the page's security policy, and
// passes everything else to tickerd at addr, counting the bytes of its
// answers in received.
func servePage(pg page, addr string, received *atomic.Int64) http.Handler {
	target := &url.URL{Scheme: "http", Host: addr}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1 // event streams pass through as they are written
	files := http.FileServer(http.Dir(pg.Dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "/" || (!strings.HasPrefix(p, "/api/") && !strings.HasPrefix(p, "/events") && p != "/ws") {
			if p == "/" {
				w.Header().Set("Content-Security-Policy", static.ContentSecurityPolicy)
			}
			w.Header().Set("Cache-Control", "no-cache")
			files.ServeHTTP(w, r)
			return
		}
		proxy.ServeHTTP(countingWriter{w, received}, r)
	})
}

// measure is the script that measures the page over a window: it counts
// frames and long tasks from now until collect reads them.
const measure = `(() => {
	const b = window.__bench = { t0: performance.now(), frames: [], long: [] };
	const frame = (t) => { b.frames.push(t); requestAnimationFrame(frame); };
	requestAnimationFrame(frame);
	new PerformanceObserver((list) => { for (const e of list.getEntries()) b.long.push(e.duration); }).observe({ type: 'longtask' });
})()`

const collect = `(() => {
	const b = window.__bench;
	const ages = window.tickerd && tickerd.tickAgesSince ? tickerd.tickAgesSince(b.t0) : null;
	return JSON.stringify({
		t0: b.t0, t1: performance.now(), frames: b.frames, long: b.long,
		heap: performance.memory ? performance.memory.usedJSHeapSize : 0,
		rows: document.querySelectorAll('#rows tr').length,
		ages,
	});
})()`

// react measures how long the board takes to answer a filter and then a
// sort by change %: from the input event to the end of the frame that
// shows the answer (the frame after the one that drew it has begun).
const react = `(async () => {
	const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
	const settle = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
	const f = document.getElementById('filter');
	await frame();
	let t = performance.now();
	f.value = '1';
	f.dispatchEvent(new Event('input'));
	await settle();
	const filterMs = performance.now() - t;
	f.value = '';
	f.dispatchEvent(new Event('input'));
	await settle();
	await frame();
	t = performance.now();
	document.querySelector('[data-sort="pct"]').click();
	await settle();
	return { filterMs, sortMs: performance.now() - t };
})()`

// errNotLive is a page that did not go live within 90 s.
var errNotLive = errors.New("the page did not go live within 90s")

// reactLimit bounds the filter and sort of one page.
const reactLimit = 60 * time.Second

type reaction struct {
	FilterMs float64 `json:"filterMs"`
	SortMs   float64 `json:"sortMs"`
}

type collected struct {
	T0     float64   `json:"t0"`
	T1     float64   `json:"t1"`
	Frames []float64 `json:"frames"`
	Long   []float64 `json:"long"`
	Heap   float64   `json:"heap"`
	Rows   int       `json:"rows"`
	Ages   []float64 `json:"ages"`
}

func measurePage(ctx context.Context, chromium, tickerdAddr string, pg page, window, warmup time.Duration) (result, error) {
	var received atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	srv := &http.Server{Handler: servePage(pg, tickerdAddr, &received)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Close()
		<-served
	}()

	profile, err := os.MkdirTemp("", "tickerd-bench-chromium")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(profile)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("enable-precise-memory-info", true),
		chromedp.UserDataDir(profile),
	)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate("http://"+ln.Addr().String()+"/")); err != nil {
		return result{}, err
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[chromedp.Void](`window.tickerd && tickerd.state === 'live' && document.querySelectorAll('#rows tr').length > 0`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(90*time.Second))); err != nil {
		return result{}, fmt.Errorf("%w: %v", errNotLive, err)
	}
	if err := sleep(ctx, warmup); err != nil {
		return result{}, err
	}
	if err := chromedp.Do(bctx, chromedp.Evaluate[chromedp.Void](measure)); err != nil {
		return result{}, err
	}
	var pid int
	if proc := chromedp.FromContext(bctx).Browser.Process(); proc != nil {
		pid = proc.Pid
	}
	cpuFrom := treeCPU(pid)
	from := received.Load()
	start := time.Now()
	if err := sleep(ctx, window); err != nil {
		return result{}, err
	}
	cpu := (treeCPU(pid) - cpuFrom) / time.Since(start).Seconds() * 100
	got, err := chromedp.Run(bctx, chromedp.Evaluate[collected](`JSON.parse(`+collect+`)`))
	bytesPerSec := float64(received.Load()-from) / time.Since(start).Seconds()
	if err != nil {
		return result{}, err
	}
	r := summarize(pg.Name, got, bytesPerSec)
	r.BrowserCPU = cpu
	// A page that takes longer than reactLimit to filter and sort is
	// reported as having taken it.
	rctx, cancelReact := context.WithTimeout(bctx, reactLimit)
	defer cancelReact()
	reacted, err := chromedp.Run(rctx, chromedp.Evaluate[reaction](react, chromedp.EvalAwaitPromise))
	switch {
	case errors.Is(err, context.DeadlineExceeded) || rctx.Err() != nil:
		r.FilterMs, r.SortMs = math.Inf(1), math.Inf(1)
	case err != nil:
		return result{}, err
	default:
		r.FilterMs, r.SortMs = reacted.FilterMs, reacted.SortMs
	}
	return r, nil
}

// treeCPU is the CPU time, in seconds, that process pid and all its
// descendants have used, from /proc (0 where it is not there). On a
// machine whose other work slows the browser down, frames per second fall
// but this stays what the page costs.
func treeCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	parent := map[int]int{}
	ticks := map[int]float64{}
	for _, e := range entries {
		id, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the command, which is in parentheses: state ppid ... utime(14) stime(15).
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		parent[id] = ppid
		ticks[id] = utime + stime
	}
	total := 0.0
	for id, t := range ticks {
		for p := id; p != 0; p = parent[p] {
			if p == pid {
				total += t
				break
			}
		}
	}
	return total / 100 // USER_HZ is 100 on Linux
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// summarize turns what the page collected into a result: frames per
// whole second of the window, long tasks, heap, and tick ages.
func summarize(name string, c collected, bytesPerSec float64) result {
	r := result{Page: name, BytesPerSec: bytesPerSec, HeapMB: c.Heap / 1e6, Rows: c.Rows, AgeP50: math.NaN(), AgeP99: math.NaN(), AgeMax: math.NaN()}
	secs := int((c.T1 - c.T0) / 1000)
	if secs > 0 {
		perSec := make([]float64, secs)
		for _, t := range c.Frames {
			if i := int((t - c.T0) / 1000); i >= 0 && i < secs {
				perSec[i]++
			}
		}
		r.FPSMin = slices.Min(perSec)
		r.FPSMedian = benchkit.Median(perSec)
	}
	total := 0.0
	for _, d := range c.Long {
		r.LongestMS = max(r.LongestMS, d)
		total += d
	}
	r.LongTasks = len(c.Long)
	if c.T1 > c.T0 {
		r.LongMSPerS = total / ((c.T1 - c.T0) / 1000)
	}
	if c.Ages != nil && len(c.Ages) > 0 {
		ages := slices.Sorted(slices.Values(c.Ages))
		r.AgeP50 = ages[len(ages)/2]
		r.AgeP99 = ages[min(len(ages)-1, len(ages)*99/100)]
		r.AgeMax = ages[len(ages)-1]
	}
	return r
}

// loadStart is the load average when the run began.
var loadStart = loadAverage()

// loadAverage is the machine's 1-minute load average, or "?" where
// /proc/loadavg is not there.
func loadAverage() string {
	if l := benchkit.LoadAverage(); l >= 0 {
		return strconv.FormatFloat(l, 'f', 2, 64)
	}
	return "?"
}

// render writes the results as the Markdown of BENCHMARKS.md's page
// section: one table per page, a row per point.
func render(results []result, pages []page, window time.Duration, started time.Time, took time.Duration) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "Measured %s on %s (%s/%s, %d CPUs), %v window per page and point, took %v; load average %s at the start, %s at the end.\n\n",
		started.UTC().Format("2006-01-02 15:04 MST"), host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), window, took.Round(time.Second), loadStart, loadAverage())
	for _, pg := range pages {
		fmt.Fprintf(&b, "#### %s\n\n", pg.Name)
		b.WriteString("| symbols | ticks/s | fps median | fps min | long tasks | longest | long tasks ms/s | browser CPU | JS heap | received | rows in DOM | tick age p50 / p99 / max | filter | sort |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range results {
			if r.Page != pg.Name {
				continue
			}
			if r.NotLive {
				fmt.Fprintf(&b, "| %s | %s | did not go live within 90 s |||||||||||\n", benchkit.Thousands(r.Point.Symbols), benchkit.Thousands(r.Point.Rate))
				continue
			}
			age := "—"
			if !math.IsNaN(r.AgeP99) {
				age = fmt.Sprintf("%.0f / %.0f / %.0f ms", r.AgeP50, r.AgeP99, r.AgeMax)
			}
			fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %d | %.0f ms | %.0f | %.0f%% | %.1f MB | %.1f KB/s | %d | %s | %s | %s |\n",
				benchkit.Thousands(r.Point.Symbols), benchkit.Thousands(r.Point.Rate), r.FPSMedian, r.FPSMin, r.LongTasks, r.LongestMS, r.LongMSPerS,
				r.BrowserCPU, r.HeapMB, r.BytesPerSec/1000, r.Rows, age, millis(r.FilterMs), millis(r.SortMs))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// millis writes a duration in milliseconds, or that it passed reactLimit.
func millis(ms float64) string {
	if math.IsInf(ms, 1) {
		return fmt.Sprintf("> %v", reactLimit)
	}
	return fmt.Sprintf("%.0f ms", ms)
}
