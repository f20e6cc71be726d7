package main

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineSink collects lines written to it and signals when n have arrived.
type lineSink struct {
	mu    sync.Mutex
	lines []string
	n     int
	full  chan struct{}
}

func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		s.lines = append(s.lines, l)
	}
	if len(s.lines) >= s.n {
		select {
		case <-s.full:
		default:
			close(s.full)
		}
	}
	return len(p), nil
}

func TestWatchPrintsTicksOfTheChosenSymbols(t *testing.T) {
	td := startTickerd(t, "-rate", "1000")
	out := &lineSink{n: 20, full: make(chan struct{})}
	var errs strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"watch", "-url", td.URL, "-symbols", "AAPL,NVDA"}, func(string) string { return "" }, out, &lockedWriter{w: &errs})
	}()
	select {
	case <-out.full:
	case <-time.After(10 * time.Second):
		t.Fatal("watch printed fewer than 20 lines in 10s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watch returned %v", err)
	}
	line := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (AAPL|NVDA) +\d+\.\d\d  bid +\d+\.\d\d  ask +\d+\.\d\d +\d+$`)
	out.mu.Lock()
	defer out.mu.Unlock()
	for _, l := range out.lines[:20] {
		if !line.MatchString(l) {
			t.Fatalf("unexpected line %q", l)
		}
	}
}

func TestWatchRejectsABadURL(t *testing.T) {
	err := run(context.Background(), []string{"watch", "-url", "ftp://x"}, func(string) string { return "" }, &strings.Builder{}, &strings.Builder{})
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "-url") {
		t.Fatalf("got %v, want a usage error about -url", err)
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
