package ssetest

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReaderFollowsTheEventStreamFormat(t *testing.T) {
	stream := "retry: 2000\n\n: heartbeat\n\nid: 7\nevent: tick\ndata: {\"a\":1}\n\n" +
		"data:one\r\ndata: two\r\n\r\nid: 8\nevent: snapshot\ndata: x"
	r := NewReader(strings.NewReader(stream))
	want := []Event{
		{Retry: "2000"},
		{Comment: true, Data: "heartbeat"},
		{ID: "7", Name: "tick", Data: `{"a":1}`},
		{Data: "one\ntwo"},
	}
	for i, w := range want {
		got, err := r.Next()
		if err != nil || got != w {
			t.Fatalf("event %d: got %+v, %v; want %+v", i, got, err, w)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("an event cut off by the end of the stream: got %v, want EOF", err)
	}
}
