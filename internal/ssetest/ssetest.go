// Package ssetest reads Server-Sent Events streams in tests, field by field
// as the HTML standard's event-stream parser does, so a test sees exactly
// what an EventSource would. It is for tests only.
package ssetest

import (
	"bufio"
	"io"
	"strings"
)

// Event is one dispatched event, or one comment line.
type Event struct {
	ID      string // the id field; empty when the event has none
	Name    string // the event field; empty means "message"
	Data    string // the data lines, joined by "\n"
	Retry   string // the retry field, when the block had one
	Comment bool   // a comment line (": ..."), such as a heartbeat
}

// Reader reads events from a stream body.
type Reader struct {
	r *bufio.Reader
}

// NewReader reads events from r.
func NewReader(r io.Reader) *Reader {
	if br, ok := r.(*bufio.Reader); ok {
		return &Reader{r: br}
	}
	return &Reader{r: bufio.NewReader(r)}
}

// Next returns the next event, comment or retry hint; a block with only a
// retry field comes back as an Event with Retry set. It returns the reader's
// error (io.EOF at a clean end) when the stream ends.
func (r *Reader) Next() (Event, error) {
	var ev Event
	var data []string
	seen := false
	for {
		line, err := r.r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			if seen {
				ev.Data = strings.Join(data, "\n")
				return ev, nil
			}
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			return Event{Comment: true, Data: value}, nil
		case "id":
			ev.ID = value
		case "event":
			ev.Name = value
		case "data":
			data = append(data, value)
		case "retry":
			ev.Retry = value
		}
		seen = true
	}
}
