package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// pollAnswer is a poll answer as tickerd writes it, with what a scanner
// should make of it.
type pollAnswer struct {
	body    string
	ticks   int
	seq     uint64
	latency []int64 // now − ts of every tick, for now = streamNow
}

func tickAnswer(first uint64, ticks int) pollAnswer {
	a := pollAnswer{ticks: ticks, seq: first + uint64(ticks) - 1}
	var events []string
	for i := range ticks {
		ts := int64(streamNow - 1000*(i%7) - i)
		events = append(events, fmt.Sprintf(`{"type":"tick","seq":%d,"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":%d}`, first+uint64(i), ts))
		a.latency = append(a.latency, streamNow-ts)
	}
	a.body = `{"events":[` + strings.Join(events, ",") + fmt.Sprintf(`],"seq":%d}`+"\n", a.seq)
	return a
}

func snapshotAnswer(seq uint64, quotes int) pollAnswer {
	q := strings.Repeat(`{"seq":7,"sym":"AAPL","px":189.23,"ts":5,"open":1,"vol":3},`, quotes)
	return pollAnswer{seq: seq, body: fmt.Sprintf(`{"events":[{"type":"snapshot","seq":%d,"resync":false,"quotes":[%s]}],"seq":%d}`+"\n",
		seq, strings.TrimSuffix(q, ","), seq)}
}

// scanAnswer feeds the answer's body, in reads of size bytes, through an
// answerScanner with a buffer of bufSize bytes.
func scanAnswer(t *testing.T, body string, size, bufSize int, sampled bool) (ticks, seq uint64, latency []int64, err error) {
	t.Helper()
	var a answerScanner
	a.reset(make([]byte, bufSize))
	var rec func(int64)
	if sampled {
		rec = func(v int64) { latency = append(latency, v) }
	}
	for p := body; ; {
		space := a.space()
		if len(space) == 0 {
			t.Fatal("answer scanner has no room for the next read")
		}
		n := copy(space, p[:min(size, len(p))])
		p = p[n:]
		tk, s, err := a.commit(n, streamNow, len(p) == 0, rec)
		ticks += tk
		if len(p) == 0 || err != nil {
			return ticks, s, latency, err
		}
	}
}

func TestAnswerScannerAcrossSplits(t *testing.T) {
	answers := map[string]pollAnswer{
		"no ticks":             {body: `{"events":[],"seq":1234}` + "\n", seq: 1234},
		"one tick":             tickAnswer(1796162721020628, 1),
		"many ticks":           tickAnswer(500, 300),
		"snapshot":             snapshotAnswer(99, 3),
		"snapshot over 4 KiB":  snapshotAnswer(18446744073709551, 300),
		"snapshot over 16 KiB": snapshotAnswer(77, 1000),
	}
	for name, ans := range answers {
		for _, sampled := range []bool{false, true} {
			for _, size := range []int{1, 2, 9, 64, 150, 4096, len(ans.body)} {
				for _, bufSize := range []int{4096, 16 << 10} {
					ticks, seq, latency, err := scanAnswer(t, ans.body, size, bufSize, sampled)
					var want []int64
					if sampled {
						want = ans.latency
					}
					if err != nil || ticks != uint64(ans.ticks) || seq != ans.seq || !slices.Equal(latency, want) {
						t.Errorf("%s, sampled %v, %d-byte reads, %d-byte buffer: %d ticks, seq %d, %d latencies, %v; want %d, %d, %d, no error",
							name, sampled, size, bufSize, ticks, seq, len(latency), err, ans.ticks, ans.seq, len(want))
					}
				}
			}
		}
	}
	// Every single split point of an answer with ticks.
	ans := tickAnswer(1000, 40)
	for cut := 1; cut < len(ans.body); cut++ {
		var a answerScanner
		a.reset(make([]byte, 4096))
		var latency []int64
		rec := func(v int64) { latency = append(latency, v) }
		n := copy(a.space(), ans.body[:cut])
		t1, _, _ := a.commit(n, streamNow, false, rec)
		n = copy(a.space(), ans.body[cut:])
		t2, seq, err := a.commit(n, streamNow, true, rec)
		if t1+t2 != 40 || seq != ans.seq || err != nil || !slices.Equal(latency, ans.latency) {
			t.Fatalf("split at %d: %d+%d ticks, seq %d, %v, latencies equal %v", cut, t1, t2, seq, err, slices.Equal(latency, ans.latency))
		}
	}
}

func TestAnswerScannerWantsTheSeq(t *testing.T) {
	for _, body := range []string{`{"events":[]}`, `{"events":[],"seq":}`, `{"error":"over capacity"}`} {
		if _, _, _, err := scanAnswer(t, body, 4, 4096, false); !errors.Is(err, errNoSeq) {
			t.Errorf("%s: %v, want errNoSeq", body, err)
		}
	}
}
