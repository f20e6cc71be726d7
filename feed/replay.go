package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"
)

// ReplayConfig configures a [Replay].
type ReplayConfig struct {
	Path string // a tick file: NDJSON or CSV, gzip-compressed or not
	// Speed scales the file's spacing of ticks: 1 plays them as they were
	// recorded, 10 ten times faster; above 0.
	Speed float64
	Loop  bool   // at the end, play the file again from its start
	First uint64 // sequence number of the first tick played (at least 1)
	// MaxSymbols bounds the symbols the file may name.
	MaxSymbols int
	Clock      Clock
	Logger     *slog.Logger
}

// Limits of a replay's speed.
const (
	MinReplaySpeed = 1e-3
	MaxReplaySpeed = 1e6
)

// Replay is the [Source] of a recorded file of ticks: it plays them in the
// file's order with their original spacing (the differences of their ts)
// divided by Speed, and with Loop plays the file again, from its first
// tick, right after its last. Each tick is handed on with the next
// sequence number and the time it is played: the file's ts gives only
// the spacing, so a replayed day looks live (a ts earlier than the one
// before means no wait). The same file and config give the same ticks,
// prices and order, on every run.
//
// NewReplay reads the whole file once and refuses it, naming the line or
// the byte offset, if any line is not a tick with a ts or its compressed
// data is corrupt or truncated; so a file that starts plays to its end.
type Replay struct {
	cfg     ReplayConfig
	symbols []string
	ticks   int
}

// NewReplay checks cfg and the file it names.
func NewReplay(cfg ReplayConfig) (*Replay, error) {
	switch {
	case cfg.Path == "":
		return nil, errors.New("replay: no file")
	case !(cfg.Speed >= MinReplaySpeed && cfg.Speed <= MaxReplaySpeed):
		return nil, fmt.Errorf("replay speed %v: want %v to %d", cfg.Speed, MinReplaySpeed, int64(MaxReplaySpeed))
	case cfg.Clock == nil:
		return nil, errors.New("replay: no clock")
	case cfg.MaxSymbols < 1:
		return nil, fmt.Errorf("replay: at most %d symbols", cfg.MaxSymbols)
	}
	if cfg.First == 0 {
		cfg.First = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Replay{cfg: cfg}
	seen := map[string]bool{}
	err := r.read(func(t Tick) error {
		r.ticks++
		if !seen[t.Symbol] {
			if len(seen) == cfg.MaxSymbols {
				return fmt.Errorf("names more than %d symbols", cfg.MaxSymbols)
			}
			seen[t.Symbol] = true
			r.symbols = append(r.symbols, t.Symbol)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if r.ticks == 0 {
		return nil, fmt.Errorf("replay file %s: no ticks", cfg.Path)
	}
	return r, nil
}

// Symbols returns the symbols of the file, in the order they first appear.
func (r *Replay) Symbols() []string { return r.symbols }

// Ticks returns the number of ticks in the file.
func (r *Replay) Ticks() int { return r.ticks }

// read calls each with every tick of the file, in order, stopping at the
// first error: a line that is not a tick with a ts, a fault of the file,
// or each's.
func (r *Replay) read(each func(Tick) error) error {
	tf, err := openTickFile(r.cfg.Path)
	if err != nil {
		return fmt.Errorf("replay file: %w", err)
	}
	defer tf.Close()
	ticks := NewTickReader(tf)
	for {
		t, err := ticks.Next()
		var line *LineError
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &line):
			return fmt.Errorf("replay file %s: %w", r.cfg.Path, err)
		case err != nil:
			return fmt.Errorf("replay file %w (line %d)", err, ticks.Line()+1)
		case t.Time.IsZero():
			return fmt.Errorf("replay file %s: line %d: no ts: a replayed tick needs its time", r.cfg.Path, ticks.Line())
		}
		if err := each(t); err != nil {
			return fmt.Errorf("replay file %s: line %d: %w", r.cfg.Path, ticks.Line(), err)
		}
	}
}

// Run plays the file (again and again, with Loop) until ctx is done. If
// the file cannot be read any more (changed since NewReplay), it logs why
// and stops playing; either way it returns nil when ctx is done.
func (r *Replay) Run(ctx context.Context, publish func(Tick)) error {
	timer := r.cfg.Clock.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	seq := r.cfg.First
	stopped := errors.New("stopped")
	for pass := 1; ; pass++ {
		var start time.Time // when the pass's first tick was played
		var first int64     // its ts
		err := r.read(func(t Tick) error {
			ts := t.Time.UnixNano()
			if start.IsZero() {
				start, first = r.cfg.Clock.Now(), ts
			}
			due := start.Add(r.offset(ts - first))
			if wait := due.Sub(r.cfg.Clock.Now()); wait > 0 {
				timer.Reset(wait)
				select {
				case <-ctx.Done():
					return stopped
				case <-timer.C():
				}
			}
			if ctx.Err() != nil {
				return stopped
			}
			t.Seq, t.Time = seq, r.cfg.Clock.Now()
			seq++
			publish(t)
			return nil
		})
		switch {
		case errors.Is(err, stopped):
			return nil
		case err != nil:
			r.cfg.Logger.Error("replay stopped: the file cannot be read", "err", err, "pass", pass)
		case r.cfg.Loop && ctx.Err() == nil:
			continue
		default:
			r.cfg.Logger.Info("replay finished", "file", r.cfg.Path, "ticks", r.ticks, "passes", pass)
		}
		<-ctx.Done()
		return nil
	}
}

// offset is how long after a pass's first tick a tick d nanoseconds later
// in the file is played; a tick earlier than the first is played at once.
func (r *Replay) offset(d int64) time.Duration {
	if d <= 0 {
		return 0
	}
	scaled := float64(d) / r.cfg.Speed
	if scaled >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(scaled)
}
