package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"
)

// report is the result of a run; its JSON form is tickload's JSON line.
type report struct {
	URL            string  `json:"url"`
	Transport      string  `json:"transport"`
	PollWait       float64 `json:"poll_wait_s,omitempty"`     // long polling: the wait each poll asked for
	PollInterval   float64 `json:"poll_interval_s,omitempty"` // plain polling: the time between polls
	Mode           string  `json:"mode"`
	Clients        int     `json:"clients"`
	Sampled        int     `json:"sampled_clients"`
	Stalled        int     `json:"stalled_clients"`
	Sources        int     `json:"source_addrs,omitempty"` // loopback addresses dialled from
	RampSeconds    float64 `json:"ramp_s"`
	ConnectSeconds float64 `json:"all_attempted_s"` // start until every client had its first answer
	WarmupSeconds  float64 `json:"warmup_s"`
	WindowSeconds  float64 `json:"window_s"`
	ReadEverySecs  float64 `json:"read_every_s"` // pause between reads of counting clients

	ConnectedAtStart int64 `json:"connected_at_window_start"`
	ConnectedAtEnd   int64 `json:"connected_at_window_end"`

	Ticks              uint64  `json:"ticks"` // tick events delivered in the window, all clients
	TicksPerSecond     float64 `json:"ticks_per_s"`
	MinClientPerSecond float64 `json:"min_client_ticks_per_s"` // slowest reading client
	// In firehose mode, where ids are the server's consecutive tick
	// sequence numbers: ticks the server produced per second in the window
	// (the median id span of the sampled clients), and the share of the
	// ids in their spans that the sampled clients received.
	OfferedPerSecond float64 `json:"offered_ticks_per_s,omitempty"`
	SampledComplete  float64 `json:"sampled_complete,omitempty"`
	TicksRun         uint64  `json:"ticks_run"` // tick events delivered over the whole run

	Latency latencyReport `json:"latency_ms"`

	// What the clients sent and received in the window: HTTP requests
	// (stream requests, handshakes, polls) and the bytes they read and
	// wrote on their TCP connections (response heads, framing and bodies;
	// requests and WebSocket frames), without TCP/IP headers.
	Requests          uint64  `json:"requests"`
	RequestsPerSecond float64 `json:"requests_per_s"`
	BytesIn           uint64  `json:"bytes_in"`
	BytesOut          uint64  `json:"bytes_out"`
	BytesPerTick      float64 `json:"bytes_per_tick,omitempty"` // (in + out) per delivered tick
	PongsSent         uint64  `json:"pongs_sent,omitempty"`     // WebSocket: pings answered, whole run

	ConnectFailures uint64 `json:"connect_failures"` // whole run
	Disconnects     uint64 `json:"disconnects"`      // whole run
	Reconnects      uint64 `json:"reconnects"`       // whole run
	LastError       string `json:"last_error,omitempty"`

	Server         *serverReport `json:"server,omitempty"`
	SelfCPUPercent float64       `json:"tickload_cpu_pct"`
}

// latencyReport summarises tick-to-receive latency in the window, in
// milliseconds.
type latencyReport struct {
	Count    uint64  `json:"count"`
	Negative uint64  `json:"negative"` // receive time before ts (clock step), counted as 0
	P50      float64 `json:"p50"`
	P90      float64 `json:"p90"`
	P99      float64 `json:"p99"`
	Max      float64 `json:"max"`
}

// serverReport is the server process's use of CPU and memory.
type serverReport struct {
	PID             int     `json:"pid"`
	CPUPercent      float64 `json:"cpu_pct"` // of one core, over the window
	RSSBytes        int64   `json:"rss_bytes"`
	BaseRSSBytes    int64   `json:"rss_baseline_bytes"` // before the first connection
	RSSPerConnBytes int64   `json:"rss_per_conn_bytes"` // (rss − baseline) / clients
}

