package main

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSummarizeCountsFramesPerSecondAndLongTasks(t *testing.T) {
	c := collected{T0: 1000, T1: 4000, Long: []float64{60, 90}, Heap: 12e6, Rows: 30, Ages: []float64{5, 1, 3, 2, 4}}
	// 60 frames in the first second, 30 in the second, 59 in the third.
	for i := range 60 {
		c.Frames = append(c.Frames, 1000+float64(i)*16)
	}
	for i := range 30 {
		c.Frames = append(c.Frames, 2000+float64(i)*33)
	}
	for i := range 59 {
		c.Frames = append(c.Frames, 3000+float64(i)*16.5)
	}
	r := summarize("p", c, 2500)
	if r.FPSMedian != 59 || r.FPSMin != 30 {
		t.Errorf("fps median %v min %v, want 59 and 30", r.FPSMedian, r.FPSMin)
	}
	if r.LongTasks != 2 || r.LongestMS != 90 || r.LongMSPerS != 50 {
		t.Errorf("long tasks %d, longest %v, %v ms/s; want 2, 90, 50", r.LongTasks, r.LongestMS, r.LongMSPerS)
	}
	if r.HeapMB != 12 || r.Rows != 30 || r.AgeP50 != 3 || r.AgeMax != 5 {
		t.Errorf("heap %v, rows %d, age p50 %v max %v", r.HeapMB, r.Rows, r.AgeP50, r.AgeMax)
	}
	if r := summarize("p", collected{T0: 0, T1: 2000}, 0); !math.IsNaN(r.AgeP99) {
		t.Errorf("a page without tick ages has p99 %v, want none", r.AgeP99)
	}
}

func TestTreeCPUCountsThisProcess(t *testing.T) {
	// Burn some CPU, then this process's tree has used at least some.
	x := 0
	for i := range 50_000_000 {
		x ^= i
	}
	if cpu := treeCPU(os.Getpid()); cpu <= 0 && x >= 0 {
		if _, err := os.Stat("/proc/self/stat"); err == nil {
			t.Errorf("this process used %v s of CPU, want more than 0", cpu)
		}
	}
}

func TestRenderWritesATablePerPage(t *testing.T) {
	results := []result{
		{Page: "before", Point: point{10000, 20000}, FPSMedian: 3, AgeP99: math.NaN()},
		{Page: "after", Point: point{10000, 20000}, FPSMedian: 60, BytesPerSec: 12345, Rows: 30, AgeP50: 2, AgeP99: 9, AgeMax: 20, FilterMs: 21, SortMs: 30, BrowserCPU: 42},
	}
	doc := render(results, []page{{Name: "before"}, {Name: "after"}}, 10*time.Second, time.Now(), time.Minute)
	for _, want := range []string{
		"#### before\n\n| symbols | ticks/s |",
		"| 10,000 | 20,000 | 3 | 0 | 0 | 0 ms | 0 | 0% | 0.0 MB | 0.0 KB/s | 0 | — | 0 ms | 0 ms |\n",
		"| 10,000 | 20,000 | 60 | 0 | 0 | 0 ms | 0 | 42% | 0.0 MB | 12.3 KB/s | 30 | 2 / 9 / 20 ms | 21 ms | 30 ms |\n",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the document lacks %q:\n%s", want, doc)
		}
	}
}
