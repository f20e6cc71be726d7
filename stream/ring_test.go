package stream

import (
	"slices"
	"testing"
)

func TestReplayRingGrowsToItsSizeAndKeepsTheNewest(t *testing.T) {
	for _, size := range []int{1, 3, minRingGrowth, minRingGrowth + 1, 5*minRingGrowth + 7} {
		r := newReplayRing(size)
		const total = 12 * minRingGrowth
		for seq := uint64(1); seq <= total; seq++ {
			r.push(event{seq: seq})
			if want := min(int(seq), size); r.n != want || len(r.buf) > size {
				t.Fatalf("size %d after %d events: holds %d in %d slots, want %d in at most %d", size, seq, r.n, len(r.buf), want, size)
			}
			if size > 4*minRingGrowth && seq == 2*minRingGrowth+1 && len(r.buf) >= size {
				t.Fatalf("size %d: %d slots after %d events, want it to grow as events come", size, len(r.buf), seq)
			}
		}
		var got []uint64
		r.after(0, func(e *event) { got = append(got, e.seq) })
		want := make([]uint64, 0, size)
		for seq := uint64(total - size + 1); seq <= total; seq++ {
			want = append(want, seq)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("size %d: holds %d events %v..., want the newest %d", size, len(got), got[:min(3, len(got))], size)
		}
		if r.covers(total-uint64(size)-1) || !r.covers(total-uint64(size)) {
			t.Fatalf("size %d: covers wrong: evicted %d", size, r.evicted)
		}
	}
}

func TestReplayRingKeepsOrderAcrossGrowth(t *testing.T) {
	r := newReplayRing(10 * minRingGrowth)
	for seq := uint64(1); seq <= 3*minRingGrowth+5; seq++ {
		r.push(event{seq: seq})
	}
	var got []uint64
	r.after(minRingGrowth, func(e *event) { got = append(got, e.seq) })
	if len(got) != 2*minRingGrowth+5 || got[0] != minRingGrowth+1 || got[len(got)-1] != 3*minRingGrowth+5 || !slices.IsSorted(got) {
		t.Fatalf("after %d: %d events from %d to %d", minRingGrowth, len(got), got[0], got[len(got)-1])
	}
}