func (l *loadRun) report(ph phases) report {
	cfg := l.cfg
	window := ph.end.at.Sub(ph.start.at)
	r := report{
		URL:              cfg.url.String(),
		Transport:        cfg.transport,
		PollWait:         cfg.pollWait.Seconds(),
		PollInterval:     cfg.pollInterval.Seconds(),
		Mode:             cfg.mode,
		Clients:          len(l.clients),
		Sampled:          cfg.sample,
		Stalled:          cfg.stall,
		Sources:          len(cfg.sources),
		RampSeconds:      cfg.ramp.Seconds(),
		ConnectSeconds:   round(ph.connected.Seconds(), 3),
		WarmupSeconds:    cfg.warmup.Seconds(),
		WindowSeconds:    round(window.Seconds(), 3),
		ReadEverySecs:    cfg.readEvery.Seconds(),
		ConnectedAtStart: ph.start.connected,
		ConnectedAtEnd:   ph.end.connected,
		ConnectFailures:  l.connectFailures.Load(),
		Disconnects:      l.disconnects.Load(),
		Reconnects:       l.reconnects.Load(),
		Requests:         ph.end.requests - ph.start.requests,
		BytesIn:          ph.end.bytesIn - ph.start.bytesIn,
		BytesOut:         ph.end.bytesOut - ph.start.bytesOut,
		PongsSent:        l.pongs.Load(),
		SelfCPUPercent:   percentOf(ph.end.selfCPU-ph.start.selfCPU, window),
	}
	l.mu.Lock()
	r.LastError = l.lastError
	l.mu.Unlock()
	minDelivered := uint64(math.MaxUint64)
	for i, c := range l.clients {
		d := ph.end.delivered[i] - ph.start.delivered[i]
		r.Ticks += d
		r.TicksRun += c.delivered.Load()
		if !c.stalled {
			minDelivered = min(minDelivered, d)
		}
	}
	r.TicksPerSecond = round(float64(r.Ticks)/window.Seconds(), 1)
	r.RequestsPerSecond = round(float64(r.Requests)/window.Seconds(), 1)
	if r.Ticks > 0 {
		r.BytesPerTick = round(float64(r.BytesIn+r.BytesOut)/float64(r.Ticks), 1)
	}
	if cfg.mode == modeFirehose {
		var spans []float64
		var got, span uint64
		for i, c := range l.clients {
			first, last := ph.start.lastSeq[i], ph.end.lastSeq[i]
			if !c.sampled || first == 0 || last <= first {
				continue
			}
			spans = append(spans, float64(last-first))
			span += last - first
			got += ph.end.delivered[i] - ph.start.delivered[i]
		}
		if len(spans) > 0 {
			slices.Sort(spans)
			r.OfferedPerSecond = round(spans[len(spans)/2]/window.Seconds(), 2)
			r.SampledComplete = round(float64(got)/float64(span), 5)
		}
	}
	if minDelivered != math.MaxUint64 {
		r.MinClientPerSecond = round(float64(minDelivered)/window.Seconds(), 2)
	}
	h := &l.latency
	r.Latency = latencyReport{
		Count:    h.Count(),
		Negative: h.Negative(),
		P50:      millis(h.Quantile(0.50)),
		P90:      millis(h.Quantile(0.90)),
		P99:      millis(h.Quantile(0.99)),
		Max:      millis(h.Max()),
	}
	if cfg.pid > 0 {
		r.Server = &serverReport{
			PID:             cfg.pid,
			CPUPercent:      percentOf(ph.end.serverCPU-ph.start.serverCPU, window),
			RSSBytes:        ph.end.serverRSS,
			BaseRSSBytes:    ph.baseRSS,
			RSSPerConnBytes: (ph.end.serverRSS - ph.baseRSS) / int64(len(l.clients)),
		}
	}
	return r
}

func percentOf(cpu, window time.Duration) float64 {
	return round(100*cpu.Seconds()/window.Seconds(), 1)
}

