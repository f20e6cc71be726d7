package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tickerd/tickerd/feed"
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

var watchTransports = []string{transportSSE, transportWS, transportPoll}

// watch runs tickerd watch with args until it has printed n lines, and
// returns them.
func watch(t *testing.T, n int, args ...string) []string {
	t.Helper()
	out := &lineSink{n: n, full: make(chan struct{})}
	var errs strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"watch"}, args...), func(string) string { return "" }, out, &lockedWriter{w: &errs}, nil)
	}()
	select {
	case <-out.full:
	case err := <-done:
		t.Fatalf("watch %v returned %v before printing %d lines; stderr:\n%s", args, err, n, errs.String())
	case <-time.After(10 * time.Second):
		cancel()
		<-done
		t.Fatalf("watch %v printed fewer than %d lines in 10s; stderr:\n%s", args, n, errs.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watch %v returned %v", args, err)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	return slices.Clone(out.lines[:n])
}

func TestWatchPrintsTicksOfTheChosenSymbols(t *testing.T) {
	td := startTickerd(t, "-rate", "1000")
	line := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (AAPL|NVDA) +\d+\.\d\d  bid +\d+\.\d\d  ask +\d+\.\d\d +\d+$`)
	for _, transport := range watchTransports {
		t.Run(transport, func(t *testing.T) {
			for _, l := range watch(t, 20, "-url", td.URL, "-transport", transport, "-symbols", "AAPL,NVDA") {
				if !line.MatchString(l) {
					t.Fatalf("unexpected line %q", l)
				}
			}
		})
	}
}

// TestWatchPrintsEveryTickInOrder holds each transport's -json output to
// the replay ring: the ticks of the asked symbols, in increasing seq, with
// none missing, as GET /events carries them whatever the transport.
func TestWatchPrintsEveryTickInOrder(t *testing.T) {
	td := startTickerd(t, "-rate", "1000")
	for _, transport := range watchTransports {
		t.Run(transport, func(t *testing.T) {
			lines := watch(t, 60, "-url", td.URL, "-transport", transport, "-symbols", "AAPL,NVDA", "-json")
			var first feed.Tick
			if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
				t.Fatalf("line %q: %v", lines[0], err)
			}
			ring := pollSince(t, td, "AAPL,NVDA", first.Seq-1)
			if len(ring) < len(lines) {
				t.Fatalf("the ring has %d ticks from seq %d; watch printed %d", len(ring), first.Seq, len(lines))
			}
			syms := map[string]bool{}
			var last uint64
			for i, l := range lines {
				var tick struct {
					Type *string `json:"type"`
					feed.Tick
				}
				if err := json.Unmarshal([]byte(l), &tick); err != nil {
					t.Fatalf("line %q: %v", l, err)
				}
				if tick.Type != nil {
					t.Fatalf("line %q has a type: -json prints ticks as GET /events carries them", l)
				}
				if tick.Seq <= last || (tick.Symbol != "AAPL" && tick.Symbol != "NVDA") {
					t.Fatalf("line %d: %s after seq %d; want increasing seqs of AAPL and NVDA", i, l, last)
				}
				last = tick.Seq
				syms[tick.Symbol] = true
				if want := untyped(ring[i], "tick"); l != string(want) {
					t.Fatalf("line %d is\n  %s\nthe ring's tick is\n  %s", i, l, want)
				}
			}
			if len(syms) != 2 {
				t.Errorf("watch printed ticks of %v only", syms)
			}
		})
	}
}

// TestWatchResumesAfterItsLastSeq: a WebSocket or polling watcher that
// has seen a seq asks for the ticks after it, and gets those it missed,
// not a snapshot.
func TestWatchResumesAfterItsLastSeq(t *testing.T) {
	td := startTickerd(t, "-rate", "1000")
	base, err := url.Parse(td.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, transport := range []string{transportWS, transportPoll} {
		t.Run(transport, func(t *testing.T) {
			var since uint64 // a snapshot's seq: 0 until the first tick
			waitFor(t, "a first tick", func() bool { since = snapshotSeq(t, td, "AAPL,NVDA"); return since > 0 })
			waitFor(t, "ticks to miss", func() bool { return len(pollSince(t, td, "AAPL,NVDA", since)) >= 5 })
			out := &lineSink{n: 20, full: make(chan struct{})}
			var errs strings.Builder
			w := &watcher{base: base, symbols: "AAPL,NVDA", lastSeq: since,
				out: printer{stdout: out, stderr: &lockedWriter{w: &errs}, raw: true}}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				if transport == transportWS {
					done <- w.overWebSocket(ctx)
				} else {
					done <- w.byPolling(ctx, time.Second)
				}
			}()
			select {
			case <-out.full:
			case <-time.After(10 * time.Second):
				t.Errorf("the watcher printed fewer than 20 lines in 10s")
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("the watcher returned %v", err)
			}
			if strings.Contains(errs.String(), "snapshot") {
				t.Errorf("the watcher got a snapshot resuming after %d: %s", since, errs.String())
			}
			ring := pollSince(t, td, "AAPL,NVDA", since)
			out.mu.Lock()
			defer out.mu.Unlock()
			for i, l := range out.lines[:min(len(out.lines), 20)] {
				if want := untyped(ring[i], "tick"); l != string(want) {
					t.Fatalf("line %d after seq %d is\n  %s\nthe ring's tick is\n  %s", i, since, l, want)
				}
			}
		})
	}
}

// snapshotSeq returns the seq of a snapshot of symbols from GET /api/ticks.
func snapshotSeq(t *testing.T, td *tickerd, symbols string) uint64 {
	t.Helper()
	resp, err := http.Get(td.URL + "/api/ticks?symbols=" + symbols)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Events []struct {
			Type string `json:"type"`
		} `json:"events"`
		Seq uint64 `json:"seq"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || len(answer.Events) != 1 || answer.Events[0].Type != "snapshot" {
		t.Fatalf("GET /api/ticks without since: %+v, %v; want a snapshot", answer, err)
	}
	return answer.Seq
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
	for _, transport := range watchTransports {
		t.Run(transport, func(t *testing.T) {
			// No -symbols: the stream carries what the token entitles to.
			for _, l := range watch(t, 10, "-url", td.URL, "-transport", transport, "-token-file", tokenFile) {
				if !strings.Contains(l, " MSFT ") {
					t.Fatalf("line %q: the token entitles to MSFT only", l)
				}
			}
		})
	}
}

// TestWatchStopsWhenAskingAgainCannotHelp: an unknown symbol is an error
// of the WebSocket and polling watchers, which name it, not a reason to
// retry for ever.
func TestWatchStopsWhenAskingAgainCannotHelp(t *testing.T) {
	td := startTickerd(t, "-rate", "100")
	for _, transport := range []string{transportWS, transportPoll} {
		t.Run(transport, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, []string{"watch", "-url", td.URL, "-transport", transport, "-symbols", "AAPL,NOPE"}, func(string) string { return "" }, &strings.Builder{}, &strings.Builder{}, nil)
			if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "404 unknown symbols: NOPE") {
				t.Fatalf("got %v, want the 404 naming NOPE", err)
			}
		})
	}
}

func TestWatchRejectsABadURL(t *testing.T) {
	err := run(context.Background(), []string{"watch", "-url", "ftp://x"}, func(string) string { return "" }, &strings.Builder{}, &strings.Builder{}, nil)
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "-url") {
		t.Fatalf("got %v, want a usage error about -url", err)
	}
}

func TestWatchRejectsABadTransport(t *testing.T) {
	err := run(context.Background(), []string{"watch", "-transport", "pigeon"}, func(string) string { return "" }, &strings.Builder{}, &strings.Builder{}, nil)
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "-transport") || !strings.Contains(err.Error(), "pigeon") {
		t.Fatalf("got %v, want a usage error about -transport", err)
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
