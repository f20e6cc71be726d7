package main

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/internal/natstest"
)

// marketEvents reads the first n status and bands events of a stream
// replayed from its start, as "seq kind body" lines.
func marketEvents(t *testing.T, base string, n int) []string {
	t.Helper()
	s := openRaw(t, base+"/events", "0")
	var got []string
	for len(got) < n {
		ev, err := s.next()
		if err != nil {
			t.Fatalf("%s after %d market events: %v", base, len(got), err)
		}
		if ev.name == "status" || ev.name == "bands" {
			var e map[string]any
			if err := json.Unmarshal([]byte(ev.data), &e); err != nil {
				t.Fatal(err)
			}
			got = append(got, ev.id+" "+ev.name+" "+ev.data)
		}
	}
	return got
}

// TestReplicaAndAllInOneSeeOneMarket runs the same market (seed, clock
// start and speed) in one process and through JetStream: a client of the
// replica gets the same statuses and bands, in the same order, as a
// client of the all-in-one, each with its id as its seq.
func TestReplicaAndAllInOneSeeOneMarket(t *testing.T) {
	ns := natstest.Start(t)
	market := []string{"-session", "exchange", "-clock-start", "2026-03-09T10:00:00-04:00", "-clock-speed", "100", "-halt-rate", "360", "-rate", "50"}
	pub := startTickerd(t, append([]string{"publish", "-nats-url", ns.URL()}, market...)...)
	waitReady(t, pub.URL)
	replica := startReplica(t, ns.URL(), market...)
	allInOne := startTickerd(t, market...)

	const n = 30
	fromReplica := marketEvents(t, replica.URL, n)
	fromAllInOne := marketEvents(t, allInOne.URL, n)
	// The ids differ: on the replica they are the tick stream's sequence,
	// which the bar messages between the events also take.
	if !slices.Equal(withoutIDs(t, fromReplica), withoutIDs(t, fromAllInOne)) {
		t.Fatalf("the replica's market\n%v\nthe all-in-one's\n%v", fromReplica, fromAllInOne)
	}
	halts := 0
	for _, e := range fromReplica {
		if strings.Contains(e, `"state":"halted"`) {
			halts++
		}
	}
	if !strings.HasPrefix(fromReplica[0], `1 status {"seq":1,"state":"trading","reason":"session","ts":1773064800000000000}`) || halts == 0 {
		t.Errorf("market events %v; want the session's status at seq 1, at the clock's start, and halts", fromReplica)
	}
}

// withoutIDs checks that each of marketEvents' lines has increasing ids,
// each its body's seq, and returns the lines without them.
func withoutIDs(t *testing.T, lines []string) []string {
	t.Helper()
	var out []string
	last := uint64(0)
	for _, l := range lines {
		id, rest, _ := strings.Cut(l, " ")
		kind, body, _ := strings.Cut(rest, " ")
		var e map[string]any
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Fatal(err)
		}
		seq, err := strconv.ParseUint(id, 10, 64)
		if err != nil || seq <= last || e["seq"] != float64(seq) {
			t.Fatalf("event %s after id %d", l, last)
		}
		last = seq
		delete(e, "seq")
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, kind+" "+string(b))
	}
	return out
}
