package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// errAnswerClose is an answer that closes its connection.
var errAnswerClose = errors.New("the server closed the connection after an answer")

// pollSession is a client of a polling endpoint: polls one after another
// on one kept-alive connection, each asking for the ticks after the seq
// of the last answer. The first poll of a client has no since and gets a
// snapshot. Long polling asks each poll to wait for a tick and polls again
// as soon as the answer is in; plain polling polls with wait=0 every
// interval.
type pollSession struct {
	host, target string
	wait         string        // the wait parameter of every poll after a connection's first
	waitFor      time.Duration // and as a duration
	interval     time.Duration // plain polling: time from one poll to the next; 0: long polling

	since     uint64
	resume    bool // since holds the seq of an answer
	answer    answerScanner
	latencies []int64   // of the answer under way: recorded with its ticks, so both fall in the same window
	next      time.Time // plain polling: when the next poll is due
	timer     *time.Timer
}

func (s *pollSession) noteLatency(v int64) { s.latencies = append(s.latencies, v) }

func newPollSession(host, target string, wait, interval time.Duration) *pollSession {
	s := &pollSession{host: host, target: target, waitFor: wait, interval: interval, wait: "0"}
	if wait > 0 {
		s.wait = wait.String()
	}
	return s
}

func (s *pollSession) reset() { s.latencies = s.latencies[:0] }

// open sends a connection's first poll, which never waits: it gets a
// snapshot, or after a reconnect the ticks since the last answer.
func (s *pollSession) open(c *client, conn net.Conn, load *loadRun) (int, error) {
	s.next = time.Now()
	return 0, s.poll(c, conn, load, "0")
}

// serve polls until a poll fails or the connection ends.
func (s *pollSession) serve(ctx context.Context, c *client, conn net.Conn, _ int, load *loadRun) error {
	for {
		if s.interval > 0 {
			s.next = s.next.Add(s.interval)
			if d := time.Until(s.next); d > 0 {
				if !s.sleep(ctx, d) {
					return ctx.Err()
				}
			} else {
				s.next = time.Now() // behind: poll now, and keep the interval from here
			}
		}
		if err := conn.SetDeadline(time.Now().Add(s.waitFor + load.cfg.connectTimeout)); err != nil {
			return err
		}
		if err := s.poll(c, conn, load, s.wait); err != nil {
			return err
		}
	}
}

// sleep waits d; it reports false if ctx ended first.
func (s *pollSession) sleep(ctx context.Context, d time.Duration) bool {
	if s.timer == nil {
		s.timer = time.NewTimer(d)
	} else {
		s.timer.Reset(d)
	}
	select {
	case <-ctx.Done():
		s.timer.Stop()
		return false
	case <-s.timer.C:
		return true
	}
}

// poll sends one poll with wait and reads its answer: it counts the ticks,
// records the latency of a sampled client's and keeps the answer's seq
// for the next poll.
func (s *pollSession) poll(c *client, conn net.Conn, load *loadRun, wait string) error {
	req := append(c.buf[:0], "GET "...)
	req = append(req, s.target...)
	if strings.Contains(s.target, "?") {
		req = append(req, '&')
	} else {
		req = append(req, '?')
	}
	if s.resume {
		req = append(req, "since="...)
		req = strconv.AppendUint(req, s.since, 10)
		req = append(req, '&')
	}
	req = append(req, "wait="...)
	req = append(req, wait...)
	req = append(req, " HTTP/1.1\r\nHost: "...)
	req = append(req, s.host...)
	req = append(req, "\r\nUser-Agent: tickload\r\nAccept: application/json\r\n\r\n"...)
	if err := c.send(conn, req); err != nil {
		return err
	}
	h, raw, err := c.readHead(conn, http.StatusOK)
	if err != nil {
		return err
	}
	if h.contentType != typeJSON {
		return errors.New("poll answer is not application/json")
	}
	if !h.chunked && h.contentLength < 0 {
		return errors.New("poll answer with neither Content-Length nor chunked encoding")
	}

	// The answer's bytes are scanned as they come, at the time of the read
	// that brought them; the server writes an answer at once, so all of it
	// arrives within a few reads.
	s.answer.reset(c.buf)
	var dc dechunker
	left := h.contentLength
	var ticks uint64
	for {
		space := s.answer.space()
		n, rerr := raw, error(nil)
		if raw == 0 && (h.chunked || left > 0) {
			n, rerr = conn.Read(space)
		}
		raw = 0
		var now int64
		if c.sampled {
			now = time.Now().UnixNano()
		}
		final := false
		if h.chunked {
			var derr error
			n, derr = dc.decode(space[:n])
			switch {
			case errors.Is(derr, errBodyEnd):
				final = true
			case derr != nil:
				return derr
			}
		} else {
			if int64(n) > left {
				return errors.New("poll answer longer than its Content-Length")
			}
			left -= int64(n)
			final = left == 0
		}
		var latency func(int64)
		if c.sampled {
			latency = s.noteLatency
		}
		t, seq, err := s.answer.commit(n, now, final, latency)
		ticks += t
		if err != nil {
			return err
		}
		if final {
			s.since, s.resume = seq, true
			if rec := load.latencyRecorder(); rec != nil {
				for _, v := range s.latencies {
					rec(v)
				}
			}
			s.latencies = s.latencies[:0]
			c.received(ticks, seq)
			if h.close {
				return errAnswerClose
			}
			return nil
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				rerr = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read poll answer: %w", rerr)
		}
	}
}
