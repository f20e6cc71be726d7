package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOptionsNamePeersInOrder(t *testing.T) {
	o, err := parseOptions([]string{"-rates", "20000,50000", "-windows", "1,1024", "-before", "/tmp/old"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, p := range o.peers {
		labels = append(labels, p.Label)
	}
	if got := strings.Join(labels, ","); got != "before,window=1,window=1024" {
		t.Errorf("peers %s", got)
	}
	if o.peers[0].Bin != "/tmp/old" || o.peers[0].Window != 0 || o.peers[2].Window != 1024 {
		t.Errorf("peers %+v", o.peers)
	}
	for _, args := range [][]string{{"-rates", "0"}, {"-windows", "1,x"}, {"-reps", "0"}, {"stray"}} {
		if _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("parseOptions(%q) accepted", args)
		}
	}
}

func TestRenderGivesTheMedianOfEachPeerPerRate(t *testing.T) {
	o := options{rates: []int{20000}, peers: []peer{{Label: "before"}, {Label: "window=1024"}}, reps: 3, clients: 4, duration: 10 * time.Second}
	var results []result
	for i, p50 := range []float64{9, 3, 5} {
		r := result{Rate: 20000, Peer: "window=1024", Rep: i + 1, StoredPerSec: 20000, DeliveredPerSec: 19990, Complete: 1, P50: p50, P99: 10 * p50}
		r.CPU.Publisher, r.CPU.NATS, r.CPU.Replica = 20, 50, 30
		results = append(results, r, result{Rate: 20000, Peer: "before", Rep: i + 1, StoredPerSec: 5000, P50: 900})
	}
	doc := render(o, results, time.Now(), time.Minute)
	for _, want := range []string{
		"| 20000 | before | 5000 | 0 | 0.00% | 900.0 ms |",
		"| 20000 | window=1024 | 20000 | 19990 | 100.00% | 5.0 ms | 50.0 ms |",
		"| 20% | 50% | 30% | 0% | 50.0 | 0 |", // 100% of a core for 20,000 ticks/s: 50 µs each
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the report lacks %q:\n%s", want, doc)
		}
	}
}
