package main

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRenderTablesByServerAndByTransport(t *testing.T) {
	run := func(label, server string, p50, requests float64) measurement {
		var r tlReport
		r.Clients, r.TicksPerSecond, r.Offered = 1000, 100000, 100
		r.Latency.P50, r.RequestsPerSecond, r.BytesPerTick = p50, requests, 150
		return measurement{Server: server, Label: label, Report: r}
	}
	results := map[string][]measurement{
		"A": {run("baseline", "baseline", 8, 0), run("ceiling", "ceiling", 5, 0), run("tickerd", "tickerd", 4, 0), run("ceiling at once", "ceiling", 2, 0)},
		"TA": {run("SSE", "tickerd", 4, 0), run("WebSocket", "tickerd", 3, 0),
			run("long polling 25s", "tickerd", 20, 50000), run("polling every 1s", "tickerd", 500, 1000)},
	}
	doc := render(results, runInfo{only: "A,TA", reps: 1, duration: 20 * time.Second, started: time.Now(), took: time.Minute})
	for _, want := range []string{
		"### A: 1,000 firehose clients at 100 ticks/s\n\n| median of 1 | baseline | ceiling | tickerd | ceiling at once | tickerd / baseline | tickerd / ceiling | tickerd / ceiling at once |\n|---|---|---|---|---|---|---|---|\n",
		"| p50 | 8.0 ms | 5.0 ms | 4.0 ms | 2.0 ms | 0.50× | 0.80× | 2.00× |\n",
		"### TA: A by transport: 1,000 firehose clients at 100 ticks/s\n\n| median of 1 | SSE | WebSocket | long polling 25s | polling every 1s | WebSocket / SSE |\n|---|---|---|---|---|---|\n",
		"| p50 | 4.0 ms | 3.0 ms | 20.0 ms | 500.0 ms | 0.75× |\n",
		"| requests per second | 0/s | 0/s | 50000/s | 1000/s | – |\n",
		"| bytes on the wire per tick | 150 B | 150 B | 150 B | 150 B | 1.00× |\n",
		"| delivered | 100.00% | 100.00% | 100.00% | 100.00% | 1.00× |\n",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the document lacks\n%s\nin\n%s", want, doc)
		}
	}
	if strings.Contains(doc, "### B") {
		t.Errorf("a scenario that did not run is in the document:\n%s", doc)
	}
}

func TestRenderShowsTheSpreadAndTheBuildBefore(t *testing.T) {
	run := func(label, server string, rep int, p99 float64) measurement {
		var r tlReport
		r.Clients, r.TicksPerSecond, r.Offered = 1000, 100000, 100
		r.Latency.P99 = p99
		return measurement{Server: server, Label: label, Rep: rep, Report: r}
	}
	results := map[string][]measurement{"A": {
		run("baseline", "baseline", 1, 40), run("ceiling", "ceiling", 1, 20), run("tickerd", "tickerd", 1, 12), run("ceiling at once", "ceiling", 1, 8), run("tickerd before", "before", 1, 30),
		run("baseline", "baseline", 2, 60), run("ceiling", "ceiling", 2, 10), run("tickerd", "tickerd", 2, 18), run("ceiling at once", "ceiling", 2, 9), run("tickerd before", "before", 2, 10),
		run("baseline", "baseline", 3, 50), run("ceiling", "ceiling", 3, 16), run("tickerd", "tickerd", 3, 15), run("ceiling at once", "ceiling", 3, 7), run("tickerd before", "before", 3, 20),
	}}
	doc := render(results, runInfo{only: "A", reps: 3, duration: 20 * time.Second, before: "main", started: time.Now(), took: time.Minute})
	for _, want := range []string{
		"-before main`",
		"| median of 3 | baseline | ceiling | tickerd | tickerd before | ceiling at once | tickerd / baseline | tickerd / ceiling | tickerd / tickerd before | tickerd / ceiling at once |\n",
		"| p99 | 50.0 ms [40.0–60.0] | 16.0 ms [10.0–20.0] | 15.0 ms [12.0–18.0] | 20.0 ms [10.0–30.0] | 8.0 ms [7.0–9.0] | 0.30× | 0.94× | 0.75× | 1.88× |\n",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the document lacks\n%s\nin\n%s", want, doc)
		}
	}
}