func millis(ns int64) float64 { return round(float64(ns)/1e6, 3) }

func round(v float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(v*p) / p
}

// writeTable writes r as a human-readable table.
func (r *report) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "target\t%s (%s, %s)\n", r.URL, r.transportName(), r.Mode)
	if r.Transport == transportPoll {
		fmt.Fprintf(tw, "clients\t%d (%d sampled for latency)\n", r.Clients, r.Sampled)
	} else {
		fmt.Fprintf(tw, "clients\t%d (%d sampled for latency, %d stalled; the others read every %v)\n",
			r.Clients, r.Sampled, r.Stalled, time.Duration(r.ReadEverySecs*float64(time.Second)))
	}
	fmt.Fprintf(tw, "window\t%.2fs measured after ramp %.2fs, all clients answered at %.2fs, then warm-up %.2fs\n",
		r.WindowSeconds, r.RampSeconds, r.ConnectSeconds, r.WarmupSeconds)
	fmt.Fprintf(tw, "connected\t%d at window start, %d at end\n", r.ConnectedAtStart, r.ConnectedAtEnd)
	fmt.Fprintf(tw, "delivered\t%d tick events, %.1f/s total\n", r.Ticks, r.TicksPerSecond)
	fmt.Fprintf(tw, "slowest client\t%.2f ticks/s\n", r.MinClientPerSecond)
	if r.OfferedPerSecond > 0 {
		fmt.Fprintf(tw, "offered\t%.2f ticks/s per client (id span of the sampled clients, who got %.3f%% of it)\n", r.OfferedPerSecond, 100*r.SampledComplete)
	}
	fmt.Fprintf(tw, "latency\tp50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms  (%d samples",
		r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max, r.Latency.Count)
	if r.Latency.Negative > 0 {
		fmt.Fprintf(tw, ", %d negative", r.Latency.Negative)
	}
	fmt.Fprintf(tw, ")\n")
	fmt.Fprintf(tw, "requests\t%d in the window, %.1f/s\n", r.Requests, r.RequestsPerSecond)
	fmt.Fprintf(tw, "wire\t%s in, %s out in the window", kib(int64(r.BytesIn)), kib(int64(r.BytesOut)))
	if r.BytesPerTick > 0 {
		fmt.Fprintf(tw, ", %.1f bytes per delivered tick", r.BytesPerTick)
	}
	fmt.Fprintf(tw, "\n")
	if r.PongsSent > 0 {
		fmt.Fprintf(tw, "pings\t%d answered with a pong (whole run)\n", r.PongsSent)
	}
	fmt.Fprintf(tw, "connections\t%d connect failures, %d disconnects, %d reconnects (whole run)\n",
		r.ConnectFailures, r.Disconnects, r.Reconnects)
	if r.LastError != "" {
		fmt.Fprintf(tw, "last error\t%s\n", r.LastError)
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(tw, "server pid %d\tcpu %.1f%%  rss %s (baseline %s, %s per connection)\n",
			s.PID, s.CPUPercent, mib(s.RSSBytes), mib(s.BaseRSSBytes), kib(s.RSSPerConnBytes))
	}
	fmt.Fprintf(tw, "tickload\tcpu %.1f%%\n", r.SelfCPUPercent)
	return tw.Flush()
}

// transportName says how the clients connected.
func (r *report) transportName() string {
	switch {
	case r.PollWait > 0:
		return fmt.Sprintf("long polling, wait=%v", time.Duration(r.PollWait*float64(time.Second)))
	case r.PollInterval > 0:
		return fmt.Sprintf("polling every %v", time.Duration(r.PollInterval*float64(time.Second)))
	case r.Transport == transportWS:
		return "WebSocket"
	}
	return "SSE"
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
func kib(b int64) string { return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10)) }

// writeJSON writes r as one line of JSON.
func (r *report) writeJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
