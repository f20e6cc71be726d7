package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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
		done <- run(ctx, []string{"watch", "-url", td.URL, "-symbols", "AAPL,NVDA"}, func(string) string { return "" }, out, &lockedWriter{w: &errs}, nil)
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

func TestWatchSendsItsToken(t *testing.T) {
	secret := []byte("a test secret of at least 32 bytes, for tickerd")
	dir := t.TempDir()
	secretFile, tokenFile := filepath.Join(dir, "secret"), filepath.Join(dir, "token")
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix(), "symbols": []string{"MSFT"}}).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	td := startTickerd(t, "-rate", "1000", "-auth-secret-file", secretFile)
	out := &lineSink{n: 10, full: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// No -symbols: the stream carries what the token entitles to.
		done <- run(ctx, []string{"watch", "-url", td.URL, "-token-file", tokenFile}, func(string) string { return "" }, out, &lockedWriter{w: &strings.Builder{}}, nil)
	}()
	select {
	case <-out.full:
	case <-time.After(10 * time.Second):
		t.Fatal("watch with a token printed fewer than 10 lines in 10s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watch returned %v", err)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	for _, l := range out.lines[:10] {
		if !strings.Contains(l, " MSFT ") {
			t.Fatalf("line %q: the token entitles to MSFT only", l)
		}
	}
}

func TestWatchRejectsABadURL(t *testing.T) {
	err := run(context.Background(), []string{"watch", "-url", "ftp://x"}, func(string) string { return "" }, &strings.Builder{}, &strings.Builder{}, nil)
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
