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
		"A": {run("baseline", "baseline", 8, 0), run("tickerd", "tickerd", 4, 0)},
		"TA": {run("SSE", "tickerd", 4, 0), run("WebSocket", "tickerd", 3, 0),
			run("long polling 25s", "tickerd", 20, 50000), run("polling every 1s", "tickerd", 500, 1000)},
	}
	doc := render(results, "A,TA", 1, 20*time.Second, time.Now(), time.Minute)
	for _, want := range []string{
		"### A: 1,000 firehose clients at 100 ticks/s\n\n| median of 1 | baseline | tickerd | tickerd / baseline | every run (tickerd) |\n|---|---|---|---|---|\n",
		"| p50 | 8.0 ms | 4.0 ms | 0.50× | 4.0 ms |\n",
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
