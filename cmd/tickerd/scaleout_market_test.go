package main

import (
	"encoding/json"
	"slices"
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
// replica gets the same statuses and bands, with the same ids, as a
// client of the all-in-one.
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
	if !slices.Equal(fromReplica, fromAllInOne) {
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
